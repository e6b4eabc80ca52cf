#ifndef MNEMO_TESTS_FUZZ_EXAMPLE_LINES_INPUT_H_
#define MNEMO_TESTS_FUZZ_EXAMPLE_LINES_INPUT_H_

// The model the example-line reader is fuzzed against (tools/sample_line.h,
// as tools/serve reads --add_examples files and add lines): samples of
// kExampleWidth values, a memory of kExampleClasses classes whose first two
// are named "cat" and "dog".

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mnemo::fuzz {

inline constexpr int kExampleWidth = 3;
inline constexpr int kExampleClasses = 6;

// A label as tools/serve resolves one: a class name, else an id below
// kExampleClasses.
absl::StatusOr<int32_t> ExampleLabel(absl::string_view text);

}  // namespace mnemo::fuzz

#endif  // MNEMO_TESTS_FUZZ_EXAMPLE_LINES_INPUT_H_
