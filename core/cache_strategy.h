#ifndef MNEMO_CORE_CACHE_STRATEGY_H_
#define MNEMO_CORE_CACHE_STRATEGY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/layer.h"
#include "core/tensor.h"

namespace mnemo {

// What a strategy reports; tools print it.
struct CacheStats {
  size_t bytes_held = 0;       // activation bytes held now (the input included)
  size_t peak_bytes_held = 0;  // the most held at once so far
  uint64_t recomputed_forwards = 0;  // layer forwards recomputed, last step
  // Figures of the strategy's own ("hits", "evictions", ...), printed as they are.
  std::vector<std::pair<std::string, double>> counters;
};

// Decides which activations the network keeps during the forward pass and how
// the backward pass gets the ones it did not keep.
//
// Activation i is the input of layer i: activation 0 is the batch, activation
// L (for L layers) is the network's output.
//
// A training step is: Forward; Activation(L); then for each layer i from the
// top down, Activation(i + 1) and Activation(i) (its output and input), after
// which the network runs layer i's backward; then EndPass. The network stops
// at the lowest trainable layer: below it no gradient is needed. Evaluation
// is Forward then EndPass, with context.training false, so a strategy can
// keep nothing for it.
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
  // activations if it was not kept. The two latest results (a layer's output
  // and input) stay valid together, until the call after next.
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
