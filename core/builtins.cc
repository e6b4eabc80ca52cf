#include "core/backend.h"
#include "core/communicator.h"
#include "core/layers/activations.h"
#include "core/layers/batch_norm.h"
#include "core/layers/dense.h"
#include "core/layers/dropout.h"
#include "core/layers/input_scaling.h"
#include "core/layers/layer_norm.h"
#include "core/network.h"
#include "core/registry.h"

namespace mnemo {

void RegisterBuiltins(PluginRegistrar& registrar) {
  registrar.AddLayer("Dense", &Dense::Create);
  registrar.AddLayer("ReLU", &ReLU::Create);
  registrar.AddLayer("Sigmoid", &Sigmoid::Create);
  registrar.AddLayer("Tanh", &Tanh::Create);
  registrar.AddLayer("Dropout", &Dropout::Create);
  registrar.AddLayer("LayerNorm", &LayerNorm::Create);
  registrar.AddLayer("BatchNorm", &BatchNorm::Create);
  registrar.AddLayer("Standardize", &InputScaling::CreateStandardize);
  registrar.AddLayer("MinMaxScale", &InputScaling::CreateMinMaxScale);
  registrar.AddCacheStrategy(
      "keep_all",
      [](const CacheStrategyArgs&) -> absl::StatusOr<std::unique_ptr<CacheStrategy>> {
        return MakeKeepAllStrategy();
      });
  registrar.AddBackend(kReferenceBackend,
                       [](const BackendArgs&) -> absl::StatusOr<std::unique_ptr<Backend>> {
                         return CreateReferenceBackend();
                       });
  registrar.AddCommunicator(
      kLocalCommunicator,
      [](const CommunicatorArgs&) -> absl::StatusOr<std::unique_ptr<Communicator>> {
        return CreateLocalCommunicator();
      });
}

}  // namespace mnemo
