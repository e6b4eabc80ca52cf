// Writes, with WriteSafetensors, the file check_dtypes_with_torch.py reads
// back by the safetensors specification and checks against PyTorch:
//   x       F32 [1, n]  floats that exercise bfloat16 rounding (ties, NaNs,
//                       infinities, denormals, overflow, random bits)
//   x.bf16  BF16 [1, n] FloatToBfloat16 of each of x
//   all.bf16 BF16 [256, 256] every bfloat16 pattern, in order
//   all.f32 F32 [256, 256]   Bfloat16ToFloat of each of all.bf16
//   q       I8 [16, 16]     -128 to 127, row-major
//   v       I8 [1, 3]       a rank-1 tensor's shape as the writer gives it
// Usage: write_dtype_samples <out.safetensors>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <vector>

#include "core/bfloat16.h"
#include "core/io/safetensors.h"
#include "core/tensor.h"

namespace mnemo {
namespace {

float FromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

void AppendUint16(uint16_t n, std::vector<uint8_t>* out) {
  out->push_back(static_cast<uint8_t>(n & 0xFF));
  out->push_back(static_cast<uint8_t>(n >> 8));
}

std::vector<float> Samples() {
  std::vector<float> x = {0.0f,
                          -0.0f,
                          1.0f,
                          1.0f + 0x1.0p-8f,
                          1.0f + 3 * 0x1.0p-8f,
                          1.0f / 3.0f,
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(),
                          FromBits(0xFFC12345),
                          FromBits(0x7F800001),
                          std::numeric_limits<float>::max(),
                          -std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::denorm_min(),
                          FromBits(0x007FFFFF),
                          FromBits(0x7F7F7FFF),
                          FromBits(0x7F7F8000)};
  // Every upper half with the tie and its neighbours below it.
  for (uint32_t upper = 0; upper <= 0xFFFF; upper += 7) {
    for (const uint32_t lower : {0x7FFFu, 0x8000u, 0x8001u}) {
      x.push_back(FromBits((upper << 16) | lower));
    }
  }
  std::mt19937 engine(20);
  for (int i = 0; i < 100'000; ++i) x.push_back(FromBits(static_cast<uint32_t>(engine())));
  return x;
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: write_dtype_samples <out.safetensors>\n";
    return 2;
  }
  TensorFile file;
  const std::vector<float> x = Samples();
  const Eigen::Index n = static_cast<Eigen::Index>(x.size());
  Tensor& xs = file.tensors["x"] = Tensor(1, n);
  NarrowTensor& narrow = file.narrow_tensors["x.bf16"] = {Dtype::kBF16, 1, n, {}};
  for (Eigen::Index i = 0; i < n; ++i) {
    xs(0, i) = x[static_cast<size_t>(i)];
    AppendUint16(FloatToBfloat16(x[static_cast<size_t>(i)]), &narrow.bytes);
  }

  NarrowTensor& all = file.narrow_tensors["all.bf16"] = {Dtype::kBF16, 256, 256, {}};
  Tensor& wide = file.tensors["all.f32"] = Tensor(256, 256);
  for (uint32_t pattern = 0; pattern <= 0xFFFF; ++pattern) {
    AppendUint16(static_cast<uint16_t>(pattern), &all.bytes);
    wide.data()[pattern] = Bfloat16ToFloat(static_cast<uint16_t>(pattern));
  }

  NarrowTensor& q = file.narrow_tensors["q"] = {Dtype::kI8, 16, 16, {}};
  for (int i = -128; i < 128; ++i) q.bytes.push_back(static_cast<uint8_t>(static_cast<int8_t>(i)));
  file.narrow_tensors["v"] = {Dtype::kI8, 1, 3, {0x01, 0xFF, 0x80}};
  file.metadata["written_by"] = "write_dtype_samples";

  if (const absl::Status status = WriteSafetensors(argv[1], file); !status.ok()) {
    std::cerr << status << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) { return mnemo::Main(argc, argv); }
