// The mpi plugin: a communicator ("mpi", core/communicator.h) on Open MPI,
// for data-parallel training under mpirun. See README.md.
#include "core/plugin_api.h"
#include "core/registry.h"
#include "plugins/mpi/mpi_communicator.h"

MNEMO_PLUGIN("mpi", [](mnemo::PluginRegistrar& registrar) {
  registrar.AddCommunicator(
      "mpi", [](const mnemo::CommunicatorArgs&) { return mnemo::mpi::CreateMpiCommunicator(); });
});
