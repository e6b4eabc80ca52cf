// What the oneDNN backend allocates once warmed up. Every heap allocation of
// the process is counted (tests/testing/allocation_counter). The plugin
// keeps every buffer between steps (memory objects, scratchpads, packed
// weights); what remains is oneDNN's own: dnnl_primitive_execute builds a
// hash map of the arguments on the heap at every call, which no caller can
// avoid. The tests pin that down: beyond what core allocates on the
// reference backend, a step allocates at most kPerExecution per primitive
// executed, the same at every step and every batch size, so nothing grows
// and no buffer is reallocated.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "gtest/gtest.h"
#include "tests/onednn/onednn_testing.h"
#include "tests/testing/allocation_counter.h"
#include "tests/testing/tensors.h"

namespace mnemo {
namespace {

using ::mnemo::testing::AllocationCounts;
using ::mnemo::testing::AllocationScope;
using ::mnemo::testing::TestRng;

// What one dnnl_primitive_execute allocates inside oneDNN 2.6 (its
// argument map; measured: exactly this many per execution, whatever the
// primitive).
constexpr int kPerExecution = 6;

// The seed MLP on a backend, trained and run.
class Model {
 public:
  explicit Model(const std::string& backend) {
    ConfigLoader loader;
    absl::StatusOr<std::unique_ptr<LoadedConfig>> config = loader.LoadText(
        "model {\n"
        "  input_size: 784\n"
        "  backend: \"" +
            backend +
            "\"\n"
            "  layer { type: \"Dense\" units: 256 activation: \"ReLU\" }\n"
            "  layer { type: \"Dense\" units: 10 }\n"
            "}\n"
            "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 256 epochs: 1 "
            "}\n",
        "seed_mlp.pbtxt");
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return;
    absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
    EXPECT_TRUE(network.ok()) << network.status();
    absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
        CreateOptimizer((*config)->experiment().trainer().optimizer());
    EXPECT_TRUE(optimizer.ok()) << optimizer.status();
    if (!network.ok() || !optimizer.ok()) return;
    network_ = *std::move(network);
    optimizer_ = *std::move(optimizer);
  }

  bool ok() const { return network_ != nullptr; }

  void TrainStep(const Tensor& x, const std::vector<int32_t>& labels) {
    const ForwardContext context{true, 1, 0};
    absl::StatusOr<const Tensor*> logits = network_->Forward(x, context);
    ASSERT_TRUE(logits.ok());
    ASSERT_TRUE(network_->backend().SoftmaxCrossEntropy(**logits, labels, &grad_, nullptr).ok());
    network_->ZeroGradients();
    ASSERT_TRUE(network_->Backward(grad_, context).ok());
    optimizer_->Step(*network_);
  }

  void Infer(const Tensor& x) {
    absl::StatusOr<const Tensor*> logits = network_->Forward(x, ForwardContext{});
    ASSERT_TRUE(logits.ok());
    network_->strategy().EndPass();
  }

 private:
  std::unique_ptr<Network> network_;
  std::unique_ptr<Optimizer> optimizer_;
  Tensor grad_;
};

// Allocations of `calls` calls of `call` after one warm-up call.
template <typename Call>
AllocationCounts Count(int calls, Call&& call) {
  call();
  AllocationScope scope;
  for (int i = 0; i < calls; ++i) call();
  return scope.counts();
}

class OneDnnAllocationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mnemo::testing::LoadOneDnnPlugin(); }
  TestRng rng_{1};
};

TEST_F(OneDnnAllocationTest, TrainingStepsAllocateOnlyInsideOneDnnsExecute) {
  Model onednn("onednn"), eigen("eigen");
  ASSERT_TRUE(onednn.ok() && eigen.ok());
  const Tensor x = rng_.Random(256, 784, 0.0f, 1.0f);
  const std::vector<int32_t> labels(256, 3);
  const AllocationCounts ten = Count(10, [&] { onednn.TrainStep(x, labels); });
  const AllocationCounts forty = Count(40, [&] { onednn.TrainStep(x, labels); });
  // Core's own per-step allocations (parameter lists built by the network
  // and the optimizer) are the same on both backends.
  const AllocationCounts reference = Count(10, [&] { eigen.TrainStep(x, labels); });
  // Linear in the steps: no buffer grows or is reallocated.
  EXPECT_EQ(forty.total(), 4 * ten.total());
  // A step executes 10 primitives: 3 forward, the softmax, 6 backward.
  EXPECT_LE(ten.total() - reference.total(), 10 * 10 * kPerExecution);
  std::printf("per training step: %.1f allocations on onednn, %.1f on eigen\n", ten.total() / 10.0,
              reference.total() / 10.0);
}

TEST_F(OneDnnAllocationTest, InferenceAllocatesOnlyInsideOneDnnsExecute) {
  Model onednn("onednn"), eigen("eigen");
  ASSERT_TRUE(onednn.ok() && eigen.ok());
  for (int rows : {1, 256}) {
    const Tensor x = rng_.Random(rows, 784, 0.0f, 1.0f);
    const AllocationCounts ten = Count(10, [&] { onednn.Infer(x); });
    const AllocationCounts forty = Count(40, [&] { onednn.Infer(x); });
    const AllocationCounts reference = Count(10, [&] { eigen.Infer(x); });
    EXPECT_EQ(forty.total(), 4 * ten.total()) << rows;
    EXPECT_EQ(reference.total(), 0) << rows;
    // 3 primitives per forward pass.
    EXPECT_LE(ten.total(), 10 * 3 * kPerExecution) << rows;
    std::printf("per inference call at batch %d: %.1f allocations on onednn, %.1f on eigen\n", rows,
                ten.total() / 10.0, reference.total() / 10.0);
  }
}

}  // namespace
}  // namespace mnemo
