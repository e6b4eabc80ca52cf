#ifndef MNEMO_CORE_FIELD_PROBLEM_H_
#define MNEMO_CORE_FIELD_PROBLEM_H_

#include <string>

namespace mnemo {

// One thing wrong with a config, named by its field path ("data.dir",
// "trainer.optimizer.beta1", "model.layer[2].init.std"), so that the config
// loader can point at the field's line and column (LoadedConfig::Describe).
struct FieldProblem {
  std::string field;
  std::string message;
};

}  // namespace mnemo

#endif  // MNEMO_CORE_FIELD_PROBLEM_H_
