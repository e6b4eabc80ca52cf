#ifndef MNEMO_TESTS_TESTING_DATA_FILES_H_
#define MNEMO_TESTS_TESTING_DATA_FILES_H_

// Data as a user hands it to mnemo: .npy files written as NumPy writes them,
// and experiments whose `data` section is given as text.

#include <string>

#include "absl/strings/str_cat.h"
#include "core/config.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/test_files.h"

namespace mnemo::testing {

// Writes `count` values of NumPy type `descr` ("<f4", "|u1", ...) and shape
// `shape` ("(3, 2)") to `path` as an .npy file of format 1.0, its header
// padded to 64 bytes, as np.save writes it.
template <typename T>
void WriteNpy(const std::string& path, const char* descr, const std::string& shape, const T* values,
              size_t count) {
  std::string header =
      absl::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(header.size() & 0xff);
  file += static_cast<char>(header.size() >> 8);
  file += header;
  file.append(reinterpret_cast<const char*>(values), count * sizeof(T));
  WriteFile(path, file);
}

// An experiment whose `data` section is `data` (its fields as text), for a
// model with `loss`.
inline config::Experiment ExperimentWithData(
    const std::string& data, config::Model::Loss loss = config::Model::LOSS_UNSPECIFIED) {
  config::Experiment experiment;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(data, experiment.mutable_data()))
      << data;
  experiment.mutable_model()->set_loss(loss);
  return experiment;
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_TESTING_DATA_FILES_H_
