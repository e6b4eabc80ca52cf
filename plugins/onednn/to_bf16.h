#ifndef MNEMO_PLUGINS_ONEDNN_TO_BF16_H_
#define MNEMO_PLUGINS_ONEDNN_TO_BF16_H_

#include <array>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/onednn/shape_cache.h"

namespace mnemo::onednn {

// Rounds a row-major rows x cols float buffer to bf16 (to nearest, ties to
// even, as oneDNN's reorder does) into a buffer of the caller's: the operands
// of a BF16 model's products. A reorder primitive per shape; not
// thread-safe, as MatMul is not.
class ToBf16 {
 public:
  explicit ToBf16(int max_threads);
  ~ToBf16();
  ToBf16(ToBf16&&) noexcept;
  ToBf16& operator=(ToBf16&&) noexcept;

  // dst: rows x cols uint16 bit patterns. rows, cols > 0.
  absl::Status Run(int rows, int cols, const float* src, uint16_t* dst);

 private:
  struct Entry;
  absl::StatusOr<std::unique_ptr<Entry>> Make(int rows, int cols) const;

  int max_threads_;
  ShapeCache<std::array<int, 2>, Entry> cache_;
};

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_TO_BF16_H_
