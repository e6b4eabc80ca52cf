#ifndef MNEMO_PLUGINS_MPI_MPI_COMMUNICATOR_H_
#define MNEMO_PLUGINS_MPI_MPI_COMMUNICATOR_H_

// core/communicator.h on Open MPI (Debian's libopenmpi-dev, libmpi.so.40):
// the ranks mpirun started, on a duplicate of MPI_COMM_WORLD whose errors
// return rather than abort, each turned into a Status naming the call.

#include <memory>

#include "absl/status/statusor.h"
#include "core/communicator.h"

namespace mnemo::mpi {

// Initialises MPI unless the process has already (a host application that
// uses MPI itself: it then keeps finalising it). The communicator that
// initialised MPI finalises it when destroyed, after which MPI cannot start
// again in this process: a second Create is then an error.
absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator();

}  // namespace mnemo::mpi

#endif  // MNEMO_PLUGINS_MPI_MPI_COMMUNICATOR_H_
