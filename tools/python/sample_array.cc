#include "tools/python/sample_array.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mnemo::python {
namespace {

namespace py = pybind11;

constexpr char kHint[] = "pass np.ascontiguousarray(x, dtype=np.float32)";

pybind11::buffer_info RequestBuffer(const py::object& x) {
  if (!PyObject_CheckBuffer(x.ptr())) {
    throw py::type_error(absl::StrCat("x must be a float32 NumPy array, not ",
                                      std::string(py::str(x.get_type().attr("__name__"))), ": ",
                                      kHint));
  }
  return py::reinterpret_borrow<py::buffer>(x).request();
}

// "f", or with a native or little-endian byte order mark.
bool IsFloat32(const std::string& format, py::ssize_t itemsize) {
  return itemsize == 4 && (format == "f" || format == "=f" || format == "@f" || format == "<f");
}

}  // namespace

SampleArray::SampleArray(const py::object& x, int64_t width) : buffer_(RequestBuffer(x)) {
  if (!IsFloat32(buffer_.format, buffer_.itemsize)) {
    std::string dtype = buffer_.format;
    if (py::hasattr(x, "dtype")) dtype = py::str(x.attr("dtype"));
    throw py::type_error(absl::StrCat(
        "x has dtype ", dtype, "; the model reads float32 in place and converts nothing: ", kHint));
  }
  if (buffer_.ndim != 1 && buffer_.ndim != 2) {
    throw py::value_error(absl::StrCat("x has ", buffer_.ndim,
                                       " dimensions; expected 2 (samples x features) or 1 (one "
                                       "sample)"));
  }
  one_sample_ = buffer_.ndim == 1;
  const int64_t cols = buffer_.shape.back();
  rows_ = one_sample_ ? 1 : buffer_.shape[0];
  // C order: the last axis contiguous, rows one after another (a size-1 axis
  // may carry any stride).
  const bool contiguous =
      (cols <= 1 || buffer_.strides.back() == 4) &&
      (one_sample_ || rows_ <= 1 || buffer_.strides[0] == static_cast<py::ssize_t>(4 * cols));
  if (!contiguous) {
    throw py::value_error(absl::StrCat("x is not C-contiguous (strides ",
                                       absl::StrJoin(buffer_.strides, ", "),
                                       " bytes); the model reads it in place: ", kHint));
  }
  if (cols != width) {
    throw py::value_error(absl::StrCat(one_sample_ ? "the sample has " : "x has ", cols,
                                       " features", one_sample_ ? "" : " per sample",
                                       "; the model takes ", width));
  }
  floats_ = absl::MakeConstSpan(static_cast<const float*>(buffer_.ptr),
                                static_cast<size_t>(rows_ * cols));
}

}  // namespace mnemo::python
