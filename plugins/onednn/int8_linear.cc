#include "plugins/onednn/int8_linear.h"

#include <cmath>
#include <oneapi/dnnl/dnnl.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "plugins/onednn/int8_quantize.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {
namespace {

using dnnl::memory;

constexpr int kMaxK = 1 << 17;  // 127 * 127 * 2^17 < 2^31: int32 sums exact

// An int8 multiply-add costs about a quarter of a float one on VNNI (four
// byte products per int32 lane): the work ThreadsForFlops weighs.
constexpr double kFloatFlopsPerInt8Op = 0.25;

// Rows of q(x) padded to whole groups of 4 bytes.
int QuantizedStride(int k) { return (k + 3) / 4 * 4; }

// body(begin, end) over row ranges splitting [0, m) among `threads` OpenMP
// threads; on the calling thread alone when one: a parallel region, even
// of one thread, costs about a microsecond (measured at batch 1, where the
// whole layer takes two).
template <typename Body>
void ForRows(int m, int threads, Body&& body) {
  if (threads <= 1) {
    body(0, m);
    return;
  }
  UseThreads(threads);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) {
    body(static_cast<int>(static_cast<int64_t>(m) * t / threads),
         static_cast<int>(static_cast<int64_t>(m) * (t + 1) / threads));
  }
}

template <typename T>
T* Grown(std::vector<T>& buffer, size_t size) {
  if (buffer.size() < size) buffer.resize(size);
  return buffer.data();
}

}  // namespace

struct Int8Linear::Entry {
  dnnl::matmul primitive;
  int threads = 1;
  // Handle-less: bound at every call (src to quantized_, dst to sums_).
  memory src, weights, dst, scratchpad;
  size_t scratchpad_bytes = 0;
  // The weights in the kernel's layout (with oneDNN's s8 compensation), the
  // reorder that makes them and the version they were made from.
  bool packs_weights = false;
  memory packed_weights;
  dnnl::reorder pack;
  int pack_threads = 1;
  bool packed_valid = false;
  uint64_t packed_version = 0;
};

Int8Linear::Int8Linear(int max_threads, int vnni_rows_up_to)
    : max_threads_(max_threads < 1 ? 1 : max_threads), vnni_rows_up_to_(vnni_rows_up_to) {}
Int8Linear::~Int8Linear() = default;
Int8Linear::Int8Linear(Int8Linear&&) noexcept = default;
Int8Linear& Int8Linear::operator=(Int8Linear&&) noexcept = default;

bool Int8Linear::Available() {
#ifdef MNEMO_ONEDNN_INT8
  // Compiled for them (-march=native) and, should the binary move, run on them.
  return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

absl::StatusOr<std::unique_ptr<Int8Linear::Entry>> Int8Linear::Make(int m, int k, int n) const {
  MNEMO_ASSIGN_OR_RETURN(const dnnl::engine* engine, Engine());
  auto entry = std::make_unique<Entry>();
  absl::Status status =
      Guarded(absl::StrCat("creating a oneDNN int8 matmul ", m, "x", k, "x", n), [&] {
        const memory::data_type s8 = memory::data_type::s8;
        const memory::desc src_desc({m, k}, s8, memory::dims{QuantizedStride(k), 1});
        const memory::desc weights_desc({k, n}, s8, memory::format_tag::ab);
        const memory::desc any_weights({k, n}, s8, memory::format_tag::any);
        const memory::desc dst_desc({m, n}, memory::data_type::s32, memory::format_tag::ab);
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        // Kernels fix their partitioning among threads when made: threads first.
        entry->threads = ThreadsForFlops(2.0 * m * k * n * kFloatFlopsPerInt8Op, max_threads_);
        UseThreads(entry->threads);
        const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_desc, any_weights, dst_desc),
                                              attr, *engine);
        entry->primitive = dnnl::matmul(pd);
        GetCounters().primitives_created.fetch_add(1, std::memory_order_relaxed);

        entry->src = memory(src_desc, *engine, DNNL_MEMORY_NONE);
        entry->weights = memory(weights_desc, *engine, DNNL_MEMORY_NONE);
        entry->dst = memory(dst_desc, *engine, DNNL_MEMORY_NONE);
        entry->scratchpad_bytes = pd.scratchpad_desc().get_size();
        if (entry->scratchpad_bytes > 0) {
          entry->scratchpad = memory(pd.scratchpad_desc(), *engine, DNNL_MEMORY_NONE);
        }
        if (pd.weights_desc() != weights_desc) {
          entry->packs_weights = true;
          entry->packed_weights = memory(pd.weights_desc(), *engine);  // oneDNN's, once
          entry->pack_threads = ThreadsForElements(static_cast<int64_t>(k) * n, max_threads_);
          UseThreads(entry->pack_threads);
          entry->pack = dnnl::reorder(entry->weights, entry->packed_weights);
          GetCounters().primitives_created.fetch_add(1, std::memory_order_relaxed);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return entry;
}

absl::Status Int8Linear::RunOneDnn(int m, int k, int n, const int8_t* weights,
                                   uint64_t weights_version) {
  return Guarded("oneDNN int8 matmul", [&]() -> absl::Status {
    absl::StatusOr<Entry*> found = cache_.Get({m, k, n}, [&] { return Make(m, k, n); });
    if (!found.ok()) return found.status();
    Entry& e = **found;

    MNEMO_RETURN_IF_ERROR(Bind(e.weights, weights));
    const memory* used_weights = &e.weights;
    if (e.packs_weights) {
      if (!e.packed_valid || e.packed_version != weights_version) {
        UseThreads(e.pack_threads);
        if (absl::Status s = Execute(
                e.pack, {{DNNL_ARG_FROM, e.weights.get()}, {DNNL_ARG_TO, e.packed_weights.get()}});
            !s.ok()) {
          e.packed_valid = false;
          return s;
        }
        e.packed_valid = true;
        e.packed_version = weights_version;
        GetCounters().weight_packs.fetch_add(1, std::memory_order_relaxed);
      }
      used_weights = &e.packed_weights;
    }
    MNEMO_RETURN_IF_ERROR(Bind(e.src, quantized_.data()));
    MNEMO_RETURN_IF_ERROR(Bind(e.dst, sums_.data()));
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, e.src.get()},
                                    {DNNL_ARG_WEIGHTS, used_weights->get()},
                                    {DNNL_ARG_DST, e.dst.get()}};
    UseThreads(e.threads);
    return ExecuteWithScratchpad(e.primitive, args, e.scratchpad, e.scratchpad_bytes);
  });
}

absl::Status Int8Linear::Run(int m, int k, int n, const float* x, float input_scale,
                             const int8_t* weights, const float* weight_scale, const float* bias,
                             float* y, uint64_t weights_version) {
  if (!Available()) {
    return absl::FailedPreconditionError(
        "int8 products need AVX-512 VNNI (BW, VL), which this build or CPU lacks");
  }
  if (m < 0 || k < 1 || k > kMaxK || n < 1) {
    return absl::InvalidArgumentError(absl::StrCat("int8 product of shape m=", m, " k=", k,
                                                   " n=", n, ": want m >= 0, 1 <= k <= ", kMaxK,
                                                   ", n >= 1"));
  }
  if (!(input_scale >= 0.0f) || !std::isfinite(input_scale)) {
    return absl::InvalidArgumentError(absl::StrCat("int8 product: input_scale ", input_scale,
                                                   " (want > 0 static, or 0 dynamic)"));
  }
  if (m == 0) return absl::OkStatus();

  const int stride = QuantizedStride(k);
  int8_t* quantized = Grown(quantized_, static_cast<size_t>(m) * stride);
  float* row_scales = Grown(row_scales_, static_cast<size_t>(m));
  // Quantization and epilogue are passes over m x k and m x n elements: for
  // a large batch, rows split among threads (ForRows).
  ForRows(m, ThreadsForElements(static_cast<int64_t>(m) * k, max_threads_),
          [&](int begin, int end) {
            QuantizeRows(end - begin, k, x + static_cast<ptrdiff_t>(begin) * k, input_scale,
                         quantized + static_cast<ptrdiff_t>(begin) * stride, stride,
                         row_scales + begin);
          });

  if (m <= vnni_rows_up_to_) {
    if (!vnni_valid_ || vnni_version_ != weights_version || vnni_.k() != k || vnni_.n() != n) {
      vnni_.Pack(weights, k, n);
      vnni_valid_ = true;
      vnni_version_ = weights_version;
      GetCounters().weight_packs.fetch_add(1, std::memory_order_relaxed);
    }
    ForRows(m, ThreadsForFlops(2.0 * m * k * n * kFloatFlopsPerInt8Op, max_threads_),
            [&](int begin, int end) {
              VnniGemv(end - begin, quantized + static_cast<ptrdiff_t>(begin) * stride, stride,
                       row_scales + begin, vnni_, weight_scale, bias,
                       y + static_cast<ptrdiff_t>(begin) * n);
            });
    return absl::OkStatus();
  }

  int32_t* sums = Grown(sums_, static_cast<size_t>(m) * n);
  MNEMO_RETURN_IF_ERROR(RunOneDnn(m, k, n, weights, weights_version));
  ForRows(
      m, ThreadsForElements(static_cast<int64_t>(m) * n, max_threads_), [&](int begin, int end) {
        DequantizeRows(end - begin, n, sums + static_cast<ptrdiff_t>(begin) * n, row_scales + begin,
                       weight_scale, bias, y + static_cast<ptrdiff_t>(begin) * n);
      });
  return absl::OkStatus();
}

}  // namespace mnemo::onednn
