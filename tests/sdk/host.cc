// A host application of the installed SDK, as a user outside the workspace
// writes one: it serves a model trained by tools/train on a CSV table and
// prints its accuracy on a test table, as tools/eval does:
//
//   host MODEL TEST_CSV [PLUGIN_DIR]     ->  "test accuracy 0.9650 (138 of 143)"
//
// The model's plugins are found as Predictor::Load finds them (PLUGIN_DIR
// first when given, then $MNEMO_PLUGIN_PATH, ..., the SDK's plugin
// directory). The table is plain: a header row, then numbers and the class
// label in the target column, no quoting (the test's tables are such).
// Built three ways by tests/sdk: pkg-config, CMake, and a Bazel workspace
// that depends on mnemo (tests/external_workspace).

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/inference/predictor.h"
#include "core/status_macros.h"

namespace {

absl::Status Run(const std::string& model, const std::string& table,
                 const std::vector<std::string>& plugin_dirs) {
  mnemo::PredictorOptions options;
  options.plugin_path = plugin_dirs;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<mnemo::Predictor> predictor,
                         mnemo::Predictor::Load("", model, options));
  const mnemo::config::DataNames& names = predictor->names();
  if (names.target_size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(model, " was not trained on one target column"));
  }

  std::ifstream in(table);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", table));
  std::string line;
  std::getline(in, line);
  std::map<std::string, int> column;
  int index = 0;
  for (absl::string_view name : absl::StrSplit(line, ',')) column[std::string(name)] = index++;
  std::vector<int> features;
  for (const std::string& name : names.feature()) {
    if (!column.count(name))
      return absl::NotFoundError(absl::StrCat(table, " has no column ", name));
    features.push_back(column[name]);
  }
  if (!column.count(names.target(0))) {
    return absl::NotFoundError(absl::StrCat(table, " has no column ", names.target(0)));
  }
  const int target = column[names.target(0)];

  int correct = 0, total = 0;
  std::vector<float> sample(features.size());
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    for (size_t i = 0; i < features.size(); ++i) {
      if (features[i] >= static_cast<int>(cells.size()) ||
          !absl::SimpleAtof(cells[features[i]], &sample[i])) {
        return absl::InvalidArgumentError(absl::StrCat(table, ":", row, ": not a number"));
      }
    }
    MNEMO_ASSIGN_OR_RETURN(int32_t label, predictor->ClassifyOne(sample));
    correct += predictor->ClassLabel(label) == cells[target];
    ++total;
  }
  std::printf("test accuracy %.4f (%d of %d)\n", static_cast<double>(correct) / total, correct,
              total);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL TEST_CSV [PLUGIN_DIR...]\n", argv[0]);
    return 2;
  }
  const absl::Status status =
      Run(argv[1], argv[2], std::vector<std::string>(argv + 3, argv + argc));
  if (!status.ok()) {
    std::fprintf(stderr, "host: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
