#ifndef MNEMO_PLUGINS_ONEDNN_BACKEND_H_
#define MNEMO_PLUGINS_ONEDNN_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/backend.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "plugins/onednn/softmax_cross_entropy.h"

namespace mnemo::onednn {

inline constexpr char kBackendName[] = "onednn";

// The "onednn" backend: oneDNN's sgemm (and u8 x s8 gemm) for the memory
// modules' similarity search, softmax primitives for the loss, and `threads` OpenMP threads
// (BackendArgs::threads, 0 = one per core) for everything of the plugin that
// the model's layers and these run.
class OneDnnBackend : public Backend {
 public:
  // Fails when oneDNN has no CPU engine here.
  static absl::StatusOr<std::unique_ptr<Backend>> Create(const BackendArgs& args);

  const char* name() const override { return kBackendName; }
  // The team an OpenMP parallel region got with the setting applied, measured
  // when the backend was made.
  int threads() const override { return threads_; }

  // With sgemm rather than a matmul primitive: the memory's filled size, and
  // so the shape, changes with every stored batch until it is full, and
  // sgemm needs no primitive (no kernel generated) per shape.
  absl::Status MatMulTransposed(const Eigen::Ref<const Tensor>& a,
                                const Eigen::Ref<const Tensor>& b, Tensor* c) const override;

  // oneDNN's gemm_u8s8s32 (VNNI where the CPU has it), for the same reason
  // as sgemm above: no primitive per shape.
  bool has_int8_matmul() const override { return true; }
  absl::Status MatMulTransposedInt8(const Eigen::Ref<const MatrixU8>& a,
                                    const Eigen::Ref<const MatrixS8>& b,
                                    MatrixS32* c) const override;

  // FP32 always; BF16 and INT8 where the CPU has their instructions (isa.h).
  absl::Status CheckPrecision(config::Model::Precision precision) const override;

  absl::StatusOr<float> SoftmaxCrossEntropy(const Tensor& logits, absl::Span<const int32_t> labels,
                                            Tensor* grad_logits, int* correct) const override;

  // The plugin's process-wide counters: primitives_created, weight_packs,
  // scratchpad_growths, fallbacks, similarity_gemms.
  std::vector<std::pair<std::string, double>> counters() const override;

 private:
  explicit OneDnnBackend(int threads);

  const int threads_;
  // One loss at a time: its primitives and buffers are reused across calls.
  mutable absl::Mutex loss_mu_;
  mutable SoftmaxCrossEntropyOp loss_ ABSL_GUARDED_BY(loss_mu_);
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_BACKEND_H_
