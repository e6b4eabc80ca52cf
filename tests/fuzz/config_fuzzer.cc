// Fuzzes ConfigLoader::LoadText (core/config_loader.h) with the input as a
// config's text, loaded for training and for inference, with the memo,
// checkpoint and template plugins in the process, so that their typed options
// (google.protobuf.Any) are parsed and their factories validate them. A
// refusal must name the file, as every config error does.
//
// The plugins are loaded once, before the first input, by their runfiles
// paths; an input that names them again loads nothing. An input that names
// another path would make the loader dlopen it: a relative one is looked up in
// the working directory (run_fuzzers.sh starts the fuzzer in an empty one) and
// the runfiles, which hold only these plugins and core; an absolute one would
// have to be guessed byte by byte.

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/config.pb.h"
#include "core/config_loader.h"
#include "core/plugin_loader.h"
#include "tests/fuzz/fuzz_support.h"

namespace mnemo::fuzz {
namespace {

// The name the text is loaded as: errors start with it.
constexpr char kConfigName[] = "fuzz.pbtxt";

// A model of more parameters than this is skipped: building its network (as
// validation does) costs memory and time in proportion, which is the price of
// a large model, not a reader's bug. At 2^22 (16 MiB) drawing the initial
// weights was half the fuzzer's time (1,437 inputs a second); 2^16 runs the
// same code on smaller tensors.
constexpr double kMaxParameters = 1 << 16;

constexpr const char* kPlugins[] = {
    "caching/memo/libmemo_plugin.so",
    "caching/checkpoint/libcheckpoint_plugin.so",
    "plugins/template/libtemplate_plugin.so",
};

void LoadPlugins() {
  for (const char* plugin : kPlugins) {
    absl::StatusOr<std::string> path = PluginLoader::Resolve(plugin, ".");
    if (!path.ok()) Fail(path.status().ToString());
    if (absl::Status s = PluginLoader::Global().Load(*path).status(); !s.ok()) Fail(s.ToString());
  }
}

class Silent : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
};

// The parameters of the Dense-like layers of the model `text` describes, as
// far as a quick parse can tell (0 when it does not parse: the loader then
// stops at the parse too).
double ParameterCount(const std::string& text) {
  config::Experiment experiment;
  Silent silent;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&silent);
  // The loader's own limit (config_loader.cc): deeper text is its to refuse.
  parser.SetRecursionLimit(100);
  if (!parser.ParseFromString(text, &experiment)) return 0;
  double width = experiment.model().input_size();
  double parameters = 0;
  for (const config::Layer& layer : experiment.model().layer()) {
    if (layer.units() <= 0) continue;
    parameters += (width + 1) * layer.units();
    width = layer.units();
  }
  return parameters;
}

void Load(const std::string& text, ConfigUse use) {
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), use).LoadText(text, kConfigName);
  if (!config.ok() && !absl::StartsWith(config.status().message(), kConfigName)) {
    Fail(absl::StrCat("the error does not start with the file's name: ",
                      config.status().ToString()));
  }
}

void TestOneInput(absl::string_view bytes) {
  const std::string text(bytes);
  if (ParameterCount(text) > kMaxParameters) return;
  Load(text, ConfigUse::kTraining);
  Load(text, ConfigUse::kInference);
}

}  // namespace
}  // namespace mnemo::fuzz

// Both mains call it first: libFuzzer before it counts the modules it measures
// coverage in, so that the plugins' code counts from the first input on.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mnemo::fuzz::LoadPlugins();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mnemo::fuzz::TestOneInput(mnemo::fuzz::Bytes(data, size));
  return 0;
}
