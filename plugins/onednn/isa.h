#ifndef MNEMO_PLUGINS_ONEDNN_ISA_H_
#define MNEMO_PLUGINS_ONEDNN_ISA_H_

#include <string>

#include "absl/status/status.h"
#include "core/config.pb.h"

namespace mnemo::onednn {

// The instruction set oneDNN dispatches to on this CPU, by its name
// ("avx512_core_bf16"): what the CPU has, capped by ONEDNN_MAX_CPU_ISA when
// the environment sets it.
std::string DispatchedIsa();

// Whether the products of a model in `precision` run on instructions made
// for it here: BF16 needs AVX512-BF16 (oneDNN's avx512_core_bf16), INT8
// AVX512-VNNI (avx512_core_vnni) and this plugin compiled for it (its int8
// kernel). FailedPrecondition otherwise, naming what is missing and what
// oneDNN dispatches to: oneDNN would run a bf16 product on older CPUs by
// emulation, slower than fp32, and a model is refused rather than made
// silently slow.
absl::Status CheckIsaFor(config::Model::Precision precision);

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_ISA_H_
