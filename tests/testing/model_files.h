#ifndef MNEMO_TESTS_TESTING_MODEL_FILES_H_
#define MNEMO_TESTS_TESTING_MODEL_FILES_H_

// Model files compared as the tests of resumed runs compare them.

#include <string>

#include "absl/status/statusor.h"
#include "core/io/safetensors.h"
#include "gtest/gtest.h"
#include "tests/testing/tensors.h"

namespace mnemo::testing {

// Every tensor of the model files `want` and `got`, bit for bit.
inline void ExpectSameModelFile(const std::string& want, const std::string& got) {
  absl::StatusOr<TensorFile> a = ReadSafetensors(want);
  absl::StatusOr<TensorFile> b = ReadSafetensors(got);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(a->tensors.size(), b->tensors.size());
  for (const auto& [name, tensor] : a->tensors) {
    ASSERT_TRUE(b->tensors.count(name)) << name;
    EXPECT_TRUE(SameBits(tensor, b->tensors.at(name))) << name;
  }
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_TESTING_MODEL_FILES_H_
