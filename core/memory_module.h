#ifndef MNEMO_MEMORY_MODULES_COMMON_MODULE_H_
#define MNEMO_MEMORY_MODULES_COMMON_MODULE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tensor.h"

namespace mnemo {

// The answer of a memory for each row of a batch of queries.
struct Retrieval {
  std::vector<int> label;        // class of the best match; -1 when empty
  std::vector<float> confidence;  // in [0, 1]; 0 when the memory is empty
  std::vector<int> slot;         // which stored item answered; -1 when empty
};

// A memory of feature vectors with class labels, beside the network: it
// answers a query with the class of the most similar stored item and a
// confidence, and learns from each batch of (feature, label) pairs.
class MemoryModule {
 public:
  virtual ~MemoryModule() = default;

  // Adds (or replaces, when full, as the module's policy says) items.
  virtual absl::Status Store(const Tensor& features,
                             absl::Span<const int> labels) = 0;

  // Keeps examples a user shows (new classes without retraining): unlike
  // Store there is no novelty test, every row is written, a free slot while
  // there is one, else the slot the module's replacement policy names; no
  // slot written by this call is replaced by a later row of it. No gradient
  // is involved. Refuses, changing nothing: a row that is zero (it has no
  // direction to match) or not finite, a label outside the module's
  // classes, more rows than the capacity (they could not all be kept). A
  // later Write or Store may replace what this one wrote, by the policy.
  virtual absl::Status Write(const Tensor& features, absl::Span<const int> labels) = 0;

  // Best match for every row of `features` (batch x feature_dim).
  virtual absl::StatusOr<Retrieval> Retrieve(const Tensor& features) = 0;

  virtual int feature_dim() const = 0;
  // The classes it may hold: labels 0 .. num_classes() - 1.
  virtual int num_classes() const = 0;
  virtual int capacity() const = 0;
  virtual int size() const = 0;  // items stored now
  virtual void Clear() = 0;

  // The memory contrastive loss of a batch (mean over the samples that have a
  // same-class item in memory): pulls features towards stored items of their
  // class and away from the others. Writes dLoss/dFeatures into
  // *grad_features (resized; zero rows for samples without a positive) and
  // adds the gradients of parameters(). An empty memory gives 0.
  virtual absl::StatusOr<float> Loss(const Tensor& features, absl::Span<const int> labels,
                                     Tensor* grad_features) = 0;

  // Learnable tensors (empty for non-parametric memories).
  virtual std::vector<Parameter> parameters() { return {}; }

  // The contents as named tensors, so they are saved with the model.
  virtual std::map<std::string, Tensor> ExportState() const = 0;
  virtual absl::Status ImportState(const std::map<std::string, Tensor>& state) = 0;
};

}  // namespace mnemo

#endif  // MNEMO_MEMORY_MODULES_COMMON_MODULE_H_
