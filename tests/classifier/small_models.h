#ifndef MNEMO_TESTS_CLASSIFIER_SMALL_MODELS_H_
#define MNEMO_TESTS_CLASSIFIER_SMALL_MODELS_H_

// Small dual-path classifiers assembled by hand for the tests.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/layers/activations.h"
#include "core/layers/dense.h"
#include "core/network.h"
#include "core/optimizer.h"
#include "core/trainable_model.h"
#include "gtest/gtest.h"
#include "memory_modules/classifier/dual_path_classifier.h"
#include "tests/classifier/exact_memory.h"

namespace mnemo::testing {

inline std::unique_ptr<Layer> MakeDense(const std::string& name, const Tensor& weight,
                                        const Tensor& bias) {
  auto dense =
      std::make_unique<Dense>(static_cast<int>(weight.rows()), static_cast<int>(weight.cols()));
  dense->weight() = weight;
  dense->bias() = bias;
  dense->set_name(name);
  return dense;
}

inline std::unique_ptr<Network> MakeNetwork(std::vector<std::unique_ptr<Layer>> layers) {
  absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(std::move(layers));
  EXPECT_TRUE(network.ok()) << network.status();
  return network.ok() ? *std::move(network) : nullptr;
}

// A classifier whose parts the test keeps pointers to.
struct SmallClassifier {
  std::unique_ptr<DualPathClassifier> classifier;
  ExactMemory* memory = nullptr;
};

inline SmallClassifier Assemble(std::unique_ptr<Network> backbone, std::unique_ptr<Network> head,
                                std::unique_ptr<ExactMemory> memory,
                                DualPathSettings settings = {}) {
  SmallClassifier small;
  small.memory = memory.get();
  absl::StatusOr<std::unique_ptr<DualPathClassifier>> classifier = DualPathClassifier::FromParts(
      std::move(backbone), std::move(head), std::move(memory), settings, "exact_memory");
  EXPECT_TRUE(classifier.ok()) << classifier.status();
  if (classifier.ok()) small.classifier = *std::move(classifier);
  return small;
}

// ComputeGradients of the rows `x` with `labels` (samples 0, 1, ...).
inline absl::StatusOr<StepResult> Gradients(DualPathClassifier& classifier, const Tensor& x,
                                            const std::vector<int32_t>& labels,
                                            const ForwardContext& context) {
  std::vector<int32_t> samples(labels.size());
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<int32_t>(i);
  return classifier.ComputeGradients(Batch{x, labels, samples}, context);
}

// A step as core's training loop takes it: the gradients, the optimizer's
// step over the trainable parameters, then the commit (the memory's store).
inline absl::StatusOr<StepResult> TrainStep(DualPathClassifier& classifier, const Tensor& x,
                                            const std::vector<int32_t>& labels,
                                            const ForwardContext& context, Optimizer& optimizer) {
  absl::StatusOr<StepResult> step = Gradients(classifier, x, labels, context);
  if (!step.ok()) return step;
  optimizer.Step(classifier.TrainableParameters());
  if (absl::Status s = classifier.CommitStep(); !s.ok()) return s;
  return step;
}

// The memory's part of a step's loss, and the head's.
inline float MemoryPart(const StepResult& step) { return step.parts.at(kMemoryLoss); }
inline float ClassificationPart(const StepResult& step) {
  return step.parts.at(kClassificationLoss);
}

// Tensor from rows written out in the test.
inline Tensor Rows(std::initializer_list<std::initializer_list<float>> rows) {
  Tensor t(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows.begin()->size()));
  Eigen::Index r = 0;
  for (const auto& row : rows) {
    Eigen::Index c = 0;
    for (float v : row) t(r, c++) = v;
    ++r;
  }
  return t;
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_CLASSIFIER_SMALL_MODELS_H_
