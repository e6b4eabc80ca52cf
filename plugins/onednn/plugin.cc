// The onednn plugin: the "onednn" backend and its layers, selected for a
// whole model by one config line (`model { backend: "onednn" }`, with
// `plugin: "plugins/onednn/libonednn_plugin.so"`). Layers it does not
// provide (Dropout: oneDNN 2.6 has no dropout primitive) are core's.

#include "core/plugin_api.h"
#include "core/registry.h"
#include "plugins/onednn/activation.h"
#include "plugins/onednn/backend.h"
#include "plugins/onednn/dense.h"
#include "plugins/onednn/norm_layers.h"

namespace mnemo::onednn {
namespace {

void Register(PluginRegistrar& registrar) {
  registrar.AddBackend(kBackendName, &OneDnnBackend::Create);
  registrar.AddLayer(kDenseType, &Dense::Create);
  registrar.AddLayer("onednn/ReLU", &Activation::CreateReLU);
  registrar.AddLayer("onednn/Sigmoid", &Activation::CreateSigmoid);
  registrar.AddLayer("onednn/Tanh", &Activation::CreateTanh);
  registrar.AddLayer(kLayerNormType, &LayerNorm::Create);
  registrar.AddLayer(kBatchNormType, &BatchNorm::Create);
}

}  // namespace
}  // namespace mnemo::onednn

MNEMO_PLUGIN("onednn_plugin", mnemo::onednn::Register);
