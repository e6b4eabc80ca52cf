#ifndef MNEMO_CORE_CONFIG_DIFF_H_
#define MNEMO_CORE_CONFIG_DIFF_H_

#include <string>

namespace mnemo {

// How two configs, as protobuf text, differ: the lines only the first has
// and those only the second has, each qualified by the path of messages it is
// in ("trainer.epochs: 3"), order ignored, quoted for a message
// ("`trainer.epochs: 3`, `seed: 1` and 2 more"; "nothing else" for none).
struct ConfigDifference {
  bool same = true;  // the texts hold the same lines (the rest is empty then)
  std::string only_first;
  std::string only_second;
  bool empty() const { return same; }
};
ConfigDifference DiffConfigText(const std::string& first, const std::string& second);

}  // namespace mnemo

#endif  // MNEMO_CORE_CONFIG_DIFF_H_
