#ifndef MNEMO_CORE_CACHE_STRATEGY_H_
#define MNEMO_CORE_CACHE_STRATEGY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/tensor.h"

namespace mnemo {

// What a strategy reports; tools print it.
struct CacheStats {
  size_t bytes_held = 0;       // activation bytes held now
  size_t peak_bytes_held = 0;  // the most held at once since the last reset
  uint64_t recomputed_forwards = 0;  // layer forwards recomputed, last step
};

// Decides which activations the network keeps during the forward pass and how
// the backward pass gets the ones it did not keep.
//
// Activation i is the input of layer i: activation 0 is the batch, activation
// L (for L layers) is the network's output. The network calls Forward once,
// then Activation(i) for i = L, L-1, ..., 0 in that order, then EndPass.
class CacheStrategy {
 public:
  virtual ~CacheStrategy() = default;

  // Called once when the network is built (and whenever its layers change).
  // May refuse the network (e.g. a memory budget it cannot meet).
  virtual absl::Status Attach(const std::vector<Layer*>& layers) {
    layers_ = layers;
    return absl::OkStatus();
  }

  // Runs every layer on `input`, keeping what this strategy chooses. Returns
  // the output activation, valid until EndPass or the next Forward.
  virtual absl::StatusOr<const Tensor*> Forward(const Tensor& input,
                                                const ForwardContext& context) = 0;

  // Activation i (0 <= i <= L) of the last Forward, recomputing it from kept
  // activations if it was not kept. Valid until the next call.
  virtual absl::StatusOr<const Tensor*> Activation(int i) = 0;

  // The backward pass is over: release what is no longer needed.
  virtual void EndPass() = 0;

  virtual CacheStats stats() const = 0;

 protected:
  const std::vector<Layer*>& layers() const { return layers_; }

 private:
  std::vector<Layer*> layers_;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_CACHE_STRATEGY_H_
