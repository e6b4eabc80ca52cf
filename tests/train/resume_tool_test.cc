// tools/train stopped and resumed as a user (or a crash) would: killed with
// SIGKILL at random points and resumed until it finishes, stopped by SIGTERM
// and SIGINT, it ends with the model of a run never stopped, bit for bit;
// what cannot be resumed is refused, naming the file; a write that fails
// keeps the previous snapshot; a NaN stops the run naming the layer. With a
// learning-rate schedule (one_cycle; plateau), AdamW, both clippings and
// label smoothing on, a stopped and resumed run writes the same model,
// metrics.csv (its learning_rate column too) and steps.csv.
//
// A 784-64-10 MLP with dropout and momentum on 2,000 Fashion-MNIST samples,
// 3 epochs of 40 batches, a snapshot every 4 steps; and the same with every
// data augmentation on.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/io/safetensors.h"
#include "core/snapshot.h"
#include "core/stopwatch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/model_files.h"
#include "tests/testing/run_command.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kConfig[] = R"pb(
  model {
    input_size: 784
    layer { type: "Dense" units: 64 activation: "ReLU" }
    layer { type: "Dropout" rate: 0.2 }
    layer { type: "Dense" units: 10 }
  }
  data { train_limit: 2000 test_limit: 500 }
  trainer {
    optimizer { type: "sgd" learning_rate: 0.05 momentum: 0.9 }
    batch_size: 50
    epochs: 3
    seed: 11
  }
)pb";

constexpr char kSnapshotLine[] = "snapshot at step";

std::string Train() { return testing::TestArg("train"); }

// The config file, with `trainer_fields` added to its trainer.
std::string ConfigPath(const std::string& trainer_fields = "") {
  const std::string path =
      absl::StrCat(TestDir(), "/small", trainer_fields.empty() ? "" : "_changed", ".pbtxt");
  std::string text = kConfig;
  text.insert(text.find("seed: 11"), trainer_fields + "\n    ");
  WriteFile(path, text);
  return path;
}

std::vector<std::string> TrainArgs(const std::string& config, const std::string& out) {
  return {Train(), "--config=" + config, "--out=" + out, "--snapshot_every_steps=4",
          "--snapshot_every_seconds=0"};
}

// The train binary as a child process: stdout through a pipe (read line by
// line), stderr into a file.
class Child {
 public:
  // `max_file_bytes` > 0 limits the size of every file it writes.
  Child(const std::vector<std::string>& args, const std::string& err_path,
        rlim_t max_file_bytes = 0) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(err, STDERR_FILENO);
      close(fds[0]);
      if (max_file_bytes > 0) {
        struct rlimit limit = {max_file_bytes, max_file_bytes};
        setrlimit(RLIMIT_FSIZE, &limit);
      }
      std::vector<char*> argv;
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
  }
  ~Child() {
    if (out_ >= 0) close(out_);
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Reads output until `count` lines starting with `prefix` came (true) or
  // the output ended (false); a minute at most.
  bool WaitForLines(const std::string& prefix, int count) {
    const Stopwatch waited;
    while (waited.Elapsed() < absl::Minutes(1)) {
      size_t end;
      while ((end = buffer_.find('\n', scanned_)) != std::string::npos) {
        if (buffer_.compare(scanned_, prefix.size(), prefix) == 0 && --count == 0) {
          scanned_ = end + 1;
          return true;
        }
        scanned_ = end + 1;
      }
      if (!ReadSome()) return false;
    }
    ADD_FAILURE() << "timed out waiting for \"" << prefix << "\"; output so far:\n" << buffer_;
    return false;
  }

  void Signal(int signal) { kill(pid_, signal); }

  // Reads the rest of the output and waits: the exit code, or 128 + the
  // signal that ended it (as a shell reports it).
  int Finish() {
    while (ReadSome()) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    signaled_ = WIFSIGNALED(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // After Finish: whether a signal ended the process (rather than an exit).
  bool signaled() const { return signaled_; }

  const std::string& output() const { return buffer_; }

 private:
  // False at the end of the output.
  bool ReadSome() {
    struct pollfd poll_fd = {out_, POLLIN, 0};
    if (poll(&poll_fd, 1, 60'000) <= 0) return false;
    char chunk[4096];
    const ssize_t n = read(out_, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  bool waited_ = false;
  bool signaled_ = false;
  std::string buffer_;
  size_t scanned_ = 0;
};

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// Every tensor of two model files bit for bit, and the figures of their
// metrics.csv that do not depend on the clock.
void ExpectSameRun(const std::string& want_dir, const std::string& got_dir) {
  testing::ExpectSameModelFile(want_dir + "/model.safetensors", got_dir + "/model.safetensors");
  const std::vector<std::string> want_rows =
      absl::StrSplit(ReadBytes(want_dir + "/metrics.csv"), '\n', absl::SkipEmpty());
  const std::vector<std::string> got_rows =
      absl::StrSplit(ReadBytes(got_dir + "/metrics.csv"), '\n', absl::SkipEmpty());
  ASSERT_EQ(want_rows.size(), 4u);  // a header and 3 epochs
  ASSERT_EQ(got_rows.size(), want_rows.size());
  for (size_t i = 1; i < want_rows.size(); ++i) {
    // epoch, train loss, train accuracy, test loss, test accuracy
    const std::vector<std::string> a = absl::StrSplit(want_rows[i], ',');
    const std::vector<std::string> b = absl::StrSplit(got_rows[i], ',');
    ASSERT_GE(a.size(), 5u);
    ASSERT_GE(b.size(), 5u);
    EXPECT_EQ(std::vector<std::string>(a.begin(), a.begin() + 5),
              std::vector<std::string>(b.begin(), b.begin() + 5));
  }
  // Done: no snapshot, and no temporary file of a killed write.
  EXPECT_FALSE(Exists(got_dir + "/snapshot.safetensors"));
  const testing::CommandResult leftovers =
      testing::RunCommand(absl::StrCat("find ", got_dir, " -name '*.tmp*'"), TestDir());
  EXPECT_EQ(leftovers.out, "");
}

class ResumeToolTest : public ::testing::Test {
 protected:
  // The run never stopped, once for every test.
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    reference_dir_ = new std::string(absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/reference"));
    const std::string config = absl::StrCat(*reference_dir_, ".pbtxt");
    WriteFile(config, kConfig);
    std::vector<std::string> args = TrainArgs(config, *reference_dir_);
    Child child(args, *reference_dir_ + ".err");
    ASSERT_EQ(child.Finish(), 0) << child.output() << ReadBytes(*reference_dir_ + ".err");
  }
  static std::string* reference_dir_;
};
std::string* ResumeToolTest::reference_dir_ = nullptr;

TEST_F(ResumeToolTest, KilledAtRandomPointsAndResumedEndsBitIdentical) {
  const std::string out = TestDir() + "/run";
  const std::string config = ConfigPath();
  std::vector<std::string> args = TrainArgs(config, out);
  args.push_back("--resume");  // from the first run on: without a snapshot it starts afresh
  std::mt19937 rng(20240607);
  int kills = 0;
  bool finished = false;
  for (int run = 0; run < 12 && !finished; ++run) {
    // A kill that came after the run had written everything finds it done.
    if (run > 0 && Exists(out + "/model.safetensors") && !Exists(out + "/snapshot.safetensors")) {
      finished = true;
      break;
    }
    Child child(args, absl::StrCat(TestDir(), "/err", run, ".txt"));
    if (kills < 6) {
      // After 1 to 4 snapshots and up to 3 ms more: mid-step or mid-write.
      const int lines = std::uniform_int_distribution<int>(1, 4)(rng);
      if (child.WaitForLines(kSnapshotLine, lines)) {
        absl::SleepFor(absl::Microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
        child.Signal(SIGKILL);
        ++kills;
      }
    }
    const int code = child.Finish();
    if (run == 0) {
      EXPECT_THAT(child.output(), HasSubstr("no snapshot in " + out +
                                            ": starting from the "
                                            "beginning"));
    } else {
      EXPECT_THAT(child.output(), HasSubstr("resume  from " + out + "/snapshot.safetensors: "));
    }
    if (code == 0) {
      finished = true;
    } else {
      ASSERT_EQ(code, 128 + SIGKILL)
          << child.output() << ReadBytes(absl::StrCat(TestDir(), "/err", run, ".txt"));
    }
  }
  ASSERT_TRUE(finished);
  EXPECT_GE(kills, 4);  // most kills land in training, not after it
  ExpectSameRun(*reference_dir_, out);
}

// The run with every change of data augmentation on, stopped by SIGTERM in
// epoch 2 and killed in epoch 3, ends as the run never stopped: the changes
// derive from (seed, epoch, sample), nothing of them in the snapshot. A
// resume with other changes is refused.
TEST_F(ResumeToolTest, WithEveryAugmentationOnAStoppedRunResumesBitIdentical) {
  std::string text = kConfig;
  const std::string data = "data { train_limit: 2000 test_limit: 500 }";
  ASSERT_NE(text.find(data), std::string::npos);
  const std::string augmented =
      "data {\n    train_limit: 2000\n    test_limit: 500\n    augmentation {\n"
      "      max_rotation_degrees: 10\n      horizontal_flip: true\n      max_shift: 2\n"
      "      crop_padding: 2\n    }\n  }";
  text.replace(text.find(data), data.size(), augmented);
  const std::string config = TestDir() + "/augmented.pbtxt";
  WriteFile(config, text);
  std::string changed_text = text;
  changed_text.replace(changed_text.find("max_shift: 2"), 12, "max_shift: 1");
  const std::string changed = TestDir() + "/augmented_changed.pbtxt";
  WriteFile(changed, changed_text);

  const std::string reference = TestDir() + "/augmented_reference";
  {
    Child child(TrainArgs(config, reference), TestDir() + "/err_reference.txt");
    ASSERT_EQ(child.Finish(), 0) << child.output() << ReadBytes(TestDir() + "/err_reference.txt");
    EXPECT_THAT(child.output(),
                HasSubstr("augment 28 x 28 x 1 images: rotation within +-10 degrees, horizontal "
                          "flip, shift within +-2 pixels, crop padded by 2 (fill 0)"));
  }
  // The augmentation changed the run: not one tensor is the plain run's.
  {
    absl::StatusOr<TensorFile> plain = ReadSafetensors(*reference_dir_ + "/model.safetensors");
    absl::StatusOr<TensorFile> with = ReadSafetensors(reference + "/model.safetensors");
    ASSERT_TRUE(plain.ok() && with.ok());
    for (const auto& [name, tensor] : plain->tensors) {
      ASSERT_TRUE(with->tensors.count(name)) << name;
      EXPECT_NE(std::memcmp(tensor.data(), with->tensors.at(name).data(), TensorBytes(tensor)), 0)
          << name;
    }
  }

  const std::string out = TestDir() + "/augmented_run";
  std::vector<std::string> args = TrainArgs(config, out);
  args.push_back("--resume");
  {
    // The start's snapshot and 13 more: step 52, epoch 2's batch 12.
    Child child(args, TestDir() + "/err_term.txt");
    ASSERT_TRUE(child.WaitForLines(kSnapshotLine, 14));
    child.Signal(SIGTERM);
    ASSERT_EQ(child.Finish(), 128 + SIGTERM) << ReadBytes(TestDir() + "/err_term.txt");
  }
  absl::StatusOr<SnapshotSummary> stopped = ReadSnapshotSummary(out + "/snapshot.safetensors");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->progress.epoch, 2);

  // Other changes: refused, the snapshot kept.
  const testing::CommandResult refused = testing::RunCommand(
      absl::StrCat(Train(), " --config=", changed, " --out=", out, " --resume"), TestDir());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("was written by another config"));
  EXPECT_THAT(refused.err, HasSubstr("`data.augmentation.max_shift: 2` where this run has "
                                     "`data.augmentation.max_shift: 1`"));
  {
    // Resumed, then killed in epoch 3 (after 9 more snapshots, some way into
    // the next step).
    Child child(args, TestDir() + "/err_kill.txt");
    ASSERT_TRUE(child.WaitForLines(kSnapshotLine, 9));
    absl::SleepFor(absl::Microseconds(1500));
    child.Signal(SIGKILL);
    child.Finish();
    EXPECT_THAT(child.output(), HasSubstr("resume  from " + out + "/snapshot.safetensors: "));
  }
  absl::StatusOr<SnapshotSummary> killed = ReadSnapshotSummary(out + "/snapshot.safetensors");
  ASSERT_TRUE(killed.ok()) << killed.status();
  EXPECT_EQ(killed->progress.epoch, 3);
  const testing::CommandResult finished = testing::RunCommand(absl::StrJoin(args, " "), TestDir());
  ASSERT_EQ(finished.exit_code, 0) << finished.out << finished.err;
  ExpectSameRun(reference, out);
}

// The command line the message says resumes the run.
std::string ResumeCommandFrom(const std::string& err) {
  const std::string marker = "Resume it with:\n  ";
  const size_t at = err.find(marker);
  if (at == std::string::npos) return "";
  const size_t begin = at + marker.size();
  return err.substr(begin, err.find('\n', begin) - begin);
}

TEST_F(ResumeToolTest, SigtermStopsWithASnapshotAndTheCommandThatResumes) {
  const std::string out = TestDir() + "/run";
  const std::string err = TestDir() + "/err.txt";
  Child child(TrainArgs(ConfigPath(), out), err);
  ASSERT_TRUE(child.WaitForLines(kSnapshotLine, 3));
  child.Signal(SIGTERM);
  EXPECT_EQ(child.Finish(), 128 + SIGTERM);
  const std::string message = ReadBytes(err);
  EXPECT_THAT(message, HasSubstr("train: stopped by SIGTERM at step "));
  EXPECT_THAT(message, HasSubstr(out + "/snapshot.safetensors holds the run so far"));
  EXPECT_FALSE(Exists(out + "/model.safetensors"));

  // The exact command, as printed, resumes it.
  const std::string command = ResumeCommandFrom(message);
  EXPECT_THAT(command, StartsWith(Train() + " --config="));
  EXPECT_THAT(command, HasSubstr(" --resume"));
  const testing::CommandResult resumed = testing::RunCommand(command, TestDir());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("resume  from " + out + "/snapshot.safetensors: step "));
  ExpectSameRun(*reference_dir_, out);
}

// A step of about half a second here (tens of seconds under a sanitizer):
// both signals come while the second step is under way (the first signal
// right after step 1's snapshot, the second a millisecond or so after the
// tool printed that it handled the first).
constexpr char kSlowStepConfig[] = R"pb(
  model {
    input_size: 784
    layer { type: "Dense" units: 2048 activation: "ReLU" }
    layer { type: "Dense" units: 2048 activation: "ReLU" }
    layer { type: "Dense" units: 10 }
  }
  data { train_limit: 3000 test_limit: 100 }
  trainer {
    optimizer { type: "sgd" learning_rate: 0.01 }
    batch_size: 1000
    epochs: 1
    seed: 3
  }
)pb";

TEST_F(ResumeToolTest, ASecondSignalStopsAtOnce) {
  const std::string config = TestDir() + "/slow.pbtxt";
  WriteFile(config, kSlowStepConfig);
  const std::string out = TestDir() + "/run";
  const std::string err = TestDir() + "/err.txt";
  Child child({Train(), "--config=" + config, "--out=" + out, "--snapshot_every_steps=1",
               "--snapshot_every_seconds=0"},
              err);
  // The start's snapshot and step 1's: step 2 is under way.
  ASSERT_TRUE(child.WaitForLines(kSnapshotLine, 2));
  child.Signal(SIGINT);
  // The second once the first was handled (two pending SIGINTs are one).
  const Stopwatch waited;
  while (ReadBytes(err).find("signal again to stop at once") == std::string::npos &&
         waited.Elapsed() < absl::Minutes(1)) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  child.Signal(SIGINT);
  EXPECT_EQ(child.Finish(), 128 + SIGINT);
  // The signal's own default ended it, not the orderly stop after the step.
  EXPECT_TRUE(child.signaled());
  const std::string message = ReadBytes(err);
  EXPECT_THAT(message, HasSubstr("signal again to stop at once"));
  EXPECT_THAT(message, Not(HasSubstr("stopped by SIGINT")));
  // No step was saved after the first signal: the snapshot is step 1's.
  absl::StatusOr<SnapshotSummary> snapshot = ReadSnapshotSummary(out + "/snapshot.safetensors");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->progress.step, 1u);
}

TEST_F(ResumeToolTest, RefusesWhatCannotBeResumedAndKeepsTheSnapshot) {
  const std::string out = TestDir() + "/run";
  const std::string config = ConfigPath();
  const std::string snapshot = out + "/snapshot.safetensors";
  {
    Child child(TrainArgs(config, out), TestDir() + "/err_int.txt");
    ASSERT_TRUE(child.WaitForLines(kSnapshotLine, 2));
    child.Signal(SIGINT);
    EXPECT_EQ(child.Finish(), 128 + SIGINT);
    EXPECT_THAT(ReadBytes(TestDir() + "/err_int.txt"), HasSubstr("stopped by SIGINT"));
  }
  const std::string saved = ReadBytes(snapshot);
  ASSERT_FALSE(saved.empty());
  const std::string base = absl::StrCat(Train(), " --config=", config, " --out=", out,
                                        " --snapshot_every_steps=4 --snapshot_every_seconds=0");

  // Without --resume a run would overwrite it.
  testing::CommandResult result = testing::RunCommand(base, TestDir());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(snapshot + " holds a run stopped at step "));
  EXPECT_THAT(result.err, HasSubstr("continue it with --resume"));

  // Another config.
  result = testing::RunCommand(base + " --resume --epochs=4", TestDir());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(snapshot + " was written by another config"));
  EXPECT_THAT(result.err, HasSubstr("`trainer.epochs: 3` where this run has `trainer.epochs: 4`"));

  // A truncated copy.
  const std::string copy = TestDir() + "/copy";
  ASSERT_EQ(mkdir(copy.c_str(), 0777), 0);
  WriteFile(copy + "/snapshot.safetensors", saved.substr(0, saved.size() / 2));
  result = testing::RunCommand(
      absl::StrCat(Train(), " --config=", config, " --out=", copy, " --resume"), TestDir());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(copy + "/snapshot.safetensors: "));

  // A disk that takes no more (a file size limit: it binds root too): the
  // failed write names the reason and keeps the previous snapshot.
  {
    std::vector<std::string> args = TrainArgs(config, out);
    args.push_back("--resume");
    Child child(args, TestDir() + "/err_limit.txt", saved.size() / 2);
    EXPECT_EQ(child.Finish(), 1);
    const std::string message = ReadBytes(TestDir() + "/err_limit.txt");
    EXPECT_THAT(message, HasSubstr("cannot write " + snapshot));
    EXPECT_THAT(message, HasSubstr("File too large"));
    EXPECT_THAT(message, HasSubstr("the last snapshot, " + snapshot + ", is kept"));
    EXPECT_EQ(ReadBytes(snapshot), saved);
  }

  // Everything refused changed nothing: the run resumes and ends as the
  // reference did.
  result = testing::RunCommand(base + " --resume", TestDir());
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  ExpectSameRun(*reference_dir_, out);
}

TEST_F(ResumeToolTest, AnUnwritableOutputDirectoryIsRefusedBeforeTraining) {
  const std::string file = TestDir() + "/a_file";
  WriteFile(file, "x");
  const testing::CommandResult result = testing::RunCommand(
      absl::StrCat(Train(), " --config=", ConfigPath(), " --out=", file, "/out"), TestDir());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("output directory unusable"));
  EXPECT_THAT(result.out, Not(HasSubstr("data ")));  // before the data set was read
}

TEST_F(ResumeToolTest, ANonFiniteGradientStopsNamingTheLayerUnlessStepsAreSkipped) {
  const std::string out = TestDir() + "/run";
  testing::CommandResult result = testing::RunCommand(
      absl::StrCat(Train(), " --config=", ConfigPath(), " --out=", out, " --learning_rate=1e30"),
      TestDir());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("train: step "));
  EXPECT_THAT(result.err, HasSubstr("layer \""));
  EXPECT_THAT(result.err,
              HasSubstr("the last snapshot, " + out + "/snapshot.safetensors, is kept"));

  const std::string skip_out = TestDir() + "/skip";
  result =
      testing::RunCommand(absl::StrCat(Train(), " --config=", ConfigPath("nonfinite: SKIP_STEP"),
                                       " --out=", skip_out, " --learning_rate=1e30"),
                          TestDir());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("skipped step "));
  EXPECT_THAT(result.out, HasSubstr("steps skipped for non-finite values"));
}

// The MLP with label smoothing, 1,800 training samples (36 batches) and 200
// for validation, and `optimizer` (a trainer.optimizer's text).
std::string OptionsConfig(const std::string& optimizer, int epochs) {
  return absl::StrCat(R"pb(
                        model {
                          input_size: 784
                          layer { type: "Dense" units: 64 activation: "ReLU" }
                          layer { type: "Dropout" rate: 0.2 }
                          layer { type: "Dense" units: 10 }
                          label_smoothing: 0.1
                        }
                        data { train_limit: 2000 test_limit: 500 validation_fraction: 0.1 }
                        trainer { optimizer {)pb",
                      optimizer, "}\n batch_size: 50 epochs: ", epochs, " seed: 11 }\n");
}

std::vector<std::string> CsvRows(const std::string& path) {
  return absl::StrSplit(ReadBytes(path), '\n', absl::SkipEmpty());
}

// A run of `config` never stopped, and one stopped by SIGTERM after
// `snapshots` snapshots and resumed: the same model bit for bit, the same
// metrics.csv but for its timing columns, the same steps.csv. Returns the
// learning_rate column of metrics.csv.
std::vector<double> ExpectStoppedRunResumesAlike(const std::string& name, const std::string& config,
                                                 int epochs, int snapshots) {
  SCOPED_TRACE(name);
  const std::string config_path = absl::StrCat(TestDir(), "/", name, ".pbtxt");
  WriteFile(config_path, config);
  const std::string reference = absl::StrCat(TestDir(), "/", name, "_reference");
  const std::string out = absl::StrCat(TestDir(), "/", name, "_run");
  {
    Child whole(TrainArgs(config_path, reference), reference + ".err");
    EXPECT_EQ(whole.Finish(), 0) << whole.output() << ReadBytes(reference + ".err");
  }
  {
    Child stopped(TrainArgs(config_path, out), out + ".err");
    EXPECT_TRUE(stopped.WaitForLines(kSnapshotLine, snapshots));
    stopped.Signal(SIGTERM);
    EXPECT_EQ(stopped.Finish(), 128 + SIGTERM) << ReadBytes(out + ".err");
  }
  EXPECT_TRUE(Exists(out + "/snapshot.safetensors"));
  std::vector<std::string> args = TrainArgs(config_path, out);
  args.push_back("--resume");
  {
    Child resumed(args, out + ".resumed.err");
    EXPECT_EQ(resumed.Finish(), 0) << resumed.output() << ReadBytes(out + ".resumed.err");
    EXPECT_THAT(resumed.output(), HasSubstr("resume  from " + out + "/snapshot.safetensors"));
  }

  absl::StatusOr<TensorFile> want = ReadSafetensors(reference + "/model.safetensors");
  absl::StatusOr<TensorFile> got = ReadSafetensors(out + "/model.safetensors");
  EXPECT_TRUE(want.ok() && got.ok());
  if (!want.ok() || !got.ok()) return {};
  EXPECT_EQ(want->tensors.size(), got->tensors.size());
  for (const auto& [tensor_name, tensor] : want->tensors) {
    auto it = got->tensors.find(tensor_name);
    EXPECT_TRUE(it != got->tensors.end() && it->second.size() == tensor.size() &&
                std::memcmp(tensor.data(), it->second.data(), TensorBytes(tensor)) == 0)
        << tensor_name;
  }
  // steps.csv: a row per step, the same either way.
  const std::vector<std::string> steps = CsvRows(out + "/steps.csv");
  EXPECT_EQ(steps.size(), 1u + 36u * epochs);
  EXPECT_EQ(steps.front(), "step,epoch,learning_rate");
  EXPECT_EQ(ReadBytes(out + "/steps.csv"), ReadBytes(reference + "/steps.csv"));
  // metrics.csv: the same but for train_seconds and samples_per_second.
  const std::vector<std::string> want_rows = CsvRows(reference + "/metrics.csv");
  const std::vector<std::string> got_rows = CsvRows(out + "/metrics.csv");
  EXPECT_EQ(got_rows.size(), 1u + epochs);
  EXPECT_EQ(got_rows.size(), want_rows.size());
  if (got_rows.size() != 1u + epochs || want_rows.size() != got_rows.size()) return {};
  const std::vector<std::string> header = absl::StrSplit(got_rows[0], ',');
  EXPECT_EQ(header.size() > 7 ? header[7] : "", "learning_rate");
  std::vector<double> rates;
  for (int e = 1; e <= epochs; ++e) {
    std::vector<std::string> a = absl::StrSplit(want_rows[e], ',');
    std::vector<std::string> b = absl::StrSplit(got_rows[e], ',');
    EXPECT_EQ(a.size(), b.size());
    if (a.size() != b.size() || a.size() < 8) return {};
    for (size_t c : {5, 6}) a[c] = b[c] = "";  // the clock's
    EXPECT_EQ(a, b) << "epoch " << e;
    // The epoch's rate is its last step's.
    const std::vector<std::string> last_step = absl::StrSplit(steps[36 * e], ',');
    EXPECT_EQ(b[7], last_step[2]) << "epoch " << e;
    double rate = 0;
    EXPECT_TRUE(absl::SimpleAtod(b[7], &rate));
    rates.push_back(rate);
  }
  EXPECT_THAT(ReadBytes(out + "/training.svg"), HasSubstr(": learning rate</text>"));
  return rates;
}

TEST(ResumeWithTrainingOptionsTest, OneCycleAdamWClippingAndSmoothing) {
  // Stopped after 14 snapshots (one every 4 steps): in epoch 2.
  const std::vector<double> rates = ExpectStoppedRunResumesAlike(
      "one_cycle",
      OptionsConfig("type: 'adamw' learning_rate: 0.01 clip_value: 0.05 clip_global_norm: 1 "
                    "schedule { type: 'one_cycle' }",
                    3),
      3, 14);
  ASSERT_EQ(rates.size(), 3u);
  // Each epoch's last step past the peak (step 31.4 of 108), falling to
  // lr / 2.5e5 at the last.
  EXPECT_GT(rates[0], rates[1]);
  EXPECT_GT(rates[1], rates[2]);
  EXPECT_NEAR(rates[2], 0.01 / 2.5e5, 1e-12);
}

TEST(ResumeWithTrainingOptionsTest, Plateau) {
  // No epoch after the first improves by min_delta: a cut after epoch 3;
  // stopped in epoch 4 (after 32 snapshots, one every 4 steps: past step
  // 108, epoch 3's end), resumed with the cut taken from the history.
  const std::vector<double> rates = ExpectStoppedRunResumesAlike(
      "plateau",
      OptionsConfig("type: 'adamw' learning_rate: 0.01 clip_global_norm: 1 "
                    "schedule { type: 'plateau' patience: 1 factor: 0.5 min_delta: 10 }",
                    4),
      4, 32);
  ASSERT_EQ(rates.size(), 4u);
  EXPECT_EQ(rates[0], rates[2]);
  EXPECT_NEAR(rates[3], rates[0] * 0.5, 1e-15);
}

TEST(ResumeWithTrainingOptionsTest, EverythingTheRecipeUsesOnAtOnce) {
  // configs/fashion_mlp_best.pbtxt's parts together, and LayerNorm and both
  // clippings beside them: BatchNorm's running statistics, the one-cycle
  // rate, AdamW's state, the augmentation's draws and early stopping's best
  // copy all come back from the snapshot. Stopped in epoch 2.
  const std::string config = R"pb(
    model {
      input_size: 784
      init { scheme: HE_UNIFORM }
      layer { type: "Dense" units: 64 }
      layer { type: "BatchNorm" activation: "ReLU" }
      layer { type: "Dropout" rate: 0.3 }
      layer { type: "Dense" units: 32 }
      layer { type: "LayerNorm" activation: "ReLU" }
      layer { type: "Dense" units: 10 }
      label_smoothing: 0.1
    }
    data {
      train_limit: 2000
      test_limit: 500
      validation_fraction: 0.1
      augmentation { horizontal_flip: true max_shift: 1 }
    }
    trainer {
      optimizer {
        type: "adamw"
        learning_rate: 0.004
        weight_decay: 0.05
        clip_value: 0.5
        clip_global_norm: 1
        schedule { type: "one_cycle" }
      }
      batch_size: 50
      epochs: 3
      seed: 5
      early_stopping { metric: "loss" patience: 1000 }
    }
  )pb";
  const std::vector<double> rates = ExpectStoppedRunResumesAlike("recipe", config, 3, 14);
  ASSERT_EQ(rates.size(), 3u);
  EXPECT_NEAR(rates[2], 0.004 / 2.5e5, 1e-12);
}

}  // namespace
}  // namespace mnemo
