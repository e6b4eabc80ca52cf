#include "tools/model_summary.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mnemo {
namespace {

// A block of up to this many layers repeated at least kMinRepeats times in a
// row is folded ("32 x (...)"); shorter runs stay as they are, easier to read.
constexpr int kMaxBlock = 3;
constexpr int kMinRepeats = 3;

// How many times tokens[begin, begin + period) repeats from `begin`.
int Repeats(const std::vector<std::string>& tokens, size_t begin, size_t period) {
  int count = 1;
  for (size_t next = begin + period; next + period <= tokens.size(); next += period) {
    for (size_t k = 0; k < period; ++k) {
      if (tokens[next + k] != tokens[begin + k]) return count;
    }
    ++count;
  }
  return count;
}

}  // namespace

std::string DescribeNetwork(const Network& network) {
  std::vector<std::string> tokens;
  for (int i = 0; i < network.num_layers(); ++i) {
    const Layer& layer = network.layer(i);
    tokens.push_back(absl::StrCat(layer.type(), "(", layer.output_size(),
                                  layer.trainable() ? "" : ", frozen", ")"));
  }
  std::vector<std::string> parts = {absl::StrCat(network.input_size())};
  for (size_t i = 0; i < tokens.size();) {
    size_t folded = 0;
    for (size_t period = 1; period <= kMaxBlock && i + period <= tokens.size(); ++period) {
      const int repeats = Repeats(tokens, i, period);
      if (repeats < kMinRepeats) continue;
      std::vector<std::string> block(tokens.begin() + i, tokens.begin() + i + period);
      const std::string inner = absl::StrJoin(block, " -> ");
      parts.push_back(absl::StrCat(repeats, " x ", period == 1 ? inner : "(" + inner + ")"));
      folded = period * repeats;
      break;
    }
    if (folded == 0) {
      parts.push_back(tokens[i]);
      folded = 1;
    }
    i += folded;
  }
  return absl::StrJoin(parts, " -> ");
}

}  // namespace mnemo
