#include "caching/checkpoint/buffer_pool.h"

#include <iterator>
#include <utility>

namespace mnemo::caching::checkpoint {

std::unique_ptr<Tensor> BufferPool::Acquire(Eigen::Index elements, int64_t limit) {
  if (auto it = spare_.find(elements); it != spare_.end() && !it->second.empty()) {
    std::unique_ptr<Tensor> buffer = std::move(it->second.back());
    it->second.pop_back();
    spare_bytes_ -= Bytes(elements);
    return buffer;
  }
  if (limit >= 0) {
    for (auto it = spare_.begin();
         it != spare_.end() && owned_bytes_ + Bytes(elements) > limit;) {
      while (!it->second.empty() && owned_bytes_ + Bytes(elements) > limit) {
        it->second.pop_back();
        owned_bytes_ -= Bytes(it->first);
        spare_bytes_ -= Bytes(it->first);
      }
      it = it->second.empty() ? spare_.erase(it) : std::next(it);
    }
  }
  owned_bytes_ += Bytes(elements);
  // One row of `elements`: the layer's Forward gives it its shape.
  return std::make_unique<Tensor>(1, elements);
}

void BufferPool::Recycle(std::unique_ptr<Tensor> buffer) {
  if (buffer == nullptr) return;
  const Eigen::Index elements = buffer->size();
  spare_bytes_ += Bytes(elements);
  spare_[elements].push_back(std::move(buffer));
}

void BufferPool::Discard(std::unique_ptr<Tensor> buffer, Eigen::Index elements) {
  buffer.reset();
  owned_bytes_ -= Bytes(elements);
}

void BufferPool::DropSpare() {
  owned_bytes_ -= spare_bytes_;
  spare_bytes_ = 0;
  spare_.clear();
}

}  // namespace mnemo::caching::checkpoint
