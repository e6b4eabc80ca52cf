#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"
#include "tools/bench/records.h"

namespace mnemo::bench {
namespace {

using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::Key;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kVersion[] = "[0-9]+\\.[0-9]+\\.[0-9]+.*";

Context Collect(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return CollectContext(static_cast<int>(args.size()), argv.data());
}

TEST(CollectContextTest, FieldsThisMachineHas) {
  const Context context = Collect({"bench", "--out=a b", "it's", "--tolerance=0.05"});
  EXPECT_GT(context.cores(), 0);
#if defined(__x86_64__)
  EXPECT_NE(context.cpu_model(), "");
#endif
  EXPECT_NE(context.host(), "");
  EXPECT_NE(context.git_revision(), "");
  EXPECT_THAT(context.date(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
  EXPECT_THAT(context.compiler(), AnyOf(StartsWith("gcc "), StartsWith("clang ")));
  EXPECT_THAT(context.os(), StartsWith("Linux "));
  EXPECT_THAT(context.build(), AnyOf(StartsWith("optimized"), StartsWith("unoptimized")));
  EXPECT_THAT(context.libraries().at("eigen"), MatchesRegex(kVersion));
  EXPECT_THAT(context.libraries().at("protobuf"), MatchesRegex(kVersion));
  EXPECT_THAT(context.libraries().at("abseil"), MatchesRegex("[0-9]{8}\\.[0-9]+"));
  EXPECT_THAT(context.libraries().at("glibc"), MatchesRegex("[0-9]+\\.[0-9]+.*"));
  EXPECT_EQ(context.command_line(), "bench '--out=a b' 'it'\\''s' --tolerance=0.05");
}

TEST(CollectContextTest, OneDnnOnlyOnceLoaded) {
  EXPECT_THAT(Collect({"bench"}).libraries(), Not(Contains(Key("onednn"))));
  // What the oneDNN plugin does to the process.
  void* library = ::dlopen("libdnnl.so.2", RTLD_NOW | RTLD_GLOBAL);
  if (library == nullptr) GTEST_SKIP() << "no libdnnl.so.2 here: " << ::dlerror();
  const Context context = Collect({"bench"});
  ::dlclose(library);
  ASSERT_THAT(context.libraries(), Contains(Key("onednn")));
  EXPECT_THAT(context.libraries().at("onednn"), MatchesRegex(kVersion));
}

// Git runs where BUILD_WORKSPACE_DIRECTORY says (as under `bazel run`).
class GitRevisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir();
    // Keeps git from finding a repository above the test's directory.
    ::setenv("GIT_CEILING_DIRECTORIES", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("BUILD_WORKSPACE_DIRECTORY");
    ::unsetenv("GIT_CEILING_DIRECTORIES");
  }

  std::string dir_;
};

TEST_F(GitRevisionTest, UnknownOutsideARepository) {
  const std::string plain = dir_ + "/plain";
  ASSERT_EQ(std::system(absl::StrCat("mkdir -p '", plain, "'").c_str()), 0);
  ::setenv("BUILD_WORKSPACE_DIRECTORY", plain.c_str(), 1);
  EXPECT_EQ(Collect({"bench"}).git_revision(), "unknown");
  ::setenv("BUILD_WORKSPACE_DIRECTORY", (dir_ + "/does/not/exist").c_str(), 1);
  EXPECT_EQ(Collect({"bench"}).git_revision(), "unknown");
}

TEST_F(GitRevisionTest, ShortHashThenDirty) {
  const std::string repo = dir_ + "/repo";
  const std::string git =
      absl::StrCat("git -C '", repo,
                   "' -c user.name=test -c user.email=test@example.com -c commit.gpgsign=false");
  if (std::system(absl::StrCat("rm -rf '", repo, "' && git init -q '", repo, "' && ", git,
                               " commit -q --allow-empty -m first >/dev/null 2>&1")
                      .c_str()) != 0) {
    GTEST_SKIP() << "git cannot make a repository here";
  }
  ::setenv("BUILD_WORKSPACE_DIRECTORY", repo.c_str(), 1);
  const std::string clean = Collect({"bench"}).git_revision();
  EXPECT_THAT(clean, MatchesRegex("[0-9a-f]{4,}"));

  // Untracked files count: a new config changes what a benchmark runs.
  WriteFile(repo + "/new_config.pbtxt", "x: 1\n");
  EXPECT_EQ(Collect({"bench"}).git_revision(), clean + "-dirty");
}

}  // namespace
}  // namespace mnemo::bench
