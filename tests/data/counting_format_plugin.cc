// A plugin with a data format of its own, "counting": samples whose features
// are their index's bits and whose label is how many are set, so a test can
// train on it without a file. It takes no data.dir, and says so.

#include <memory>
#include <vector>

#include "core/data_format.h"
#include "core/plugin_api.h"
#include "core/registry.h"

namespace {

constexpr int kBits = 4;

mnemo::Dataset Counting(int samples) {
  mnemo::Dataset data;
  data.num_classes = kBits + 1;
  data.features.resize(samples, kBits);
  for (int i = 0; i < samples; ++i) {
    int set = 0;
    for (int b = 0; b < kBits; ++b) {
      const bool bit = ((i >> b) & 1) != 0;
      data.features(i, b) = bit ? 1.0f : 0.0f;
      set += bit;
    }
    data.labels.push_back(set);
  }
  return data;
}

class CountingFormat : public mnemo::DataFormat {
 public:
  std::vector<mnemo::FieldProblem> Check(const mnemo::config::Data& config) const override {
    if (config.dir().empty()) return {};
    return {{"data.dir", "format \"counting\" reads no files: leave data.dir out"}};
  }
  absl::StatusOr<mnemo::TrainTestData> Load(const mnemo::config::Data& config) const override {
    mnemo::TrainTestData data;
    data.train = Counting(config.train_limit() > 0 ? config.train_limit() : 64);
    data.test = Counting(config.test_limit() > 0 ? config.test_limit() : 16);
    return data;
  }
};

}  // namespace

MNEMO_PLUGIN("counting_format_plugin", [](mnemo::PluginRegistrar& registrar) {
  registrar.AddDataFormat(
      "counting",
      [](const mnemo::DataFormatArgs&) -> absl::StatusOr<std::unique_ptr<mnemo::DataFormat>> {
        return std::make_unique<CountingFormat>();
      });
});
