#ifndef MNEMO_CORE_BACKEND_H_
#define MNEMO_CORE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/config.pb.h"
#include "core/tensor.h"

namespace mnemo {

// What a compute backend offers besides its layers: the computations that are
// not layers (the loss, the memory modules' similarity search) and the number
// of threads it computes with. A model selects one with `model.backend`;
// the network built from it carries it (Network::backend()), so the trainer's
// loss, the memory modules and the dual-path classifier use the same one.
//
// The reference backend, "eigen", is core's Eigen code on one thread. A
// plugin adds others through PluginRegistrar::AddBackend, together with its
// layers registered as "<backend>/<Type>" (core/model_builder.h).
//
// Implementations are thread-safe: one backend serves every network built
// with it, and those may run on several threads.
class Backend {
 public:
  virtual ~Backend() = default;

  // The name a config selects it by (model.backend): "eigen", "onednn", ...
  virtual const char* name() const = 0;

  // The threads its parallel work runs on, as its threading runtime reports
  // it (not merely what was asked for).
  virtual int threads() const = 0;

  // c = a * b^T: the dot product of every row of `a` with every row of `b`
  // (a.rows() x b.rows()), which is what a similarity search of queries
  // against stored keys computes. a.cols() must equal b.cols(); `c` is
  // resized (its storage reused when the shape is unchanged).
  virtual absl::Status MatMulTransposed(const Eigen::Ref<const Tensor>& a,
                                        const Eigen::Ref<const Tensor>& b, Tensor* c) const = 0;

  // c = a * b^T over bytes: c(i, j) = sum_l a(i, l) * b(j, l), a unsigned,
  // b signed, summed exactly in int32 (the caller keeps the sums in range:
  // 255 x 128 x cols < 2^31 for any cols below 65,000). This is the form
  // the CPU's VNNI instructions take (u8 x s8 -> s32), so a signed a is
  // passed shifted by +128 with the shift's share, 128 x sum_l b(j, l),
  // subtracted by the caller (memory_modules/common/int8_scan.h). Only a
  // backend with has_int8_matmul() implements it; the default says so
  // (Unimplemented). Same contract on shapes and `c` as MatMulTransposed.
  virtual bool has_int8_matmul() const { return false; }
  // Whether its layers compute in `precision` (model.precision) on this CPU:
  // OK, or FailedPrecondition saying what is missing (the instructions, or
  // the backend's support at all). The default computes in FP32 only.
  virtual absl::Status CheckPrecision(config::Model::Precision precision) const;
  virtual absl::Status MatMulTransposedInt8(const Eigen::Ref<const MatrixU8>& a,
                                            const Eigen::Ref<const MatrixS8>& b,
                                            MatrixS32* c) const;

  // Softmax cross-entropy as core/loss.h's SoftmaxCrossEntropy::Compute
  // defines it: the mean loss over the rows of `logits` (batch x classes);
  // dLoss/dLogits into *grad_logits when not null (which may be &logits);
  // rows whose arg-max is the label into *correct when not null. Labels
  // must be in [0, classes).
  virtual absl::StatusOr<float> SoftmaxCrossEntropy(const Tensor& logits,
                                                    absl::Span<const int32_t> labels,
                                                    Tensor* grad_logits, int* correct) const = 0;

  // Figures of the backend's own ("primitives_created", "fallbacks", ...),
  // for tools to print and tests to check; none by default.
  virtual std::vector<std::pair<std::string, double>> counters() const { return {}; }
};

// What a backend factory gets.
struct BackendArgs {
  // Threads to compute with (model.threads, or a tool's --threads); 0 = one
  // per core. A backend that cannot honour it says so in threads().
  int threads = 0;
};

// The name of the reference backend, and what an empty model.backend means.
inline constexpr char kReferenceBackend[] = "eigen";

// The reference backend: core's single-threaded Eigen code (it ignores
// BackendArgs::threads: nothing in core starts a thread). A new instance, as
// the backend registry's factory makes one.
std::unique_ptr<Backend> CreateReferenceBackend();

// One instance of it for the process (it is stateless), for networks and
// memory modules made without a backend.
std::shared_ptr<const Backend> ReferenceBackend();

}  // namespace mnemo

#endif  // MNEMO_CORE_BACKEND_H_
