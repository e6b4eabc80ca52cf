#include "plugins/onednn/backend.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "plugins/onednn/isa.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {

absl::StatusOr<std::unique_ptr<Backend>> OneDnnBackend::Create(const BackendArgs& args) {
  if (args.threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be >= 0 (0 = one per core), not ", args.threads));
  }
  if (absl::StatusOr<const dnnl::engine*> engine = Engine(); !engine.ok()) {
    return engine.status();
  }
  const int wanted = args.threads > 0 ? args.threads : CoreCount();
  return Guarded("creating the onednn backend", [&]() -> absl::StatusOr<std::unique_ptr<Backend>> {
    return absl::WrapUnique(new OneDnnBackend(TeamSize(wanted)));
  });
}

OneDnnBackend::OneDnnBackend(int threads) : threads_(threads), loss_(threads) {}

absl::Status OneDnnBackend::CheckPrecision(config::Model::Precision precision) const {
  return CheckIsaFor(precision);
}

absl::Status OneDnnBackend::MatMulTransposed(const Eigen::Ref<const Tensor>& a,
                                             const Eigen::Ref<const Tensor>& b, Tensor* c) const {
  if (a.cols() != b.cols()) {
    return absl::InvalidArgumentError(
        absl::StrCat("MatMulTransposed: a has ", a.cols(), " columns but b has ", b.cols()));
  }
  return Guarded("oneDNN sgemm", [&]() -> absl::Status {
    c->resize(a.rows(), b.rows());  // may throw std::bad_alloc
    if (c->size() == 0) return absl::OkStatus();
    if (a.cols() == 0) {
      c->setZero();
      return absl::OkStatus();
    }
    GetCounters().similarity_gemms.fetch_add(1, std::memory_order_relaxed);
    UseThreads(ThreadsForFlops(2.0 * a.rows() * b.rows() * a.cols(), threads_));
    // Row-major, as oneDNN's sgemm is: c = a * b^T with b read transposed in
    // place; a block of rows (a memory's filled slots) is read through its
    // row stride.
    return FromDnnl(
        dnnl_sgemm('N', 'T', a.rows(), b.rows(), a.cols(), 1.0f, a.data(), a.outerStride(),
                   b.data(), b.outerStride(), 0.0f, c->data(), c->outerStride()),
        "oneDNN sgemm");
  });
}

absl::Status OneDnnBackend::MatMulTransposedInt8(const Eigen::Ref<const MatrixU8>& a,
                                                 const Eigen::Ref<const MatrixS8>& b,
                                                 MatrixS32* c) const {
  if (a.cols() != b.cols()) {
    return absl::InvalidArgumentError(
        absl::StrCat("MatMulTransposedInt8: a has ", a.cols(), " columns but b has ", b.cols()));
  }
  return Guarded("oneDNN gemm_u8s8s32", [&]() -> absl::Status {
    c->resize(a.rows(), b.rows());  // may throw std::bad_alloc
    if (c->size() == 0) return absl::OkStatus();
    if (a.cols() == 0) {
      c->setZero();
      return absl::OkStatus();
    }
    GetCounters().similarity_gemms.fetch_add(1, std::memory_order_relaxed);
    // An int8 multiply-add costs a quarter of a float one (VNNI: four byte
    // products per 32-bit lane), so a quarter of the flops decides the team.
    UseThreads(ThreadsForFlops(0.5 * a.rows() * b.rows() * a.cols(), threads_));
    // Row-major like sgemm; no zero points (ao = bo = 0), one fixed offset of
    // 0 added to c.
    const int32_t no_offset = 0;
    return FromDnnl(dnnl_gemm_u8s8s32('N', 'T', 'F', a.rows(), b.rows(), a.cols(), 1.0f, a.data(),
                                      a.outerStride(), 0, b.data(), b.outerStride(), 0, 0.0f,
                                      c->data(), c->outerStride(), &no_offset),
                    "oneDNN gemm_u8s8s32");
  });
}

absl::StatusOr<float> OneDnnBackend::SoftmaxCrossEntropy(const Tensor& logits,
                                                         absl::Span<const int32_t> labels,
                                                         Tensor* grad_logits, int* correct) const {
  absl::MutexLock lock(&loss_mu_);
  // Compute guards its oneDNN calls; its buffers may still fail to grow.
  return Guarded("onednn softmax cross-entropy", [&]() -> absl::StatusOr<float> {
    return loss_.Compute(logits, labels, grad_logits, correct);
  });
}

std::vector<std::pair<std::string, double>> OneDnnBackend::counters() const {
  const Counters& c = GetCounters();
  return {{"primitives_created", static_cast<double>(c.primitives_created.load())},
          {"weight_packs", static_cast<double>(c.weight_packs.load())},
          {"scratchpad_growths", static_cast<double>(c.scratchpad_growths.load())},
          {"fallbacks", static_cast<double>(c.fallbacks.load())},
          {"similarity_gemms", static_cast<double>(c.similarity_gemms.load())}};
}

}  // namespace mnemo::onednn
