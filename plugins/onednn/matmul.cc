#include "plugins/onednn/matmul.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {

using dnnl::memory;

struct MatMul::Entry {
  dnnl::matmul primitive;
  int threads = 1;
  // Handle-less: bound to the caller's buffers at every call.
  memory src, weights, bias, dst, scratchpad;
  size_t scratchpad_bytes = 0;
  // The weights in the kernel's preferred layout, when it differs from
  // theirs (Options::pack_weights_up_to_rows), with the reorder that makes
  // them and the version they were made from.
  bool packs_weights = false;
  memory packed_weights;
  dnnl::reorder pack;
  int pack_threads = 1;
  bool packed_valid = false;
  uint64_t packed_version = 0;
};

MatMul::MatMul(Options options, int max_threads)
    : options_(options), max_threads_(max_threads < 1 ? 1 : max_threads) {}
MatMul::~MatMul() = default;
MatMul::MatMul(MatMul&&) noexcept = default;
MatMul& MatMul::operator=(MatMul&&) noexcept = default;

absl::StatusOr<std::unique_ptr<MatMul::Entry>> MatMul::Make(int m, int k, int n) const {
  MNEMO_ASSIGN_OR_RETURN(const dnnl::engine* engine, Engine());
  auto entry = std::make_unique<Entry>();
  absl::Status status = Guarded(absl::StrCat("creating a oneDNN matmul ", m, "x", k, "x", n), [&] {
    const memory::data_type f32 = memory::data_type::f32;
    const memory::data_type operands = options_.bf16 ? memory::data_type::bf16 : f32;
    // A transposed operand is the same buffer read with swapped strides.
    const memory::desc src_desc = options_.src_transposed
                                      ? memory::desc({m, k}, operands, memory::dims{1, m})
                                      : memory::desc({m, k}, operands, memory::format_tag::ab);
    const memory::desc weights_desc = options_.weights_transposed
                                          ? memory::desc({k, n}, operands, memory::dims{1, k})
                                          : memory::desc({k, n}, operands, memory::format_tag::ab);
    const memory::desc bias_desc({1, n}, f32, memory::format_tag::ab);
    const memory::desc dst_desc({m, n}, f32, memory::format_tag::ab);
    const bool may_pack = !options_.weights_transposed && m <= options_.pack_weights_up_to_rows;
    const memory::desc chosen_weights =
        may_pack ? memory::desc({k, n}, operands, memory::format_tag::any) : weights_desc;

    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (options_.accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      attr.set_post_ops(sum);
    }
    // Kernels fix their partitioning among threads when they are made, so
    // the thread count is set before.
    entry->threads = ThreadsForFlops(2.0 * m * k * n, max_threads_);
    UseThreads(entry->threads);
    const dnnl::matmul::desc desc =
        options_.bias ? dnnl::matmul::desc(src_desc, chosen_weights, bias_desc, dst_desc)
                      : dnnl::matmul::desc(src_desc, chosen_weights, dst_desc);
    const dnnl::matmul::primitive_desc pd(desc, attr, *engine);
    entry->primitive = dnnl::matmul(pd);
    GetCounters().primitives_created.fetch_add(1, std::memory_order_relaxed);

    entry->src = memory(src_desc, *engine, DNNL_MEMORY_NONE);
    entry->weights = memory(weights_desc, *engine, DNNL_MEMORY_NONE);
    if (options_.bias) entry->bias = memory(bias_desc, *engine, DNNL_MEMORY_NONE);
    entry->dst = memory(dst_desc, *engine, DNNL_MEMORY_NONE);
    entry->scratchpad_bytes = pd.scratchpad_desc().get_size();
    if (entry->scratchpad_bytes > 0) {
      entry->scratchpad = memory(pd.scratchpad_desc(), *engine, DNNL_MEMORY_NONE);
    }
    if (may_pack && pd.weights_desc() != weights_desc) {
      entry->packs_weights = true;
      entry->packed_weights = memory(pd.weights_desc(), *engine);  // oneDNN allocates it, once
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

absl::Status MatMul::Run(int m, int k, int n, const void* src, const void* weights,
                         const float* bias, float* dst, uint64_t weights_version) {
  return Guarded("oneDNN matmul", [&]() -> absl::Status {
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

    dnnl_exec_arg_t args[4];
    int count = 0;
    MNEMO_RETURN_IF_ERROR(Bind(e.src, src));
    args[count++] = {DNNL_ARG_SRC, e.src.get()};
    args[count++] = {DNNL_ARG_WEIGHTS, used_weights->get()};
    if (options_.bias) {
      MNEMO_RETURN_IF_ERROR(Bind(e.bias, bias));
      args[count++] = {DNNL_ARG_BIAS, e.bias.get()};
    }
    MNEMO_RETURN_IF_ERROR(Bind(e.dst, dst));
    args[count++] = {DNNL_ARG_DST, e.dst.get()};
    UseThreads(e.threads);
    return ExecuteWithScratchpad(e.primitive, absl::MakeConstSpan(args, count), e.scratchpad,
                                 e.scratchpad_bytes);
  });
}

}  // namespace mnemo::onednn
