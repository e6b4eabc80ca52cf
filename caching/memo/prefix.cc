#include "caching/memo/prefix.h"

#include <cstdint>
#include <cstring>
#include <typeinfo>
#include <vector>

#include "caching/memo/hash.h"
#include "core/layers/activations.h"
#include "core/layers/batch_norm.h"
#include "core/layers/dense.h"
#include "core/layers/layer_norm.h"

namespace mnemo::caching::memo {
namespace {

// Classes whose Forward maps each input row to its output row with nothing
// else involved, bit for bit in any batch. Compared by exact class: a
// subclass may override Forward. LayerNorm is such a layer always;
// BatchNorm only when frozen (then it normalises with its running
// statistics, in training too), and only frozen layers are asked about.
bool IsPureCoreLayer(const Layer& layer) {
  const std::type_info& type = typeid(layer);
  return type == typeid(Dense) || type == typeid(ReLU) || type == typeid(Sigmoid) ||
         type == typeid(Tanh) || type == typeid(LayerNorm) ||
         (type == typeid(BatchNorm) && !layer.trainable());
}

// What a core layer computes with beyond its parameters and buffers: the
// normalisations' epsilon (BatchNorm's momentum changes no output).
float CoreLayerEpsilon(const Layer& layer) {
  if (const auto* norm = dynamic_cast<const LayerNorm*>(&layer)) return norm->epsilon();
  if (const auto* norm = dynamic_cast<const BatchNorm*>(&layer)) return norm->epsilon();
  return 0;
}

// Two XXH64 chains with different seeds, every piece fed to both: 128 bits,
// so that two different functions sharing a signature is out of the question
// for anything but an adversary (it would need a collision of both chains).
class SignatureBuilder {
 public:
  void Add(const void* data, size_t size) {
    high_ = Xxh64(data, size, high_);
    low_ = Xxh64(data, size, low_);
  }
  void AddString(const std::string& s) {
    AddInt(s.size());  // length first: "ab"+"c" differs from "a"+"bc"
    Add(s.data(), s.size());
  }
  void AddInt(uint64_t v) { Add(&v, sizeof(v)); }
  Signature Finish() const { return Signature{high_, low_}; }

 private:
  uint64_t high_ = 0x6d656d6f2d686967ull;  // "memo-hig"
  uint64_t low_ = 0x6d656d6f2d6c6f77ull;   // "memo-low"
};

}  // namespace

int MemoizablePrefix(const std::vector<Layer*>& layers,
                     const std::set<std::string>& declared_pure) {
  int n = 0;
  for (const Layer* layer : layers) {
    if (layer->trainable()) break;
    if (!IsPureCoreLayer(*layer) && declared_pure.count(layer->type()) == 0) break;
    ++n;
  }
  return n;
}

Signature PrefixSignature(const std::vector<Layer*>& layers, int count) {
  SignatureBuilder builder;
  builder.AddInt(static_cast<uint64_t>(count));
  for (int i = 0; i < count; ++i) {
    Layer& layer = *layers[i];
    const bool core = IsPureCoreLayer(layer);
    builder.AddString(core ? typeid(layer).name() : "plugin");
    builder.AddString(layer.type());
    builder.AddInt(static_cast<uint64_t>(layer.input_size()));
    builder.AddInt(static_cast<uint64_t>(layer.output_size()));
    if (!core) {
      // State outside the parameters is invisible here: identify the instance.
      builder.AddInt(layer.parameter_version());
    } else {
      const float epsilon = CoreLayerEpsilon(layer);
      builder.Add(&epsilon, sizeof(epsilon));
    }
    // Buffers (a frozen BatchNorm's running statistics) shape the output as
    // parameters do.
    for (const std::vector<Parameter>& tensors : {layer.parameters(), layer.buffers()}) {
      for (const Parameter& parameter : tensors) {
        builder.AddString(parameter.name);
        builder.AddInt(static_cast<uint64_t>(parameter.value->rows()));
        builder.AddInt(static_cast<uint64_t>(parameter.value->cols()));
        builder.Add(parameter.value->data(), TensorBytes(*parameter.value));
      }
    }
  }
  return builder.Finish();
}

}  // namespace mnemo::caching::memo
