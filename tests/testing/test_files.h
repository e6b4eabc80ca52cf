#ifndef MNEMO_TESTS_TESTING_TEST_FILES_H_
#define MNEMO_TESTS_TESTING_TEST_FILES_H_

// Files for tests: a fresh directory per test case, and whole-file writes and
// reads that fail the test (not crash it) when the file system says no.

#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace mnemo {

// $TEST_TMPDIR/<test case name>, created if missing.
inline std::string TestDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/",
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  ::mkdir(dir.c_str(), 0777);
  return dir;
}

inline void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// IDX headers are big-endian.
inline void AppendBigEndian32(uint32_t n, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(n >> shift));
}

}  // namespace mnemo

#endif  // MNEMO_TESTS_TESTING_TEST_FILES_H_
