// The memory path against the network path at batch 128 over the
// Fashion-MNIST test set (issue 18: "the memory path at batch 128 at most
// 1.5x the network path's time per sample"), with the memory's scan in fp32
// and in int8 (memory_module.scan_precision), on each backend; then where
// retrieval's time goes, against the machine's roofs; then the int8 scan's
// recall against exact search.
//
//   ./bazelw run //tools/bench:memory_path_benchmark -- [--model=PATH]
//       [--epochs=1] [--reps=7] [--threads=0] [--feature_widths=128,64]
//
// The model is configs/memory_cached.pbtxt's (784-512-256, 10,000 items,
// top_k 10), trained --epochs (or loaded from --model, a model
// tools/memory_experiment saved); --feature_widths adds models whose features
// layer has other widths, trained the same way (the config is not changed).
// Each variant (width x backend x precision) is one classifier loaded from the
// same saved model; the repetitions interleave the variants, and each figure
// is min / median / max over them. The paths are the seed's (and
// MeasurePathTimes'): memory path = features + Retrieve, network path =
// features + head.

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config_loader.h"
#include "core/memory_settings.h"
#include "core/optimizer.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "core/trainer.h"
#include "google/protobuf/text_format.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "memory_modules/classifier/path_timing.h"
#include "memory_modules/common/int8_scan.h"
#include "memory_modules/common/similarity.h"
#include "memory_modules/common/top_k.h"
#include "memory_modules/common/vote.h"
#include "tools/data/readers.h"
#include "tools/paths.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, config, "configs/memory_cached.pbtxt", "the dual-path config");
ABSL_FLAG(std::string, model, "",
          "a model of --config saved by tools/memory_experiment; empty = train --epochs");
ABSL_FLAG(int, epochs, 1, "epochs of the training when there is no --model");
ABSL_FLAG(std::string, feature_widths, "",
          "also models whose features layer has these widths (comma-separated), trained "
          "--epochs each");
ABSL_FLAG(int, reps, 7, "interleaved repetitions of every variant");
ABSL_FLAG(int, threads, 0, "the onednn backend's threads; 0 = one per core");
ABSL_FLAG(std::string, backends, "eigen,onednn", "backends to time");
ABSL_FLAG(bool, parts, true, "also time retrieval's parts and the roofs");
ABSL_FLAG(std::string, out, "/tmp/memory_path_benchmark", "where trained models are saved");

namespace mnemo {
namespace {

constexpr char kOneDnnPlugin[] = "plugins/onednn/libonednn_plugin.so";
constexpr int kBatch = 128;
volatile int sink = 0;  // keeps a timed result alive

struct Spread {
  double min = 0, median = 0, max = 0;
};

Spread SpreadOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2], v.back()};
}

std::string Format(const Spread& s, const char* format = "%.4f") {
  return absl::StrCat(absl::StrFormat(format, s.min), " / ", absl::StrFormat(format, s.median),
                      " / ", absl::StrFormat(format, s.max));
}

// The config with the features layer `width` wide (0 = as it is).
absl::Status SetFeatureWidth(config::Experiment& experiment, int width) {
  if (width == 0) return absl::OkStatus();
  for (config::Layer& layer : *experiment.mutable_model()->mutable_layer()) {
    if (layer.name() == experiment.memory_module().features_after()) {
      layer.set_units(width);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("the config has no features layer");
}

std::string Text(const config::Experiment& experiment) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(experiment, &text);
  return text;
}

absl::StatusOr<std::unique_ptr<DualPathClassifier>> Build(const config::Experiment& experiment,
                                                          const std::string& config_path) {
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded,
                         loader.LoadText(Text(experiment), config_path));
  return DualPathClassifier::Create(*loaded);
}

// The model of `experiment` (fp32, its backend), trained and saved at `path`.
absl::Status Train(const config::Experiment& experiment, const std::string& config_path,
                   const TrainTestData& data, const std::string& path) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<DualPathClassifier> model, Build(experiment, config_path));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(experiment.trainer().optimizer()));
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer,
                         Trainer::Create(experiment.trainer(), model.get(), optimizer.get()));
  TrainingProgress progress;
  Stopwatch clock;
  MNEMO_RETURN_IF_ERROR(trainer.Run(data.train, Dataset(), &progress));
  absl::PrintF("trained %s in %.0f s -> %s\n", model->backbone().layer(0).name(),
               clock.ElapsedSeconds(), path);
  return model->Save(path, Text(experiment));
}

struct Variant {
  int width = 0;
  std::string backend;
  memory::ScanPrecision precision;
  std::unique_ptr<DualPathClassifier> classifier;
  std::vector<double> network_ms, memory_ms, ratio, retrieval_ms, feature_ms;
  std::string Name() const {
    return absl::StrCat("d=", width, " ", backend, " ", memory::ScanPrecisionName(precision));
  }
};

// ---- Parts of retrieval and the roofs ------------------------------------

template <typename F>
Spread TimeMs(F&& f, int reps = 25) {
  f();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    Stopwatch clock;
    f();
    ms.push_back(absl::ToDoubleMilliseconds(clock.Elapsed()));
  }
  return SpreadOf(ms);
}

// A large sgemm and u8s8s32 gemm on `threads` threads: what the machine's
// cores do at best here.
void PrintRoofs(int threads) {
  omp_set_num_threads(threads);
  constexpr int n = 2048;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
  std::vector<uint8_t> qa(n * n, 3);
  std::vector<int8_t> qb(n * n, 2);
  std::vector<int32_t> qc(n * n);
  const int32_t zero = 0;
  const double flops = 2.0 * n * n * n;
  const Spread f = TimeMs(
      [&] { dnnl_sgemm('N', 'T', n, n, n, 1, a.data(), n, b.data(), n, 0, c.data(), n); }, 7);
  const Spread q = TimeMs(
      [&] {
        dnnl_gemm_u8s8s32('N', 'T', 'F', n, n, n, 1, qa.data(), n, 0, qb.data(), n, 0, 0, qc.data(),
                          n, &zero);
      },
      7);
  absl::PrintF(
      "roof, %d thread(s): oneDNN sgemm %d^3 %.0f GFLOP/s; gemm_u8s8s32 %.0f GOP/s "
      "(medians)\n",
      threads, n, flops / f.median / 1e6, flops / q.median / 1e6);
}

absl::Status PrintParts(const Backend& backend, const Tensor& features, const Tensor& keys,
                        const std::vector<int>& labels) {
  Tensor unit, cosines;
  memory::ColumnVector<float> norms;
  memory::NormalizeRows<float>(features, &unit, &norms);
  const double flops = 2.0 * features.rows() * keys.rows() * keys.cols();
  absl::PrintF(
      "parts on %s (%d thread(s)), batch %d x %d items x d %d, ms per batch min / "
      "median / max:\n",
      backend.name(), backend.threads(), features.rows(), keys.rows(), keys.cols());
  absl::PrintF("  normalise queries        %s\n",
               Format(TimeMs([&] { memory::NormalizeRows<float>(features, &unit, &norms); })));
  absl::Status status;
  const Spread gemm =
      TimeMs([&] { status.Update(backend.MatMulTransposed(unit, keys, &cosines)); });
  MNEMO_RETURN_IF_ERROR(status);
  absl::PrintF("  fp32 GEMM                %s  (%.0f GFLOP/s at the median)\n", Format(gemm),
               flops / gemm.median / 1e6);
  for (int k : {1, 10}) {
    memory::TopK top;
    absl::PrintF("  top-%-2d                   %s\n", k,
                 Format(TimeMs([&] { memory::SelectTopK(cosines, k, &top); })));
    absl::PrintF("  vote (top-%-2d)            %s\n", k,
                 Format(TimeMs([&] { sink = memory::Vote(top, labels, {}).label[0]; })));
  }
  if (!backend.has_int8_matmul()) return absl::OkStatus();
  MatrixU8 q = MatrixU8::Constant(unit.rows(), unit.cols(), 130);
  MatrixS8 kq = MatrixS8::Constant(keys.rows(), keys.cols(), 3);
  MatrixS32 products;
  const Spread int8 =
      TimeMs([&] { status.Update(backend.MatMulTransposedInt8(q, kq, &products)); });
  MNEMO_RETURN_IF_ERROR(status);
  absl::PrintF("  int8 GEMM                %s  (%.0f GOP/s at the median)\n", Format(int8),
               flops / int8.median / 1e6);
  for (int k : {1, 10}) {
    memory::Int8Scan scan;
    memory::TopK top;
    absl::PrintF("  int8 scan, top-%-2d        %s  (quantise, GEMM, %d candidates, rescore)\n", k,
                 Format(TimeMs([&] { status.Update(scan.Search(backend, unit, keys, k, &top)); })),
                 memory::Int8Scan::DefaultCandidates(k));
    MNEMO_RETURN_IF_ERROR(status);
  }
  return absl::OkStatus();
}

// ---- Recall of the int8 scan ---------------------------------------------

absl::Status PrintRecall(const Backend& backend, const Tensor& all_features, const Tensor& keys,
                         const std::vector<int>& labels, int top_k) {
  Tensor unit, cosines;
  memory::ColumnVector<float> norms;
  memory::NormalizeRows<float>(all_features, &unit, &norms);
  MNEMO_RETURN_IF_ERROR(ReferenceBackend()->MatMulTransposed(unit, keys, &cosines));
  for (int k : {1, top_k}) {
    memory::TopK exact;
    memory::SelectTopK(cosines, k, &exact);
    const Retrieval exact_answer = memory::Vote(exact, labels, {});
    for (int factor : {1, 2, 4, 8}) {
      memory::Int8Scan scan(factor * k);
      memory::TopK approximate;
      MNEMO_RETURN_IF_ERROR(scan.Search(backend, unit, keys, k, &approximate));
      int64_t found = 0, rows_all = 0;
      for (int b = 0; b < exact.rows; ++b) {
        const std::set<int> truth(exact.index.begin() + b * k, exact.index.begin() + (b + 1) * k);
        int here = 0;
        for (int j = 0; j < k; ++j) here += truth.count(approximate.index[b * k + j]);
        found += here;
        rows_all += here == k;
      }
      const Retrieval answer = memory::Vote(approximate, labels, {});
      int labels_differ = 0;
      double confidence_differs = 0;  // the largest difference
      for (int b = 0; b < exact.rows; ++b) {
        labels_differ += answer.label[b] != exact_answer.label[b];
        confidence_differs = std::max<double>(
            confidence_differs, std::abs(answer.confidence[b] - exact_answer.confidence[b]));
      }
      absl::PrintF(
          "  k %-2d candidates %-3d: recall@k %.5f, rows with all k %.4f; Vote labels differ on "
          "%d of %d, confidences by up to %.2g\n",
          k, factor * k, static_cast<double>(found) / (static_cast<double>(exact.rows) * k),
          static_cast<double>(rows_all) / exact.rows, labels_differ, exact.rows,
          confidence_differs);
    }
  }
  return absl::OkStatus();
}

// ---- Main -------------------------------------------------------------------

absl::Status Run() {
  MNEMO_ASSIGN_OR_RETURN(std::string config_path, FindInputFile(absl::GetFlag(FLAGS_config)));
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded, loader.LoadFile(config_path));
  config::Experiment base = loaded->experiment();
  base.mutable_trainer()->set_epochs(absl::GetFlag(FLAGS_epochs));
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(base));
  MNEMO_ASSIGN_OR_RETURN(memory::MemorySettings settings,
                         memory::ResolveMemorySettings(base.memory_module()));
  Tensor test_inputs;
  SliceRows(data.test, 0, data.test.size(), &test_inputs);
  const std::string out = UserPath(absl::GetFlag(FLAGS_out));
  if (std::system(absl::StrCat("mkdir -p '", out, "'").c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot make ", out));
  }

  // Widths: the config's (0) and the extra ones; a model per width.
  std::vector<int> widths = {0};
  for (absl::string_view w :
       absl::StrSplit(absl::GetFlag(FLAGS_feature_widths), ',', absl::SkipWhitespace())) {
    int width = 0;
    if (!absl::SimpleAtoi(w, &width) || width <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--feature_widths: not a width: ", w));
    }
    widths.push_back(width);
  }
  std::map<int, std::string> model_paths;
  for (int width : widths) {
    config::Experiment experiment = base;
    MNEMO_RETURN_IF_ERROR(SetFeatureWidth(experiment, width));
    if (width == 0 && !absl::GetFlag(FLAGS_model).empty()) {
      model_paths[width] = UserPath(absl::GetFlag(FLAGS_model));
      continue;
    }
    model_paths[width] = absl::StrCat(out, "/memory_path_d", width, ".safetensors");
    MNEMO_RETURN_IF_ERROR(Train(experiment, config_path, data, model_paths[width]));
  }

  // The variants, each loaded from its width's model.
  const std::vector<std::string> backends =
      absl::StrSplit(absl::GetFlag(FLAGS_backends), ',', absl::SkipWhitespace());
  std::vector<Variant> variants;
  for (int width : widths) {
    for (const std::string& backend : backends) {
      for (memory::ScanPrecision precision :
           {memory::ScanPrecision::kFp32, memory::ScanPrecision::kInt8}) {
        config::Experiment experiment = base;
        MNEMO_RETURN_IF_ERROR(SetFeatureWidth(experiment, width));
        experiment.mutable_model()->set_backend(backend);
        if (backend != kReferenceBackend) {
          experiment.add_plugin(kOneDnnPlugin);
          experiment.mutable_model()->set_threads(absl::GetFlag(FLAGS_threads));
        }
        experiment.mutable_memory_module()->set_scan_precision(
            memory::ScanPrecisionName(precision));
        absl::StatusOr<std::unique_ptr<DualPathClassifier>> classifier =
            Build(experiment, config_path);
        if (!classifier.ok()) {
          absl::PrintF("skipped d=%d %s %s: %s\n", width, backend,
                       memory::ScanPrecisionName(precision), classifier.status().message());
          continue;
        }
        MNEMO_RETURN_IF_ERROR((*classifier)->Load(model_paths[width]));
        Variant v;
        v.width = (*classifier)->memory().feature_dim();
        v.backend = backend;
        v.precision = precision;
        v.classifier = *std::move(classifier);
        variants.push_back(std::move(v));
      }
    }
  }

  // Answers: each int8 variant's against its backend's fp32 one, whole test set.
  for (const Variant& v : variants) {
    if (v.precision != memory::ScanPrecision::kInt8) continue;
    for (const Variant& w : variants) {
      if (w.width != v.width || w.backend != v.backend || &w == &v) continue;
      MNEMO_ASSIGN_OR_RETURN(DualPathPrediction a, w.classifier->Predict(test_inputs));
      MNEMO_ASSIGN_OR_RETURN(DualPathPrediction b, v.classifier->Predict(test_inputs));
      int label = 0, memory_label = 0, routed = 0, correct_a = 0, correct_b = 0;
      for (int i = 0; i < a.size(); ++i) {
        label += a.label[i] != b.label[i];
        memory_label += a.memory_label[i] != b.memory_label[i];
        routed += a.from_memory[i] != b.from_memory[i];
        correct_a += a.label[i] == data.test.labels[i];
        correct_b += b.label[i] == data.test.labels[i];
      }
      absl::PrintF(
          "%s vs fp32, %d test samples: dual-path answers differ on %d, memory's class on %d, "
          "routing on %d; accuracy %.4f vs %.4f\n",
          v.Name(), a.size(), label, memory_label, routed, correct_b / double(a.size()),
          correct_a / double(a.size()));
    }
  }

  // Interleaved repetitions.
  const int reps = absl::GetFlag(FLAGS_reps);
  for (int rep = 0; rep < reps; ++rep) {
    for (Variant& v : variants) {
      MNEMO_ASSIGN_OR_RETURN(PathTimes t, MeasurePathTimes(*v.classifier, data.test, kBatch));
      v.network_ms.push_back(t.network_path_ms());
      v.memory_ms.push_back(t.memory_path_ms());
      v.ratio.push_back(t.ratio());
      v.retrieval_ms.push_back(t.retrieval_ms);
      v.feature_ms.push_back(t.feature_ms);
    }
  }
  absl::PrintF(
      "\nbatch %d, %d test samples, %d interleaved repetitions; ms per sample (min / median / "
      "max); ratio = memory path / network path of the same repetition\n",
      kBatch, data.test.size(), reps);
  for (const Variant& v : variants) {
    const Spread ratio = SpreadOf(v.ratio);
    absl::PrintF("%-24s network %s  memory %s  (retrieval %s)  ratio %s  %s\n", v.Name(),
                 Format(SpreadOf(v.network_ms)), Format(SpreadOf(v.memory_ms)),
                 Format(SpreadOf(v.retrieval_ms)), Format(ratio, "%.2f"),
                 ratio.median <= 1.5 ? "<= 1.5x at the median" : "above 1.5x");
  }

  if (!absl::GetFlag(FLAGS_parts)) return absl::OkStatus();
  absl::PrintF("\n");
  for (const Variant& v : variants) {
    if (v.precision != memory::ScanPrecision::kFp32) continue;
    const Backend& backend = v.classifier->backbone().backend();
    std::map<std::string, Tensor> state = v.classifier->memory().ExportState();
    const Tensor& keys = state.at("keys");
    std::vector<int> labels(keys.rows());
    for (int i = 0; i < keys.rows(); ++i) labels[i] = static_cast<int>(state.at("labels")(0, i));
    Tensor batch;
    SliceRows(data.test, 0, kBatch, &batch);
    MNEMO_ASSIGN_OR_RETURN(const Tensor* features, v.classifier->ExtractFeatures(batch));
    MNEMO_RETURN_IF_ERROR(PrintParts(backend, *features, keys, labels));
    if (backend.has_int8_matmul()) {
      MNEMO_ASSIGN_OR_RETURN(const Tensor* all, v.classifier->ExtractFeatures(test_inputs));
      const Tensor all_features = *all;
      absl::PrintF("int8 scan against exact search, %d test queries, d=%d:\n", all_features.rows(),
                   v.width);
      MNEMO_RETURN_IF_ERROR(PrintRecall(backend, all_features, keys, labels, settings.top_k));
      PrintRoofs(backend.threads());
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(argc, argv, "memory_path_benchmark",
                        "The memory path against the network path at batch 128, fp32 and int8 "
                        "scans, both backends.\n"
                        "  bazel run //tools/bench:memory_path_benchmark -- [--model=PATH] "
                        "[--feature_widths=128,64]",
                        &mnemo::Run);
}
