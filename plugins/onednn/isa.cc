#include "plugins/onednn/isa.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "absl/strings/str_cat.h"
#include "plugins/onednn/int8_linear.h"

namespace mnemo::onednn {
namespace {

// oneDNN's names for its ISA levels (the spelling ONEDNN_MAX_CPU_ISA takes,
// in lower case).
const char* IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic:
      return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "no vector extension oneDNN knows";
  }
}

// Each level's value is the union of the feature bits it has, so a CPU has
// a level's instructions when its value includes all of that level's bits.
bool Includes(dnnl::cpu_isa have, dnnl::cpu_isa need) {
  const unsigned bits = static_cast<unsigned>(need);
  return (static_cast<unsigned>(have) & bits) == bits;
}

}  // namespace

std::string DispatchedIsa() { return IsaName(dnnl::get_effective_cpu_isa()); }

absl::Status CheckIsaFor(config::Model::Precision precision) {
  if (precision == config::Model::FP32) return absl::OkStatus();
  const bool bf16 = precision == config::Model::BF16;
  const dnnl::cpu_isa need =
      bf16 ? dnnl::cpu_isa::avx512_core_bf16 : dnnl::cpu_isa::avx512_core_vnni;
  const char* instructions = bf16 ? "AVX512-BF16" : "AVX512-VNNI";
  const dnnl::cpu_isa have = dnnl::get_effective_cpu_isa();
  if (!Includes(have, need)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this CPU lacks ", instructions, " (oneDNN's ", IsaName(need), "): oneDNN dispatches to ",
        IsaName(have), " here, where it would be slower than FP32; ",
        bf16 ? "use model.precision FP32 on this machine"
             : "serve the FP32 model it was quantized from on this machine"));
  }
  if (!bf16 && !Int8Linear::Available()) {
    return absl::FailedPreconditionError(
        "the onednn plugin was compiled without AVX512-VNNI, which its int8 kernel needs: "
        "rebuild it on this machine (the build uses -march=native)");
  }
  return absl::OkStatus();
}

}  // namespace mnemo::onednn
