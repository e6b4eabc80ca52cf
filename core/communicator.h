#ifndef MNEMO_CORE_COMMUNICATOR_H_
#define MNEMO_CORE_COMMUNICATOR_H_

// The processes ("ranks") of a data-parallel run and the collectives they
// train with. Core declares the interface and a communicator of one process;
// a plugin registers a real one (plugins/mpi: Open MPI), selected by
// `trainer.distributed.communicator`, so that core and single-process users
// never link an MPI library.
//
// Every method but rank() and size() is a collective: every rank calls it, in
// the same order, with the same sizes (AllGather's counts, AllToAll's
// receive counts matching the senders'). An error is a Status; a rank that
// died makes the others fail or be stopped by the launcher (mpirun), never
// wait for ever.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace mnemo {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;  // 0 .. size() - 1
  virtual int size() const = 0;  // >= 1
  // The registered type ("local", "mpi"), for messages.
  virtual std::string name() const = 0;

  // What a plugin implements: the transport.
  // Each rank's `mine` (counts[r] floats on rank r) concatenated in rank order
  // into `all` (the sum of counts) on every rank.
  virtual absl::Status AllGather(absl::Span<const float> mine, absl::Span<const int> counts,
                                 absl::Span<float> all) = 0;
  // Block j of `send` (send_counts[j] floats, the blocks in rank order) goes
  // to rank j; block i of `receive` (receive_counts[i] floats) comes from
  // rank i.
  virtual absl::Status AllToAll(absl::Span<const float> send, absl::Span<const int> send_counts,
                                absl::Span<float> receive,
                                absl::Span<const int> receive_counts) = 0;
  // `data` of rank `root` into every rank's `data` (the same size on all).
  virtual absl::Status Broadcast(absl::Span<float> data, int root) = 0;
  virtual absl::Status Barrier() = 0;

  // What core builds on the transport.
  // The elementwise sum over the ranks into every rank's `data`, added in
  // rank order (((r0 + r1) + r2) + ...) whatever the library's algorithms:
  // the same inputs give the same bits on every rank and in every run. As
  // a ring all-reduce does, each rank sends and receives about 2 x data.size()
  // floats: the buffer is cut into size() chunks, chunk j is summed on rank j
  // (an all-to-all brings it there) and the sums are gathered back.
  absl::Status AllReduceSum(absl::Span<float> data);

 private:
  std::vector<float> received_;  // AllReduceSum's chunks from every rank
  std::vector<float> sum_;       // its own chunk's sum
};

// Rows [begin, end) of `count` that rank `rank` of `size` takes: the first
// count % size ranks one more than the others, in rank order. Every row is
// taken by exactly one rank.
struct RowShare {
  int begin = 0;
  int end = 0;
  int rows() const { return end - begin; }
};
RowShare ShareOfRows(int count, int rank, int size);

// What a communicator factory gets (CommunicatorRegistry).
struct CommunicatorArgs {};

// The communicator of one process: rank 0 of 1; its collectives copy.
inline constexpr char kLocalCommunicator[] = "local";
std::unique_ptr<Communicator> CreateLocalCommunicator();

}  // namespace mnemo

#endif  // MNEMO_CORE_COMMUNICATOR_H_
