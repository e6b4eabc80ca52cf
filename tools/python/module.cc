// The Python module `mnemo`: load plugins, serve a trained model on NumPy
// arrays (read in place), and train from a config.
//
//   PYTHONPATH=bazel-bin/tools/python /usr/bin/python3 -c "import mnemo; ..."

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/inference/predictor.h"
#include "core/plugin_loader.h"
#include "tools/data/formats.h"
#include "tools/python/sample_array.h"
#include "tools/python/status_error.h"
#include "tools/python/train_binding.h"

namespace mnemo::python {
namespace {

namespace py = pybind11;

std::string LoadPlugin(const std::string& path) {
  absl::StatusOr<LoadedPlugin> plugin;
  {
    py::gil_scoped_release release;
    absl::StatusOr<std::string> resolved = PluginLoader::Resolve(path, ".");
    plugin = resolved.ok() ? PluginLoader::Global().Load(*resolved)
                           : absl::StatusOr<LoadedPlugin>(resolved.status());
  }
  return ValueOrThrow(std::move(plugin)).name;
}

// A Predictor for Python: one call at a time (the C++ object is not
// thread-safe; the GIL is released while it runs, so a lock stands in).
class PyPredictor {
 public:
  PyPredictor(const std::string& model, const std::string& config, const py::object& plugin_path) {
    PredictorOptions options;
    if (py::isinstance<py::str>(plugin_path)) {
      options.plugin_path.push_back(plugin_path.cast<std::string>());
    } else if (!plugin_path.is_none()) {
      options.plugin_path = plugin_path.cast<std::vector<std::string>>();
    }
    absl::StatusOr<std::unique_ptr<Predictor>> loaded;
    {
      py::gil_scoped_release release;
      loaded = Predictor::Load(config, model, options);
    }
    predictor_ = ValueOrThrow(std::move(loaded));
  }

  // The outputs are allocated before the call and filled from the
  // predictor's buffers under the lock (the one copy of each output): the
  // lock is only ever taken with the GIL released.
  py::object Classify(const py::object& x) {
    if (predictor_->regression()) {
      CheckOk(absl::FailedPreconditionError(
          "classify on a regression model, which answers values: use predict"));
    }
    SampleArray samples(x, predictor_->input_size());
    py::array_t<int32_t> labels(samples.rows());
    int32_t* out = labels.mutable_data();
    absl::Status status;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      absl::StatusOr<Predictions> predictions = predictor_->Classify(samples.floats());
      status = predictions.status();
      if (status.ok()) {
        std::memcpy(out, predictions->labels.data(), predictions->labels.size() * sizeof(int32_t));
      }
    }
    CheckOk(status);
    if (samples.one_sample()) return py::int_(out[0]);
    return std::move(labels);
  }

  py::object Predict(const py::object& x) {
    SampleArray samples(x, predictor_->input_size());
    const py::ssize_t outputs = predictor_->num_classes();
    py::array_t<float> values = samples.one_sample()
                                    ? py::array_t<float>(outputs)
                                    : py::array_t<float>({samples.rows(), outputs});
    float* out = values.mutable_data();
    absl::Status status;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      absl::StatusOr<Predictions> predictions = predictor_->Classify(samples.floats());
      status = predictions.status();
      if (status.ok()) {
        std::memcpy(out, predictions->logits->data(), predictions->logits->size() * sizeof(float));
      }
    }
    CheckOk(status);
    return std::move(values);
  }

  py::object Probabilities() {
    absl::StatusOr<Tensor> copy;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      absl::StatusOr<const Tensor*> p = predictor_->Probabilities();
      if (p.ok()) {
        copy = **p;
      } else {
        copy = p.status();
      }
    }
    const Tensor& p = ValueOrThrow(std::move(copy));
    py::array_t<float> result(
        {static_cast<py::ssize_t>(p.rows()), static_cast<py::ssize_t>(p.cols())});
    std::memcpy(result.mutable_data(), p.data(), p.size() * sizeof(float));
    return std::move(result);
  }

  const Predictor& predictor() const { return *predictor_; }

 private:
  std::unique_ptr<Predictor> predictor_;
  std::mutex mu_;
};

}  // namespace

PYBIND11_MODULE(mnemo, m) {
  // The data formats of the configs that mnemo.train reads (csv, npy, idx, ...).
  if (absl::Status s = RegisterDataFormats(); !s.ok()) {
    throw py::import_error(std::string(s.message()));
  }
  m.doc() = R"doc(mnemo from Python: serve trained models on NumPy arrays, train from configs,
load plugins.

    import numpy as np, mnemo
    p = mnemo.Predictor("out/cancer_csv/model.safetensors")
    labels = p.classify(np.zeros((4, p.input_size), dtype=np.float32))
    result = mnemo.train("configs/cancer_csv.pbtxt", out="/tmp/run", epochs=3)

Errors from the C++ side keep its message: FileNotFoundError (a missing
file), ValueError (a bad argument or value), RuntimeError (anything else).
)doc";

  m.def("load_plugin", &LoadPlugin, py::arg("path"),
        R"doc(Loads a plugin shared object into the process and returns its name.

A relative path is looked for as a config's `plugin:` is (the working
directory, $MNEMO_PLUGIN_PATH, the workspace's bazel-bin, the SDK's plugin
directory). Loading one already loaded is a no-op. Raises FileNotFoundError
when it is nowhere, RuntimeError (or ValueError) when it is refused (another
ABI, a second copy), with the loader's message.)doc");

  m.def("train", &Train, py::arg("config"), py::arg("out") = py::none(),
        py::arg("overrides") = py::none(), py::arg("progress") = py::none(), kTrainDoc);

  py::class_<PyPredictor>(m, "Predictor", R"doc(A trained model, ready to classify.

    p = mnemo.Predictor("out/run/model.safetensors")       # its stored config
    p = mnemo.Predictor(model, config="configs/x.pbtxt")   # or a given one
    labels = p.classify(x)   # x: float32, C-contiguous, samples x input_size

Inputs are read in place through the buffer protocol (no conversion, no copy
on the Python side; C++ copies the samples once into the predictor's input
buffer). The GIL is released while the model runs; calls on one Predictor
are serialised. Outputs are new NumPy arrays (copies of the predictor's
buffers, which its next call reuses).)doc")
      .def(py::init<const std::string&, const std::string&, const py::object&>(), py::arg("model"),
           py::arg("config") = "", py::arg("plugin_path") = py::none(),
           R"doc(Loads `model` (a model.safetensors written by training).

Args:
  model: the model file.
  config: the experiment config; "" uses the config stored in the model
    file. A given config must describe the model in the file.
  plugin_path: a directory, or a list of them, where the config's plugins are
    looked for first.

Raises FileNotFoundError for a missing file, ValueError for a config or model
that is wrong (the file, line and field named), RuntimeError otherwise.)doc")
      .def("classify", &PyPredictor::Classify, py::arg("x"),
           R"doc(The class id of each sample: an int32 array of len(x), or an int for a
1-D x (one sample).

x: a C-contiguous float32 array, samples x input_size (or input_size
floats). Another dtype raises TypeError and a non-contiguous array
ValueError: pass np.ascontiguousarray(x, dtype=np.float32). Another width, a
NaN or an infinity raises ValueError naming the sample and feature. A
regression model raises RuntimeError: use predict.)doc")
      .def("predict", &PyPredictor::Predict, py::arg("x"),
           R"doc(The network's outputs for each sample: a float32 array of samples x
outputs (a regression model's values, a classifier's logits); outputs floats
for a 1-D x. x as for classify.)doc")
      .def("probabilities", &PyPredictor::Probabilities,
           R"doc(The class probabilities (softmax of the logits; two columns for a single
sigmoid output) of the last classify or predict call: a float32 array of
samples x classes. RuntimeError before any call, or for a regression
model.)doc")
      .def(
          "class_label", [](const PyPredictor& p, int id) { return p.predictor().ClassLabel(id); },
          py::arg("id"),
          "The original label of class `id` (a CSV's \"malignant\"), else the id as text.")
      .def_property_readonly(
          "input_size", [](const PyPredictor& p) { return p.predictor().input_size(); },
          "The features each sample has.")
      .def_property_readonly(
          "num_classes", [](const PyPredictor& p) { return p.predictor().num_classes(); },
          "The network's outputs: classes (1 for a sigmoid classifier), or targets.")
      .def_property_readonly(
          "regression", [](const PyPredictor& p) { return p.predictor().regression(); },
          "Whether the model answers values (predict) rather than classes.")
      .def_property_readonly(
          "names",
          [](const PyPredictor& p) {
            const config::DataNames& n = p.predictor().names();
            py::dict d;
            d["features"] = std::vector<std::string>(n.feature().begin(), n.feature().end());
            d["targets"] = std::vector<std::string>(n.target().begin(), n.target().end());
            d["classes"] = std::vector<std::string>(n.class_label().begin(), n.class_label().end());
            return d;
          },
          "What the training data called its features, targets and classes (empty lists "
          "for IDX and CIFAR-10 data).")
      .def("__repr__", [](const PyPredictor& p) {
        return absl::StrCat("<mnemo.Predictor ", p.predictor().input_size(), " -> ",
                            p.predictor().num_classes(),
                            p.predictor().regression() ? " values" : " classes", ">");
      });
}

}  // namespace mnemo::python
