#ifndef MNEMO_TOOLS_PYTHON_SAMPLE_ARRAY_H_
#define MNEMO_TOOLS_PYTHON_SAMPLE_ARRAY_H_
// The samples a Python caller passes to a Predictor, read in place through
// the buffer protocol: a C-contiguous float32 array of samples x features (or
// one sample of features). Anything else is refused, never converted.

#include <pybind11/pybind11.h>

#include <cstdint>

#include "absl/types/span.h"

namespace mnemo::python {

class SampleArray {
 public:
  // A view of `x`'s memory, kept alive (and its buffer held) as long as this
  // object is. TypeError for an object without the buffer protocol or of
  // another dtype, ValueError for a non-contiguous array, another rank or
  // another width than `width`. Call with the GIL held.
  SampleArray(const pybind11::object& x, int64_t width);

  absl::Span<const float> floats() const { return floats_; }
  int64_t rows() const { return rows_; }
  // A 1-D array: one sample, answered without the samples axis.
  bool one_sample() const { return one_sample_; }

 private:
  pybind11::buffer_info buffer_;
  absl::Span<const float> floats_;
  int64_t rows_ = 0;
  bool one_sample_ = false;
};

}  // namespace mnemo::python

#endif  // MNEMO_TOOLS_PYTHON_SAMPLE_ARRAY_H_
