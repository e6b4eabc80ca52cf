#include "tests/fuzz/example_lines_input.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mnemo::fuzz {

absl::StatusOr<int32_t> ExampleLabel(absl::string_view text) {
  if (text == "cat") return 0;
  if (text == "dog") return 1;
  int32_t id = 0;
  if (!absl::SimpleAtoi(text, &id) || id < 0) {
    return absl::InvalidArgumentError("not a class id or name");
  }
  if (id >= kExampleClasses) {
    return absl::InvalidArgumentError(absl::StrCat("class ", id, " is not one the memory holds"));
  }
  return id;
}

}  // namespace mnemo::fuzz
