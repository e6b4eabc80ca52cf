#ifndef MNEMO_TOOLS_SAMPLE_LINE_H_
#define MNEMO_TOOLS_SAMPLE_LINE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mnemo {

// A sample written as a line of text, as tools/serve reads them: `width`
// finite numbers separated by commas, whitespace, or both ("0, 0.5 1,1e-3").
// Writes them to out[0, width). Errors name the line, and the field and its
// column (both 1-based) when one field is at fault:
//
//   line 3, field 17 (column 52): "0.5x" is not a number
//   line 3, field 4 (column 9): "nan" is not finite
//   line 3, field 4 (column 9): empty (two commas with nothing between)
//   line 3, field 785 (column 2301): more than the 784 values a sample has
//   line 3: 783 values, but a sample has 784
absl::Status ParseSampleLine(absl::string_view line, int64_t line_number, int width, float* out);

// A line with nothing but whitespace holds no sample (tools/serve skips it).
bool IsBlankLine(absl::string_view line);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_SAMPLE_LINE_H_
