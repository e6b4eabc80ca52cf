#ifndef MNEMO_TESTS_CLASSIFIER_CONFIG_FILES_H_
#define MNEMO_TESTS_CLASSIFIER_CONFIG_FILES_H_

// Configs of dual-path classifiers for the tests, with a data directory that
// passes the loader's checks (the files exist; nothing reads them).

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/test_files.h"

namespace mnemo::testing {

inline std::string FakeDataDir() {
  const std::string dir = TestDir();
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    std::ofstream(dir + "/" + name) << "";
  }
  return dir;
}

// 6 -> Dense 8 ReLU ("features") -> Dense 3, with an exact_memory of 10.
// `memory` replaces the memory_module block's body.
inline std::string ClassifierConfig(const std::string& memory =
                                        "  type: \"exact_memory\"\n"
                                        "  capacity: 10\n"
                                        "  features_after: \"features\"\n") {
  return absl::StrCat(
      "model {\n"
      "  input_size: 6\n"
      "  init { scheme: XAVIER_UNIFORM }\n"
      "  layer { type: \"Dense\" units: 8 activation: \"ReLU\" name: \"features\" }\n"
      "  layer { type: \"Dense\" units: 3 }\n"
      "}\n"
      "memory_module {\n",
      memory,
      "}\n"
      "data { dir: \"",
      FakeDataDir(),
      "\" }\n"
      "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 4 epochs: 1 seed: 3 "
      "}\n");
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_CLASSIFIER_CONFIG_FILES_H_
