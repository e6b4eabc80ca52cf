#include "core/communicator.h"

#include <algorithm>
#include <cstdint>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mnemo {
namespace {

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return kLocalCommunicator; }

  absl::Status AllGather(absl::Span<const float> mine, absl::Span<const int> counts,
                         absl::Span<float> all) override {
    MNEMO_RETURN_IF_ERROR(CheckOne(counts, mine.size(), all.size(), "AllGather"));
    std::copy(mine.begin(), mine.end(), all.begin());
    return absl::OkStatus();
  }
  absl::Status AllToAll(absl::Span<const float> send, absl::Span<const int> send_counts,
                        absl::Span<float> receive, absl::Span<const int> receive_counts) override {
    MNEMO_RETURN_IF_ERROR(CheckOne(send_counts, send.size(), receive.size(), "AllToAll"));
    MNEMO_RETURN_IF_ERROR(CheckOne(receive_counts, send.size(), receive.size(), "AllToAll"));
    std::copy(send.begin(), send.end(), receive.begin());
    return absl::OkStatus();
  }
  absl::Status Broadcast(absl::Span<float> /*data*/, int root) override {
    if (root != 0) return absl::InvalidArgumentError(absl::StrCat("no rank ", root, " of 1"));
    return absl::OkStatus();
  }
  absl::Status Barrier() override { return absl::OkStatus(); }

 private:
  static absl::Status CheckOne(absl::Span<const int> counts, size_t in, size_t out,
                               const char* what) {
    if (counts.size() != 1 || counts[0] < 0 || static_cast<size_t>(counts[0]) != in || in != out) {
      return absl::InvalidArgumentError(absl::StrCat(what, " of one rank: ", counts.size(),
                                                     " counts for ", in, " floats in and ", out,
                                                     " out"));
    }
    return absl::OkStatus();
  }
};

}  // namespace

RowShare ShareOfRows(int count, int rank, int size) {
  const int base = count / size;
  const int extra = count % size;
  RowShare share;
  share.begin = rank * base + std::min(rank, extra);
  share.end = share.begin + base + (rank < extra ? 1 : 0);
  return share;
}

absl::Status Communicator::AllReduceSum(absl::Span<float> data) {
  const int ranks = size();
  if (ranks == 1) return absl::OkStatus();
  if (data.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat("AllReduceSum of ", data.size(), " floats: at most 2^31 - 1 at a time"));
  }
  const int n = static_cast<int>(data.size());
  std::vector<int> chunk(ranks);
  for (int r = 0; r < ranks; ++r) chunk[r] = ShareOfRows(n, r, ranks).rows();
  const int mine = chunk[rank()];
  received_.resize(static_cast<size_t>(mine) * ranks);
  const std::vector<int> from_each(ranks, mine);
  MNEMO_RETURN_IF_ERROR(AllToAll(data, chunk, absl::MakeSpan(received_), from_each));
  sum_.assign(received_.begin(), received_.begin() + mine);
  for (int r = 1; r < ranks; ++r) {
    const float* block = received_.data() + static_cast<size_t>(r) * mine;
    for (int i = 0; i < mine; ++i) sum_[i] += block[i];
  }
  return AllGather(sum_, chunk, data);
}

std::unique_ptr<Communicator> CreateLocalCommunicator() {
  return std::make_unique<LocalCommunicator>();
}

}  // namespace mnemo
