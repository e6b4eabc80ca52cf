#ifndef MNEMO_TESTS_DISTRIBUTED_MPIRUN_H_
#define MNEMO_TESTS_DISTRIBUTED_MPIRUN_H_

// The mpirun command line the tests start ranks with: Debian's Open MPI,
// as root too, more ranks than cores allowed, over shared memory.

#include <string>

#include "absl/strings/str_cat.h"

namespace mnemo::testing {

inline std::string Mpirun(int ranks) {
  return absl::StrCat("/usr/bin/mpirun --allow-run-as-root --oversubscribe -np ", ranks);
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_DISTRIBUTED_MPIRUN_H_
