// Cosine similarity, its backward pass, top-k selection and the vote, against
// brute force in double.
#include "memory_modules/common/similarity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "memory_modules/common/top_k.h"
#include "memory_modules/common/vote.h"
#include "tests/memory/reference.h"
#include "tests/testing/tensors.h"

namespace mnemo::memory {
namespace {

using ::mnemo::memory::testing::BruteCosines;
using ::mnemo::memory::testing::BruteVote;
using ::mnemo::memory::testing::MatrixD;
using ::mnemo::memory::testing::NumericGradient;
using ::mnemo::memory::testing::RandomD;
using ::mnemo::testing::TestRng;

TEST(NormalizeRowsTest, UnitRowsAndZeroRowsStayZero) {
  Tensor x(3, 2);
  x << 3, 4, 0, 0, 1e-40f, 0;  // the last one's norm is denormal
  Tensor unit;
  ColumnVector<float> norms;
  NormalizeRows(x, &unit, &norms);
  EXPECT_FLOAT_EQ(unit(0, 0), 0.6f);
  EXPECT_FLOAT_EQ(unit(0, 1), 0.8f);
  EXPECT_FLOAT_EQ(norms(0), 5.0f);
  for (int r : {1, 2}) {
    EXPECT_EQ(norms(r), 0.0f);
    EXPECT_EQ(unit(r, 0), 0.0f);
    EXPECT_EQ(unit(r, 1), 0.0f);
  }
  EXPECT_TRUE(unit.allFinite());
}

TEST(NormalizeRowsInPlaceTest, OnABlockOfRows) {
  Tensor keys(4, 2);
  keys << 3, 4, 0, 0, 0.6f, 0.8f, 7, 7;
  ColumnVector<float> norms;
  NormalizeRowsInPlace<float>(keys.topRows(3), &norms);
  ASSERT_EQ(norms.size(), 3);
  EXPECT_FLOAT_EQ(keys(0, 0), 0.6f);
  EXPECT_FLOAT_EQ(keys(0, 1), 0.8f);
  EXPECT_EQ(keys(1, 0), 0.0f);
  EXPECT_FLOAT_EQ(keys(2, 1), 0.8f);
  EXPECT_EQ(keys(3, 0), 7.0f);  // outside the block
  EXPECT_EQ(norms(0), 1.0f);
  EXPECT_EQ(norms(1), 0.0f);
  EXPECT_EQ(norms(2), 1.0f);
}

TEST(CosineSimilaritiesTest, MatchesBruteForceAndZeroVectorsGiveZero) {
  TestRng rng(1);
  MatrixD queries = RandomD(rng, 7, 13);
  MatrixD keys = RandomD(rng, 11, 13);
  queries.row(2).setZero();
  keys.row(5).setZero();
  const MatrixD expected = BruteCosines(queries, keys);

  MatrixD unit_queries, unit_keys, cosines;
  ColumnVector<double> query_norms, key_norms;
  NormalizeRows(queries, &unit_queries, &query_norms);
  NormalizeRows(keys, &unit_keys, &key_norms);
  CosineSimilarities<double>(unit_queries, unit_keys, &cosines);
  ASSERT_EQ(cosines.rows(), 7);
  ASSERT_EQ(cosines.cols(), 11);
  EXPECT_LT((cosines - expected).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_EQ(cosines.row(2).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(cosines.col(5).cwiseAbs().maxCoeff(), 0.0);

  // And the float code the modules run, to float precision.
  Tensor unit_q, unit_k, cosines_f;
  ColumnVector<float> n_q, n_k;
  NormalizeRows(queries.cast<float>().eval(), &unit_q, &n_q);
  NormalizeRows(keys.cast<float>().eval(), &unit_k, &n_k);
  CosineSimilarities<float>(unit_q, unit_k, &cosines_f);
  EXPECT_LT((cosines_f.cast<double>() - expected).cwiseAbs().maxCoeff(), 1e-6);
}

TEST(CosineSimilaritiesTest, EmptyMemoryGivesNoColumns) {
  Tensor unit(4, 3), keys(0, 3), cosines;
  unit.setOnes();
  CosineSimilarities<float>(unit, keys, &cosines);
  EXPECT_EQ(cosines.rows(), 4);
  EXPECT_EQ(cosines.cols(), 0);
}

// L = sum(R .* cos(Q, K)) for a fixed random R: dL/dQ, dL/dK against central
// differences, in double. Zero rows get zero gradient.
TEST(CosineSimilaritiesBackwardTest, MatchesFiniteDifferences) {
  TestRng rng(2);
  MatrixD queries = RandomD(rng, 5, 6);
  MatrixD keys = RandomD(rng, 4, 6);
  queries.row(3).setZero();
  keys.row(1).setZero();
  const MatrixD r = RandomD(rng, 5, 4);
  auto loss = [&] { return (BruteCosines(queries, keys).array() * r.array()).sum(); };

  MatrixD unit_queries, unit_keys, grad_queries, grad_keys;
  ColumnVector<double> query_norms, key_norms;
  NormalizeRows(queries, &unit_queries, &query_norms);
  NormalizeRows(keys, &unit_keys, &key_norms);
  CosineSimilaritiesBackward<double>(r, unit_queries, query_norms, unit_keys, key_norms,
                                     &grad_queries, &grad_keys);
  MatrixD numeric_queries = NumericGradient(loss, &queries, 1e-6);
  MatrixD numeric_keys = NumericGradient(loss, &keys, 1e-6);
  // The zero rows: the cosine is 0 at 0 but not differentiable there; the
  // convention is a zero gradient.
  numeric_queries.row(3).setZero();
  numeric_keys.row(1).setZero();
  EXPECT_LT((grad_queries - numeric_queries).cwiseAbs().maxCoeff(), 1e-7);
  EXPECT_LT((grad_keys - numeric_keys).cwiseAbs().maxCoeff(), 1e-7);
  EXPECT_EQ(grad_queries.row(3).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(grad_keys.row(1).cwiseAbs().maxCoeff(), 0.0);
}

// Every k from 1 past the number of columns, against a stable sort.
TEST(SelectTopKTest, MatchesStableSortWithTies) {
  TestRng rng(3);
  Tensor scores = rng.Random(9, 40);
  // Ties: equal values must rank by lower column.
  scores(0, 3) = scores(0, 17) = scores(0, 30) = 2.0f;
  scores(1, 5) = scores(1, 6) = 0.25f;
  for (int k : {1, 2, 3, 7, 40, 50}) {
    SCOPED_TRACE(k);
    TopK top;
    SelectTopK(scores, k, &top);
    const int used = std::min(k, 40);
    ASSERT_EQ(top.k, used);
    ASSERT_EQ(top.rows, 9);
    for (int r = 0; r < 9; ++r) {
      std::vector<int> order(40);
      for (int c = 0; c < 40; ++c) order[c] = c;
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return scores(r, a) > scores(r, b); });
      for (int j = 0; j < used; ++j) {
        EXPECT_EQ(top.index[r * used + j], order[j]) << "row " << r << " rank " << j;
        EXPECT_EQ(top.score[r * used + j], scores(r, order[j]));
      }
    }
  }
}

TEST(SelectTopKTest, NoColumnsGivesNoNeighbours) {
  Tensor scores(3, 0);
  TopK top;
  SelectTopK(scores, 5, &top);
  EXPECT_EQ(top.k, 0);
  EXPECT_TRUE(top.index.empty());
  const Retrieval answer = Vote(top, {}, {});
  ASSERT_EQ(answer.label.size(), 3u);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(answer.label[r], -1);
    EXPECT_EQ(answer.slot[r], -1);
    EXPECT_EQ(answer.confidence[r], 0.0f);
  }
}

TEST(VoteTest, SimilarityWeightedMajority) {
  // Row 0: neighbours (slot: class, cosine) 0: A .9, 1: B .8, 2: B .7 -> B
  // wins 1.5 to .9; its best neighbour is slot 1; confidence 1.5 / 3.
  // Row 1: a negative cosine votes with weight 0: 0: A .5, 1: B -.9 -> A.
  Tensor cosines(2, 3);
  cosines << 0.9f, 0.8f, 0.7f, 0.5f, -0.9f, -0.95f;
  TopK top;
  SelectTopK(cosines, 3, &top);
  const Retrieval answer = Vote(top, {0, 1, 1}, {});
  EXPECT_EQ(answer.label[0], 1);
  EXPECT_EQ(answer.slot[0], 1);
  EXPECT_NEAR(answer.confidence[0], 1.5f / 3, 1e-6);
  EXPECT_EQ(answer.label[1], 0);
  EXPECT_EQ(answer.slot[1], 0);
  EXPECT_NEAR(answer.confidence[1], 0.5f / 3, 1e-6);
}

TEST(VoteTest, TieGoesToTheBetterRankedClassAndCertaintyWeighs) {
  Tensor cosines(1, 2);
  cosines << 0.6f, 0.6f;
  TopK top;
  SelectTopK(cosines, 2, &top);
  EXPECT_EQ(Vote(top, {4, 2}, {}).label[0], 4);
  // Certainty breaks it the other way.
  const Retrieval weighed = Vote(top, {4, 2}, {0.5f, 1.0f});
  EXPECT_EQ(weighed.label[0], 2);
  EXPECT_NEAR(weighed.confidence[0], 0.6f / 2, 1e-6);
}

TEST(VoteTest, MarginAnswersTheNearestByItsLeadOverAnotherClass) {
  // Row 0 (classes by slot: A A B B): the seed's vote gives B (.85 + .8
  // against .9 + .3); the margin rule gives the nearest, A, confidence
  // .9 - .85 (B's nearest).
  // Row 1: all four nearest are A: the lead is bounded by the farthest of
  // them, .95 - .2.
  Tensor cosines(2, 4);
  cosines << 0.9f, 0.3f, 0.85f, 0.8f, 0.95f, 0.6f, 0.4f, 0.2f;
  TopK top;
  SelectTopK(cosines, 4, &top);
  EXPECT_EQ(Vote(top, {0, 0, 1, 1}, {}).label[0], 1);
  const Retrieval margin = Vote(top, {0, 0, 1, 1}, {}, VoteRule::kMargin);
  EXPECT_EQ(margin.label[0], 0);
  EXPECT_EQ(margin.slot[0], 0);
  EXPECT_NEAR(margin.confidence[0], 0.9f - 0.85f, 1e-6);
  const Retrieval same = Vote(top, {0, 0, 0, 0}, {}, VoteRule::kMargin);
  EXPECT_EQ(same.label[1], 0);
  EXPECT_NEAR(same.confidence[1], 0.95f - 0.2f, 1e-6);

  // A certainty reorders: slot 1 (.5 x 1) outweighs slot 0 (.9 x .5).
  Tensor two(1, 2);
  two << 0.9f, 0.5f;
  SelectTopK(two, 2, &top);
  const Retrieval weighed = Vote(top, {3, 4}, {0.5f, 1.0f}, VoteRule::kMargin);
  EXPECT_EQ(weighed.label[0], 4);
  EXPECT_EQ(weighed.slot[0], 1);
  EXPECT_NEAR(weighed.confidence[0], 0.5f - 0.45f, 1e-6);
  // k = 1: the best match's weight, as the similarity vote's.
  SelectTopK(two, 1, &top);
  EXPECT_NEAR(Vote(top, {3, 4}, {}, VoteRule::kMargin).confidence[0], 0.9f, 1e-6);
}

TEST(VoteTest, MatchesBruteForce) {
  TestRng rng(4);
  const MatrixD cosines = RandomD(rng, 30, 25);
  std::vector<int> slot_class(25);
  std::vector<double> certainty(25);
  std::vector<float> certainty_f(25);
  for (int m = 0; m < 25; ++m) {
    slot_class[m] = m % 4;
    certainty[m] = certainty_f[m] = rng.Uniform(0.2f, 1.0f);
  }
  const Tensor cosines_f = cosines.cast<float>();
  for (int k : {1, 3, 5, 25, 30}) {
    SCOPED_TRACE(k);
    TopK top;
    SelectTopK(cosines_f, k, &top);
    const Retrieval got = Vote(top, slot_class, certainty_f);
    const Retrieval want = BruteVote(cosines, k, slot_class, certainty);
    for (int b = 0; b < 30; ++b) {
      EXPECT_EQ(got.label[b], want.label[b]) << b;
      EXPECT_EQ(got.slot[b], want.slot[b]) << b;
      EXPECT_NEAR(got.confidence[b], want.confidence[b], 1e-6) << b;
    }
  }
}

}  // namespace
}  // namespace mnemo::memory
