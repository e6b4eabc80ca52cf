// MemoStrategy on hand-built networks: bit-identical to keep_all in training
// and evaluation (shuffled batches, partial hits, eviction; LayerNorm and a
// frozen BatchNorm in the covered part), invalidation when a frozen layer
// changes, reuse across evaluations and networks, which layers it covers,
// and how it drives its inner strategy.
#include "caching/memo/memo_strategy.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "caching/memo/lru_memo.h"
#include "caching/memo/prefix.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config.pb.h"
#include "core/dataset.h"
#include "core/layers/activations.h"
#include "core/layers/batch_norm.h"
#include "core/layers/dense.h"
#include "core/layers/layer_norm.h"
#include "core/loss.h"
#include "core/network.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/tensors.h"

namespace mnemo::caching::memo {
namespace {

using ::mnemo::testing::SameBits;

using ::testing::HasSubstr;

constexpr int kFeatures = 24;
constexpr int kClasses = 10;

float Uniform(std::mt19937& rng, float lo, float hi) {
  return lo + (hi - lo) * static_cast<float>(rng() >> 8) * 0x1.0p-24f;
}

Tensor RandomTensor(std::mt19937& rng, int rows, int cols, float lo, float hi) {
  Tensor t(rows, cols);
  for (Eigen::Index k = 0; k < t.size(); ++k) t.data()[k] = Uniform(rng, lo, hi);
  return t;
}

// output = input + offset: row-wise and deterministic, but its offset is
// state the memo cannot see (no parameter).
class Shift : public Layer {
 public:
  Shift(int size, float offset) : Layer(size, size), offset_(offset) {}
  const char* type() const override { return "Shift"; }
  void Forward(const Tensor& x, const ForwardContext&, Tensor* y) override {
    *y = x.array() + offset_;
  }
  void Backward(const Tensor&, const Tensor&, const Tensor& dy, const ForwardContext&,
                Tensor* dx) override {
    if (dx != nullptr) *dx = dy;
  }

 private:
  const float offset_;
};

// Adds noise that depends on the step: not a function of the input alone.
class StepNoise : public Layer {
 public:
  explicit StepNoise(int size) : Layer(size, size) {}
  const char* type() const override { return "StepNoise"; }
  void Forward(const Tensor& x, const ForwardContext& context, Tensor* y) override {
    *y = x.array() + 0.01f * static_cast<float>(context.step % 7);
  }
  void Backward(const Tensor&, const Tensor&, const Tensor& dy, const ForwardContext&,
                Tensor* dx) override {
    if (dx != nullptr) *dx = dy;
  }
};

std::unique_ptr<Dense> RandomDense(std::mt19937& rng, int in, int out, bool trainable) {
  auto dense = std::make_unique<Dense>(in, out);
  const float a = std::sqrt(6.0f / static_cast<float>(in));
  dense->weight() = RandomTensor(rng, in, out, -a, a);
  dense->bias() = RandomTensor(rng, 1, out, -0.1f, 0.1f);
  dense->set_trainable(trainable);
  return dense;
}

std::unique_ptr<Layer> Frozen(std::unique_ptr<Layer> layer) {
  layer->set_trainable(false);
  return layer;
}

// Frozen backbone 24-32-32-16 (Dense + ReLU), trainable head 16-16-10. The
// same seed gives the same weights. `middle`, when given, is inserted frozen
// after the first Dense + ReLU.
std::vector<std::unique_ptr<Layer>> Backbone(uint32_t seed,
                                             std::unique_ptr<Layer> middle = nullptr) {
  std::mt19937 rng(seed);
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(RandomDense(rng, kFeatures, 32, false));
  layers.push_back(Frozen(std::make_unique<ReLU>(32)));
  if (middle != nullptr) layers.push_back(Frozen(std::move(middle)));
  layers.push_back(RandomDense(rng, 32, 32, false));
  layers.push_back(Frozen(std::make_unique<ReLU>(32)));
  layers.push_back(RandomDense(rng, 32, 16, false));
  layers.push_back(Frozen(std::make_unique<ReLU>(16)));
  layers.push_back(RandomDense(rng, 16, 16, true));
  layers.push_back(std::make_unique<ReLU>(16));
  layers.push_back(RandomDense(rng, 16, kClasses, true));
  return layers;
}

std::unique_ptr<Network> MakeNetwork(std::vector<std::unique_ptr<Layer>> layers,
                                     std::unique_ptr<CacheStrategy> strategy) {
  absl::StatusOr<std::unique_ptr<Network>> network =
      Network::Create(std::move(layers), std::move(strategy));
  EXPECT_TRUE(network.ok()) << network.status();
  return network.ok() ? *std::move(network) : nullptr;
}

std::unique_ptr<CacheStrategy> Memo(std::shared_ptr<LruMemo> memo,
                                    std::set<std::string> pure = {},
                                    std::unique_ptr<CacheStrategy> inner = nullptr) {
  MemoStrategyOptions options;
  options.memo = std::move(memo);
  options.inner = std::move(inner);
  options.pure_layer_types = std::move(pure);
  return std::make_unique<MemoStrategy>(std::move(options));
}

double Counter(const CacheStats& stats, const std::string& name) {
  for (const auto& [key, value] : stats.counters) {
    if (key == name) return value;
  }
  ADD_FAILURE() << "no counter " << name;
  return -1;
}
double Counter(Network& network, const std::string& name) {
  return Counter(network.strategy().stats(), name);
}

struct Data {
  Tensor features;
  std::vector<int32_t> labels;
};

Data RandomData(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  Data data{RandomTensor(rng, n, kFeatures, 0.0f, 1.0f), std::vector<int32_t>(n)};
  for (int32_t& label : data.labels) label = static_cast<int32_t>(rng() % kClasses);
  return data;
}

Tensor Rows(const Tensor& t, const std::vector<int>& rows) {
  Tensor out(static_cast<int>(rows.size()), t.cols());
  for (size_t i = 0; i < rows.size(); ++i) out.row(i) = t.row(rows[i]);
  return out;
}

// Two networks trained side by side on the same batches; every step's
// logits, and every parameter at the end, must agree bit for bit.
class SideBySide {
 public:
  SideBySide(std::unique_ptr<Network> memo, std::unique_ptr<Network> reference)
      : memo_(std::move(memo)), reference_(std::move(reference)) {
    config::Optimizer sgd;
    sgd.set_type("sgd");
    sgd.set_learning_rate(0.05f);
    sgd.set_momentum(0.9f);
    memo_optimizer_ = *CreateOptimizer(sgd);
    reference_optimizer_ = *CreateOptimizer(sgd);
  }

  void Step(const Data& data, const std::vector<int>& rows) {
    const Tensor batch = Rows(data.features, rows);
    std::vector<int32_t> labels;
    for (int r : rows) labels.push_back(data.labels[r]);
    Tensor logits[2];
    Network* networks[2] = {memo_.get(), reference_.get()};
    Optimizer* optimizers[2] = {memo_optimizer_.get(), reference_optimizer_.get()};
    for (int k = 0; k < 2; ++k) {
      const ForwardContext context{true, 1, step_};
      absl::StatusOr<const Tensor*> out = networks[k]->Forward(batch, context);
      ASSERT_TRUE(out.ok()) << out.status();
      logits[k] = **out;
      Tensor grad;
      SoftmaxCrossEntropy::Compute(logits[k], labels, &grad, nullptr);
      networks[k]->ZeroGradients();
      absl::Status status = networks[k]->Backward(grad, context);
      ASSERT_TRUE(status.ok()) << status;
      optimizers[k]->Step(*networks[k]);
      networks[k]->CommitStep();  // as the trainer does: BatchNorm's running statistics
    }
    ASSERT_TRUE(SameBits(logits[0], logits[1])) << "step " << step_;
    ++step_;
  }

  // One epoch in shuffled batches of `batch`.
  void Epoch(const Data& data, int count, int batch, uint32_t shuffle_seed) {
    std::vector<int> order(count);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(shuffle_seed));
    for (int begin = 0; begin < count; begin += batch) {
      const int end = std::min(count, begin + batch);
      Step(data, std::vector<int>(order.begin() + begin, order.begin() + end));
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  void ExpectSameParameters() {
    ASSERT_EQ(memo_->num_layers(), reference_->num_layers());
    for (int i = 0; i < memo_->num_layers(); ++i) {
      std::vector<Parameter> a = memo_->layer(i).parameters();
      std::vector<Parameter> b = reference_->layer(i).parameters();
      ASSERT_EQ(a.size(), b.size());
      for (size_t p = 0; p < a.size(); ++p) {
        EXPECT_TRUE(SameBits(*a[p].value, *b[p].value)) << "layer " << i << " " << a[p].name;
        EXPECT_TRUE(SameBits(*a[p].gradient, *b[p].gradient))
            << "layer " << i << " gradient of " << a[p].name;
      }
      std::vector<Parameter> c = memo_->layer(i).buffers();
      std::vector<Parameter> d = reference_->layer(i).buffers();
      ASSERT_EQ(c.size(), d.size());
      for (size_t p = 0; p < c.size(); ++p) {
        EXPECT_TRUE(SameBits(*c[p].value, *d[p].value)) << "layer " << i << " " << c[p].name;
      }
    }
  }

  Network& memo() { return *memo_; }
  Network& reference() { return *reference_; }

 private:
  std::unique_ptr<Network> memo_, reference_;
  std::unique_ptr<Optimizer> memo_optimizer_, reference_optimizer_;
  uint64_t step_ = 0;
};

TEST(MemoStrategyTest, TrainsBitForBitLikeKeepAllOnShuffledBatches) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  SideBySide nets(MakeNetwork(Backbone(1), Memo(memo)), MakeNetwork(Backbone(1), nullptr));
  const Data data = RandomData(2, 96);
  // Epoch 1 sees the first 40 samples only, so later batches mix hits and
  // misses in every proportion.
  nets.Epoch(data, 40, 8, 10);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (uint32_t epoch = 2; epoch <= 4; ++epoch) {
    nets.Epoch(data, 96, 16, 10 + epoch);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
  nets.ExpectSameParameters();
  Network& network = nets.memo();
  EXPECT_EQ(Counter(network, "memoized_layers"), 6);
  EXPECT_EQ(Counter(network, "rows_computed"), 96);  // each sample once
  EXPECT_EQ(Counter(network, "rows_reused"), 3 * 96 - (96 - 40));
  EXPECT_EQ(Counter(network, "entries"), 96);
  EXPECT_EQ(Counter(network, "passthrough_passes"), 0);
}

TEST(MemoStrategyTest, ReturnsWhatRecomputationReturnsForEveryMixOfHitsAndMisses) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  std::unique_ptr<Network> with = MakeNetwork(Backbone(3), Memo(memo));
  std::unique_ptr<Network> without = MakeNetwork(Backbone(3), nullptr);
  constexpr int kRounds = 40;
  // The pool of rows grows by 5 a round, to 20 + 5 * 39 = 215 rows.
  const Data data = RandomData(4, 20 + 5 * (kRounds - 1));
  std::mt19937 rng(5);
  const ForwardContext eval{false, 0, 0};
  for (int round = 0; round < kRounds; ++round) {
    // Batches of 16 drawn from a growing pool: 0 to 16 of their rows are new.
    std::vector<int> rows;
    for (int k = 0; k < 16; ++k) rows.push_back(static_cast<int>(rng() % (20 + 5 * round)));
    const Tensor batch = Rows(data.features, rows);
    absl::StatusOr<const Tensor*> a = with->Forward(batch, eval);
    absl::StatusOr<const Tensor*> b = without->Forward(batch, eval);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(SameBits(**a, **b)) << "round " << round;
    with->strategy().EndPass();
    without->strategy().EndPass();
  }
  EXPECT_GT(Counter(*with, "hits"), 0);
  EXPECT_GT(Counter(*with, "misses"), 0);
}

TEST(MemoStrategyTest, StaysExactWhenEvictionForcesRecomputation) {
  // Room for 20 of the 64 samples' rows.
  auto memo = std::make_shared<LruMemo>(20 * LruMemo::EntryBytes(kFeatures, 16));
  SideBySide nets(MakeNetwork(Backbone(6), Memo(memo)), MakeNetwork(Backbone(6), nullptr));
  const Data data = RandomData(7, 64);
  for (uint32_t epoch = 1; epoch <= 3; ++epoch) {
    nets.Epoch(data, 64, 16, epoch);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
  nets.ExpectSameParameters();
  const MemoStats stats = memo->stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_LE(stats.bytes, stats.capacity_bytes);
  EXPECT_EQ(stats.entries, 20u);
}

TEST(MemoStrategyTest, AnUpdatedFrozenLayerIsNeverServedStale) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  SideBySide nets(MakeNetwork(Backbone(8), Memo(memo)), MakeNetwork(Backbone(8), nullptr));
  const Data data = RandomData(9, 32);
  nets.Epoch(data, 32, 16, 1);  // fills the memo
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  EXPECT_EQ(Counter(nets.memo(), "entries"), 32);

  // Fine-tune the first layer for an epoch: the optimizer changes it.
  for (Network* network : {&nets.memo(), &nets.reference()}) network->layer(0).set_trainable(true);
  nets.Epoch(data, 32, 16, 2);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  EXPECT_EQ(Counter(nets.memo(), "memoized_layers"), 0);
  EXPECT_EQ(Counter(nets.memo(), "passthrough_passes"), 2);

  // Frozen again: the memo covers it again, with its new weights, and the
  // entries of the old weights are gone.
  for (Network* network : {&nets.memo(), &nets.reference()}) network->layer(0).set_trainable(false);
  nets.Epoch(data, 32, 16, 3);  // every step compares the logits
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  nets.ExpectSameParameters();
  EXPECT_EQ(Counter(nets.memo(), "dropped"), 32);
  EXPECT_EQ(Counter(nets.memo(), "rows_computed"), 64);
  EXPECT_EQ(Counter(nets.memo(), "entries"), 32);
}

TEST(MemoStrategyTest, ALoadedOrEditedFrozenLayerGetsANewSignature) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  std::unique_ptr<Network> with = MakeNetwork(Backbone(10), Memo(memo));
  std::unique_ptr<Network> without = MakeNetwork(Backbone(10), nullptr);
  const Data data = RandomData(11, 16);
  const ForwardContext eval{false, 0, 0};
  auto compare = [&] {
    absl::StatusOr<const Tensor*> a = with->Forward(data.features, eval);
    absl::StatusOr<const Tensor*> b = without->Forward(data.features, eval);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(SameBits(**a, **b));
    with->strategy().EndPass();
    without->strategy().EndPass();
  };
  compare();
  // As LoadModel does: new values, then MarkParametersUpdated.
  for (Network* network : {with.get(), without.get()}) {
    auto& dense = static_cast<Dense&>(network->layer(2));
    dense.weight()(3, 4) += 0.5f;
    dense.MarkParametersUpdated();
  }
  compare();
  EXPECT_EQ(Counter(*with, "rows_computed"), 32);
  EXPECT_EQ(Counter(*with, "dropped"), 16);

  // A new version with the same values is the same function: entries stay.
  with->layer(2).MarkParametersUpdated();
  without->layer(2).MarkParametersUpdated();
  compare();
  EXPECT_EQ(Counter(*with, "rows_computed"), 32);
  EXPECT_EQ(Counter(*with, "rows_reused"), 16);
}

TEST(MemoStrategyTest, EvaluatingAgainReusesEveryRow) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  std::unique_ptr<Network> with = MakeNetwork(Backbone(12), Memo(memo));
  std::unique_ptr<Network> without = MakeNetwork(Backbone(12), nullptr);
  const Data data = RandomData(13, 100);
  Dataset test;
  test.features = data.features;
  test.labels = data.labels;
  test.num_classes = kClasses;

  absl::StatusOr<Evaluation> first = Evaluate(*with, test, 32);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Counter(*with, "rows_computed"), 100);
  const double hits = Counter(*with, "hits");
  absl::StatusOr<Evaluation> second = Evaluate(*with, test, 32);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Counter(*with, "rows_computed"), 100);  // the backbone did not run
  EXPECT_EQ(Counter(*with, "hits"), hits + 100);
  absl::StatusOr<Evaluation> reference = Evaluate(*without, test, 32);
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(first->loss, reference->loss);
  EXPECT_EQ(second->loss, reference->loss);
  EXPECT_EQ(second->accuracy, reference->accuracy);
}

TEST(MemoStrategyTest, NetworksWithEqualBackbonesShareOneMemo) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  std::unique_ptr<Network> first = MakeNetwork(Backbone(14), Memo(memo));
  std::unique_ptr<Network> second = MakeNetwork(Backbone(14), Memo(memo));
  std::unique_ptr<Network> other = MakeNetwork(Backbone(15), Memo(memo));  // other weights
  const Data data = RandomData(16, 24);
  const ForwardContext eval{false, 0, 0};
  Tensor outputs[3];
  Network* networks[3] = {first.get(), second.get(), other.get()};
  for (int k = 0; k < 3; ++k) {
    absl::StatusOr<const Tensor*> out = networks[k]->Forward(data.features, eval);
    ASSERT_TRUE(out.ok());
    outputs[k] = **out;
    networks[k]->strategy().EndPass();
  }
  EXPECT_EQ(Counter(*first, "rows_computed"), 24);
  EXPECT_EQ(Counter(*second, "rows_computed"), 0);
  EXPECT_EQ(Counter(*second, "rows_reused"), 24);
  EXPECT_TRUE(SameBits(outputs[0], outputs[1]));
  EXPECT_EQ(Counter(*other, "rows_computed"), 24) << "other weights must not share entries";
  std::unique_ptr<Network> other_reference = MakeNetwork(Backbone(15), nullptr);
  absl::StatusOr<const Tensor*> expected = other_reference->Forward(data.features, eval);
  ASSERT_TRUE(expected.ok());
  EXPECT_TRUE(SameBits(outputs[2], **expected));
}

TEST(MemoStrategyTest, PassesThroughWhenNothingIsFrozen) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  auto thaw = [](std::vector<std::unique_ptr<Layer>> layers) {
    for (auto& layer : layers) layer->set_trainable(true);
    return layers;
  };
  SideBySide nets(MakeNetwork(thaw(Backbone(17)), Memo(memo)),
                  MakeNetwork(thaw(Backbone(17)), nullptr));
  const Data data = RandomData(18, 32);
  nets.Epoch(data, 32, 16, 1);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  nets.ExpectSameParameters();
  EXPECT_EQ(Counter(nets.memo(), "memoized_layers"), 0);
  EXPECT_EQ(Counter(nets.memo(), "passthrough_passes"), 2);
  EXPECT_EQ(memo->stats().entries, 0u);
  EXPECT_EQ(memo->stats().misses, 0u);
}

TEST(MemoStrategyTest, CoversEveryLayerWhenAllAreFrozen) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  auto freeze = [](std::vector<std::unique_ptr<Layer>> layers) {
    for (auto& layer : layers) layer->set_trainable(false);
    return layers;
  };
  std::unique_ptr<Network> with = MakeNetwork(freeze(Backbone(19)), Memo(memo));
  std::unique_ptr<Network> without = MakeNetwork(freeze(Backbone(19)), nullptr);
  const Data data = RandomData(20, 16);
  for (int pass = 0; pass < 2; ++pass) {
    const ForwardContext context{true, 1, static_cast<uint64_t>(pass)};
    absl::StatusOr<const Tensor*> a = with->Forward(data.features, context);
    absl::StatusOr<const Tensor*> b = without->Forward(data.features, context);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(SameBits(**a, **b));
    const Tensor grad = Tensor::Ones((*a)->rows(), (*a)->cols());
    EXPECT_TRUE(with->Backward(grad, context).ok());  // asks for activation L only
  }
  EXPECT_EQ(Counter(*with, "memoized_layers"), with->num_layers());
  EXPECT_EQ(Counter(*with, "rows_computed"), 16);
  EXPECT_EQ(Counter(*with, "rows_reused"), 16);
}

TEST(MemoStrategyTest, RefusesActivationsInsideTheMemoizedLayers) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  std::unique_ptr<Network> network = MakeNetwork(Backbone(21), Memo(memo));
  const Data data = RandomData(22, 8);
  ASSERT_TRUE(network->Forward(data.features, {true, 1, 0}).ok());
  absl::StatusOr<const Tensor*> below = network->strategy().Activation(2);
  EXPECT_EQ(below.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(below.status().message()), HasSubstr("memoized frozen layers 0 to 5"));
  absl::StatusOr<const Tensor*> boundary = network->strategy().Activation(6);
  ASSERT_TRUE(boundary.ok());
  EXPECT_EQ((*boundary)->cols(), 16);
  EXPECT_EQ(network->strategy().Activation(10).status().code(), absl::StatusCode::kOutOfRange);
  network->strategy().EndPass();
  EXPECT_EQ(network->strategy().Activation(6).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MemoStrategyTest, StopsAtALayerItCannotTrust) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  SideBySide nets(
      MakeNetwork(Backbone(23, std::make_unique<StepNoise>(32)), Memo(memo)),
      MakeNetwork(Backbone(23, std::make_unique<StepNoise>(32)), nullptr));
  const Data data = RandomData(24, 32);
  for (uint32_t epoch = 1; epoch <= 2; ++epoch) {
    nets.Epoch(data, 32, 16, epoch);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
  nets.ExpectSameParameters();
  EXPECT_EQ(Counter(nets.memo(), "memoized_layers"), 2);  // Dense, ReLU; not StepNoise
  EXPECT_EQ(Counter(nets.memo(), "rows_reused"), 32);
}

TEST(MemoStrategyTest, DeclaredPureTypesAreCoveredButNotSharedAcrossNetworks) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  const Data data = RandomData(25, 16);
  const ForwardContext eval{false, 0, 0};
  // Equal weights, different hidden offsets: sharing entries would be wrong.
  for (float offset : {0.25f, -0.5f}) {
    std::unique_ptr<Network> with =
        MakeNetwork(Backbone(26, std::make_unique<Shift>(32, offset)), Memo(memo, {"Shift"}));
    std::unique_ptr<Network> without =
        MakeNetwork(Backbone(26, std::make_unique<Shift>(32, offset)), nullptr);
    EXPECT_EQ(Counter(*with, "memoized_layers"), 7);
    for (int pass = 0; pass < 2; ++pass) {
      absl::StatusOr<const Tensor*> a = with->Forward(data.features, eval);
      absl::StatusOr<const Tensor*> b = without->Forward(data.features, eval);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_TRUE(SameBits(**a, **b)) << "offset " << offset;
      with->strategy().EndPass();
    }
    EXPECT_EQ(Counter(*with, "rows_computed"), 16);
    EXPECT_EQ(Counter(*with, "rows_reused"), 16);
  }
  // Undeclared, the memo stops before it.
  std::unique_ptr<Network> undeclared =
      MakeNetwork(Backbone(26, std::make_unique<Shift>(32, 1.0f)), Memo(memo));
  EXPECT_EQ(Counter(*undeclared, "memoized_layers"), 2);
}

// A frozen backbone of odd widths with normalisations: Dense 24->37,
// LayerNorm, ReLU, Dense 37->29, BatchNorm (frozen: its running statistics,
// random), Tanh; then a trainable head with a trainable BatchNorm: Dense
// 29->16, BatchNorm, ReLU, Dense 16->10. 37 and 29 floats a row: rows start
// at every alignment, which a row kernel must not depend on.
std::vector<std::unique_ptr<Layer>> NormBackbone(uint32_t seed, float epsilon = 1e-5f) {
  std::mt19937 rng(seed);
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(RandomDense(rng, kFeatures, 37, false));
  auto layer_norm = std::make_unique<LayerNorm>(37, epsilon);
  for (const Parameter& p : layer_norm->parameters()) *p.value = RandomTensor(rng, 1, 37, -2, 2);
  layers.push_back(Frozen(std::move(layer_norm)));
  layers.push_back(Frozen(std::make_unique<ReLU>(37)));
  layers.push_back(RandomDense(rng, 37, 29, false));
  auto batch_norm = std::make_unique<BatchNorm>(29, epsilon, 0.1f);
  for (const Parameter& p : batch_norm->parameters()) *p.value = RandomTensor(rng, 1, 29, -2, 2);
  for (const Parameter& b : batch_norm->buffers()) {
    *b.value = b.name == "running_var" ? RandomTensor(rng, 1, 29, 0.5f, 2.0f)
                                       : RandomTensor(rng, 1, 29, -1.0f, 1.0f);
  }
  layers.push_back(Frozen(std::move(batch_norm)));
  layers.push_back(Frozen(std::make_unique<Tanh>(29)));
  layers.push_back(RandomDense(rng, 29, 16, true));
  layers.push_back(std::make_unique<BatchNorm>(16, epsilon, 0.1f));
  layers.push_back(std::make_unique<ReLU>(16));
  layers.push_back(RandomDense(rng, 16, kClasses, true));
  return layers;
}

// LayerNorm and a frozen BatchNorm are covered (their rows are independent
// and computed the same way in any batch); training the head, whose
// BatchNorm uses the batch's statistics, gives the logits, weights and
// running statistics of keep_all bit for bit.
TEST(MemoStrategyTest, CoversLayerNormAndAFrozenBatchNormBitForBit) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  SideBySide nets(MakeNetwork(NormBackbone(30), Memo(memo)),
                  MakeNetwork(NormBackbone(30), nullptr));
  const Data data = RandomData(31, 96);
  nets.Epoch(data, 40, 8, 1);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (uint32_t epoch = 2; epoch <= 3; ++epoch) {
    nets.Epoch(data, 96, 16, epoch);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
  nets.ExpectSameParameters();
  EXPECT_EQ(Counter(nets.memo(), "memoized_layers"), 6);
  EXPECT_EQ(Counter(nets.memo(), "rows_computed"), 96);
  EXPECT_EQ(Counter(nets.memo(), "rows_reused"), 2 * 96 - (96 - 40));
  // The head's BatchNorm trained its statistics; the frozen one kept its.
  auto& head = static_cast<BatchNorm&>(nets.memo().layer(7));
  EXPECT_NE(head.running_mean(), Tensor::Zero(1, 16));
  const std::vector<std::unique_ptr<Layer>> start = NormBackbone(30);
  const auto& frozen = static_cast<const BatchNorm&>(nets.memo().layer(4));
  const auto& frozen_start = static_cast<const BatchNorm&>(*start[4]);
  EXPECT_TRUE(SameBits(frozen.running_mean(), frozen_start.running_mean()));
  EXPECT_TRUE(SameBits(frozen.running_var(), frozen_start.running_var()));

  // Evaluation: every row served from the memo, the logits keep_all's.
  const ForwardContext eval{false, 0, 0};
  absl::StatusOr<const Tensor*> a = nets.memo().Forward(data.features, eval);
  absl::StatusOr<const Tensor*> b = nets.reference().Forward(data.features, eval);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(SameBits(**a, **b));
}

// A BatchNorm that trains uses each batch's statistics: never covered, even
// below nothing but frozen layers. Frozen, it is.
TEST(MemoStrategyTest, ATrainableBatchNormIsNeverCovered) {
  std::vector<std::unique_ptr<Layer>> layers = NormBackbone(32);
  std::vector<Layer*> raw;
  for (const auto& layer : layers) raw.push_back(layer.get());
  EXPECT_EQ(MemoizablePrefix(raw, {}), 6);
  layers[4]->set_trainable(true);
  EXPECT_EQ(MemoizablePrefix(raw, {}), 4);
  // Declaring the type pure changes nothing for a trainable layer.
  EXPECT_EQ(MemoizablePrefix(raw, {"BatchNorm"}), 4);
}

// The signature covers what the normalisations compute with: the running
// statistics (buffers) and epsilon, beside the parameters.
TEST(MemoStrategyTest, TheSignatureSeesRunningStatisticsAndEpsilon) {
  std::vector<std::unique_ptr<Layer>> a = NormBackbone(33), b = NormBackbone(33);
  std::vector<std::unique_ptr<Layer>> other_epsilon = NormBackbone(33, 1e-3f);
  auto raw = [](const std::vector<std::unique_ptr<Layer>>& layers) {
    std::vector<Layer*> out;
    for (const auto& layer : layers) out.push_back(layer.get());
    return out;
  };
  EXPECT_EQ(PrefixSignature(raw(a), 6), PrefixSignature(raw(b), 6));
  EXPECT_NE(PrefixSignature(raw(a), 6), PrefixSignature(raw(other_epsilon), 6));
  (*b[4]->buffers()[0].value)(0, 7) += 0.25f;
  EXPECT_NE(PrefixSignature(raw(a), 6), PrefixSignature(raw(b), 6));
}

// Delegates to keep_all and records how the memo drives it.
class RecordingStrategy : public CacheStrategy {
 public:
  struct Log {
    std::vector<int> attached_sizes;
    std::vector<int> activations;
    int forwards = 0;
    int end_passes = 0;
  };
  RecordingStrategy(Log* log, bool refuse = false) : log_(log), refuse_(refuse) {}

  absl::Status Attach(const std::vector<Layer*>& layers) override {
    if (refuse_) return absl::ResourceExhaustedError("no room for these layers");
    log_->attached_sizes.push_back(static_cast<int>(layers.size()));
    return inner_->Attach(layers);
  }
  absl::StatusOr<const Tensor*> Forward(const Tensor& input,
                                        const ForwardContext& context) override {
    ++log_->forwards;
    return inner_->Forward(input, context);
  }
  absl::StatusOr<const Tensor*> Activation(int i) override {
    log_->activations.push_back(i);
    return inner_->Activation(i);
  }
  void EndPass() override {
    ++log_->end_passes;
    inner_->EndPass();
  }
  CacheStats stats() const override {
    CacheStats stats = inner_->stats();
    stats.counters.emplace_back("forwards", log_->forwards);
    return stats;
  }

 private:
  Log* log_;
  bool refuse_;
  std::unique_ptr<CacheStrategy> inner_ = MakeKeepAllStrategy();
};

TEST(MemoStrategyTest, DrivesItsInnerStrategyOverTheUncoveredLayers) {
  auto memo = std::make_shared<LruMemo>(1 << 24);
  RecordingStrategy::Log log;
  MemoStrategyOptions options;
  options.memo = memo;
  options.inner = std::make_unique<RecordingStrategy>(&log);
  options.inner_type = "recording";
  std::unique_ptr<Network> network =
      MakeNetwork(Backbone(27), std::make_unique<MemoStrategy>(std::move(options)));
  ASSERT_EQ(log.attached_sizes, std::vector<int>{3});  // Dense, ReLU, Dense of the head

  const Data data = RandomData(28, 8);
  const ForwardContext context{true, 1, 0};
  absl::StatusOr<const Tensor*> out = network->Forward(data.features, context);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(network->Backward(Tensor::Ones(8, kClasses), context).ok());
  // The network asks for 9, then 9 8, 8 7, 7 6: the inner sees them less 6.
  EXPECT_EQ(log.activations, (std::vector<int>{3, 3, 2, 2, 1, 1, 0}));
  EXPECT_EQ(log.forwards, 1);
  EXPECT_EQ(log.end_passes, 1);

  const CacheStats stats = network->strategy().stats();
  EXPECT_EQ(Counter(stats, "recording.forwards"), 1);
  EXPECT_GT(stats.bytes_held, 0u);
  EXPECT_GE(stats.peak_bytes_held, stats.bytes_held);
}

TEST(MemoStrategyTest, AnInnerStrategyThatRefusesTheNetworkRefusesItAll) {
  RecordingStrategy::Log log;
  MemoStrategyOptions options;
  options.memo = std::make_shared<LruMemo>(1 << 20);
  options.inner = std::make_unique<RecordingStrategy>(&log, /*refuse=*/true);
  options.inner_type = "recording";
  absl::StatusOr<std::unique_ptr<Network>> network =
      Network::Create(Backbone(29), std::make_unique<MemoStrategy>(std::move(options)));
  ASSERT_FALSE(network.ok());
  EXPECT_THAT(std::string(network.status().message()),
              HasSubstr("inner strategy (recording, for layers 6 to 8) refused: no room"));
}

}  // namespace
}  // namespace mnemo::caching::memo
