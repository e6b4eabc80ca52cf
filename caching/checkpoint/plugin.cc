// The checkpoint plugin: registers the "checkpoint" cache strategy, reading
// its CheckpointOptions.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "caching/checkpoint/checkpoint_options.pb.h"
#include "caching/checkpoint/checkpoint_strategy.h"
#include "core/options_check.h"
#include "core/plugin_api.h"
#include "core/registry.h"
#include "core/status_macros.h"

namespace mnemo::caching::checkpoint {
namespace {

constexpr char kStrategyType[] = "checkpoint";

// The options as a ScheduleChoice; what only the proto can get wrong is
// checked here, the values by CheckpointStrategy::Create.
absl::StatusOr<ScheduleChoice> ReadChoice(const CacheStrategyArgs& args) {
  ScheduleChoice choice;  // sqrt unless the options say otherwise
  if (!args.config.has_options()) return choice;
  MNEMO_ASSIGN_OR_RETURN(CheckpointOptions options, UnpackOptions<CheckpointOptions>(args.config));
  switch (options.schedule_case()) {
    case CheckpointOptions::kEveryN:
      choice.mode = ScheduleChoice::Mode::kEveryN;
      choice.every_n = options.every_n();
      break;
    case CheckpointOptions::kSqrt:
      if (!options.sqrt()) {
        return absl::InvalidArgumentError(
            "sqrt: false names no schedule; write sqrt: true, every_n: N or "
            "memory_budget_bytes: B");
      }
      choice.mode = ScheduleChoice::Mode::kSqrt;
      break;
    case CheckpointOptions::kMemoryBudgetBytes:
      choice.mode = ScheduleChoice::Mode::kMemoryBudget;
      choice.memory_budget_bytes = options.memory_budget_bytes();
      break;
    case CheckpointOptions::SCHEDULE_NOT_SET:
      break;
  }
  return choice;
}

absl::StatusOr<std::unique_ptr<CacheStrategy>> CreateCheckpoint(const CacheStrategyArgs& args) {
  MNEMO_ASSIGN_OR_RETURN(ScheduleChoice choice, ReadChoice(args));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<CheckpointStrategy> strategy,
                         CheckpointStrategy::Create(choice, args.batch_size));
  return std::unique_ptr<CacheStrategy>(std::move(strategy));
}

void Register(PluginRegistrar& registrar) {
  registrar.AddCacheStrategy(kStrategyType, &CreateCheckpoint,
                             CheckpointOptions::descriptor()->full_name());
}

}  // namespace
}  // namespace mnemo::caching::checkpoint

MNEMO_PLUGIN("checkpoint_plugin", mnemo::caching::checkpoint::Register);
