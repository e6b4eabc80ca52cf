#ifndef MNEMO_TOOLS_DATA_CLASS_SELECTION_H_
#define MNEMO_TOOLS_DATA_CLASS_SELECTION_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/config.pb.h"
#include "core/dataset.h"

namespace mnemo {

// The data section's class selection, for studies of classes a network
// learns badly:
//  - data.rare_classes: the training set keeps `keep` samples of each of
//    these classes, drawn with `seed` class by class (the first `keep` of the
//    class's samples in a seeded shuffle, kept in the file's order), all of a
//    class that has fewer; the validation and test sets keep theirs.
//  - data.held_out_classes: left out of the training and validation sets;
//    the test set keeps them.
// The other classes are untouched, so a run with a selection differs from
// one without only in the selected classes' training samples. A class
// named that has no training sample (before the selection) is an error
// naming the field: the data it was meant for is not what was loaded.
// Classification only (the loader refuses it for a regression model).
absl::Status SelectClasses(const config::Data& config, uint64_t seed, TrainTestData* data);

// The indices of the samples of class `label` in `data` that data.rare_classes
// with `keep` keeps, drawn with `seed`, in order. The draws nest: the
// samples kept with keep = 5 are among those kept with keep = 10.
std::vector<int32_t> DrawClassSamples(const Dataset& data, int32_t label, int keep, uint64_t seed);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_DATA_CLASS_SELECTION_H_
