#include "plugins/mpi/mpi_communicator.h"

#include <dlfcn.h>
#include <mpi.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace mnemo::mpi {
namespace {

// The library this plugin links, as its soname says.
constexpr char kLibMpi[] = "libmpi.so.40";

// "MPI_Allgatherv: MPI_ERR_TRUNCATE: message truncated" for a failed call.
absl::Status MpiStatus(int code, const char* call) {
  if (code == MPI_SUCCESS) return absl::OkStatus();
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  return absl::InternalError(
      absl::StrCat(call, " failed: ", length > 0 ? std::string(text, length) : "unknown error",
                   " (code ", code, ")"));
}

#define MNEMO_MPI(call, ...) MpiStatus(call(__VA_ARGS__), #call)

// MPI's counts are ints: a span longer than that is refused, not truncated.
absl::StatusOr<int> Count(size_t size, const char* what) {
  if (size > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " of ", size, " floats: MPI moves at most 2^31 - 1 at a time"));
  }
  return static_cast<int>(size);
}

// Offsets of consecutive blocks of `counts`, and their total.
std::vector<int> Displacements(absl::Span<const int> counts, int64_t* total) {
  std::vector<int> displacements(counts.size());
  int64_t at = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    displacements[i] = static_cast<int>(at);
    at += counts[i];
  }
  *total = at;
  return displacements;
}

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, int rank, int size, bool owns_mpi)
      : comm_(comm), rank_(rank), size_(size), owns_mpi_(owns_mpi) {}
  ~MpiCommunicator() override {
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }

  absl::Status AllGather(absl::Span<const float> mine, absl::Span<const int> counts,
                         absl::Span<float> all) override {
    MNEMO_RETURN_IF_ERROR(CheckCounts(counts, "AllGather"));
    int64_t total = 0;
    const std::vector<int> displacements = Displacements(counts, &total);
    if (static_cast<size_t>(counts[rank_]) != mine.size() ||
        static_cast<size_t>(total) != all.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "AllGather on rank ", rank_, ": ", mine.size(), " floats here, ", counts[rank_],
          " counted; ", all.size(), " to receive, ", total, " counted"));
    }
    return MNEMO_MPI(MPI_Allgatherv, mine.data(), counts[rank_], MPI_FLOAT, all.data(),
                     counts.data(), displacements.data(), MPI_FLOAT, comm_);
  }

  absl::Status AllToAll(absl::Span<const float> send, absl::Span<const int> send_counts,
                        absl::Span<float> receive, absl::Span<const int> receive_counts) override {
    MNEMO_RETURN_IF_ERROR(CheckCounts(send_counts, "AllToAll"));
    MNEMO_RETURN_IF_ERROR(CheckCounts(receive_counts, "AllToAll"));
    int64_t sent = 0, received = 0;
    const std::vector<int> send_at = Displacements(send_counts, &sent);
    const std::vector<int> receive_at = Displacements(receive_counts, &received);
    if (static_cast<size_t>(sent) != send.size() ||
        static_cast<size_t>(received) != receive.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("AllToAll on rank ", rank_, ": ", send.size(), " floats to send, ", sent,
                       " counted; ", receive.size(), " to receive, ", received, " counted"));
    }
    return MNEMO_MPI(MPI_Alltoallv, send.data(), send_counts.data(), send_at.data(), MPI_FLOAT,
                     receive.data(), receive_counts.data(), receive_at.data(), MPI_FLOAT, comm_);
  }

  absl::Status Broadcast(absl::Span<float> data, int root) override {
    if (root < 0 || root >= size_) {
      return absl::InvalidArgumentError(absl::StrCat("no rank ", root, " of ", size_));
    }
    MNEMO_ASSIGN_OR_RETURN(const int count, Count(data.size(), "Broadcast"));
    return MNEMO_MPI(MPI_Bcast, data.data(), count, MPI_FLOAT, root, comm_);
  }

  absl::Status Barrier() override { return MNEMO_MPI(MPI_Barrier, comm_); }

 private:
  absl::Status CheckCounts(absl::Span<const int> counts, const char* what) const {
    if (counts.size() != static_cast<size_t>(size_)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": ", counts.size(), " counts for ", size_, " ranks"));
    }
    for (int count : counts) {
      if (count < 0) return absl::InvalidArgumentError(absl::StrCat(what, ": a count of ", count));
    }
    return absl::OkStatus();
  }

  MPI_Comm comm_;
  const int rank_;
  const int size_;
  const bool owns_mpi_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator() {
  int finalized = 0;
  MNEMO_RETURN_IF_ERROR(MNEMO_MPI(MPI_Finalized, &finalized));
  if (finalized) {
    return absl::FailedPreconditionError(
        "MPI was finalised in this process already (an MPI communicator was made and destroyed): "
        "MPI starts once per process");
  }
  int initialized = 0;
  MNEMO_RETURN_IF_ERROR(MNEMO_MPI(MPI_Initialized, &initialized));
  if (!initialized) {
    // The plugin was opened with RTLD_LOCAL, and so was libmpi with it; Open
    // MPI's components (mca_*.so, opened by MPI_Init) look their symbols up
    // in the global scope. Promote the library already loaded to it, as
    // mpi4py does.
    if (dlopen(kLibMpi, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) == nullptr) {
      const char* error = dlerror();
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot make ", kLibMpi,
          "'s symbols global before MPI_Init: ", error != nullptr ? error : "not loaded"));
    }
    MNEMO_RETURN_IF_ERROR(MNEMO_MPI(MPI_Init, nullptr, nullptr));
  }
  MPI_Comm comm;
  MNEMO_RETURN_IF_ERROR(MNEMO_MPI(MPI_Comm_dup, MPI_COMM_WORLD, &comm));
  MNEMO_RETURN_IF_ERROR(MNEMO_MPI(MPI_Comm_set_errhandler, comm, MPI_ERRORS_RETURN));
  int rank = 0, size = 0;
  MNEMO_RETURN_IF_ERROR(MNEMO_MPI(MPI_Comm_rank, comm, &rank));
  MNEMO_RETURN_IF_ERROR(MNEMO_MPI(MPI_Comm_size, comm, &size));
  return std::make_unique<MpiCommunicator>(comm, rank, size, /*owns_mpi=*/!initialized);
}

}  // namespace mnemo::mpi
