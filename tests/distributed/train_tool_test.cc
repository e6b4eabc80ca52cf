// tools/train under mpirun as a user runs it: 2 ranks reach the accuracy of
// one process with the same config and seed; only rank 0 speaks and writes;
// a rank killed mid-run makes mpirun stop the others within 30 s and say
// which rank died, the last snapshot stays whole, and --resume on 2 ranks
// ends with the model of a run never stopped, bit for bit; a resume on
// another number of ranks is refused unless trainer.distributed.resplit.

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/distributed/mpirun.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/model_files.h"
#include "tests/testing/run_command.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;

// Under the sanitizers a run is 10-25x slower: fewer samples, the same checks.
bool Sanitized() { return std::getenv("MNEMO_SANITIZED") != nullptr; }

std::string Train() { return testing::TestArg("train"); }

// configs/fashion_mlp_mpi.pbtxt with its plugin's path as this test has it,
// and `extra` added to its trainer.
std::string MpiConfig(const std::string& name, const std::string& extra = "") {
  std::string text = ReadBytes(testing::TestArg("config"));
  text = absl::StrReplaceAll(text,
                             {{"plugin: \"plugins/mpi/libmpi_plugin.so\"",
                               absl::StrCat("plugin: \"", testing::TestArg("plugin"), "\"")},
                              {"distributed { communicator: \"mpi\" }",
                               absl::StrCat("distributed { communicator: \"mpi\" ", extra, " }")}});
  const std::string path = absl::StrCat(TestDir(), "/", name, ".pbtxt");
  WriteFile(path, text);
  return path;
}

std::string Mpi(int ranks, const std::string& config, const std::string& out,
                const std::string& flags) {
  return absl::StrCat(testing::Mpirun(ranks, testing::TestArg("lsan_suppressions")), " ", Train(),
                      " --config=", config, " --out=", out, " ", flags);
}

double TestAccuracy(const std::string& out) {
  const size_t at = out.find("test accuracy ");
  double accuracy = -1;
  if (at != std::string::npos) {
    EXPECT_TRUE(absl::SimpleAtod(out.substr(at + 14, 6), &accuracy)) << out;
  }
  return accuracy;
}

int Count(const std::string& text, const std::string& what) {
  int count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

TEST(DistributedTrainToolTest, TwoRanksReachOneProcessAccuracyAndOnlyRankZeroWrites) {
  const std::string dir = TestDir();
  // The whole config (10 epochs of Fashion-MNIST); sanitized, a tenth of it.
  const std::string limits = Sanitized() ? "--epochs=2 --train_limit=6000 --test_limit=2000" : "";
  const testing::CommandResult one =
      testing::RunCommand(absl::StrCat(Train(), " --config=", testing::TestArg("single_config"),
                                       " --out=", dir, "/one ", limits),
                          dir);
  ASSERT_EQ(one.exit_code, 0) << one.out << one.err;
  const testing::CommandResult two =
      testing::RunCommand(Mpi(2, MpiConfig("two"), dir + "/two", limits), dir);
  ASSERT_EQ(two.exit_code, 0) << two.out << two.err;
  const double alone = TestAccuracy(one.out);
  const double ranked = TestAccuracy(two.out);
  std::printf("test accuracy: one process %.4f, 2 ranks %.4f\n", alone, ranked);
  EXPECT_GT(alone, 0.5);
  EXPECT_NEAR(ranked, alone, 0.003);
  // One "wrote" line, one table: rank 1 says nothing.
  EXPECT_EQ(Count(two.out, "wrote   "), 1) << two.out;
  EXPECT_EQ(Count(two.out, "ranks   2 (mpi)"), 1) << two.out;
  struct stat info;
  EXPECT_EQ(stat((dir + "/two/model.safetensors").c_str(), &info), 0);
  EXPECT_NE(stat((dir + "/two/snapshot.safetensors").c_str(), &info), 0);
}

// The pid of rank `rank` of the ranks whose command line holds `marker`;
// 0 when there is none.
pid_t RankPid(int rank, const std::string& marker) {
  DIR* proc = opendir("/proc");
  pid_t found = 0;
  const std::string want = absl::StrCat("OMPI_COMM_WORLD_RANK=", rank);
  while (dirent* entry = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    const std::string cmdline = ReadBytes(absl::StrCat("/proc/", pid, "/cmdline"));
    if (!absl::StrContains(cmdline, marker) || absl::StrContains(cmdline, "mpirun")) continue;
    const std::string environ = ReadBytes(absl::StrCat("/proc/", pid, "/environ"));
    for (size_t at = 0; at < environ.size(); at = environ.find('\0', at) + 1) {
      if (environ.compare(at, want.size() + 1, want + '\0') == 0) found = pid;
      if (environ.find('\0', at) == std::string::npos) break;
    }
  }
  closedir(proc);
  return found;
}

TEST(DistributedTrainToolTest, AKilledRankStopsTheRunAndAResumeEndsBitIdentical) {
  const std::string dir = TestDir();
  const std::string config = MpiConfig("run");
  // 3 epochs of 50 steps of 256, a snapshot every 10 steps.
  const std::string flags =
      absl::StrCat("--epochs=3 --train_limit=", Sanitized() ? 2560 : 12800,
                   " --test_limit=1000 --snapshot_every_steps=10 --snapshot_every_seconds=0");
  const testing::CommandResult reference =
      testing::RunCommand(Mpi(2, config, dir + "/reference", flags), dir);
  ASSERT_EQ(reference.exit_code, 0) << reference.out << reference.err;

  // The same run, rank 1 killed once a snapshot past the start is written.
  const std::string out = dir + "/killed";
  const std::string log = dir + "/killed.log";
  const pid_t mpirun = fork();
  if (mpirun == 0) {
    execl("/bin/sh", "sh", "-c",
          absl::StrCat("exec ", Mpi(2, config, out, flags), " > ", log, " 2>&1").c_str(), nullptr);
    _exit(127);
  }
  pid_t victim = 0;
  for (int wait = 0; wait < 1200 && victim == 0; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (absl::StrContains(ReadBytes(log), "snapshot at step 10 ")) victim = RankPid(1, out);
  }
  ASSERT_NE(victim, 0) << "no rank 1 of a run past its first snapshot: " << ReadBytes(log);
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(mpirun, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  if (done == 0) kill(mpirun, SIGKILL);
  std::printf("mpirun ended %.2f s after rank 1 was killed\n", seconds);
  ASSERT_EQ(done, mpirun) << "mpirun still running " << seconds << " s after a rank died";
  EXPECT_LT(seconds, 30);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadBytes(log);
  EXPECT_THAT(ReadBytes(log), HasSubstr("rank 1"));

  // Another number of ranks is refused, and the snapshot left as it is.
  const std::string snapshot = ReadBytes(out + "/snapshot.safetensors");
  ASSERT_FALSE(snapshot.empty());
  const testing::CommandResult four =
      testing::RunCommand(Mpi(4, config, out, flags + " --resume"), dir);
  EXPECT_NE(four.exit_code, 0);
  EXPECT_THAT(four.out + four.err, HasSubstr("split its batches over 2 ranks and this one has 4"));
  EXPECT_EQ(ReadBytes(out + "/snapshot.safetensors"), snapshot);

  // resplit says how: a copy of the snapshot goes on over 4 ranks.
  const std::string resplit_out = dir + "/resplit";
  ::mkdir(resplit_out.c_str(), 0777);
  WriteFile(resplit_out + "/snapshot.safetensors", snapshot);
  const testing::CommandResult resplit = testing::RunCommand(
      Mpi(4, MpiConfig("resplit", "resplit: true"), resplit_out, flags + " --resume"), dir);
  EXPECT_EQ(resplit.exit_code, 0) << resplit.out << resplit.err;

  // The same 2 ranks go on to the uninterrupted run's model.
  const testing::CommandResult resumed =
      testing::RunCommand(Mpi(2, config, out, flags + " --resume"), dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("resume  from"));
  testing::ExpectSameModelFile(dir + "/reference/model.safetensors", out + "/model.safetensors");
}

}  // namespace
}  // namespace mnemo
