#ifndef MNEMO_TOOLS_PYTHON_TRAIN_BINDING_H_
#define MNEMO_TOOLS_PYTHON_TRAIN_BINDING_H_
// mnemo.train: tools/train's run (tools/train_run.h) from Python, its
// settings as keyword arguments, its epochs reported to a Python callable and
// its results returned as a dict.

#include <pybind11/pybind11.h>

namespace mnemo::python {

// The docstring of mnemo.train.
extern const char kTrainDoc[];

// mnemo.train(config, out=None, overrides=None, progress=None, **settings).
pybind11::dict Train(const std::string& config, const pybind11::object& out,
                     const pybind11::object& overrides, const pybind11::object& progress,
                     const pybind11::kwargs& settings);

}  // namespace mnemo::python

#endif  // MNEMO_TOOLS_PYTHON_TRAIN_BINDING_H_
