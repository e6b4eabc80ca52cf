#ifndef MNEMO_CORE_STATUS_MACROS_H_
#define MNEMO_CORE_STATUS_MACROS_H_

// The two early returns every fallible call needs, as Abseil's own code
// writes them (its macros are internal to Abseil):
//
//   MNEMO_RETURN_IF_ERROR(WriteFile(path, text));
//   MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network, BuildNetwork(config, registries));
//
// and WithPrefix for an error that should say where it happened.

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

// Evaluates `expr` (an absl::Status) once and returns it from the enclosing
// function when it is not OK.
#define MNEMO_RETURN_IF_ERROR(expr)                                               \
  do {                                                                            \
    if (::absl::Status mnemo_status_macro_ = (expr); !mnemo_status_macro_.ok()) { \
      return mnemo_status_macro_;                                                 \
    }                                                                             \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>) once; returns its status from the
// enclosing function when it is not OK, else moves its value into `lhs`, a
// declaration (`T x`) or an lvalue. `lhs` may not contain a comma outside
// parentheses: name such a type with an alias first.
#define MNEMO_ASSIGN_OR_RETURN(lhs, rexpr) \
  MNEMO_ASSIGN_OR_RETURN_IMPL_(MNEMO_STATUS_CONCAT_(mnemo_statusor_, __LINE__), lhs, rexpr)

#define MNEMO_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#define MNEMO_STATUS_CONCAT_INNER_(a, b) a##b
#define MNEMO_STATUS_CONCAT_(a, b) MNEMO_STATUS_CONCAT_INNER_(a, b)

namespace mnemo {

// `status` with "`prefix`: " before its message, the code kept; OK stays OK.
inline absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, ": ", status.message()));
}

}  // namespace mnemo

#endif  // MNEMO_CORE_STATUS_MACROS_H_
