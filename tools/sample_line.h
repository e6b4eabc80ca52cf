#ifndef MNEMO_TOOLS_SAMPLE_LINE_H_
#define MNEMO_TOOLS_SAMPLE_LINE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// A labelled example written as a line of text, as tools/serve's `add`
// lines and --add_examples files give them: from offset `start` of `line`
// (after an "add", say), a label, then the sample as ParseSampleLine reads
// it, a comma and/or whitespace between ("3, 0 0.5 1"). `label` turns the
// label's text into a class id, or refuses it with the reason; the id goes
// to *label_out, the values to out[0, width). Errors as ParseSampleLine's,
// the label being field 1 and the values fields 2 on; columns count from the
// line's start:
//
//   line 4, field 1 (column 5): "x" is neither a class id nor a class name
//   line 4, field 3 (column 9): "0.5x" is not a number
//   line 4: 783 values, but a sample has 784
absl::Status ParseExampleLine(absl::string_view line, size_t start, int64_t line_number, int width,
                              absl::FunctionRef<absl::StatusOr<int32_t>(absl::string_view)> label,
                              int32_t* label_out, float* out);

// A text of labelled examples, one a line as ParseExampleLine reads them
// from the line's start (blank lines skipped), as tools/serve's
// --add_examples file gives them: each example's label and its `width`
// values, row after row. Errors are ParseExampleLine's after "`name`: ".
struct ExampleLines {
  std::vector<int32_t> labels;
  std::vector<float> values;  // labels.size() x width, row-major
};
absl::StatusOr<ExampleLines> ParseExampleLines(
    absl::string_view text, absl::string_view name, int width,
    absl::FunctionRef<absl::StatusOr<int32_t>(absl::string_view)> label);

// Whether `line` is one of tools/serve's add lines, "add LABEL VALUES...":
// the word add (after any whitespace), then whitespace or the end. *after gets
// the offset past the word, where ParseExampleLine starts.
bool IsAddLine(absl::string_view line, size_t* after);

// A line with nothing but whitespace holds no sample (tools/serve skips it).
bool IsBlankLine(absl::string_view line);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_SAMPLE_LINE_H_
