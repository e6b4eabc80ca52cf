#ifndef MNEMO_TOOLS_PYTHON_STATUS_ERROR_H_
#define MNEMO_TOOLS_PYTHON_STATUS_ERROR_H_
// An absl::Status as the Python exception its code calls for, with the C++
// message unchanged: NotFound -> FileNotFoundError, InvalidArgument and
// OutOfRange -> ValueError, Unimplemented -> NotImplementedError,
// ResourceExhausted -> MemoryError, anything else -> RuntimeError.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mnemo::python {

// Sets the Python error for `status` (not OK) and throws
// pybind11::error_already_set. Call with the GIL held.
[[noreturn]] void ThrowStatus(const absl::Status& status);

// The value, or ThrowStatus.
template <typename T>
T ValueOrThrow(absl::StatusOr<T> value) {
  if (!value.ok()) ThrowStatus(value.status());
  return *std::move(value);
}

inline void CheckOk(const absl::Status& status) {
  if (!status.ok()) ThrowStatus(status);
}

}  // namespace mnemo::python

#endif  // MNEMO_TOOLS_PYTHON_STATUS_ERROR_H_
