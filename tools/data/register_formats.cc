#include <memory>
#include <utility>

#include "tools/data/data_config.h"
#include "tools/data/formats.h"

namespace mnemo {

absl::Status RegisterDataFormats(Registries& registries) {
  if (registries.data_formats.Contains(kCsvFormat)) return absl::OkStatus();
  using Made = absl::StatusOr<std::unique_ptr<DataFormat>>;
  PluginRegistrar registrar("mnemo's data formats (tools/data)");
  registrar.AddDataFormat(kIdxFormat,
                          [](const DataFormatArgs&) -> Made { return MakeIdxFormat(); });
  registrar.AddDataFormat(kCifar10Format,
                          [](const DataFormatArgs&) -> Made { return MakeCifar10Format(); });
  registrar.AddDataFormat(kCsvFormat,
                          [](const DataFormatArgs& args) -> Made { return MakeCsvFormat(args); });
  registrar.AddDataFormat(kNpyFormat,
                          [](const DataFormatArgs& args) -> Made { return MakeNpyFormat(args); });
  return registrar.CommitTo(registries);
}

}  // namespace mnemo
