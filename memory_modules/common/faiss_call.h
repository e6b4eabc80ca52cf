#ifndef MNEMO_MEMORY_MODULES_COMMON_FAISS_CALL_H_
#define MNEMO_MEMORY_MODULES_COMMON_FAISS_CALL_H_

#include <exception>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mnemo::memory {

// Runs `call` (code that calls FAISS) and turns what it throws into a status:
// FAISS 1.7.3 reports a misuse or a failure by a C++ exception
// (faiss::FaissException, a std::exception), and no exception may cross a
// plugin's boundary (mnemo's errors are absl::Status). `what` names the
// operation in the message: "FAISS hnsw build: <FAISS's message>".
// Out of memory is ResourceExhausted, anything else Internal.
template <typename Call>
absl::Status FaissCall(absl::string_view what, Call&& call) {
  try {
    std::forward<Call>(call)();
    return absl::OkStatus();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat("FAISS ", what, ": out of memory"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("FAISS ", what, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat("FAISS ", what, ": an unknown exception"));
  }
}

}  // namespace mnemo::memory

#endif  // MNEMO_MEMORY_MODULES_COMMON_FAISS_CALL_H_
