// The approximate memory indexes (memory_module.index: FAISS's ivf_flat and
// hnsw, memory_modules/common/approximate_index.h) against exact search (our
// GEMM + top-k, what Retrieve runs by default) on a memory of realistic
// features: Fashion-MNIST images, augmented (horizontal flip x shifts of one
// pixel: 18 variants of the 60,000, up to 1.08 million), through a fixed
// random He-initialised 784-512-256 ReLU map (the seed's feature width);
// queries are test images through the same map, unit length like the keys.
//
//   ./bazelw run -c opt //tools/bench:index_benchmark -- [--items=100000,1000000]
//       [--nlist=1024,4096] [--nprobe=8,16,32,64] [--hnsw_m=16,32]
//       [--ef_search=16,32,64,128] [--ef_construction=40] [--queries=1000]
//
// For each memory size: every index is built once (build time; FAISS uses
// every core), then every query is searched at batch 1 by exact search and by
// each index at each search breadth (nprobe, ef_search: a sweep over one built
// index), interleaved query by query with the order rotated, so that the
// machine's drift falls on all alike. Reported per configuration: latency
// min / median / max over the queries, its median against exact search's,
// recall@10 against exact search's top 10, and the queries the index answered
// with fewer than k items (the memory searches those exactly:
// key_search.h).

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/backend.h"
#include "core/init.h"
#include "core/memory_settings.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "memory_modules/common/approximate_index.h"
#include "memory_modules/common/similarity.h"
#include "memory_modules/common/top_k.h"
#include "tools/data/readers.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::vector<std::string>, items, (std::vector<std::string>{"100000", "1000000"}),
          "memory sizes");
ABSL_FLAG(std::vector<std::string>, nlist, (std::vector<std::string>{"1024", "4096"}),
          "ivf_flat lists (none: skip)");
ABSL_FLAG(std::vector<std::string>, nprobe,
          (std::vector<std::string>{"8", "16", "32", "64", "128"}), "ivf_flat lists searched");
ABSL_FLAG(std::vector<std::string>, hnsw_m, (std::vector<std::string>{"16", "32"}),
          "hnsw neighbours per node (none: skip)");
ABSL_FLAG(std::vector<std::string>, ef_search,
          (std::vector<std::string>{"16", "32", "64", "128", "256"}),
          "hnsw search candidate lists");
ABSL_FLAG(int, ef_construction, 40, "hnsw construction candidate list");
ABSL_FLAG(int, hnsw_max_items, 1000000, "skip hnsw above this many items (its build is slow)");
ABSL_FLAG(int, queries, 1000, "test images searched, one at a time");
ABSL_FLAG(int, k, 10, "neighbours per query (recall@k)");
ABSL_FLAG(std::string, data_dir, "/usr/share/datasets/fashion-mnist", "Fashion-MNIST's IDX files");
ABSL_FLAG(int, seed, 1, "seed of the feature map");

namespace mnemo {
namespace {

using memory::ApproximateIndex;
using memory::IndexSettings;
using memory::TopK;

constexpr int kSide = 28;
constexpr int kVariants = 18;  // 2 flips x 3 x 3 shifts

std::vector<int> Ints(const std::vector<std::string>& values) {
  std::vector<int> out;
  for (const std::string& v : values) {
    if (v != "none" && !v.empty()) out.push_back(std::stoi(v));
  }
  return out;
}

// Variant v of every image (rows of 28 x 28 in [0, 1]): v = 0 is the image,
// then flip = v / 9, shift (dx, dy) = (v % 3 - 1, v / 3 % 3 - 1), the pixels
// shifted in from outside 0.
Tensor Variant(const Tensor& images, int v) {
  const bool flip = v / 9 == 1;
  const int dx = v % 3 - 1, dy = v / 3 % 3 - 1;
  Tensor out = Tensor::Zero(images.rows(), images.cols());
  for (Eigen::Index i = 0; i < images.rows(); ++i) {
    for (int y = 0; y < kSide; ++y) {
      for (int x = 0; x < kSide; ++x) {
        const int sx = (flip ? kSide - 1 - x : x) - dx, sy = y - dy;
        if (sx < 0 || sx >= kSide || sy < 0 || sy >= kSide) continue;
        out(i, y * kSide + x) = images(i, sy * kSide + sx);
      }
    }
  }
  return out;
}

// The fixed random feature map: ReLU(ReLU(x W1) W2), He-initialised, no bias.
struct FeatureMap {
  Tensor w1, w2;
  explicit FeatureMap(uint64_t seed) : w1(kSide * kSide, 512), w2(512, 256) {
    config::Init he;
    he.set_scheme(config::Init::HE_NORMAL);
    InitializeWeights(he, DeriveSeed(seed, 1), &w1);
    InitializeWeights(he, DeriveSeed(seed, 2), &w2);
  }
  // Unit rows of the features of `images`.
  Tensor UnitFeatures(const Tensor& images) const {
    Tensor hidden = (images * w1).cwiseMax(0.0f);
    Tensor features = (hidden * w2).cwiseMax(0.0f);
    Tensor unit;
    memory::ColumnVector<float> norms;
    memory::NormalizeRows<float>(features, &unit, &norms);
    return unit;
  }
};

absl::StatusOr<Tensor> Keys(const Tensor& train, const FeatureMap& map, int items) {
  if (items > train.rows() * kVariants) {
    return absl::InvalidArgumentError(absl::StrCat("--items: at most ", train.rows() * kVariants,
                                                   " (", kVariants, " variants of each image)"));
  }
  Tensor keys(items, 256);
  for (int v = 0, row = 0; row < items; ++v) {
    const int take = std::min<int>(train.rows(), items - row);
    keys.middleRows(row, take) = map.UnitFeatures(Variant(train.topRows(take), v));
    row += take;
  }
  return keys;
}

struct Latencies {
  std::string name;
  std::vector<double> micros;
  double build_seconds = 0;
  int64_t hits = 0;   // of the exact top k, found
  int64_t holes = 0;  // queries answered with fewer than k items
  double Median() const {
    std::vector<double> v = micros;
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  }
  double Min() const { return *std::min_element(micros.begin(), micros.end()); }
  double Max() const { return *std::max_element(micros.begin(), micros.end()); }
};

// One index searched at one breadth.
struct Searcher {
  const ApproximateIndex* index;
  int breadth;
  Latencies* latencies;
};

absl::Status RunSize(const Tensor& train, const Tensor& queries, const FeatureMap& map, int items) {
  const int k = absl::GetFlag(FLAGS_k);
  Stopwatch watch;
  MNEMO_ASSIGN_OR_RETURN(Tensor keys, Keys(train, map, items));
  absl::PrintF("\n== %d items x 256 (features %.1f s) ==\n", items, watch.ElapsedSeconds());

  // Build every index once.
  std::vector<std::unique_ptr<ApproximateIndex>> indexes;
  std::vector<std::unique_ptr<Latencies>> results;
  std::vector<Searcher> searchers;
  auto build = [&](IndexSettings settings, const std::vector<int>& breadths,
                   const std::string& name) -> absl::Status {
    MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<ApproximateIndex> index,
                           ApproximateIndex::Create(settings, 256));
    if (items < index->MinItems()) return absl::OkStatus();
    Stopwatch build_watch;
    MNEMO_RETURN_IF_ERROR(index->Build(keys));
    const double seconds = build_watch.ElapsedSeconds();
    absl::PrintF("built %-28s %8.1f s\n", name, seconds);
    std::fflush(stdout);
    for (int breadth : breadths) {
      if (settings.type == "ivf_flat" && breadth > settings.nlist) continue;
      results.push_back(std::make_unique<Latencies>());
      results.back()->name =
          absl::StrCat(name, settings.type == "ivf_flat" ? " nprobe " : " ef_search ", breadth);
      results.back()->build_seconds = seconds;
      searchers.push_back({index.get(), breadth, results.back().get()});
    }
    indexes.push_back(std::move(index));
    return absl::OkStatus();
  };
  for (int nlist : Ints(absl::GetFlag(FLAGS_nlist))) {
    IndexSettings s;
    s.type = "ivf_flat";
    s.nlist = nlist;
    MNEMO_RETURN_IF_ERROR(
        build(s, Ints(absl::GetFlag(FLAGS_nprobe)), absl::StrCat("ivf_flat nlist ", nlist)));
  }
  if (items <= absl::GetFlag(FLAGS_hnsw_max_items)) {
    for (int m : Ints(absl::GetFlag(FLAGS_hnsw_m))) {
      IndexSettings s;
      s.type = "hnsw";
      s.hnsw_m = m;
      s.ef_construction = absl::GetFlag(FLAGS_ef_construction);
      MNEMO_RETURN_IF_ERROR(build(s, Ints(absl::GetFlag(FLAGS_ef_search)),
                                  absl::StrCat("hnsw M ", m, " efC ", s.ef_construction)));
    }
  }

  // Batch 1, interleaved: exact first (its top k is the truth), then every
  // searcher, starting one further each query.
  Latencies exact;
  exact.name = "exact (GEMM + top-k)";
  const std::shared_ptr<const Backend> backend = ReferenceBackend();
  Tensor cosines;
  TopK truth, found;
  for (int q = 0; q < queries.rows(); ++q) {
    const auto query = queries.middleRows(q, 1);
    Stopwatch one;
    MNEMO_RETURN_IF_ERROR(memory::CosineSimilarities(*backend, query, keys, &cosines));
    memory::SelectTopK(cosines, k, &truth);
    exact.micros.push_back(absl::ToDoubleMicroseconds(one.Elapsed()));
    for (size_t j = 0; j < searchers.size(); ++j) {
      const Searcher& s = searchers[(j + q) % searchers.size()];
      one.Restart();
      MNEMO_RETURN_IF_ERROR(s.index->Search(query, k, &found, s.breadth));
      s.latencies->micros.push_back(absl::ToDoubleMicroseconds(one.Elapsed()));
      bool hole = false;
      for (int id : found.index) {
        hole |= id < 0;
        s.latencies->hits += std::count(truth.index.begin(), truth.index.end(), id) > 0 && id >= 0;
      }
      s.latencies->holes += hole;
    }
  }

  absl::PrintF("batch-1 latency over %d queries, microseconds; recall@%d against exact search\n",
               static_cast<int>(queries.rows()), k);
  absl::PrintF("%-42s %8s %9s %9s %9s %9s %9s %6s\n", "search", "build s", "min", "median", "max",
               "x exact", "recall", "holes");
  absl::PrintF("%-42s %8s %9.0f %9.0f %9.0f %9s %9s %6s\n", exact.name, "-", exact.Min(),
               exact.Median(), exact.Max(), "1", "1", "-");
  for (const auto& r : results) {
    absl::PrintF("%-42s %8.1f %9.0f %9.0f %9.0f %9.4f %9.4f %6d\n", r->name, r->build_seconds,
                 r->Min(), r->Median(), r->Max(), r->Median() / exact.Median(),
                 static_cast<double>(r->hits) / (static_cast<double>(queries.rows()) * k),
                 static_cast<int>(r->holes));
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Run() {
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  MNEMO_ASSIGN_OR_RETURN(Tensor train, ReadIdxImages(dir + "/train-images-idx3-ubyte.gz"));
  MNEMO_ASSIGN_OR_RETURN(
      Tensor test, ReadIdxImages(dir + "/t10k-images-idx3-ubyte.gz", absl::GetFlag(FLAGS_queries)));
  const FeatureMap map(absl::GetFlag(FLAGS_seed));
  const Tensor queries = map.UnitFeatures(test);
  absl::PrintF("%d queries (Fashion-MNIST test images), k = %d\n", static_cast<int>(queries.rows()),
               absl::GetFlag(FLAGS_k));
  for (int items : Ints(absl::GetFlag(FLAGS_items))) {
    MNEMO_RETURN_IF_ERROR(RunSize(train, queries, map, items));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(argc, argv, "index_benchmark",
                        "Approximate memory indexes (FAISS) against exact search, batch 1.\n"
                        "  bazel run //tools/bench:index_benchmark -- [--items=...] [--nlist=...]",
                        &mnemo::Run);
}
