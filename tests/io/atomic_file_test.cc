#include "core/io/atomic_file.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool IsDirectory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// A write whose temporary file is in place when a later step fails, the
// failure made real by the kernel (tests/testing/child_process.h): the old
// file stays as it was, the temporary file goes, and the message names the
// step, the file and errno's reason.
std::string FailingWrite(const std::vector<int>& failing_syscalls, const std::string& path) {
  return testing::RunInChild({failing_syscalls, EIO},
                             [&] { return WriteFileAtomically(path, "new contents").ToString(); });
}

TEST(WriteFileAtomicallyTest, AFailedFsyncKeepsTheOldFileAndRemovesTheTemporary) {
  const std::string dir = TestDir();
  const std::string path = dir + "/file.bin";
  ASSERT_TRUE(WriteFileAtomically(path, "old contents").ok());
  const std::string message = FailingWrite({SYS_fsync, SYS_fdatasync}, path);
  EXPECT_THAT(message,
              HasSubstr("cannot write " + path + ": cannot fsync " + dir + "/.file.bin.tmp."));
  EXPECT_THAT(message, HasSubstr("Input/output error"));
  EXPECT_EQ(ReadBytes(path), "old contents");
  EXPECT_THAT(ListDir(dir), ElementsAre("file.bin"));
}

TEST(WriteFileAtomicallyTest, AFailedRenameKeepsTheOldFileAndRemovesTheTemporary) {
  const std::string dir = TestDir();
  const std::string path = dir + "/file.bin";
  ASSERT_TRUE(WriteFileAtomically(path, "old contents").ok());
  const std::string message = FailingWrite({SYS_rename, SYS_renameat, SYS_renameat2}, path);
  EXPECT_THAT(message,
              HasSubstr("cannot write " + path + ": cannot rename " + dir + "/.file.bin.tmp."));
  EXPECT_THAT(message, HasSubstr(" over it"));
  EXPECT_THAT(message, HasSubstr("Input/output error"));
  EXPECT_EQ(ReadBytes(path), "old contents");
  EXPECT_THAT(ListDir(dir), ElementsAre("file.bin"));
  // Without the failure the same write goes through.
  EXPECT_EQ(FailingWrite({}, path), "OK");
  EXPECT_EQ(ReadBytes(path), "new contents");
}

TEST(WriteFileAtomicallyTest, CreatesAndReplaces) {
  const std::string dir = TestDir();
  const std::string path = dir + "/file.bin";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  EXPECT_EQ(ReadBytes(path), "first");
  ASSERT_TRUE(WriteFileAtomically(path, std::string("sec\0nd", 6)).ok());
  EXPECT_EQ(ReadBytes(path), std::string("sec\0nd", 6));
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(ReadBytes(path), "");
  EXPECT_THAT(ListDir(dir), ElementsAre("file.bin"));
}

TEST(WriteFileAtomicallyTest, WritesLargeContents) {
  const std::string dir = TestDir();
  std::string contents(20 << 20, '\0');
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7919);
  ASSERT_TRUE(WriteFileAtomically(dir + "/big", contents).ok());
  EXPECT_EQ(ReadBytes(dir + "/big"), contents);
}

TEST(WriteFileAtomicallyTest, WritesARelativePath) {
  const std::string dir = TestDir();
  char* old_cwd = ::getcwd(nullptr, 0);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  const absl::Status status = WriteFileAtomically("relative.txt", "text");
  ASSERT_EQ(::chdir(old_cwd), 0);
  std::free(old_cwd);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(ReadBytes(dir + "/relative.txt"), "text");
}

TEST(WriteFileAtomicallyTest, ErrorsNameThePathAndTheCause) {
  const std::string dir = TestDir();
  const std::string missing = dir + "/no/such/dir/file";
  const absl::Status status = WriteFileAtomically(missing, "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("cannot write " + missing));
  EXPECT_THAT(std::string(status.message()), HasSubstr("No such file or directory"));

  const absl::Status no_name = WriteFileAtomically(dir + "/", "x");
  EXPECT_EQ(no_name.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_name.message()), HasSubstr("the path names no file"));
}

TEST(WriteFileAtomicallyTest, ADirectoryInTheWaySurvivesAndNoTemporaryFileRemains) {
  const std::string dir = TestDir();
  const std::string path = dir + "/taken";
  ASSERT_EQ(::mkdir(path.c_str(), 0777), 0);
  const absl::Status status = WriteFileAtomically(path, "x");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(path));
  EXPECT_THAT(std::string(status.message()), HasSubstr("Is a directory"));
  EXPECT_TRUE(IsDirectory(path));
  EXPECT_THAT(ListDir(dir), ElementsAre("taken"));
}

TEST(WriteFileAtomicallyTest, ConcurrentWritersLeaveOneWholeFile) {
  const std::string dir = TestDir();
  const std::string path = dir + "/shared";
  const std::string a(1 << 20, 'a');
  const std::string b(1 << 20, 'b');
  std::vector<std::thread> threads;
  std::vector<absl::Status> statuses(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 5 && statuses[i].ok(); ++j) {
        statuses[i] = WriteFileAtomically(path, i % 2 == 0 ? a : b);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& status : statuses) EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(ReadBytes(path), AnyOf(a, b));
  EXPECT_THAT(ListDir(dir), ElementsAre("shared"));
}

TEST(MakeDirectoriesTest, CreatesParentsAndAcceptsExistingOnes) {
  const std::string dir = TestDir();
  ASSERT_TRUE(MakeDirectories(dir + "/a/b/c").ok());
  EXPECT_TRUE(IsDirectory(dir + "/a/b/c"));
  EXPECT_TRUE(MakeDirectories(dir + "/a/b/c").ok());
  EXPECT_TRUE(MakeDirectories(dir + "/a//b/d/").ok());
  EXPECT_TRUE(IsDirectory(dir + "/a/b/d"));
  EXPECT_TRUE(MakeDirectories("/").ok());
}

TEST(MakeDirectoriesTest, CreatesRelativePaths) {
  const std::string dir = TestDir();
  char* old_cwd = ::getcwd(nullptr, 0);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  const absl::Status status = MakeDirectories("x/y");
  ASSERT_EQ(::chdir(old_cwd), 0);
  std::free(old_cwd);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(IsDirectory(dir + "/x/y"));
}

TEST(MakeDirectoriesTest, NamesTheComponentThatIsAFile) {
  const std::string dir = TestDir();
  ASSERT_TRUE(WriteFileAtomically(dir + "/file", "x").ok());
  const absl::Status status = MakeDirectories(dir + "/file/sub/dir");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            absl::StrCat("cannot create directory ", dir, "/file/sub/dir: cannot create ", dir,
                         "/file: it exists and is not a directory"));

  const absl::Status last = MakeDirectories(dir + "/file");
  EXPECT_EQ(last.message(), absl::StrCat("cannot create directory ", dir,
                                         "/file: it exists and is not a directory"));
}

TEST(MakeDirectoriesTest, RefusesAnEmptyName) {
  EXPECT_EQ(MakeDirectories("").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mnemo
