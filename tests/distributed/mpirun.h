#ifndef MNEMO_TESTS_DISTRIBUTED_MPIRUN_H_
#define MNEMO_TESTS_DISTRIBUTED_MPIRUN_H_

// The command line the tests start ranks with: Debian's Open MPI, as root
// too, more ranks than cores allowed.
//
// Under the sanitizers (.bazelrc's asan config: LeakSanitizer on) Open MPI's
// own leaks at MPI_Finalize are suppressed (`suppressions`, the file
// openmpi.lsan.supp), which needs stacks that name Open MPI's libraries: its
// components stay loaded (Open MPI's MCA parameter
// mca_base_component_disable_dlclose) and stacks are unwound with DWARF
// (fast_unwind_on_malloc=0: Debian builds Open MPI without frame pointers).
// The ranks inherit mpirun's environment.

#include <string>

#include "absl/strings/str_cat.h"

namespace mnemo::testing {

// The launcher without the number of ranks.
inline std::string MpirunCommand(const std::string& lsan_suppressions) {
  return absl::StrCat(
      "env OMPI_MCA_mca_base_component_disable_dlclose=1 LSAN_OPTIONS=suppressions=",
      lsan_suppressions,
      ":fast_unwind_on_malloc=0 /usr/bin/mpirun --allow-run-as-root --oversubscribe");
}

inline std::string Mpirun(int ranks, const std::string& lsan_suppressions) {
  return absl::StrCat(MpirunCommand(lsan_suppressions), " -np ", ranks);
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_DISTRIBUTED_MPIRUN_H_
