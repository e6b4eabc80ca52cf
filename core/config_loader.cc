#include "core/config_loader.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/augmentation.h"
#include "core/feature_split.h"
#include "core/field_range.h"
#include "core/io/utf8.h"
#include "core/loss.h"
#include "core/memory_settings.h"
#include "core/metrics.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "core/optimizer.h"
#include "core/options_check.h"
#include "core/status_macros.h"
#include "core/trainer.h"

namespace mnemo {
namespace {

namespace pb = ::google::protobuf;

// How deeply messages may nest in a config (Any options nest through the memo's
// `inner`). Protobuf's text parser has no limit of its own and recurses once
// per level, so a file of some ten thousand nested braces overflowed the stack.
// Real configs nest fewer than ten levels.
constexpr int kMaxNesting = 100;

// Refuses text that is not UTF-8, naming where the first bad byte is.
// Protobuf's parser only logs such bytes in a string and keeps them, so an
// invalid name would reach messages, files and the model's metadata.
absl::Status CheckUtf8(absl::string_view text, const std::string& path) {
  const size_t bad = FindInvalidUtf8(text);
  if (bad == absl::string_view::npos) return absl::OkStatus();
  const absl::string_view before = text.substr(0, bad);
  const size_t line_start = before.rfind('\n') + 1;  // npos + 1 = 0 on the first line
  const int64_t line = 1 + std::count(before.begin(), before.end(), '\n');
  return absl::InvalidArgumentError(
      absl::StrFormat("%s:%d:%d: invalid UTF-8 (byte 0x%02x): a config is UTF-8 text", path, line,
                      bad - line_start + 1, static_cast<uint8_t>(text[bad])));
}

// Collects the parser's errors as "file:line:column: message", 1-based
// (protobuf counts both from 0).
class ErrorList : public pb::io::ErrorCollector {
 public:
  ErrorList(std::string path, const std::string& text)
      : path_(std::move(path)), lines_(absl::StrSplit(text, '\n')) {}

  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    column = StartOfUnknownName(line, column, message);
    std::string text = message;
    // The parser's own sentence does not say why a type can be missing.
    if (absl::StrContains(text, "stored in google.protobuf.Any")) {
      absl::StrAppend(&text,
                      " No loaded plugin defines this options type: list the plugin "
                      "that does in `plugin`, or correct the type name.");
    }
    errors_.push_back(line < 0 ? absl::StrCat(path_, ": ", text)
                               : absl::StrCat(path_, ":", line + 1, ":", column + 1, ": ", text));
  }
  // Warnings (such as the unknown fields the first step skips on purpose) are
  // not problems of the file.
  void AddWarning(int, pb::io::ColumnNumber, const std::string&) override {}

  // The parser reports an unknown field after reading its name; point at the
  // name itself, where the fix goes. (Only on lines without tabs, which the
  // parser's columns expand.)
  int StartOfUnknownName(int line, int column, const std::string& message) const {
    static const std::string kMarker = "has no field named \"";
    size_t start = message.find(kMarker);
    if (start == std::string::npos || line < 0 || line >= static_cast<int>(lines_.size())) {
      return column;
    }
    start += kMarker.size();
    const std::string name = message.substr(start, message.find('"', start) - start);
    absl::string_view text = lines_[line];
    if (name.empty() || column > static_cast<int>(text.size()) ||
        text.substr(0, column).find('\t') != absl::string_view::npos) {
      return column;
    }
    size_t at = text.substr(0, column).rfind(name);
    return at == absl::string_view::npos ? column : static_cast<int>(at);
  }

  absl::Status ToStatus() const {
    if (errors_.empty()) return absl::InvalidArgumentError(absl::StrCat(path_, ": cannot parse"));
    return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n"));
  }

 private:
  std::string path_;
  std::vector<absl::string_view> lines_;  // of the text being parsed
  std::vector<std::string> errors_;
};

// Step 1 parses the text as a message that has only Experiment's `plugin`
// field, skipping every other field. Skipping (unlike parsing into
// Experiment) also steps over `[type.googleapis.com/pkg.Msg] { ... }` whose
// type no library has defined yet: the text parser must resolve an Any's
// type to parse it, and fails when it cannot. The message is built at run
// time in a pool of its own, so it never meets the generated descriptors.
const pb::Message& PluginListPrototype() {
  static const pb::Message* const prototype = [] {
    const pb::FieldDescriptor* plugin = config::Experiment::descriptor()->FindFieldByName("plugin");
    pb::FileDescriptorProto file;
    file.set_name("mnemo/config_loader/plugin_list.proto");
    file.set_package("mnemo.config_loader");
    file.set_syntax("proto3");
    pb::DescriptorProto* message = file.add_message_type();
    message->set_name("PluginList");
    pb::FieldDescriptorProto* field = message->add_field();
    field->set_name(plugin->name());
    field->set_number(plugin->number());
    field->set_label(pb::FieldDescriptorProto::LABEL_REPEATED);
    field->set_type(pb::FieldDescriptorProto::TYPE_STRING);
    auto* pool = new pb::DescriptorPool;  // never destroyed, as the prototype
    const pb::FileDescriptor* built = pool->BuildFile(file);
    auto* factory = new pb::DynamicMessageFactory(pool);
    return factory->GetPrototype(built->message_type(0));
  }();
  return *prototype;
}

struct PluginEntry {
  std::string path;
  SourceLocation location;
};

absl::StatusOr<std::vector<PluginEntry>> ReadPluginList(const std::string& text,
                                                        const std::string& path) {
  std::unique_ptr<pb::Message> list(PluginListPrototype().New());
  ErrorList errors(path, text);
  pb::TextFormat::ParseInfoTree tree;
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  parser.AllowUnknownField(true);
  parser.AllowUnknownExtension(true);
  parser.SetRecursionLimit(kMaxNesting);  // skipping unknown fields recurses too
  if (!parser.ParseFromString(text, list.get())) return errors.ToStatus();

  const pb::FieldDescriptor* field = list->GetDescriptor()->field(0);
  const pb::Reflection* reflection = list->GetReflection();
  std::vector<PluginEntry> entries;
  for (int i = 0; i < reflection->FieldSize(*list, field); ++i) {
    pb::TextFormat::ParseLocation at = tree.GetLocation(field, i);
    entries.push_back(
        {reflection->GetRepeatedString(*list, field, i), {at.line + 1, at.column + 1}});
  }
  return entries;
}

// Records where every field written in the text stands, keyed by field path
// ("model.layer[2].units"). Walks the descriptor rather than the message so
// that fields written with their default value (`units: 0`) are found too.
// A repeated field's own path ("model.layer") maps to its first element.
void RecordLocations(const pb::Descriptor& descriptor, const pb::TextFormat::ParseInfoTree& tree,
                     const std::string& prefix, std::map<std::string, SourceLocation>* locations) {
  for (int f = 0; f < descriptor.field_count(); ++f) {
    const pb::FieldDescriptor* field = descriptor.field(f);
    const std::string name = prefix.empty() ? field->name() : prefix + "." + field->name();
    // Any is a leaf: its expanded contents belong to a plugin's message.
    const bool nested = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
                        field->message_type()->full_name() != "google.protobuf.Any";
    const int first = field->is_repeated() ? 0 : -1;
    for (int index = first;; ++index) {
      pb::TextFormat::ParseLocation at = tree.GetLocation(field, index);
      if (at.line < 0) break;
      const std::string path = field->is_repeated() ? absl::StrCat(name, "[", index, "]") : name;
      (*locations)[path] = {at.line + 1, at.column + 1};
      if (index == 0) (*locations)[name] = {at.line + 1, at.column + 1};
      if (nested) {
        if (const pb::TextFormat::ParseInfoTree* sub = tree.GetTreeForNested(field, index)) {
          RecordLocations(*field->message_type(), *sub, path, locations);
        }
      }
      if (!field->is_repeated()) break;
    }
  }
}

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Makes the data files a config names relative to its own directory.
void ResolveDataFiles(const std::string& dir, config::Data* data) {
  for (std::string* file :
       {data->mutable_train_file(), data->mutable_validation_file(), data->mutable_test_file(),
        data->mutable_train_targets_file(), data->mutable_validation_targets_file(),
        data->mutable_test_targets_file()}) {
    if (!file->empty() && (*file)[0] != '/') *file = absl::StrCat(dir, "/", *file);
  }
}

// Checks everything but the model (which BuildNetwork checks by building it).
class Validator {
 public:
  Validator(const LoadedConfig& config, const Registries& registries, ConfigUse use)
      : config_(config), experiment_(config.experiment()), registries_(registries), use_(use) {}

  std::vector<std::string> Run() {
    absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(config_, registries_);
    if (!network.ok()) problems_.push_back(std::string(network.status().message()));
    CheckMemoryModule();
    if (use_ == ConfigUse::kTraining) {
      CheckData();
      CheckTrainer();
      CheckOutput();
    }
    return std::move(problems_);
  }

 private:
  void Problem(const std::string& field_path, const std::string& message) {
    problems_.push_back(config_.Describe(field_path, message));
  }
  void Problems(const std::vector<FieldProblem>& problems) {
    for (const FieldProblem& problem : problems) Problem(problem.field, problem.message);
  }

  void CheckMemoryModule() {
    const config::MemoryModule& memory = experiment_.memory_module();
    if (memory.type().empty()) {
      if (memory.ByteSizeLong() != 0) {
        Problem("memory_module", "memory_module has settings but no type");
      }
      return;
    }
    absl::StatusOr<MemoryModuleRegistry::Entry> entry =
        registries_.memory_modules.Find(memory.type());
    if (!entry.ok()) {
      Problem("memory_module.type", std::string(entry.status().message()));
    } else if (std::string problem =
                   OptionsProblem("memory module", memory.type(), memory.has_options(),
                                  memory.options(), entry->options_type);
               !problem.empty()) {
      Problem("memory_module.options", problem);
    }
    Problems(memory::CheckMemorySettings(memory));
    if (IsRegression(experiment_.model().loss())) {
      Problem("model.loss", absl::StrCat("a memory module answers classes, so model.loss must be "
                                         "a classification loss, not ",
                                         config::Model::Loss_Name(experiment_.model().loss())));
    }
    if (experiment_.model().label_smoothing() != 0) {
      // The dual path's classifier computes its own cross-entropy.
      Problem("model.label_smoothing",
              "model.label_smoothing is not read with a memory_module: its classifier trains "
              "on the plain cross-entropy");
    }
    if (absl::StatusOr<int> split = FeatureSplitIndex(config_); !split.ok()) {
      problems_.push_back(std::string(split.status().message()));
    }
  }

  // data.rare_classes and data.held_out_classes: class ids of a classifier,
  // each named once; rare_classes needs `keep`.
  void CheckClassSelection(const config::Data& data) {
    const bool rare = data.has_rare_classes();
    if (!rare && data.held_out_classes().empty()) return;
    if (IsRegression(experiment_.model().loss())) {
      Problem(rare ? "data.rare_classes" : "data.held_out_classes",
              "class selection needs a classifier; model.loss is a regression loss");
      return;
    }
    if (rare && data.rare_classes().classes().empty()) {
      Problem("data.rare_classes.classes", "data.rare_classes names no class");
    }
    if (rare && data.rare_classes().keep() == 0) {
      Problem("data.rare_classes.keep",
              "data.rare_classes.keep is required: the training samples kept of each class "
              "(> 0; to leave a class out, name it in data.held_out_classes)");
    }
    std::set<int32_t> seen;
    // (A negative class is the schema's range's to report.)
    auto check = [&](const std::string& field, int32_t label) {
      if (label >= 0 && !seen.insert(label).second) {
        Problem(field, absl::StrCat(field, ": class ", label, " is named twice"));
      }
    };
    for (int32_t label : data.rare_classes().classes()) check("data.rare_classes.classes", label);
    for (int32_t label : data.held_out_classes()) check("data.held_out_classes", label);
  }

  void CheckData() {
    const config::Data& data = experiment_.data();
    Problems(CheckRanges(data, "data"));
    const float fraction = data.validation_fraction();
    if (!(fraction >= 0 && fraction < 1)) {
      Problem("data.validation_fraction",
              absl::StrCat("data.validation_fraction must be >= 0 and < 1, not ", fraction));
    } else if (fraction > 0 && !data.validation_file().empty()) {
      Problem("data.validation_fraction",
              "set data.validation_fraction or data.validation_file, not both");
    }
    if (data.has_augmentation()) {
      Problems(CheckAugmentation(data.augmentation(), experiment_.model().input_size()));
    }
    CheckClassSelection(data);
    const bool validated = fraction > 0 || !data.validation_file().empty();
    if (experiment_.trainer().has_early_stopping() && !validated) {
      Problem("trainer.early_stopping",
              "trainer.early_stopping needs a validation set: set data.validation_fraction or "
              "data.validation_file");
    }
    if (experiment_.trainer().optimizer().schedule().type() == "plateau" && !validated) {
      Problem("trainer.optimizer.schedule.type",
              "trainer.optimizer.schedule.type plateau needs a validation set: set "
              "data.validation_fraction or data.validation_file");
    }
    // The rest is the format's to check.
    const std::string format = data.format().empty() ? kDefaultDataFormat : data.format();
    absl::StatusOr<std::unique_ptr<DataFormat>> made = registries_.data_formats.Create(
        format, DataFormatArgs{IsRegression(experiment_.model().loss())});
    if (!made.ok()) {
      Problem("data.format", std::string(made.status().message()));
      return;
    }
    Problems((*made)->Check(data));
  }

  void CheckTrainer() {
    const config::Trainer& trainer = experiment_.trainer();
    if (trainer.has_early_stopping()) {
      if (absl::Status s = CheckEarlyStopping(trainer.early_stopping()); !s.ok()) {
        Problem("trainer.early_stopping", std::string(s.message()));
      } else {
        CheckTaskFigure("trainer.early_stopping", "trainer.early_stopping.metric",
                        trainer.early_stopping().metric());
      }
    }
    const std::vector<FieldProblem> optimizer_problems = CheckOptimizer(trainer.optimizer());
    Problems(optimizer_problems);
    const bool metric_known = std::none_of(
        optimizer_problems.begin(), optimizer_problems.end(),
        [](const FieldProblem& p) { return p.field == "trainer.optimizer.schedule.metric"; });
    if (trainer.optimizer().schedule().type() == "plateau" && metric_known) {
      CheckTaskFigure("trainer.optimizer.schedule.metric", "trainer.optimizer.schedule.metric",
                      trainer.optimizer().schedule().metric());
    }
    Problems(CheckRanges(trainer, "trainer"));
    const std::string& communicator = trainer.distributed().communicator();
    if (!communicator.empty()) {
      if (absl::Status s = registries_.communicators.Find(communicator).status(); !s.ok()) {
        Problem(
            "trainer.distributed.communicator",
            absl::StrCat(s.message(), communicator == "mpi" ? " (\"mpi\" needs the line plugin: "
                                                              "\"plugins/mpi/libmpi_plugin.so\")"
                                                            : ""));
      }
    }
  }

  // A known validation figure `metric` that `field` watches ("" and "loss"
  // every model has) must be one the model's task reports.
  void CheckTaskFigure(const std::string& where, const char* field, const std::string& metric) {
    if (metric.empty() || metric == "loss") return;
    const std::vector<std::string> figures = TaskFigureNames(experiment_.model().loss());
    if (std::find(figures.begin(), figures.end(), metric) == figures.end()) {
      Problem(where,
              absl::StrCat(field, " \"", metric, "\" is not a figure of model.loss ",
                           config::Model::Loss_Name(ResolvedLoss(experiment_.model().loss())),
                           " (it reports: loss, ", absl::StrJoin(figures, ", "), ")"));
    }
  }

  void CheckOutput() { Problems(CheckRanges(experiment_.output(), "output")); }

  const LoadedConfig& config_;
  const config::Experiment& experiment_;
  const Registries& registries_;
  const ConfigUse use_;
  std::vector<std::string> problems_;
};

}  // namespace

SourceLocation LoadedConfig::Locate(const std::string& field_path) const {
  std::string path = field_path;
  while (!path.empty()) {
    if (auto it = locations_.find(path); it != locations_.end()) return it->second;
    if (path.back() == ']') {
      path.erase(path.rfind('['));  // "a.b[2]" -> "a.b"
    } else {
      size_t dot = path.rfind('.');
      path.erase(dot == std::string::npos ? 0 : dot);  // "a.b" -> "a"
    }
  }
  return {};
}

std::string LoadedConfig::Describe(const std::string& field_path,
                                   const std::string& message) const {
  SourceLocation at = Locate(field_path);
  if (at.line <= 0) return absl::StrCat(path_, ": ", message);
  return absl::StrCat(path_, ":", at.line, ":", at.column, ": ", message);
}

ConfigLoader::ConfigLoader(Registries& registries, ConfigUse use, const char* caller_abi)
    : registries_(registries), use_(use), abi_(CheckCallerAbi(caller_abi)) {
  if (&registries == &Registries::Global()) {
    plugin_loader_ = &PluginLoader::Global();
  } else {
    own_plugin_loader_ = std::make_unique<PluginLoader>(registries);
    plugin_loader_ = own_plugin_loader_.get();
  }
}

absl::StatusOr<std::unique_ptr<LoadedConfig>> ConfigLoader::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read config file \"", path, "\": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("error reading config file \"", path, "\""));
  }
  return LoadText(text.str(), path);
}

absl::StatusOr<std::unique_ptr<LoadedConfig>> ConfigLoader::LoadForModel(
    const std::string& config_path, const std::string& model_path) {
  if (!config_path.empty()) return LoadFile(config_path);
  MNEMO_RETURN_IF_ERROR(abi_);
  MNEMO_ASSIGN_OR_RETURN(std::string text, ReadModelConfigText(model_path));
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(model_path, " holds no config (metadata \"",
                                                   kModelConfigKey,
                                                   "\"); give its config (tools: --config)"));
  }
  return LoadText(text, absl::StrCat(model_path, " (stored config)"));
}

absl::StatusOr<std::unique_ptr<LoadedConfig>> ConfigLoader::LoadText(const std::string& text,
                                                                     const std::string& path) {
  MNEMO_RETURN_IF_ERROR(abi_);
  MNEMO_RETURN_IF_ERROR(CheckUtf8(text, path));
  // Step 1: the plugins, so that their option messages exist for step 2.
  MNEMO_ASSIGN_OR_RETURN(std::vector<PluginEntry> plugins, ReadPluginList(text, path));
  std::vector<std::string> problems;
  for (const PluginEntry& plugin : plugins) {
    absl::StatusOr<std::string> resolved =
        PluginLoader::Resolve(plugin.path, Dirname(path), plugin_path_);
    absl::Status status = resolved.status();
    if (resolved.ok()) status = plugin_loader_->Load(*resolved).status();
    if (!status.ok()) {
      problems.push_back(absl::StrCat(path, ":", plugin.location.line, ":", plugin.location.column,
                                      ": ", status.message()));
    }
  }
  // Step 2 would only fail on the options of the plugins that failed.
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));

  // Step 2: the whole file.
  auto config = std::make_unique<LoadedConfig>();
  config->path_ = path;
  config->use_ = use_;  // before the Validator builds the network
  ErrorList errors(path, text);
  pb::TextFormat::ParseInfoTree tree;
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  parser.SetRecursionLimit(kMaxNesting);
  if (!parser.ParseFromString(text, &config->experiment_)) return errors.ToStatus();
  RecordLocations(*config::Experiment::descriptor(), tree, "", &config->locations_);
  ResolveDataFiles(Dirname(path), config->experiment_.mutable_data());

  problems = Validator(*config, registries_, use_).Run();
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  return config;
}

}  // namespace mnemo
