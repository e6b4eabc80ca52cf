// Training snapshots in process: a round trip is bit-exact (weights, SGD
// momentum and Adam state, progress, metrics), a run resumed from any step
// ends as one that never stopped, and what cannot be resumed is refused with
// the file named. Also the output directory checks and the atomic writer's
// stale temporaries.

#include "core/snapshot.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/model_io.h"
#include "core/snapshot_writer.h"
#include "core/stopwatch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"
#include "tests/train/small_run.h"
#include "tools/output_checks.h"

namespace mnemo {
namespace {

using testing::ExpectSameMetrics;
using testing::ExpectSameParameters;
using ::testing::HasSubstr;
using testing::MakeSmallRun;
using ::testing::Not;
using testing::SameBits;
using testing::SmallConfigText;
using testing::SmallData;
using testing::SmallRun;
using testing::StopAt;

std::string TrainingText(const SmallRun& run) {
  return TrainingConfigText(run.config->experiment());
}

std::map<std::string, Tensor> OptimizerState(Optimizer& optimizer) {
  std::map<std::string, Tensor> state;
  for (const auto& [key, tensor] : optimizer.State()) state.emplace(key, *tensor);
  return state;
}

// Trains `optimizer_text` to step `stop_step` (0: to the end of epoch
// `stop_epoch`), snapshots, restores into a fresh run and finishes both; the
// two must end bit for bit alike, and the restored state must be the saved.
void ExpectResumeIsExact(const std::string& optimizer_text, uint64_t stop_step, int stop_epoch = 0,
                         const std::string& layers = testing::kSmallLayers) {
  SCOPED_TRACE(absl::StrCat(optimizer_text, ", stop at step ", stop_step, " epoch ", stop_epoch));
  const Dataset train = SmallData(50, 1);
  const Dataset test = SmallData(20, 2);
  const std::string config = SmallConfigText(optimizer_text, /*epochs=*/3, layers);
  const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");

  SmallRun whole = MakeSmallRun(config);
  ASSERT_NE(whole.trainer, nullptr);
  TrainingProgress whole_progress;
  ASSERT_TRUE(whole.trainer->Run(train, test, &whole_progress).ok());
  ASSERT_EQ(whole_progress.epoch, 4);

  SmallRun first = MakeSmallRun(config);
  ASSERT_NE(first.trainer, nullptr);
  TrainingProgress progress;
  StopAt stop(stop_step, stop_epoch);
  ASSERT_TRUE(first.trainer->Run(train, test, &progress, nullptr, &stop).ok());
  ASSERT_LE(progress.epoch, 3);
  ASSERT_TRUE(
      WriteSnapshot(path, *first.network, *first.optimizer, progress, TrainingText(first)).ok());

  SmallRun second = MakeSmallRun(config);
  ASSERT_NE(second.trainer, nullptr);
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, TrainingText(second), *second.network, *second.optimizer);
  ASSERT_TRUE(restored.ok()) << restored.status();

  // The round trip: every tensor and figure as saved.
  ExpectSameParameters(*first.network, *second.network);
  const std::map<std::string, Tensor> saved_state = OptimizerState(*first.optimizer);
  const std::map<std::string, Tensor> restored_state = OptimizerState(*second.optimizer);
  ASSERT_EQ(saved_state.size(), restored_state.size());
  for (const auto& [key, tensor] : saved_state) {
    ASSERT_TRUE(restored_state.count(key)) << key;
    EXPECT_TRUE(SameBits(tensor, restored_state.at(key))) << key;
  }
  const TrainingProgress& back = restored->progress;
  EXPECT_EQ(back.epoch, progress.epoch);
  EXPECT_EQ(back.batch, progress.batch);
  EXPECT_EQ(back.step, progress.step);
  EXPECT_EQ(back.loss_sum, progress.loss_sum);
  EXPECT_EQ(back.correct, progress.correct);
  EXPECT_EQ(back.samples, progress.samples);
  EXPECT_EQ(back.skipped, progress.skipped);
  EXPECT_EQ(back.train_seconds, progress.train_seconds);
  ExpectSameMetrics(back.history, progress.history);
  for (size_t e = 0; e < back.history.size(); ++e) {
    EXPECT_EQ(back.history[e].train_seconds, progress.history[e].train_seconds);
    EXPECT_EQ(back.history[e].samples_per_second, progress.history[e].samples_per_second);
  }

  // The rest of the run, from the snapshot, ends where the whole run did.
  TrainingProgress rest = restored->progress;
  ASSERT_TRUE(second.trainer->Run(train, test, &rest).ok());
  EXPECT_EQ(rest.step, whole_progress.step);
  ExpectSameParameters(*whole.network, *second.network);
  ExpectSameMetrics(whole_progress.history, rest.history);
}

TEST(SnapshotTest, SgdMomentumRunResumesBitExactFromAnyPoint) {
  // 7 batches an epoch: mid-epoch, the step before an epoch's last, the
  // first of an epoch, and an epoch's end (evaluated).
  for (uint64_t step : {1, 3, 6, 8, 20}) ExpectResumeIsExact(testing::kMomentum, step);
  ExpectResumeIsExact(testing::kMomentum, 0, /*stop_epoch=*/1);
}

TEST(SnapshotTest, AdamRunResumesBitExactFromAnyPoint) {
  for (uint64_t step : {1, 8, 13}) ExpectResumeIsExact(testing::kAdam, step);
  ExpectResumeIsExact(testing::kAdam, 0, /*stop_epoch=*/2);
}

// BatchNorm's running statistics are buffers: the snapshot keeps them
// ("buffer/1_batchnorm.running_mean"), no optimizer state is made for them,
// and a resumed run ends with the same statistics and weights. Each run's
// last batch has 2 rows.
TEST(SnapshotTest, RunsWithBatchNormAndLayerNormResumeBitExact) {
  for (uint64_t step : {1, 6, 9})
    ExpectResumeIsExact(testing::kMomentum, step, 0, testing::kNormLayers);
  ExpectResumeIsExact(testing::kAdam, 0, /*stop_epoch=*/1, testing::kNormLayers);

  SmallRun run = MakeSmallRun(SmallConfigText(testing::kAdam, 3, testing::kNormLayers));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  StopAt stop(5);
  ASSERT_TRUE(run.trainer->Run(SmallData(50, 1), SmallData(20, 2), &progress, nullptr, &stop).ok());
  const std::string path = absl::StrCat(TestDir(), "/norm_snapshot.safetensors");
  ASSERT_TRUE(WriteSnapshot(path, *run.network, *run.optimizer, progress, TrainingText(run)).ok());
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  const Tensor& running_var = file->tensors.at("buffer/1_batchnorm.running_var");
  EXPECT_TRUE(SameBits(running_var, *run.network->Buffers()[1].value));
  // Five steps at momentum 0.3 moved it from its start.
  EXPECT_FALSE(SameBits(running_var, Tensor::Ones(1, 8)));
  EXPECT_EQ(file->tensors.count("buffer/1_batchnorm.running_mean"), 1u);
  for (const auto& [name, tensor] : file->tensors) {
    EXPECT_THAT(name, Not(HasSubstr("optimizer/1_batchnorm.running"))) << name;
  }
}

TEST(SnapshotTest, BeforeTheFirstStepTheOptimizerStateHasItsShape) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kAdam));
  ASSERT_NE(run.trainer, nullptr);
  EXPECT_TRUE(run.optimizer->State().empty());  // created lazily...
  run.optimizer->CreateState(*run.network);     // ...unless asked for
  // Two Dense layers, weight and bias, three slots each.
  ASSERT_EQ(run.optimizer->State().size(), 12u);
  const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");
  ASSERT_TRUE(
      WriteSnapshot(path, *run.network, *run.optimizer, TrainingProgress(), TrainingText(run))
          .ok());

  // A fresh optimizer gets its state created by the restore.
  SmallRun fresh = MakeSmallRun(SmallConfigText(testing::kAdam));
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, TrainingText(fresh), *fresh.network, *fresh.optimizer);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->progress.step, 0u);
  for (const auto& [key, tensor] : fresh.optimizer->State()) {
    EXPECT_TRUE(tensor->isZero(0)) << key;
  }
  const std::map<std::string, Tensor> state = OptimizerState(*fresh.optimizer);
  EXPECT_EQ(state.at("0_dense.weight.exp_avg").rows(), 6);
  EXPECT_EQ(state.at("0_dense.weight.exp_avg").cols(), 8);
  EXPECT_EQ(state.at("2_dense.bias.step").size(), 1);
}

// A network with state beyond its parameters (as a memory's contents), which
// a snapshot must carry; `refuse` makes its ImportState refuse.
class StatefulModel : public NetworkModel {
 public:
  explicit StatefulModel(Network* network) : NetworkModel(network) {}
  std::map<std::string, Tensor> ExportState() override { return {{"keys", keys}}; }
  absl::Status ImportState(const std::map<std::string, Tensor>& state) override {
    if (refuse) return absl::InvalidArgumentError("keys of another kind");
    keys = state.at("keys");
    return absl::OkStatus();
  }
  Tensor keys = Tensor::Constant(4, 2, 1.5f);
  bool refuse = false;
};

TEST(SnapshotTest, TheModelsStateComesBackAndANetworkWithoutStateRefusesIt) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.trainer, nullptr);
  const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");
  StatefulModel saved(run.network.get());
  saved.keys(3, 1) = -2.5f;
  ASSERT_TRUE(
      WriteSnapshot(path, saved, *run.optimizer, TrainingProgress(), TrainingText(run)).ok());

  SmallRun fresh = MakeSmallRun(SmallConfigText(testing::kMomentum));
  StatefulModel restored_model(fresh.network.get());
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, TrainingText(fresh), restored_model, *fresh.optimizer);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(SameBits(restored_model.keys, saved.keys));
  ExpectSameParameters(*fresh.network, *run.network);

  // A plain network holds nothing but its parameters.
  SmallRun plain = MakeSmallRun(SmallConfigText(testing::kMomentum));
  absl::StatusOr<RestoredSnapshot> refused =
      RestoreSnapshot(path, TrainingText(plain), *plain.network, *plain.optimizer);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            path +
                ": the model refuses the state it holds: this model holds nothing but its "
                "parameters, and no \"keys\"");
}

TEST(SnapshotTest, AStateTheModelRefusesLeavesEverythingAsItWas) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kAdam));
  ASSERT_NE(run.trainer, nullptr);
  TrainingProgress progress;
  StopAt stop(5);
  ASSERT_TRUE(run.trainer->Run(SmallData(), SmallData(20, 2), &progress, nullptr, &stop).ok());
  const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");
  StatefulModel saved(run.network.get());
  ASSERT_TRUE(WriteSnapshot(path, saved, *run.optimizer, progress, TrainingText(run)).ok());

  SmallRun other = MakeSmallRun(SmallConfigText(testing::kAdam));
  TrainingProgress other_progress;
  StopAt one(1);
  ASSERT_TRUE(
      other.trainer->Run(SmallData(), SmallData(20, 2), &other_progress, nullptr, &one).ok());
  const std::map<std::string, Tensor> optimizer_before = OptimizerState(*other.optimizer);
  SmallRun copy = MakeSmallRun(SmallConfigText(testing::kAdam));
  for (size_t i = 0; i < other.network->Parameters().size(); ++i) {
    *copy.network->Parameters()[i].value = *other.network->Parameters()[i].value;
  }
  StatefulModel refusing(other.network.get());
  refusing.refuse = true;
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, TrainingText(other), refusing, *other.optimizer);
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr("keys of another kind"));
  ExpectSameParameters(*other.network, *copy.network);
  const std::map<std::string, Tensor> optimizer_after = OptimizerState(*other.optimizer);
  ASSERT_EQ(optimizer_after.size(), optimizer_before.size());
  for (const auto& [key, tensor] : optimizer_before) {
    EXPECT_TRUE(SameBits(optimizer_after.at(key), tensor)) << key;
  }
}

// Writes a snapshot of a run stopped at step 4; returns its path.
std::string SnapshotAtStep4(SmallRun& run) {
  const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");
  TrainingProgress progress;
  StopAt stop(4);
  EXPECT_TRUE(run.trainer->Run(SmallData(), SmallData(20, 2), &progress, nullptr, &stop).ok());
  EXPECT_TRUE(WriteSnapshot(path, *run.network, *run.optimizer, progress, TrainingText(run)).ok());
  return path;
}

TEST(SnapshotTest, RefusesAnotherConfigNamingTheLinesThatDiffer) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.trainer, nullptr);
  const std::string path = SnapshotAtStep4(run);

  SmallRun other = MakeSmallRun(SmallConfigText(testing::kMomentum, /*epochs=*/5));
  ASSERT_NE(other.trainer, nullptr);
  const Tensor before = *other.network->layer(0).parameters()[0].value;
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(path, TrainingText(other), *other.network, *other.optimizer);
  ASSERT_FALSE(restored.ok());
  const std::string message(restored.status().message());
  EXPECT_THAT(message, HasSubstr(path));
  EXPECT_THAT(message, HasSubstr("written by another config"));
  EXPECT_THAT(message, HasSubstr("the snapshot has `trainer.epochs: 3` where this run has "
                                 "`trainer.epochs: 5`"));
  EXPECT_TRUE(SameBits(*other.network->layer(0).parameters()[0].value, before));

  // Output settings and the non-finite policy may change.
  config::Experiment changed = run.config->experiment();
  changed.mutable_output()->set_snapshot_every_steps(3);
  changed.mutable_output()->set_dir("elsewhere");
  changed.mutable_trainer()->set_nonfinite(config::Trainer::SKIP_STEP);
  EXPECT_EQ(TrainingConfigText(changed), TrainingText(run));
}

TEST(SnapshotTest, RefusesATruncatedOrDamagedFileNamingIt) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.trainer, nullptr);
  const std::string path = SnapshotAtStep4(run);
  const std::string bytes = ReadBytes(path);

  const std::string truncated = absl::StrCat(TestDir(), "/truncated.safetensors");
  WriteFile(truncated, bytes.substr(0, bytes.size() - 100));
  absl::StatusOr<RestoredSnapshot> restored =
      RestoreSnapshot(truncated, TrainingText(run), *run.network, *run.optimizer);
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr(truncated));

  // One bit of one weight: only the checksum sees it.
  const std::string flipped = absl::StrCat(TestDir(), "/flipped.safetensors");
  std::string damaged = bytes;
  damaged[damaged.size() - 3] ^= 0x10;
  WriteFile(flipped, damaged);
  restored = RestoreSnapshot(flipped, TrainingText(run), *run.network, *run.optimizer);
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr(flipped));
  EXPECT_THAT(std::string(restored.status().message()), HasSubstr("the snapshot is damaged"));

  // A model file is no snapshot.
  const std::string model = absl::StrCat(TestDir(), "/model.safetensors");
  ASSERT_TRUE(SaveModel(model, *run.network, "config").ok());
  restored = RestoreSnapshot(model, TrainingText(run), *run.network, *run.optimizer);
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()),
              HasSubstr(absl::StrCat(model, ": not a training snapshot")));

  // A snapshot holds F32 tensors only: a quantized one is named, not ignored.
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  file->narrow_tensors["extra.q"] = NarrowTensor{Dtype::kI8, 1, 2, {1, 2}};
  const std::string quantized = absl::StrCat(TestDir(), "/quantized.safetensors");
  ASSERT_TRUE(WriteSafetensors(quantized, *file).ok());
  restored = RestoreSnapshot(quantized, TrainingText(run), *run.network, *run.optimizer);
  ASSERT_FALSE(restored.ok());
  EXPECT_THAT(std::string(restored.status().message()),
              HasSubstr("tensor \"extra.q\" is I8, not F32"));
}

TEST(SnapshotTest, SummaryReadsWhereTheRunStoodFromTheHeader) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.trainer, nullptr);
  const std::string path = SnapshotAtStep4(run);
  absl::StatusOr<SnapshotSummary> summary = ReadSnapshotSummary(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->progress.step, 4u);
  EXPECT_EQ(summary->progress.epoch, 1);
  EXPECT_EQ(summary->progress.batch, 4);
  EXPECT_EQ(summary->config_text, TrainingText(run));
}

// Runs `write` in a child process whose files may not grow beyond
// `max_bytes` (RLIMIT_FSIZE, which binds root too); returns its exit code.
template <typename Write>
int WithFileSizeLimit(rlim_t max_bytes, Write write) {
  const pid_t pid = fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of death
    struct rlimit limit = {max_bytes, max_bytes};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(3);
    _exit(write());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SnapshotTest, AFailedWriteNamesTheReasonAndKeepsThePreviousSnapshot) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.trainer, nullptr);
  const std::string path = SnapshotAtStep4(run);
  const std::string before = ReadBytes(path);

  TrainingProgress later;
  later.step = 5;
  later.batch = 5;
  const int code = WithFileSizeLimit(before.size() / 2, [&] {
    absl::Status status =
        WriteSnapshot(path, *run.network, *run.optimizer, later, TrainingText(run));
    if (status.ok()) return 1;
    const std::string message(status.message());
    // The path, and errno's reason for the write that failed.
    const bool named = message.find(path) != std::string::npos &&
                       message.find("File too large") != std::string::npos;
    if (!named) std::fprintf(stderr, "%s\n", message.c_str());
    return named ? 0 : 2;
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(ReadBytes(path), before);
  absl::StatusOr<SnapshotSummary> summary = ReadSnapshotSummary(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->progress.step, 4u);
  absl::StatusOr<int> stale = RemoveStaleTemporaryFiles(path);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(*stale, 0);  // the writer removed its temporary file itself
}

TEST(SnapshotWriterTest, WritesOnScheduleAndStopsWhenAsked) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.trainer, nullptr);
  run.optimizer->CreateState(*run.network);
  const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");
  std::vector<uint64_t> steps;
  bool stop = false;
  SnapshotWriter::Options options;
  options.schedule.every_steps = 3;
  options.schedule.every = absl::ZeroDuration();
  options.stop_requested = [&stop] { return stop; };
  options.on_written = [&](const TrainingProgress& p, absl::Duration) {
    steps.push_back(p.step);
    if (p.step == 9) stop = true;  // as a signal would, between two steps
  };
  SnapshotWriter writer(path, run.network.get(), run.optimizer.get(), TrainingText(run), options);
  TrainingProgress progress;
  ASSERT_TRUE(run.trainer->Run(SmallData(), SmallData(20, 2), &progress, nullptr, &writer).ok());
  // Steps 3 and 6, the end of epoch 1 (step 7, which takes the place of the
  // step), step 9; then the stop request after step 10 writes one more.
  EXPECT_EQ(steps, (std::vector<uint64_t>{3, 6, 7, 9, 10}));
  EXPECT_TRUE(writer.stopped_on_request());
  EXPECT_EQ(progress.step, 10u);
  absl::StatusOr<SnapshotSummary> summary = ReadSnapshotSummary(path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->progress.step, 10u);
}

// Takes at least 25 ms a step (a step of the small run takes microseconds).
class SlowSteps : public TrainingObserver {
 public:
  void OnBatchEnd(int, int, const StepResult&) override { absl::SleepFor(absl::Milliseconds(25)); }
};

TEST(SnapshotWriterTest, WritesByTimeAndNeverSoonerThanTheInterval) {
  SmallRun run = MakeSmallRun(SmallConfigText(testing::kMomentum));
  ASSERT_NE(run.trainer, nullptr);
  const std::string path = absl::StrCat(TestDir(), "/snapshot.safetensors");
  constexpr absl::Duration kInterval = absl::Milliseconds(100);
  SnapshotWriter::Options options;
  options.schedule.every_steps = 0;
  options.schedule.every = kInterval;
  struct Written {
    TrainingProgress progress;
    absl::Duration at;
  };
  std::vector<Written> writes;
  const Stopwatch clock;
  options.on_written = [&](const TrainingProgress& p, absl::Duration) {
    writes.push_back({p, clock.Elapsed()});
  };
  SnapshotWriter writer(path, run.network.get(), run.optimizer.get(), TrainingText(run), options);
  ASSERT_TRUE(writer.Write(TrainingProgress()).ok());  // the start, as the tools write one
  SlowSteps slow;
  TrainingProgress progress;
  ASSERT_TRUE(run.trainer->Run(SmallData(), SmallData(20, 2), &progress, &slow, &writer).ok());

  // 3 epochs of 7 steps of 25 ms or more: a snapshot by time in each, between
  // the epoch ends (where a step's is written regardless), each at least the
  // interval after the one before.
  int by_time = 0;
  for (size_t i = 1; i < writes.size(); ++i) {
    if (writes[i].progress.batch == 0) continue;  // an epoch's end
    ++by_time;
    EXPECT_GE(writes[i].at - writes[i - 1].at, kInterval) << "step " << writes[i].progress.step;
  }
  EXPECT_GE(by_time, 3);
}

TEST(OutputChecksTest, RefusesTooLittleSpaceWithTheFigures) {
  absl::Status status = CheckAvailableBytes(TestDir(), uint64_t{1} << 62, "a huge snapshot");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(TestDir()));
  EXPECT_THAT(std::string(status.message()), HasSubstr("free but a huge snapshot need"));
  EXPECT_TRUE(CheckAvailableBytes(TestDir(), 1000, "a small file").ok());
}

TEST(OutputChecksTest, ProbeFailsWhereNoFileCanBeWritten) {
  EXPECT_TRUE(ProbeWritable(TestDir()).ok());
  // A regular file as the directory: fails for root too, unlike chmod.
  const std::string file = absl::StrCat(TestDir(), "/a_file");
  WriteFile(file, "x");
  absl::Status status = ProbeWritable(file);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("is not writable"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("Not a directory"));
}

TEST(AtomicFileTest, RemovesOnlyTheTemporariesOfDeadProcesses) {
  const std::string dir = TestDir();
  const std::string path = dir + "/model.safetensors";
  // A child that has exited: its pid is free (and not reused this soon).
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const std::string stale = absl::StrCat(dir, "/.model.safetensors.tmp.", dead, ".0");
  const std::string live = absl::StrCat(dir, "/.model.safetensors.tmp.", getpid(), ".0");
  const std::string other = absl::StrCat(dir, "/.metrics.csv.tmp.", dead, ".0");
  for (const std::string& f : {stale, live, other}) WriteFile(f, "partial");
  absl::StatusOr<int> removed = RemoveStaleTemporaryFiles(path);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  struct stat info;
  EXPECT_NE(::stat(stale.c_str(), &info), 0);
  EXPECT_EQ(::stat(live.c_str(), &info), 0);
  EXPECT_EQ(::stat(other.c_str(), &info), 0);
}

}  // namespace
}  // namespace mnemo
