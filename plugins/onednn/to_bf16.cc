#include "plugins/onednn/to_bf16.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {

using dnnl::memory;

struct ToBf16::Entry {
  dnnl::reorder primitive;
  int threads = 1;
  memory src, dst;  // handle-less: bound at every call
};

ToBf16::ToBf16(int max_threads) : max_threads_(max_threads < 1 ? 1 : max_threads) {}
ToBf16::~ToBf16() = default;
ToBf16::ToBf16(ToBf16&&) noexcept = default;
ToBf16& ToBf16::operator=(ToBf16&&) noexcept = default;

absl::StatusOr<std::unique_ptr<ToBf16::Entry>> ToBf16::Make(int rows, int cols) const {
  MNEMO_ASSIGN_OR_RETURN(const dnnl::engine* engine, Engine());
  auto entry = std::make_unique<Entry>();
  absl::Status status =
      Guarded(absl::StrCat("creating a oneDNN bf16 conversion of ", rows, "x", cols), [&] {
        const memory::desc src_desc({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
        const memory::desc dst_desc({rows, cols}, memory::data_type::bf16, memory::format_tag::ab);
        entry->src = memory(src_desc, *engine, DNNL_MEMORY_NONE);
        entry->dst = memory(dst_desc, *engine, DNNL_MEMORY_NONE);
        entry->threads = ThreadsForElements(static_cast<int64_t>(rows) * cols, max_threads_);
        UseThreads(entry->threads);
        entry->primitive = dnnl::reorder(entry->src, entry->dst);
        GetCounters().primitives_created.fetch_add(1, std::memory_order_relaxed);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return entry;
}

absl::Status ToBf16::Run(int rows, int cols, const float* src, uint16_t* dst) {
  return Guarded("oneDNN bf16 conversion", [&]() -> absl::Status {
    MNEMO_ASSIGN_OR_RETURN(Entry * e, cache_.Get({rows, cols}, [&] { return Make(rows, cols); }));
    MNEMO_RETURN_IF_ERROR(Bind(e->src, src));
    MNEMO_RETURN_IF_ERROR(Bind(e->dst, dst));
    UseThreads(e->threads);
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, e->src.get()}, {DNNL_ARG_TO, e->dst.get()}};
    return Execute(e->primitive, args);
  });
}

}  // namespace mnemo::onednn
