#ifndef MNEMO_MEMORY_MODULES_COMMON_INT8_SCAN_H_
#define MNEMO_MEMORY_MODULES_COMMON_INT8_SCAN_H_

#include <vector>

#include "absl/status/status.h"
#include "core/backend.h"
#include "core/memory_settings.h"
#include "memory_modules/common/similarity.h"
#include "memory_modules/common/top_k.h"

namespace mnemo::memory {

// The int8 similarity scan (memory_module.scan_precision "int8"): the top-k
// of every query among a memory's keys, found in two steps.
//
//  1. Candidates. The keys are kept also as int8, each unit row k_m as
//     s_m * q_m with q_m = round(k_m / s_m), s_m = max_l |k_m(l)| / 127 (a
//     scale per row, so that every row uses the whole range); each query x
//     likewise as u_x * p_x, shifted by +128 into unsigned bytes. One int8
//     GEMM (Backend::MatMulTransposedInt8, u8 x s8 -> s32) gives
//     sum_l (p_x(l) + 128) q_m(l); minus 128 sum_l q_m(l) it is p_x . q_m,
//     and s_m times that ranks the keys as u_x s_m p_x . q_m ~ x . k_m does
//     (u_x > 0 is the same for the whole row). The `candidates` best by this
//     approximate cosine are kept (SelectRowTopK's tie rule).
//  2. The candidates are scored again exactly, in fp32 (a dot product of the
//     unit query with the unit key), and the k best of those are the answer,
//     ties to the lower column, NaN below every number, as SelectTopK.
//
// The answer is exact search's whenever each true neighbour is among the
// candidates; with candidates >= keys it always is (the exact scores are
// fp32 dot products, which may differ from the fp32 scan's GEMM in the last
// bits: they are summed in another order). Rounding moves each component by
// at most half a step, so the approximate cosine is off by a few 1e-3 at d =
// 256: keys that close to the k-th best are the ones at risk, and those the
// candidates beyond k cover.
//
// Keeps the int8 keys and scratch between calls: no allocation once warmed
// up at a shape. Not thread-safe, as the modules are not.
class Int8Scan {
 public:
  // The candidates scored again per query for a top-k: 4k, at least 16.
  // Measured on Fashion-MNIST features (tools/bench/memory_path_benchmark):
  // see that benchmark's recall figures.
  static int DefaultCandidates(int k);

  // `candidates` <= 0 means DefaultCandidates(k) at each Search.
  explicit Int8Scan(int candidates = 0) : candidates_(candidates) {}

  // The keys given to Search changed (a store, an import, a clear): they are
  // quantized again at the next Search. Whoever writes a memory's keys calls
  // it; until then Search reuses the int8 copy.
  void KeysChanged() { stale_ = true; }

  // top = the k best keys of each of the unit queries (B x d) among
  // unit_keys (n x d, unit or zero rows), as described above; the GEMM runs
  // on `backend`, whose errors (Unimplemented without has_int8_matmul()) are
  // returned.
  absl::Status Search(const Backend& backend, const ConstMatrixRef<float>& unit_queries,
                      const ConstMatrixRef<float>& unit_keys, int k, TopK* top);

 private:
  void QuantizeKeys(const ConstMatrixRef<float>& unit_keys);
  void QuantizeQueries(const ConstMatrixRef<float>& unit_queries);

  const int candidates_;
  bool stale_ = true;
  MatrixS8 keys_;                                   // n x d
  Eigen::Array<float, 1, Eigen::Dynamic> scale_;    // s_m
  Eigen::Array<int32_t, 1, Eigen::Dynamic> shift_;  // 128 sum_l q_m(l)

  MatrixU8 queries_;                                    // p_x + 128
  MatrixS32 products_;                                  // B x n
  Eigen::Array<float, 1, Eigen::Dynamic> approximate_;  // one query's s_m p_x . q_m
  std::vector<int> candidate_index_;
  std::vector<float> candidate_score_;
  std::vector<int> order_;
};

// OK for kFp32, and for kInt8 on a backend with an int8 GEMM
// (Backend::has_int8_matmul; null = the reference backend, which has none);
// otherwise InvalidArgument naming memory_module.scan_precision.
absl::Status CheckScanPrecision(ScanPrecision precision, const Backend* backend);

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_INT8_SCAN_H_
