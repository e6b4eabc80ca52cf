#include "plugins/onednn/status.h"

#include <exception>
#include <new>

namespace mnemo::onednn {

absl::Status FromDnnl(dnnl_status_t status, absl::string_view what) {
  switch (status) {
    case dnnl_success:
      return absl::OkStatus();
    case dnnl_out_of_memory:
      return absl::ResourceExhaustedError(absl::StrCat(what, ": oneDNN is out of memory"));
    case dnnl_invalid_arguments:
      return absl::InvalidArgumentError(absl::StrCat(what, ": oneDNN: invalid arguments"));
    case dnnl_unimplemented:
      return absl::UnimplementedError(
          absl::StrCat(what, ": oneDNN has no implementation for these shapes"));
    default:
      return absl::InternalError(absl::StrCat(what, ": oneDNN status ", static_cast<int>(status)));
  }
}

absl::Status CurrentExceptionToStatus(absl::string_view what) {
  try {
    throw;
  } catch (const dnnl::error& e) {
    return FromDnnl(e.status, absl::StrCat(what, ": ", e.what()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": out of memory"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown exception"));
  }
}

}  // namespace mnemo::onednn
