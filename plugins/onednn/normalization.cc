#include "plugins/onednn/normalization.h"

#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "plugins/onednn/runtime.h"
#include "plugins/onednn/status.h"

namespace mnemo::onednn {

using dnnl::memory;

struct Normalization::Entry {
  memory::desc data, stat, param;
  dnnl::normalization_flags flags = dnnl::normalization_flags::none;
  int threads = 1;
  // The forward primitive descriptor of the kind: the backward one needs it
  // as its hint.
  std::optional<dnnl::layer_normalization_forward::primitive_desc> layer_pd;
  std::optional<dnnl::batch_normalization_forward::primitive_desc> batch_pd;
  dnnl::primitive forward;
  size_t forward_scratchpad_bytes = 0;
  // Made at the first backward pass: inference never needs it.
  std::optional<dnnl::primitive> backward;
  size_t backward_scratchpad_bytes = 0;
  // Handle-less, bound to the caller's buffers at every call.
  memory src, dst, mean, variance, scale, shift, diff_dst, diff_src, diff_scale, diff_shift,
      forward_scratchpad, backward_scratchpad;
};

Normalization::Normalization(Kind kind, float epsilon, int max_threads)
    : kind_(kind), epsilon_(epsilon), max_threads_(max_threads < 1 ? 1 : max_threads) {}
Normalization::~Normalization() = default;
Normalization::Normalization(Normalization&&) noexcept = default;
Normalization& Normalization::operator=(Normalization&&) noexcept = default;

absl::StatusOr<Normalization::Entry*> Normalization::Find(int rows, int features,
                                                          bool global_stats) {
  return cache_.Get(
      {rows, features, global_stats ? 1 : 0}, [&]() -> absl::StatusOr<std::unique_ptr<Entry>> {
        MNEMO_ASSIGN_OR_RETURN(const dnnl::engine* engine, Engine());
        auto entry = std::make_unique<Entry>();
        const char* what = kind_ == Kind::kLayer ? "layer" : "batch";
        absl::Status status = Guarded(
            absl::StrCat("creating a oneDNN ", what, " normalization ", rows, "x", features), [&] {
              const memory::data_type f32 = memory::data_type::f32;
              Entry& e = *entry;
              // Batch normalisation's rows x features as N x C x 1 x 1 in
              // nhwc: the same bytes as `ab`, but in the channels-last
              // layout oneDNN's JIT kernels take (2-D data goes to its
              // generic ncsp kernel, 40 times slower at 256 x 1024).
              e.data = kind_ == Kind::kLayer
                           ? memory::desc({rows, features}, f32, memory::format_tag::ab)
                           : memory::desc({rows, features, 1, 1}, f32, memory::format_tag::nhwc);
              e.stat = kind_ == Kind::kLayer ? memory::desc({rows}, f32, memory::format_tag::a)
                                             : memory::desc({features}, f32, memory::format_tag::a);
              e.param = memory::desc({features}, f32, memory::format_tag::a);
              e.flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
              if (global_stats) e.flags = e.flags | dnnl::normalization_flags::use_global_stats;
              // A few passes over the data, like an element-wise one.
              e.threads =
                  ThreadsForElements(static_cast<int64_t>(rows) * features * 3, max_threads_);
              UseThreads(e.threads);
              dnnl::primitive_attr attr;
              attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
              // forward_training: the statistics are written (layer norm,
              // batch norm on the batch's), and the backward primitive takes
              // a training descriptor as its hint.
              const dnnl::prop_kind prop = dnnl::prop_kind::forward_training;
              memory::desc scratchpad;
              if (kind_ == Kind::kLayer) {
                e.layer_pd.emplace(dnnl::layer_normalization_forward::desc(prop, e.data, e.stat,
                                                                           epsilon_, e.flags),
                                   attr, *engine);
                e.forward = dnnl::layer_normalization_forward(*e.layer_pd);
                scratchpad = e.layer_pd->scratchpad_desc();
              } else {
                e.batch_pd.emplace(
                    dnnl::batch_normalization_forward::desc(prop, e.data, epsilon_, e.flags), attr,
                    *engine);
                e.forward = dnnl::batch_normalization_forward(*e.batch_pd);
                scratchpad = e.batch_pd->scratchpad_desc();
              }
              GetCounters().primitives_created.fetch_add(1, std::memory_order_relaxed);
              e.forward_scratchpad_bytes = scratchpad.get_size();
              if (e.forward_scratchpad_bytes > 0) {
                e.forward_scratchpad = memory(scratchpad, *engine, DNNL_MEMORY_NONE);
              }
              for (memory* m : {&e.src, &e.dst, &e.diff_dst, &e.diff_src}) {
                *m = memory(e.data, *engine, DNNL_MEMORY_NONE);
              }
              for (memory* m : {&e.mean, &e.variance})
                *m = memory(e.stat, *engine, DNNL_MEMORY_NONE);
              for (memory* m : {&e.scale, &e.shift, &e.diff_scale, &e.diff_shift}) {
                *m = memory(e.param, *engine, DNNL_MEMORY_NONE);
              }
              return absl::OkStatus();
            });
        if (!status.ok()) return status;
        return entry;
      });
}

absl::Status Normalization::MakeBackward(Entry& e) const {
  MNEMO_ASSIGN_OR_RETURN(const dnnl::engine* engine, Engine());
  UseThreads(e.threads);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  // prop_kind::backward: the scale's and shift's gradients too.
  const dnnl::prop_kind prop = dnnl::prop_kind::backward;
  memory::desc scratchpad;
  if (kind_ == Kind::kLayer) {
    const dnnl::layer_normalization_backward::primitive_desc pd(
        dnnl::layer_normalization_backward::desc(prop, e.data, e.data, e.stat, epsilon_, e.flags),
        attr, *engine, *e.layer_pd);
    e.backward.emplace(dnnl::layer_normalization_backward(pd));
    scratchpad = pd.scratchpad_desc();
  } else {
    const dnnl::batch_normalization_backward::primitive_desc pd(
        dnnl::batch_normalization_backward::desc(prop, e.data, e.data, epsilon_, e.flags), attr,
        *engine, *e.batch_pd);
    e.backward.emplace(dnnl::batch_normalization_backward(pd));
    scratchpad = pd.scratchpad_desc();
  }
  GetCounters().primitives_created.fetch_add(1, std::memory_order_relaxed);
  e.backward_scratchpad_bytes = scratchpad.get_size();
  if (e.backward_scratchpad_bytes > 0) {
    e.backward_scratchpad = memory(scratchpad, *engine, DNNL_MEMORY_NONE);
  }
  return absl::OkStatus();
}

absl::Status Normalization::Forward(int rows, int features, const float* src, const float* scale,
                                    const float* shift, bool global_stats, float* mean,
                                    float* variance, float* dst) {
  if (global_stats && kind_ == Kind::kLayer) {
    return absl::InvalidArgumentError("layer normalization has no global statistics");
  }
  return Guarded("oneDNN normalization forward", [&]() -> absl::Status {
    MNEMO_ASSIGN_OR_RETURN(Entry * found, Find(rows, features, global_stats));
    Entry& e = *found;
    MNEMO_RETURN_IF_ERROR(Bind(e.src, src));
    MNEMO_RETURN_IF_ERROR(Bind(e.dst, dst));
    MNEMO_RETURN_IF_ERROR(Bind(e.scale, scale));
    MNEMO_RETURN_IF_ERROR(Bind(e.shift, shift));
    MNEMO_RETURN_IF_ERROR(Bind(e.mean, mean));
    MNEMO_RETURN_IF_ERROR(Bind(e.variance, variance));
    dnnl_exec_arg_t args[6] = {
        {DNNL_ARG_SRC, e.src.get()},     {DNNL_ARG_DST, e.dst.get()},
        {DNNL_ARG_SCALE, e.scale.get()}, {DNNL_ARG_SHIFT, e.shift.get()},
        {DNNL_ARG_MEAN, e.mean.get()},   {DNNL_ARG_VARIANCE, e.variance.get()}};
    UseThreads(e.threads);
    return ExecuteWithScratchpad(e.forward, args, e.forward_scratchpad, e.forward_scratchpad_bytes);
  });
}

absl::Status Normalization::Backward(int rows, int features, const float* src, const float* mean,
                                     const float* variance, const float* diff_dst,
                                     const float* scale, const float* shift, bool global_stats,
                                     float* diff_src, float* diff_scale, float* diff_shift) {
  if (global_stats && kind_ == Kind::kLayer) {
    return absl::InvalidArgumentError("layer normalization has no global statistics");
  }
  return Guarded("oneDNN normalization backward", [&]() -> absl::Status {
    MNEMO_ASSIGN_OR_RETURN(Entry * found, Find(rows, features, global_stats));
    Entry& e = *found;
    if (!e.backward.has_value()) MNEMO_RETURN_IF_ERROR(MakeBackward(e));
    MNEMO_RETURN_IF_ERROR(Bind(e.src, src));
    MNEMO_RETURN_IF_ERROR(Bind(e.mean, mean));
    MNEMO_RETURN_IF_ERROR(Bind(e.variance, variance));
    MNEMO_RETURN_IF_ERROR(Bind(e.diff_dst, diff_dst));
    MNEMO_RETURN_IF_ERROR(Bind(e.scale, scale));
    MNEMO_RETURN_IF_ERROR(Bind(e.shift, shift));
    MNEMO_RETURN_IF_ERROR(Bind(e.diff_src, diff_src));
    MNEMO_RETURN_IF_ERROR(Bind(e.diff_scale, diff_scale));
    MNEMO_RETURN_IF_ERROR(Bind(e.diff_shift, diff_shift));
    dnnl_exec_arg_t args[9] = {{DNNL_ARG_SRC, e.src.get()},
                               {DNNL_ARG_MEAN, e.mean.get()},
                               {DNNL_ARG_VARIANCE, e.variance.get()},
                               {DNNL_ARG_DIFF_DST, e.diff_dst.get()},
                               {DNNL_ARG_SCALE, e.scale.get()},
                               {DNNL_ARG_SHIFT, e.shift.get()},
                               {DNNL_ARG_DIFF_SRC, e.diff_src.get()},
                               {DNNL_ARG_DIFF_SCALE, e.diff_scale.get()},
                               {DNNL_ARG_DIFF_SHIFT, e.diff_shift.get()}};
    UseThreads(e.threads);
    return ExecuteWithScratchpad(*e.backward, args, e.backward_scratchpad,
                                 e.backward_scratchpad_bytes);
  });
}

}  // namespace mnemo::onednn
