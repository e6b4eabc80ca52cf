#include "plugins/onednn/dot_product_forward.h"

#include <oneapi/dnnl/dnnl.h>

#include "core/avx512_warning_workaround.h"  // first: see there
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {

absl::Status DotProductForward::Run(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                    uint64_t weights_version, Tensor* output) {
  return Guarded("oneDNN sgemm (dot products)", [&]() -> absl::Status {
    if (!valid_ || version_ != weights_version) {
      // Allocates the first time only: the shape never changes.
      transposed_ = weight.transpose();
      valid_ = true;
      version_ = weights_version;
      GetCounters().weight_packs.fetch_add(1, std::memory_order_relaxed);
    }
    const Eigen::Index rows = input.rows(), fan_in = weight.rows(), units = weight.cols();
    // Bias first, then the product added to it (beta = 1).
    output->rowwise() = bias.row(0);
    UseThreads(1);  // a few hundred FMAs: no parallel region could pay
    return FromDnnl(dnnl_sgemm('N', 'T', rows, units, fan_in, 1.0f, input.data(), fan_in,
                               transposed_.data(), fan_in, 1.0f, output->data(), units),
                    "oneDNN sgemm (dot products)");
  });
}

}  // namespace mnemo::onednn
