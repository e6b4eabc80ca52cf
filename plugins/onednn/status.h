#ifndef MNEMO_PLUGINS_ONEDNN_STATUS_H_
#define MNEMO_PLUGINS_ONEDNN_STATUS_H_

// oneDNN reports errors two ways: its C API returns a dnnl_status_t, its C++
// API throws dnnl::error. Neither may cross the plugin boundary as such:
// here both become absl::Status.

#include <exception>
#include <new>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mnemo::onednn {

// OK for dnnl_success; otherwise an error of the matching code whose message
// starts with `what` (the operation that failed).
absl::Status FromDnnl(dnnl_status_t status, absl::string_view what);

// The exception being handled (call it in a catch block) as a Status whose
// message starts with `what`: a dnnl::error keeps oneDNN's status code,
// std::bad_alloc is ResourceExhausted, anything else Internal.
absl::Status CurrentExceptionToStatus(absl::string_view what);

// Runs `body` (returning absl::Status or absl::StatusOr<T>) and turns
// anything it throws into an error of that type, so that a caller across the
// plugin boundary never sees an exception: oneDNN's C++ API throws
// dnnl::error, allocations std::bad_alloc.
template <typename Body>
auto Guarded(absl::string_view what, Body&& body) noexcept -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    return CurrentExceptionToStatus(what);
  }
}

}  // namespace mnemo::onednn

#endif  // MNEMO_PLUGINS_ONEDNN_STATUS_H_
