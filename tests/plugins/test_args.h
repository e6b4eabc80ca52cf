#ifndef MNEMO_TESTS_PLUGINS_TEST_ARGS_H_
#define MNEMO_TESTS_PLUGINS_TEST_ARGS_H_

// Test binaries get the paths of their data files as `--name=value`
// arguments (BUILD passes them with $(rootpath ...)), read here before gtest
// sees the command line.

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace mnemo::testing {

inline std::multimap<std::string, std::string>& TestArgs() {
  static auto* args = new std::multimap<std::string, std::string>;
  return *args;
}

// Moves every `--name=value` not meant for gtest into TestArgs().
inline void ParseTestArgs(int* argc, char** argv) {
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string arg = argv[i];
    size_t equals = arg.find('=');
    if (arg.rfind("--", 0) == 0 && arg.rfind("--gtest_", 0) != 0 &&
        equals != std::string::npos) {
      TestArgs().emplace(arg.substr(2, equals - 2), arg.substr(equals + 1));
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
}

// The one value of `name`, or "" (the test then fails on the missing file).
inline std::string TestArg(const std::string& name) {
  auto it = TestArgs().find(name);
  return it == TestArgs().end() ? "" : it->second;
}

inline std::vector<std::string> TestArgList(const std::string& name) {
  std::vector<std::string> values;
  auto [begin, end] = TestArgs().equal_range(name);
  for (auto it = begin; it != end; ++it) values.push_back(it->second);
  return values;
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_PLUGINS_TEST_ARGS_H_
