#include "memory_modules/common/int8_scan.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/status_macros.h"

namespace mnemo::memory {
namespace {

constexpr float kLevels = 127.0f;  // |q| <= 127: symmetric, -128 unused
constexpr int32_t kShift = 128;    // signed query bytes -> unsigned

// Row r of x as round(x / s) with s = max |x(r, :)| / 127, plus `offset`,
// into out's row r; a zero row gives `offset` everywhere.
template <typename Out>
void QuantizeRows(const ConstMatrixRef<float>& x, int32_t offset, Out* out, float* scales) {
  out->resize(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const float largest = x.row(r).cwiseAbs().maxCoeff();
    const float inverse = largest > 0 ? kLevels / largest : 0.0f;
    // Rounded to nearest (a value within +-127, exact in float).
    out->row(r) = ((x.row(r).array() * inverse).round().template cast<int32_t>() + offset)
                      .template cast<typename Out::Scalar>();
    if (scales != nullptr) scales[r] = largest / kLevels;
  }
}

// out[m] = scale[m] * (products[m] - shift[m]) for m < n: the approximate
// cosines of one query (up to its own positive scale). Written out in
// AVX-512 because Eigen leaves this mixed int/float expression scalar (one
// convert per value: most of the scan's time besides the GEMM, measured).
void ApproximateCosines(const int32_t* products, const int32_t* shift, const float* scale, int n,
                        float* out) {
  int m = 0;
#ifdef __AVX512F__
  for (; m + 16 <= n; m += 16) {
    const __m512i exact =
        _mm512_sub_epi32(_mm512_loadu_si512(products + m), _mm512_loadu_si512(shift + m));
    _mm512_storeu_ps(out + m, _mm512_mul_ps(_mm512_cvtepi32_ps(exact), _mm512_loadu_ps(scale + m)));
  }
#endif
  for (; m < n; ++m) out[m] = static_cast<float>(products[m] - shift[m]) * scale[m];
}

// Ranks (score, column) pairs as SelectTopK does: higher score first, NaN
// after every number, then the lower column.
bool RanksBefore(float a, int column_a, float b, int column_b) {
  const bool a_nan = std::isnan(a), b_nan = std::isnan(b);
  if (a_nan != b_nan) return b_nan;
  if (!a_nan && a != b) return a > b;
  return column_a < column_b;
}

}  // namespace

absl::Status CheckScanPrecision(ScanPrecision precision, const Backend* backend) {
  if (precision != ScanPrecision::kInt8) return absl::OkStatus();
  const Backend& used = backend != nullptr ? *backend : *ReferenceBackend();
  if (used.has_int8_matmul()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "memory_module.scan_precision \"int8\" needs a backend with an int8 matrix product; the \"",
      used.name(), "\" backend has none (model.backend \"onednn\" has; or use \"fp32\")"));
}

int Int8Scan::DefaultCandidates(int k) { return std::max(4 * k, 16); }

void Int8Scan::QuantizeKeys(const ConstMatrixRef<float>& unit_keys) {
  scale_.resize(unit_keys.rows());
  QuantizeRows(unit_keys, 0, &keys_, scale_.data());
  shift_ = (keys_.cast<int32_t>().rowwise().sum() * kShift).transpose().array();
  stale_ = false;
}

void Int8Scan::QuantizeQueries(const ConstMatrixRef<float>& unit_queries) {
  QuantizeRows(unit_queries, kShift, &queries_, nullptr);
}

absl::Status Int8Scan::Search(const Backend& backend, const ConstMatrixRef<float>& unit_queries,
                              const ConstMatrixRef<float>& unit_keys, int k, TopK* top) {
  const int rows = static_cast<int>(unit_queries.rows());
  const int n = static_cast<int>(unit_keys.rows());
  top->rows = rows;
  top->k = std::max(0, std::min(k, n));
  top->index.resize(static_cast<size_t>(rows) * top->k);
  top->score.resize(top->index.size());
  if (top->k == 0 || rows == 0) return absl::OkStatus();
  if (unit_queries.cols() != unit_keys.cols()) {
    return absl::InvalidArgumentError("int8 scan: queries and keys differ in width");
  }
  if (stale_ || keys_.rows() != n) QuantizeKeys(unit_keys);
  QuantizeQueries(unit_queries);
  MNEMO_RETURN_IF_ERROR(backend.MatMulTransposedInt8(queries_, keys_, &products_));

  const int wanted = candidates_ > 0 ? candidates_ : DefaultCandidates(top->k);
  const int c = std::max(top->k, std::min(wanted, n));
  candidate_index_.resize(c);
  candidate_score_.resize(c);
  order_.resize(c);
  approximate_.resize(n);
  for (int r = 0; r < rows; ++r) {
    ApproximateCosines(products_.row(r).data(), shift_.data(), scale_.data(), n,
                       approximate_.data());
    SelectRowTopK(approximate_.data(), n, c, candidate_index_.data(), candidate_score_.data());
    for (int j = 0; j < c; ++j) {
      candidate_score_[j] = unit_queries.row(r).dot(unit_keys.row(candidate_index_[j]));
      order_[j] = j;
    }
    std::partial_sort(order_.begin(), order_.begin() + top->k, order_.end(), [&](int a, int b) {
      return RanksBefore(candidate_score_[a], candidate_index_[a], candidate_score_[b],
                         candidate_index_[b]);
    });
    int* index = top->index.data() + static_cast<size_t>(r) * top->k;
    float* score = top->score.data() + static_cast<size_t>(r) * top->k;
    for (int j = 0; j < top->k; ++j) {
      index[j] = candidate_index_[order_[j]];
      score[j] = candidate_score_[order_[j]];
    }
  }
  return absl::OkStatus();
}

}  // namespace mnemo::memory
