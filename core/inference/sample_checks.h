#ifndef MNEMO_CORE_INFERENCE_SAMPLE_CHECKS_H_
#define MNEMO_CORE_INFERENCE_SAMPLE_CHECKS_H_

#include <cstdint>

#include "absl/status/status.h"

namespace mnemo {

// Refuses samples a model cannot classify: `cols` other than the model's
// `input_size`, or a NaN or an infinity, which would spread to every logit of
// its row and make the label arbitrary. `data` holds `rows` samples of `cols`
// floats, row-major. The message names the first bad sample and feature
// (0-based). Allocates only when it refuses.
absl::Status CheckSamples(const float* data, int64_t rows, int64_t cols, int input_size);

}  // namespace mnemo

#endif  // MNEMO_CORE_INFERENCE_SAMPLE_CHECKS_H_
