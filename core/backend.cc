#include "core/backend.h"

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/loss.h"

namespace mnemo {
namespace {

// core's own code behind the Backend interface.
class EigenBackend : public Backend {
 public:
  const char* name() const override { return kReferenceBackend; }

  // Core is built without OpenMP and links no BLAS, so Eigen never starts a
  // thread of its own.
  int threads() const override { return 1; }

  absl::Status MatMulTransposed(const Eigen::Ref<const Tensor>& a,
                                const Eigen::Ref<const Tensor>& b, Tensor* c) const override {
    if (a.cols() != b.cols()) {
      return absl::InvalidArgumentError(
          absl::StrCat("MatMulTransposed: a has ", a.cols(), " columns but b has ", b.cols()));
    }
    c->resize(a.rows(), b.rows());
    // An empty operand gives an empty product (or zeros when only the shared
    // dimension is empty), which Eigen's GEMM need not be asked for.
    if (c->size() == 0) return absl::OkStatus();
    if (a.cols() == 0) {
      c->setZero();
      return absl::OkStatus();
    }
    c->noalias() = a * b.transpose();
    return absl::OkStatus();
  }

  absl::StatusOr<float> SoftmaxCrossEntropy(const Tensor& logits, absl::Span<const int32_t> labels,
                                            Tensor* grad_logits, int* correct) const override {
    if (static_cast<Eigen::Index>(labels.size()) != logits.rows()) {
      return absl::InvalidArgumentError(absl::StrCat("softmax cross-entropy: ", logits.rows(),
                                                     " rows of logits but ", labels.size(),
                                                     " labels"));
    }
    return ::mnemo::SoftmaxCrossEntropy::Compute(logits, labels, grad_logits, correct);
  }
};

}  // namespace

absl::Status Backend::MatMulTransposedInt8(const Eigen::Ref<const MatrixU8>&,
                                           const Eigen::Ref<const MatrixS8>&, MatrixS32*) const {
  return absl::UnimplementedError(
      absl::StrCat("the ", name(), " backend has no int8 matrix product"));
}

absl::Status Backend::CheckPrecision(config::Model::Precision precision) const {
  if (precision == config::Model::FP32) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("the ", name(), " backend computes in FP32 only, not ",
                   config::Model::Precision_Name(precision), " (backend \"onednn\" has ",
                   config::Model::Precision_Name(precision), ")"));
}

std::unique_ptr<Backend> CreateReferenceBackend() { return std::make_unique<EigenBackend>(); }

std::shared_ptr<const Backend> ReferenceBackend() {
  // Never destroyed: networks and memory modules that outlive main's scope
  // (static ones) may still hold it.
  static const std::shared_ptr<const Backend>* const backend =
      new std::shared_ptr<const Backend>(CreateReferenceBackend());
  return *backend;
}

}  // namespace mnemo
