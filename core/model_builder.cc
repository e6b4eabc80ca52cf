#include "core/model_builder.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/field_range.h"
#include "core/format_bytes.h"
#include "core/init.h"
#include "core/io/quote.h"
#include "core/options_check.h"
#include "core/system_memory.h"

namespace mnemo {
namespace {

constexpr char kDefaultCacheStrategy[] = "keep_all";
constexpr float kDefaultNormalStd = 0.01f;

// Model.init overridden by Layer.init, then the defaults (NORMAL, std 0.01).
config::Init ResolveInit(const config::Init& model_init, const config::Init& layer_init) {
  // A layer that names a scheme replaces the model's init; one that only
  // sets std keeps the model's scheme with that std.
  config::Init init =
      layer_init.scheme() != config::Init::SCHEME_UNSPECIFIED ? layer_init : model_init;
  if (layer_init.std() != 0) init.set_std(layer_init.std());
  if (init.scheme() == config::Init::SCHEME_UNSPECIFIED) init.set_scheme(config::Init::NORMAL);
  if (init.scheme() == config::Init::NORMAL && init.std() == 0) {
    init.set_std(kDefaultNormalStd);
  }
  return init;
}

// Maps config type names to registry names for the model's backend. The
// reference backend ("" or "eigen") uses the names as written; backend "B"
// prefers a type registered as "B/<name>" and falls back to "<name>", so a
// backend plugin may replace only the layers it accelerates.
class BackendTypes {
 public:
  BackendTypes(std::string backend, const LayerRegistry& layers)
      : backend_(std::move(backend)), layers_(layers) {}

  bool IsReference() const { return backend_.empty() || backend_ == kReferenceBackend; }

  std::string Map(const std::string& type) const {
    if (IsReference()) return type;
    std::string specific = absl::StrCat(backend_, "/", type);
    return layers_.Contains(specific) ? specific : type;
  }

 private:
  std::string backend_;
  const LayerRegistry& layers_;
};

class Builder {
 public:
  Builder(const LoadedConfig& config, const Registries& registries)
      : config_(config),
        model_(config.experiment().model()),
        registries_(registries),
        backend_(model_.backend(), registries.layers) {}

  absl::StatusOr<std::unique_ptr<Network>> Build() {
    // Counts out of their schema's range are reported here and then not used:
    // no backend of 10^6 threads, no layer of 2^31 units.
    for (const FieldProblem& problem : CheckRanges(model_, "model")) {
      Error(problem.field, problem.message);
      out_of_range_.insert(problem.field);
    }
    backend_instance_ = CreateBackend();
    CheckPrecision();
    if (model_.input_size() <= 0) {
      Error("model.input_size", "model.input_size must be > 0 (features per sample)");
    }
    if (model_.layer_size() == 0) Error("model", "the model has no layer");
    if (model_.layer_size() > kMaxLayers) {
      Error("model.layer",
            absl::StrCat("a model has at most ", kMaxLayers, " layers, not ", model_.layer_size()));
      return Errors();
    }

    // The width flowing into the next layer; unknown (-1) once a layer could
    // not be created, after which layers are only checked, not created.
    int running = model_.input_size() > 0 && !out_of_range_.count("model.input_size")
                      ? model_.input_size()
                      : -1;
    for (int i = 0; i < model_.layer_size(); ++i) running = AddLayer(i, running);

    CheckInitStd("model.init", model_.init());
    for (int i = 0; i < model_.layer_size(); ++i) {
      CheckInitStd(absl::StrCat("model.layer[", i, "].init"), model_.layer(i).init());
    }
    const LossSpec loss = CheckLoss(running);
    std::unique_ptr<CacheStrategy> strategy = CreateStrategy();
    if (!errors_.empty()) return Errors();

    absl::StatusOr<std::unique_ptr<Network>> network =
        Network::Create(std::move(layers_), std::move(strategy), std::move(backend_instance_));
    if (!network.ok()) {
      // The sizes were checked above, so what is left is the strategy refusing.
      return absl::InvalidArgumentError(
          config_.Describe("cache_strategy", std::string(network.status().message())));
    }
    (*network)->set_loss(loss);
    return network;
  }

 private:
  void Error(const std::string& field_path, const std::string& message) {
    errors_.push_back({config_.Locate(field_path), config_.Describe(field_path, message)});
  }

  // Every error, one a line, in the order of their places in the file.
  absl::Status Errors() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
      return std::pair(a.first.line, a.first.column) < std::pair(b.first.line, b.first.column);
    });
    return absl::InvalidArgumentError(absl::StrJoin(
        errors_, "\n", [](std::string* out, const auto& error) { out->append(error.second); }));
  }

  // An init's std: unset (0), or finite and > 0.
  void CheckInitStd(const std::string& path, const config::Init& init) {
    const float std = init.std();
    if (std == 0) return;
    if (!std::isfinite(std)) {
      Error(path + ".std", absl::StrCat(path, ".std must be finite and > 0, not ", std));
    } else if (std < 0) {
      Error(path + ".std",
            absl::StrCat(path, ".std must be > 0 (0 = the default 0.01), not ", std));
    }
  }

  // model.loss, model.huber_delta and model.label_smoothing, against the
  // output's width (-1 when unknown).
  LossSpec CheckLoss(int outputs) {
    LossSpec spec;
    spec.kind = ResolvedLoss(model_.loss());
    if (spec.kind == config::Model::SIGMOID_CROSS_ENTROPY && outputs > 1) {
      Error("model.loss", absl::StrCat("model.loss SIGMOID_CROSS_ENTROPY needs one output (the "
                                       "logit of class 1) but the last layer has ",
                                       outputs, "; use SOFTMAX_CROSS_ENTROPY for more classes"));
    }
    const float delta = model_.huber_delta();
    if (!(std::isfinite(delta) && delta >= 0)) {
      Error("model.huber_delta",
            absl::StrCat("model.huber_delta must be finite and > 0 (0 = the default 1), not ",
                         delta));
    } else if (delta != 0 && spec.kind != config::Model::HUBER) {
      Error("model.huber_delta", "model.huber_delta is only read with model.loss HUBER");
    } else if (delta > 0) {
      spec.huber_delta = delta;
    }
    const float smoothing = model_.label_smoothing();
    if (!(std::isfinite(smoothing) && smoothing >= 0 && smoothing < 1)) {
      Error("model.label_smoothing",
            absl::StrCat("model.label_smoothing must be in [0, 1), not ", smoothing));
    } else if (smoothing != 0 && spec.kind != config::Model::SOFTMAX_CROSS_ENTROPY) {
      Error("model.label_smoothing",
            absl::StrCat("model.label_smoothing is only read with model.loss "
                         "SOFTMAX_CROSS_ENTROPY, not ",
                         config::Model::Loss_Name(spec.kind)));
    } else {
      spec.label_smoothing = smoothing;
    }
    return spec;
  }

  // The backend model.backend names, with model.threads; null after an
  // error (the layers are still checked, their factories then get no backend).
  std::shared_ptr<const Backend> CreateBackend() {
    if (out_of_range_.count("model.threads")) return nullptr;
    const std::string name = model_.backend().empty() ? kReferenceBackend : model_.backend();
    if (!registries_.backends.Contains(name)) {
      Error("model.backend", absl::StrCat("unknown backend ", QuoteValue(name), " (known: ",
                                          absl::StrJoin(registries_.backends.Names(), ", "), ")"));
      return nullptr;
    }
    absl::StatusOr<std::unique_ptr<Backend>> created =
        registries_.backends.Create(name, BackendArgs{std::max(model_.threads(), 0)});
    if (!created.ok()) {
      Error("model.backend", absl::StrCat(name, ": ", created.status().message()));
      return nullptr;
    }
    return std::shared_ptr<const Backend>(*std::move(created));
  }

  // model.precision: one the backend computes in on this CPU, INT8 only for
  // inference (a model tools/quantize wrote); model.quantization only with
  // INT8. The layers are made only after this: they take the precision as
  // given.
  void CheckPrecision() {
    const config::Model::Precision precision = model_.precision();
    if (model_.has_quantization() && precision != config::Model::INT8) {
      Error("model.quantization",
            absl::StrCat("model.quantization is only read with model.precision INT8, not ",
                         config::Model::Precision_Name(precision)));
    }
    if (precision == config::Model::INT8 && config_.use() != ConfigUse::kInference) {
      Error("model.precision",
            "model.precision INT8 is for inference: train in FP32 or BF16, then write an int8 "
            "model with tools/quantize");
      return;
    }
    if (backend_instance_ == nullptr) return;  // its error is said
    if (absl::Status status = backend_instance_->CheckPrecision(precision); !status.ok()) {
      Error("model.precision",
            absl::StrCat("model.precision ", config::Model::Precision_Name(precision), ": ",
                         status.message()));
    }
  }

  // Creates layer i (and its activation) from an input of width `running`;
  // returns the width of its output, or -1 when it is unknown. A layer that
  // could not be created still declares its width in `units`: the layers after
  // it are checked against that, so one mistake does not hide the next.
  int AddLayer(int i, int running) {
    const int width = TryAddLayer(i, running);
    if (width < 0 && model_.layer(i).units() > 0) return model_.layer(i).units();
    return width;
  }

  int TryAddLayer(int i, int running) {
    const config::Layer& layer = model_.layer(i);
    const std::string path = absl::StrCat("model.layer[", i, "]");
    bool ok = CheckType(layer.type(), layer.has_options(), layer.options(),
                        path + ".type", path + ".options");
    if (!layer.activation().empty()) {
      ok &= CheckType(layer.activation(), false, layer.options(), path + ".activation", "");
    }
    if (out_of_range_.count(path + ".units")) ok = false;
    if (!ok || running < 0 || !ParametersFit(path, running, layer.units())) return -1;

    LayerArgs args{layer,
                   running,
                   ResolveInit(model_.init(), layer.init()),
                   DeriveSeed(config_.experiment().trainer().seed(), i),
                   backend_instance_.get(),
                   config_.use() == ConfigUse::kInference,
                   model_.precision(),
                   model_.quantization()};
    const bool trainable = !layer.has_trainable() || layer.trainable();
    std::string name = layer.name().empty()
                           ? absl::StrCat(i, "_", absl::AsciiStrToLower(layer.type()))
                           : layer.name();
    running = Create(path, layer.type(), args, std::move(name), trainable, running);
    if (running < 0 || layer.activation().empty()) return running;

    // The activation gets a config of its own: a factory may read its type
    // and name from it, and must not see the main layer's units or options.
    config::Layer activation;
    activation.set_type(layer.activation());
    activation.set_name(absl::StrCat(i, "_", absl::AsciiStrToLower(layer.activation())));
    if (layer.has_trainable()) activation.set_trainable(layer.trainable());
    LayerArgs activation_args{activation,   running,        args.init,      args.seed,
                              args.backend, args.inference, args.precision, args.quantization};
    return Create(path + ".activation", activation.type(), activation_args,
                  activation.name(), trainable, running);
  }

  // Type known and options of the type it declared; reports at the fields.
  bool CheckType(const std::string& type, bool has_options, const google::protobuf::Any& options,
                 const std::string& type_path, const std::string& options_path) {
    if (type.empty()) {
      Error(type_path, "a layer needs a type");
      return false;
    }
    absl::StatusOr<LayerRegistry::Entry> entry = registries_.layers.Find(backend_.Map(type));
    if (!entry.ok()) {
      Error(type_path, std::string(entry.status().message()));
      return false;
    }
    std::string problem =
        OptionsProblem("layer", type, has_options, options, entry->options_type);
    if (!problem.empty()) {
      Error(options_path, problem);
      return false;
    }
    return true;
  }

  // A layer that chooses its width holds about (inputs + 1) x units
  // parameters. Their sum so far must fit in memory before the layer is
  // created: an allocation the kernel grants lazily would otherwise end in
  // its out-of-memory kill when the weights are initialised.
  bool ParametersFit(const std::string& path, int inputs, int units) {
    if (units <= 0) return true;
    parameter_bytes_ += (inputs + 1.0) * units * sizeof(float);
    const double usable = static_cast<double>(UsableMemoryBytes());
    if (parameter_bytes_ <= usable) return true;
    if (parameters_refused_) return false;  // said once, at the layer that crossed
    parameters_refused_ = true;
    Error(path + ".units",
          absl::StrCat("the model's parameters up to this layer (", inputs, " inputs x ", units,
                       " units) need ", FormatBytes(parameter_bytes_), ", more than the ",
                       FormatBytes(usable), " of memory this process may use"));
    return false;
  }

  int Create(const std::string& path, const std::string& type, const LayerArgs& args,
             std::string name, bool trainable, int running) {
    absl::StatusOr<std::unique_ptr<Layer>> created;
    // A layer's size comes from the config, so a typo (units: 2000000000) must
    // be a config error, not an uncaught std::bad_alloc that aborts the tool.
    try {
      created = registries_.layers.Create(backend_.Map(type), args);
    } catch (const std::bad_alloc&) {
      Error(path, absl::StrCat(type, ": not enough memory to create the layer (",
                               running, " inputs, ", args.config.units(), " units)"));
      return -1;
    }
    if (!created.ok()) {
      const std::string field = LayerErrorField(created.status());
      Error(field.empty() ? path : absl::StrCat(path, ".", field),
            absl::StrCat(type, ": ", created.status().message()));
      return -1;
    }
    std::unique_ptr<Layer> layer = *std::move(created);
    if (layer->input_size() != running) {
      Error(path, absl::StrCat("layer \"", name, "\" (", type, ") takes ",
                               layer->input_size(), " inputs, but receives ", running,
                               layers_.empty() ? " (model.input_size)"
                                               : " from the layer before it"));
      return -1;
    }
    if (!names_.insert(name).second) {
      Error(path, absl::StrCat("two layers are named \"", name,
                               "\"; names must be unique (they name the saved tensors)"));
    }
    layer->set_name(std::move(name));
    // A layer may be frozen by nature (InputScaling); the config only freezes.
    if (!trainable) layer->set_trainable(false);
    running = layer->output_size();
    layers_.push_back(std::move(layer));
    return running;
  }

  std::unique_ptr<CacheStrategy> CreateStrategy() {
    const config::CacheStrategy& strategy = config_.experiment().cache_strategy();
    const std::string type = strategy.type().empty() ? kDefaultCacheStrategy : strategy.type();
    absl::StatusOr<CacheStrategyRegistry::Entry> entry =
        registries_.cache_strategies.Find(type);
    if (!entry.ok()) {
      Error("cache_strategy.type", std::string(entry.status().message()));
      return nullptr;
    }
    std::string problem = OptionsProblem("cache strategy", type, strategy.has_options(),
                                         strategy.options(), entry->options_type);
    if (!problem.empty()) {
      Error("cache_strategy.options", problem);
      return nullptr;
    }
    absl::StatusOr<std::unique_ptr<CacheStrategy>> created =
        entry->factory(CacheStrategyArgs{strategy, config_.experiment().trainer().batch_size(),
                                         &registries_});
    if (!created.ok()) {
      Error("cache_strategy", absl::StrCat(type, ": ", created.status().message()));
      return nullptr;
    }
    return *std::move(created);
  }

  const LoadedConfig& config_;
  const config::Model& model_;
  const Registries& registries_;
  const BackendTypes backend_;
  std::shared_ptr<const Backend> backend_instance_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::set<std::string> names_;
  std::vector<std::pair<SourceLocation, std::string>> errors_;
  std::set<std::string> out_of_range_;  // fields CheckRanges refused
  double parameter_bytes_ = 0;          // ParametersFit's running sum
  bool parameters_refused_ = false;     // and whether it said so
};

}  // namespace

absl::StatusOr<std::unique_ptr<Network>> BuildNetwork(const LoadedConfig& config,
                                                      const Registries& registries) {
  return Builder(config, registries).Build();
}

}  // namespace mnemo
