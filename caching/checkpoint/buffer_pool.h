#ifndef MNEMO_CACHING_CHECKPOINT_BUFFER_POOL_H_
#define MNEMO_CACHING_CHECKPOINT_BUFFER_POOL_H_

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace mnemo::caching::checkpoint {

// Activation buffers handed out and taken back, so that a steady-state step
// of a checkpointing strategy, which frees and recomputes activations many
// times, allocates nothing: a returned buffer waits for the next request of
// the same element count (Eigen's resize keeps a buffer whose element count
// does not change, whatever the shape).
class BufferPool {
 public:
  // A spare buffer of `elements` floats, or a new one. With `limit` >= 0,
  // spare buffers of other sizes are released first as far as needed for
  // everything the pool owns (in use and spare) to stay within `limit` bytes.
  std::unique_ptr<Tensor> Acquire(Eigen::Index elements, int64_t limit = -1);

  // Takes a buffer back as spare.
  void Recycle(std::unique_ptr<Tensor> buffer);

  // Releases a buffer handed out as `elements` floats (one a layer resized).
  void Discard(std::unique_ptr<Tensor> buffer, Eigen::Index elements);

  // Releases every spare buffer.
  void DropSpare();

  // Bytes of every buffer handed out and not released, and of the spare ones.
  int64_t owned_bytes() const { return owned_bytes_; }
  int64_t spare_bytes() const { return spare_bytes_; }

 private:
  static int64_t Bytes(Eigen::Index elements) {
    return static_cast<int64_t>(elements) * static_cast<int64_t>(sizeof(float));
  }

  std::unordered_map<Eigen::Index, std::vector<std::unique_ptr<Tensor>>> spare_;
  int64_t owned_bytes_ = 0;
  int64_t spare_bytes_ = 0;
};

}  // namespace mnemo::caching::checkpoint

#endif  // MNEMO_CACHING_CHECKPOINT_BUFFER_POOL_H_
