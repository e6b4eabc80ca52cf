#ifndef MNEMO_TOOLS_MODEL_SUMMARY_H_
#define MNEMO_TOOLS_MODEL_SUMMARY_H_

#include <string>

#include "core/network.h"

namespace mnemo {

// The network on one line, repeated blocks folded and frozen layers marked:
//   784 -> 32 x (Dense(512) -> ReLU(512)) -> Dense(10)
//   784 -> Dense(512, frozen) -> ReLU(512, frozen) -> Dense(10)
std::string DescribeNetwork(const Network& network);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_MODEL_SUMMARY_H_
