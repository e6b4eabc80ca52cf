#include "tools/data/data_config.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace mnemo {

std::string DataSource(const config::Data& config) {
  if (!config.train_file().empty()) return config.train_file();
  const std::string format = config.format().empty() ? kIdxFormat : config.format();
  const std::string dir =
      config.dir().empty() && format == kIdxFormat ? kDefaultDataDir : config.dir();
  return absl::StrCat(dir, " (", format, ")");
}

bool IsFile(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool IsDirectory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::vector<FieldProblem> FieldsNotTaken(const config::Data& config, const std::string& format,
                                         const std::vector<std::string>& taken,
                                         const std::string& hint) {
  static const std::vector<std::string> kEveryFormat = {
      "format",       "train_limit",  "test_limit",      "validation_fraction",
      "augmentation", "rare_classes", "held_out_classes"};
  std::vector<const google::protobuf::FieldDescriptor*> set;
  config.GetReflection()->ListFields(config, &set);
  std::vector<FieldProblem> problems;
  for (const google::protobuf::FieldDescriptor* field : set) {
    const std::string& name = field->name();
    if (std::count(kEveryFormat.begin(), kEveryFormat.end(), name) > 0 ||
        std::count(taken.begin(), taken.end(), name) > 0) {
      continue;
    }
    problems.push_back(
        {absl::StrCat("data.", name),
         absl::StrCat("data.", name, " does not apply to format \"", format, "\" (", hint, ")")});
  }
  return problems;
}

}  // namespace mnemo
