#include "plugins/onednn/eltwise.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {

using dnnl::memory;

struct Eltwise::Entry {
  memory::desc desc;
  int threads = 1;
  // forward_training: the backward primitive needs it as its hint.
  dnnl::eltwise_forward::primitive_desc forward_pd;
  dnnl::eltwise_forward forward;
  size_t forward_scratchpad_bytes = 0;
  // Made at the first backward pass: inference never needs it.
  std::optional<dnnl::eltwise_backward> backward;
  size_t backward_scratchpad_bytes = 0;
  // Handle-less, bound to the caller's buffers at every call.
  memory src, dst, diff_dst, diff_src, forward_scratchpad, backward_scratchpad;
};

Eltwise::Eltwise(dnnl::algorithm algorithm, int max_threads)
    : algorithm_(algorithm), max_threads_(max_threads < 1 ? 1 : max_threads) {}
Eltwise::~Eltwise() = default;
Eltwise::Eltwise(Eltwise&&) noexcept = default;
Eltwise& Eltwise::operator=(Eltwise&&) noexcept = default;

absl::StatusOr<Eltwise::Entry*> Eltwise::Find(int rows, int cols) {
  return cache_.Get({rows, cols}, [&]() -> absl::StatusOr<std::unique_ptr<Entry>> {
    MNEMO_ASSIGN_OR_RETURN(const dnnl::engine* engine, Engine());
    auto entry = std::make_unique<Entry>();
    absl::Status status = Guarded(absl::StrCat("creating a oneDNN eltwise ", rows, "x", cols), [&] {
      entry->desc = memory::desc({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
      entry->threads = ThreadsForElements(static_cast<int64_t>(rows) * cols, max_threads_);
      UseThreads(entry->threads);
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      entry->forward_pd = dnnl::eltwise_forward::primitive_desc(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, algorithm_, entry->desc,
                                      /*alpha=*/0.0f, /*beta=*/0.0f),
          attr, *engine);
      entry->forward = dnnl::eltwise_forward(entry->forward_pd);
      GetCounters().primitives_created.fetch_add(1, std::memory_order_relaxed);
      entry->forward_scratchpad_bytes = entry->forward_pd.scratchpad_desc().get_size();
      if (entry->forward_scratchpad_bytes > 0) {
        entry->forward_scratchpad =
            memory(entry->forward_pd.scratchpad_desc(), *engine, DNNL_MEMORY_NONE);
      }
      for (memory* m : {&entry->src, &entry->dst, &entry->diff_dst, &entry->diff_src}) {
        *m = memory(entry->desc, *engine, DNNL_MEMORY_NONE);
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return entry;
  });
}

absl::Status Eltwise::MakeBackward(Entry& entry) const {
  MNEMO_ASSIGN_OR_RETURN(const dnnl::engine* engine, Engine());
  UseThreads(entry.threads);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  // With a use_dst_for_bwd algorithm the data descriptor is the output's.
  const dnnl::eltwise_backward::primitive_desc pd(
      dnnl::eltwise_backward::desc(algorithm_, entry.desc, entry.desc, 0.0f, 0.0f), attr, *engine,
      entry.forward_pd);
  entry.backward.emplace(pd);
  GetCounters().primitives_created.fetch_add(1, std::memory_order_relaxed);
  entry.backward_scratchpad_bytes = pd.scratchpad_desc().get_size();
  if (entry.backward_scratchpad_bytes > 0) {
    entry.backward_scratchpad = memory(pd.scratchpad_desc(), *engine, DNNL_MEMORY_NONE);
  }
  return absl::OkStatus();
}

absl::Status Eltwise::Forward(int rows, int cols, const float* src, float* dst) {
  return Guarded("oneDNN eltwise forward", [&]() -> absl::Status {
    MNEMO_ASSIGN_OR_RETURN(Entry * found, Find(rows, cols));
    Entry& e = *found;
    MNEMO_RETURN_IF_ERROR(Bind(e.src, src));
    MNEMO_RETURN_IF_ERROR(Bind(e.dst, dst));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, e.src.get()}, {DNNL_ARG_DST, e.dst.get()}};
    UseThreads(e.threads);
    return ExecuteWithScratchpad(e.forward, args, e.forward_scratchpad, e.forward_scratchpad_bytes);
  });
}

absl::Status Eltwise::Backward(int rows, int cols, const float* dst, const float* diff_dst,
                               float* diff_src) {
  return Guarded("oneDNN eltwise backward", [&]() -> absl::Status {
    MNEMO_ASSIGN_OR_RETURN(Entry * found, Find(rows, cols));
    Entry& e = *found;
    if (!e.backward.has_value()) {
      MNEMO_RETURN_IF_ERROR(MakeBackward(e));
    }
    MNEMO_RETURN_IF_ERROR(Bind(e.dst, dst));
    MNEMO_RETURN_IF_ERROR(Bind(e.diff_dst, diff_dst));
    MNEMO_RETURN_IF_ERROR(Bind(e.diff_src, diff_src));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DST, e.dst.get()},
                               {DNNL_ARG_DIFF_DST, e.diff_dst.get()},
                               {DNNL_ARG_DIFF_SRC, e.diff_src.get()}};
    UseThreads(e.threads);
    return ExecuteWithScratchpad(*e.backward, args, e.backward_scratchpad,
                                 e.backward_scratchpad_bytes);
  });
}

}  // namespace mnemo::onednn
