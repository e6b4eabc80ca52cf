// The checks of data parallelism that need several real ranks: a program
// that mpirun starts N times (tests/distributed/mpi_test.cc runs it with 2
// and 4). Every rank prints "rank R: PASS <check>" or "rank R: FAIL <check>:
// why" per check, and exits non-zero when any failed.
//
//   mpirun -np 4 mpi_check --plugin=plugins/mpi/libmpi_plugin.so \
//       --data_dir=/usr/share/datasets/fashion-mnist
//
// collectives: AllReduceSum equals the sum in rank order that each rank
//   computes itself from every rank's inputs (they are drawn from the rank's
//   seed), bit for bit, on a buffer of an odd size and on one shorter than
//   the ranks; AllGather with counts that differ (one of them 0); Broadcast
//   from the last rank; the results hash alike on every rank.
// training: 20 steps of the seed's MLP on Fashion-MNIST, global batch 128,
//   on the ranks, against the same 20 steps in one process (each rank runs
//   both): the weights agree within float rounding (the largest difference
//   is printed), and are the same bits on every rank.
// memory: the same for a dual-path classifier with a cached memory of 1,000
//   items (configs/memory_cached.pbtxt's, smaller): every rank stores the
//   whole global batch, so the memories hold the same labels in the same
//   slots on every rank as in one process, keys within float rounding, and
//   the same bits on every rank.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/communicator.h"
#include "core/config_loader.h"
#include "core/init.h"
#include "core/model_builder.h"
#include "core/network_model.h"
#include "core/optimizer.h"
#include "core/plugin_loader.h"
#include "core/registry.h"
#include "core/splitmix64.h"
#include "core/status_macros.h"
#include "core/trainer.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "tools/data/formats.h"
#include "tools/data/readers.h"

ABSL_FLAG(std::string, plugin, "", "the mpi plugin's shared object");
ABSL_FLAG(std::string, memory_plugin, "", "the cached memory's plugin");
ABSL_FLAG(std::string, data_dir, "/usr/share/datasets/fashion-mnist", "Fashion-MNIST's files");
ABSL_FLAG(std::string, dir, "/tmp", "a directory for the config file");
ABSL_FLAG(int, steps, 20, "training steps compared");

namespace mnemo {
namespace {

int failures = 0;

void Report(const Communicator& communicator, const std::string& check,
            const absl::Status& status) {
  if (status.ok()) {
    std::printf("rank %d: PASS %s\n", communicator.rank(), check.c_str());
  } else {
    ++failures;
    std::printf("rank %d: FAIL %s: %s\n", communicator.rank(), check.c_str(),
                std::string(status.message()).c_str());
  }
  std::fflush(stdout);
}

// Rank `rank`'s value i: any float, of mixed signs and magnitudes.
float Value(int rank, size_t i) {
  SplitMix64 rng(DeriveSeed(1000 + rank, i));
  const double unit = static_cast<double>(rng.Next() >> 11) / 9007199254740992.0;
  return static_cast<float>((unit - 0.5) * std::ldexp(1.0, static_cast<int>(i % 17) - 8));
}

// FNV-1a over the bytes of `values`, as a float-exact pair for a collective.
uint64_t Hash(const std::vector<float>& values) {
  uint64_t hash = 1469598103934665603ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
  for (size_t i = 0; i < values.size() * sizeof(float); ++i) {
    hash = (hash ^ bytes[i]) * 1099511628211ull;
  }
  return hash;
}

// Whether `hash` is the same on every rank (all-gathered as 3 exact floats
// of 22 bits each).
absl::Status SameOnEveryRank(Communicator& communicator, uint64_t hash, const std::string& what) {
  const std::vector<float> mine = {static_cast<float>(hash & 0x3fffff),
                                   static_cast<float>((hash >> 22) & 0x3fffff),
                                   static_cast<float>(hash >> 44)};
  const int ranks = communicator.size();
  std::vector<float> all(3 * ranks);
  MNEMO_RETURN_IF_ERROR(
      communicator.AllGather(mine, std::vector<int>(ranks, 3), absl::MakeSpan(all)));
  for (int r = 0; r < ranks; ++r) {
    if (all[3 * r] != mine[0] || all[3 * r + 1] != mine[1] || all[3 * r + 2] != mine[2]) {
      return absl::InternalError(
          absl::StrCat(what, " differs between rank ", communicator.rank(), " and rank ", r));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAllReduce(Communicator& communicator, size_t n) {
  const int ranks = communicator.size();
  std::vector<float> data(n);
  for (size_t i = 0; i < n; ++i) data[i] = Value(communicator.rank(), i);
  MNEMO_RETURN_IF_ERROR(communicator.AllReduceSum(absl::MakeSpan(data)));
  for (size_t i = 0; i < n; ++i) {
    float expected = Value(0, i);
    for (int r = 1; r < ranks; ++r) expected += Value(r, i);
    if (std::memcmp(&expected, &data[i], sizeof(float)) != 0) {
      return absl::InternalError(absl::StrFormat("element %d of %d: %.9g, not %.9g (rank order)", i,
                                                 n, data[i], expected));
    }
  }
  return SameOnEveryRank(communicator, Hash(data), "the sum");
}

absl::Status CheckAllGather(Communicator& communicator) {
  const int ranks = communicator.size();
  std::vector<int> counts(ranks);
  for (int r = 0; r < ranks; ++r) counts[r] = r == 1 ? 0 : 3 + 5 * r;
  std::vector<float> mine(counts[communicator.rank()]);
  for (size_t i = 0; i < mine.size(); ++i) mine[i] = Value(communicator.rank(), i);
  int total = 0;
  for (int count : counts) total += count;
  std::vector<float> all(total);
  MNEMO_RETURN_IF_ERROR(communicator.AllGather(mine, counts, absl::MakeSpan(all)));
  int at = 0;
  for (int r = 0; r < ranks; ++r) {
    for (int i = 0; i < counts[r]; ++i, ++at) {
      if (all[at] != Value(r, i)) {
        return absl::InternalError(absl::StrCat("element ", i, " of rank ", r, "'s block"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBroadcast(Communicator& communicator) {
  const int root = communicator.size() - 1;
  std::vector<float> data(1001);
  for (size_t i = 0; i < data.size(); ++i) data[i] = Value(communicator.rank(), i);
  MNEMO_RETURN_IF_ERROR(communicator.Broadcast(absl::MakeSpan(data), root));
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != Value(root, i)) return absl::InternalError(absl::StrCat("element ", i));
  }
  return communicator.Barrier();
}

// The seed's MLP (configs/fashion_mlp.pbtxt).
constexpr char kSeedModel[] = R"pb(
  model {
    input_size: 784
    init { scheme: NORMAL std: 0.01 }
    layer { type: "Dense" units: 256 activation: "ReLU" }
    layer { type: "Dense" units: 10 }
  }
)pb";

// configs/memory_cached.pbtxt's dual path, smaller: 128 features, 1,000 items.
constexpr char kDualPathModel[] = R"pb(
  model {
    input_size: 784
    init { scheme: HE_NORMAL }
    layer { type: "Dense" units: 128 activation: "ReLU" name: "features" }
    layer { type: "Dense" units: 10 }
  }
  memory_module {
    type: "cached_memory"
    capacity: 1000
    features_after: "features"
    memory_loss_weight: 0.4
    similarity_threshold: 1.0
    temperature: 0.1
    top_k: 10
  }
)pb";

// `model` with `plugin` loaded, trained by Adam for one epoch of `--steps`
// steps of 128 (the first steps x 128 training samples), loaded from a file
// of this rank's.
absl::StatusOr<std::unique_ptr<LoadedConfig>> LoadExperiment(const std::string& name,
                                                             const std::string& plugin,
                                                             const char* model, int rank) {
  const int steps = absl::GetFlag(FLAGS_steps);
  const std::string path =
      absl::StrCat(absl::GetFlag(FLAGS_dir), "/mpi_check_", name, "_", rank, ".pbtxt");
  std::ofstream(path) << absl::StrCat("plugin: \"", plugin, "\"\n", model, R"pb(
                                        trainer {
                                          optimizer { type: "adam" learning_rate: 0.001 }
                                          batch_size: 128
                                          epochs: 1
                                          seed: 1
                                        }
                                        data { format: "idx" dir: ")pb",
                                      absl::GetFlag(FLAGS_data_dir),
                                      "\" train_limit: ", steps * 128, " test_limit: 1 }\n");
  ConfigLoader loader;
  return loader.LoadFile(path);
}

// Trains `model` as `loaded` says over `communicator` (null: one process).
absl::Status Fit(const LoadedConfig& loaded, const TrainTestData& data, TrainableModel& model,
                 Communicator* communicator) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(loaded.experiment().trainer().optimizer()));
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer, Trainer::Create(loaded.experiment().trainer(), &model,
                                                          optimizer.get(), communicator));
  TrainingProgress progress;
  return trainer.Run(data, &progress);
}

// The config's network trained over `communicator` (null: one process): its
// parameters, flattened in the network's order.
absl::StatusOr<std::vector<float>> Train(const LoadedConfig& loaded, const TrainTestData& data,
                                         Communicator* communicator) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(loaded, Registries::Global()));
  NetworkModel model(network.get());
  MNEMO_RETURN_IF_ERROR(Fit(loaded, data, model, communicator));
  std::vector<float> weights;
  for (const ModelParameter& p : model.Parameters()) {
    weights.insert(weights.end(), p.value->data(), p.value->data() + p.value->size());
  }
  return weights;
}

absl::Status CheckTraining(Communicator& communicator) {
  MNEMO_ASSIGN_OR_RETURN(
      std::unique_ptr<LoadedConfig> loaded,
      LoadExperiment("mlp", absl::GetFlag(FLAGS_plugin), kSeedModel, communicator.rank()));
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(loaded->experiment()));
  MNEMO_ASSIGN_OR_RETURN(const std::vector<float> ranked, Train(*loaded, data, &communicator));
  MNEMO_ASSIGN_OR_RETURN(const std::vector<float> alone, Train(*loaded, data, nullptr));
  double largest = 0, scale = 0;
  for (size_t i = 0; i < ranked.size(); ++i) {
    largest = std::max(largest, std::abs(static_cast<double>(ranked[i]) - alone[i]));
    scale = std::max(scale, std::abs(static_cast<double>(alone[i])));
  }
  std::printf(
      "rank %d: %d ranks vs one process after %d steps: largest weight difference %.3g "
      "(largest weight %.3g)\n",
      communicator.rank(), communicator.size(), absl::GetFlag(FLAGS_steps), largest, scale);
  // Adam's step is about the learning rate per weight whatever the gradient's
  // size, so rounding differences in the gradients stay near float epsilon
  // times the weights; 1e-4 of the largest weight is far from any real
  // difference (a step of 0.001 on the wrong weight).
  if (!(largest <= 1e-4 * scale)) {
    return absl::InternalError(absl::StrFormat("the weights differ by %.3g", largest));
  }
  return SameOnEveryRank(communicator, Hash(ranked), "the trained weights");
}

// The dual-path classifier of `loaded` trained over `communicator` (null:
// one process); its memory's state.
absl::StatusOr<std::map<std::string, Tensor>> TrainDualPath(const LoadedConfig& loaded,
                                                            const TrainTestData& data,
                                                            Communicator* communicator) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<DualPathClassifier> model,
                         DualPathClassifier::Create(loaded));
  MNEMO_RETURN_IF_ERROR(Fit(loaded, data, *model, communicator));
  return model->ExportState();
}

absl::Status CheckMemory(Communicator& communicator) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded,
                         LoadExperiment("memory", absl::GetFlag(FLAGS_memory_plugin),
                                        kDualPathModel, communicator.rank()));
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(loaded->experiment()));
  MNEMO_ASSIGN_OR_RETURN(const auto ranked, TrainDualPath(*loaded, data, &communicator));
  MNEMO_ASSIGN_OR_RETURN(const auto alone, TrainDualPath(*loaded, data, nullptr));
  if (ranked.size() != alone.size() || ranked.empty()) {
    return absl::InternalError("the memories' state differs in its tensors");
  }
  std::vector<float> all;
  double largest = 0;
  for (const auto& [name, tensor] : ranked) {
    const Tensor& other = alone.at(name);
    if (tensor.rows() != other.rows() || tensor.cols() != other.cols()) {
      return absl::InternalError(absl::StrCat(name, " has another shape than one process's"));
    }
    const bool exact = name.find("keys") == std::string::npos;
    for (Eigen::Index i = 0; i < tensor.size(); ++i) {
      const double difference = std::abs(static_cast<double>(tensor.data()[i]) - other.data()[i]);
      if (exact && difference != 0) {
        return absl::InternalError(absl::StrCat(name, "[", i, "] is ", tensor.data()[i],
                                                ", one process's ", other.data()[i]));
      }
      largest = std::max(largest, difference);
    }
    all.insert(all.end(), tensor.data(), tensor.data() + tensor.size());
  }
  std::printf(
      "rank %d: the memory after %d steps on %d ranks vs one process: largest key "
      "difference %.3g\n",
      communicator.rank(), absl::GetFlag(FLAGS_steps), communicator.size(), largest);
  // Unit-length keys: float rounding is near 1e-7 per step.
  if (!(largest <= 1e-4)) {
    return absl::InternalError(absl::StrFormat("the keys differ by %.3g", largest));
  }
  return SameOnEveryRank(communicator, Hash(all), "the memory");
}

absl::Status Main() {
  MNEMO_RETURN_IF_ERROR(RegisterDataFormats());
  MNEMO_RETURN_IF_ERROR(PluginLoader::Global().Load(absl::GetFlag(FLAGS_plugin)).status());
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> communicator,
                         Registries::Global().communicators.Create("mpi", {}));
  if (communicator->size() < 2) {
    return absl::FailedPreconditionError("run under mpirun with at least 2 ranks");
  }
  Report(*communicator, "all_reduce_odd_size", CheckAllReduce(*communicator, 1000003));
  Report(*communicator, "all_reduce_shorter_than_ranks",
         CheckAllReduce(*communicator, communicator->size() - 1));
  Report(*communicator, "all_gather", CheckAllGather(*communicator));
  Report(*communicator, "broadcast", CheckBroadcast(*communicator));
  Report(*communicator, "training", CheckTraining(*communicator));
  Report(*communicator, "memory", CheckMemory(*communicator));
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::Status status = mnemo::Main(); !status.ok()) {
    std::fprintf(stderr, "mpi_check: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return mnemo::failures == 0 ? 0 : 1;
}
