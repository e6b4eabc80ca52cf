#include "tools/data/class_selection.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/init.h"
#include "core/splitmix64.h"
#include "core/status_macros.h"

namespace mnemo {
namespace {

// DeriveSeed's stream for the rare classes' draw (plus the class label).
constexpr uint64_t kRareStream = 0x5241524500000000ull;  // "RARE"

int CountOf(const Dataset& data, int32_t label) {
  return static_cast<int>(std::count(data.labels.begin(), data.labels.end(), label));
}

// Every class named must have training samples (the validation split's
// share counted: it came from the training set).
absl::Status CheckPresent(const std::vector<int32_t>& classes, const std::string& field,
                          const TrainTestData& data) {
  for (int32_t label : classes) {
    if (CountOf(data.train, label) + CountOf(data.validation, label) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": class ", label, " has no sample in the training set (",
                       data.train.size() + data.validation.size(), " samples)"));
    }
  }
  return absl::OkStatus();
}

// The samples of `data` that `keep` accepts, in order.
template <typename Keep>
Dataset Filter(const Dataset& data, Keep keep) {
  std::vector<int32_t> kept;
  for (int i = 0; i < data.size(); ++i) {
    if (keep(i)) kept.push_back(i);
  }
  return Subset(data, kept);
}

}  // namespace

std::vector<int32_t> DrawClassSamples(const Dataset& data, int32_t label, int keep, uint64_t seed) {
  // A seeded shuffle of the class's samples (its own stream, so a class's
  // draw does not depend on the other classes named), the first `keep` of it.
  std::vector<int32_t> samples;
  for (int i = 0; i < data.size(); ++i) {
    if (data.labels[i] == label) samples.push_back(i);
  }
  SplitMix64 rng(DeriveSeed(seed, kRareStream + static_cast<uint32_t>(label)));
  for (size_t i = samples.size(); i > 1; --i) {
    std::swap(samples[i - 1], samples[rng.Below(static_cast<uint32_t>(i))]);
  }
  samples.resize(std::min<size_t>(samples.size(), std::max(keep, 0)));
  std::sort(samples.begin(), samples.end());
  return samples;
}

absl::Status SelectClasses(const config::Data& config, uint64_t seed, TrainTestData* data) {
  const std::vector<int32_t> rare(config.rare_classes().classes().begin(),
                                  config.rare_classes().classes().end());
  const std::set<int32_t> held_out(config.held_out_classes().begin(),
                                   config.held_out_classes().end());
  if (rare.empty() && held_out.empty()) return absl::OkStatus();
  MNEMO_RETURN_IF_ERROR(CheckPresent(rare, "data.rare_classes.classes", *data));
  MNEMO_RETURN_IF_ERROR(
      CheckPresent({held_out.begin(), held_out.end()}, "data.held_out_classes", *data));

  const Dataset& train = data->train;
  std::vector<uint8_t> rare_kept(train.size(), 0);
  for (int32_t label : rare) {
    for (int32_t i : DrawClassSamples(train, label, config.rare_classes().keep(), seed)) {
      rare_kept[i] = 1;
    }
  }
  auto kept = [&](const Dataset& set, int i) {
    const int32_t label = set.labels[i];
    if (held_out.count(label) > 0) return false;
    const bool rare_class = std::find(rare.begin(), rare.end(), label) != rare.end();
    return &set != &train || !rare_class || rare_kept[i] != 0;
  };
  data->train = Filter(train, [&](int i) { return kept(train, i); });
  const Dataset& validation = data->validation;
  data->validation = Filter(validation, [&](int i) { return kept(validation, i); });
  return absl::OkStatus();
}

}  // namespace mnemo
