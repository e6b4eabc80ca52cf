// The memo plugin: registers the "memo" cache strategy, built from its typed
// options (memo_options.proto) and an inner strategy from the registries.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "caching/memo/lru_memo.h"
#include "caching/memo/memo_options.pb.h"
#include "caching/memo/memo_strategy.h"
#include "caching/memo/named_memos.h"
#include "core/options_check.h"
#include "core/plugin_api.h"
#include "core/registry.h"
#include "core/status_macros.h"

namespace mnemo::caching::memo {
namespace {

constexpr char kMemoType[] = "memo";
constexpr char kDefaultInner[] = "keep_all";

// The inner strategy, its options checked as the model builder checks the
// top-level ones.
absl::StatusOr<std::unique_ptr<CacheStrategy>> CreateInner(const config::CacheStrategy& config,
                                                           const std::string& type,
                                                           const CacheStrategyArgs& args) {
  if (type == kMemoType) {
    return absl::InvalidArgumentError("options.inner cannot be another memo");
  }
  if (args.registries == nullptr) {
    return absl::FailedPreconditionError(
        "the memo needs the registries (CacheStrategyArgs.registries) to create its inner "
        "strategy");
  }
  absl::StatusOr<CacheStrategyRegistry::Entry> entry =
      args.registries->cache_strategies.Find(type);
  if (!entry.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.inner: ", entry.status().message()));
  }
  const std::string problem = OptionsProblem("cache strategy", type, config.has_options(),
                                             config.options(), entry->options_type);
  if (!problem.empty()) return absl::InvalidArgumentError(absl::StrCat("options.inner: ", problem));
  absl::StatusOr<std::unique_ptr<CacheStrategy>> inner =
      entry->factory(CacheStrategyArgs{config, args.batch_size, args.registries});
  MNEMO_RETURN_IF_ERROR(WithPrefix(inner.status(), absl::StrCat("options.inner: ", type)));
  return inner;
}

absl::StatusOr<std::unique_ptr<CacheStrategy>> CreateMemo(const CacheStrategyArgs& args) {
  MNEMO_ASSIGN_OR_RETURN(
      MemoOptions options,
      UnpackOptions<MemoOptions>(args.config, /*required=*/true, "capacity_bytes: ..."));
  // Every problem of the options at once, as the config loader reports a file.
  std::vector<std::string> problems;
  if (options.capacity_bytes() <= 0) {
    problems.push_back(
        absl::StrCat("options.capacity_bytes must be > 0 (the most the memo may hold, in "
                     "bytes; got ",
                     options.capacity_bytes(), ")"));
  }
  MemoStrategyOptions strategy;
  for (const std::string& type : options.pure_layer_types()) {
    if (args.registries != nullptr && !args.registries->layers.Contains(type)) {
      problems.push_back(
          absl::StrCat("options.pure_layer_types: unknown layer type \"", type, "\""));
    }
    strategy.pure_layer_types.insert(type);
  }
  const config::CacheStrategy& inner_config = options.inner();
  strategy.inner_type = inner_config.type().empty() ? kDefaultInner : inner_config.type();
  absl::StatusOr<std::unique_ptr<CacheStrategy>> inner =
      CreateInner(inner_config, strategy.inner_type, args);
  if (!inner.ok()) problems.emplace_back(inner.status().message());
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  strategy.inner = *std::move(inner);

  const size_t capacity = static_cast<size_t>(options.capacity_bytes());
  if (options.name().empty()) {
    strategy.memo = std::make_shared<LruMemo>(capacity);
  } else {
    MNEMO_ASSIGN_OR_RETURN(std::shared_ptr<LruMemo> named, NamedMemo(options.name(), capacity));
    strategy.memo = std::move(named);
  }
  return std::make_unique<MemoStrategy>(std::move(strategy));
}

void Register(PluginRegistrar& registrar) {
  registrar.AddCacheStrategy(kMemoType, &CreateMemo, MemoOptions::descriptor()->full_name());
}

}  // namespace
}  // namespace mnemo::caching::memo

MNEMO_PLUGIN("memo_plugin", mnemo::caching::memo::Register);
