#ifndef MNEMO_TOOLS_QUANTIZATION_WEIGHTS_H_
#define MNEMO_TOOLS_QUANTIZATION_WEIGHTS_H_

#include "core/tensor.h"

namespace mnemo {

// A weight matrix (fan_in x fan_out) as int8 with one scale per output:
// weight[r][j] ~= values[r][j] x scales[j].
struct Int8Columns {
  MatrixS8 values;  // in [-127, 127]
  Tensor scales;    // 1 x fan_out
};

// Symmetric, per output column: scales[j] = max_r |weight[r][j]| / 127, and
// values = round(weight / scale) (half away from zero), so that each
// weight's error is at most scales[j] / 2 and the column's largest
// magnitude is kept exactly. A column of zeros has scale 0 and values 0.
// The weights must be finite (model files are).
Int8Columns QuantizeColumns(const Tensor& weight);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_QUANTIZATION_WEIGHTS_H_
