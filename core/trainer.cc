#include "core/trainer.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "core/init.h"

namespace mnemo {
namespace {

// Stream ids for DeriveSeed; layers use their index, so these stay clear of it.
constexpr uint64_t kShuffleStream = 0x5348554646000000ull;  // "SHUFF"

// SplitMix64: tiny, fast and identical everywhere, unlike std::shuffle, whose
// sequence depends on the standard library.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) without modulo bias (Lemire's method).
  uint32_t Below(uint32_t bound) {
    uint64_t product = (Next() >> 32) * bound;
    uint32_t low = static_cast<uint32_t>(product);
    if (low < bound) {
      const uint32_t threshold = -bound % bound;
      while (low < threshold) {
        product = (Next() >> 32) * bound;
        low = static_cast<uint32_t>(product);
      }
    }
    return static_cast<uint32_t>(product >> 32);
  }

 private:
  uint64_t state_;
};

void Shuffle(uint64_t seed, std::vector<int32_t>* order) {
  SplitMix64 rng(seed);
  for (size_t i = order->size(); i > 1; --i) {
    std::swap((*order)[i - 1], (*order)[rng.Below(static_cast<uint32_t>(i))]);
  }
}

// Copies the rows `indices` of `data` into `batch` (resized only when the
// batch size changes, i.e. for the last, shorter batch).
void Gather(const Dataset& data, const int32_t* indices, int count, Tensor* batch,
            std::vector<int32_t>* labels) {
  const int width = static_cast<int>(data.features.cols());
  if (batch->rows() != count || batch->cols() != width) batch->resize(count, width);
  labels->resize(count);
  for (int i = 0; i < count; ++i) {
    batch->row(i) = data.features.row(indices[i]);
    (*labels)[i] = data.labels[indices[i]];
  }
}

absl::Status CheckShapes(const Network& network, const Dataset& data,
                         const char* what) {
  if (data.features.cols() != network.input_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", what, " set has ", data.features.cols(),
        " features per sample but the model's input_size is ", network.input_size()));
  }
  if (data.num_classes > network.output_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", what, " set has ", data.num_classes, " classes but the model has ",
        network.output_size(), " outputs"));
  }
  if (data.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " set is empty"));
  }
  return absl::OkStatus();
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

absl::StatusOr<Trainer> Trainer::Create(const config::Trainer& config,
                                        Network* network, Optimizer* optimizer) {
  if (config.batch_size() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "trainer.batch_size must be > 0 (got ", config.batch_size(), ")"));
  }
  if (config.epochs() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainer.epochs must be > 0 (got ", config.epochs(), ")"));
  }
  return Trainer(config, network, optimizer);
}

absl::StatusOr<EpochMetrics> Trainer::TrainEpoch(const Dataset& train, int epoch,
                                                 TrainingObserver* observer) {
  if (absl::Status s = CheckShapes(*network_, train, "training"); !s.ok()) return s;
  const auto start = std::chrono::steady_clock::now();
  const int n = train.size();
  if (static_cast<int>(order_.size()) != n) {
    order_.resize(n);
  }
  std::iota(order_.begin(), order_.end(), 0);
  if (!config_.has_shuffle() || config_.shuffle()) {
    Shuffle(DeriveSeed(config_.seed(), kShuffleStream + epoch), &order_);
  }

  const int batch_size = config_.batch_size();
  const int num_batches = (n + batch_size - 1) / batch_size;
  if (observer) observer->OnEpochStart(epoch, num_batches);

  double loss_sum = 0;
  int64_t correct = 0;
  for (int b = 0; b < num_batches; ++b) {
    const int begin = b * batch_size;
    const int count = std::min(batch_size, n - begin);
    Gather(train, order_.data() + begin, count, &batch_, &batch_labels_);

    const ForwardContext context{/*training=*/true, config_.seed(), step_};
    absl::StatusOr<const Tensor*> logits = network_->Forward(batch_, context);
    if (!logits.ok()) return logits.status();
    int batch_correct = 0;
    absl::StatusOr<float> loss = network_->backend().SoftmaxCrossEntropy(
        **logits, batch_labels_, &grad_logits_, &batch_correct);
    if (!loss.ok()) {
      network_->strategy().EndPass();
      return loss.status();
    }
    network_->ZeroGradients();
    if (absl::Status s = network_->Backward(grad_logits_, context); !s.ok()) return s;
    optimizer_->Step(*network_);
    ++step_;

    loss_sum += *loss;
    correct += batch_correct;
    if (observer) observer->OnBatchEnd(epoch, b + 1, *loss);
  }

  EpochMetrics metrics;
  metrics.epoch = epoch;
  metrics.train_loss = loss_sum / num_batches;
  metrics.train_accuracy = static_cast<double>(correct) / n;
  metrics.train_seconds = Seconds(start);
  metrics.samples_per_second = n / metrics.train_seconds;
  return metrics;
}

absl::StatusOr<std::vector<EpochMetrics>> Trainer::Fit(const Dataset& train,
                                                       const Dataset& test,
                                                       TrainingObserver* observer) {
  if (absl::Status s = CheckShapes(*network_, test, "test"); !s.ok()) return s;
  std::vector<EpochMetrics> history;
  for (int epoch = 1; epoch <= config_.epochs(); ++epoch) {
    absl::StatusOr<EpochMetrics> metrics = TrainEpoch(train, epoch, observer);
    if (!metrics.ok()) return metrics.status();
    absl::StatusOr<Evaluation> evaluation =
        Evaluate(*network_, test, config_.batch_size());
    if (!evaluation.ok()) return evaluation.status();
    metrics->test_loss = evaluation->loss;
    metrics->test_accuracy = evaluation->accuracy;
    if (observer) observer->OnEpochEnd(*metrics);
    history.push_back(*metrics);
  }
  return history;
}

void EpochOrder(const config::Trainer& config, int epoch, int n, std::vector<int32_t>* order) {
  order->resize(n);
  std::iota(order->begin(), order->end(), 0);
  if (!config.has_shuffle() || config.shuffle()) {
    Shuffle(DeriveSeed(config.seed(), kShuffleStream + epoch), order);
  }
}

void GatherBatch(const Dataset& data, const int32_t* indices, int count, Tensor* batch,
                 std::vector<int32_t>* labels) {
  Gather(data, indices, count, batch, labels);
}

absl::StatusOr<Evaluation> Evaluate(Network& network, const Dataset& data,
                                    int batch_size) {
  if (absl::Status s = CheckShapes(network, data, "evaluation"); !s.ok()) return s;
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be > 0 (got ", batch_size, ")"));
  }
  const int n = data.size();
  double loss_sum = 0;
  int64_t correct = 0;
  Tensor batch;  // reused: only the last, shorter batch reallocates
  for (int begin = 0; begin < n; begin += batch_size) {
    const int count = std::min(batch_size, n - begin);
    batch = data.features.middleRows(begin, count);
    absl::StatusOr<const Tensor*> logits =
        network.Forward(batch, ForwardContext{/*training=*/false, 0, 0});
    if (!logits.ok()) return logits.status();
    int batch_correct = 0;
    absl::StatusOr<float> loss = network.backend().SoftmaxCrossEntropy(
        **logits, absl::MakeConstSpan(data.labels).subspan(begin, count), nullptr, &batch_correct);
    network.strategy().EndPass();
    if (!loss.ok()) return loss.status();
    loss_sum += static_cast<double>(*loss) * count;
    correct += batch_correct;
  }
  Evaluation evaluation;
  evaluation.samples = n;
  evaluation.loss = loss_sum / n;
  evaluation.accuracy = static_cast<double>(correct) / n;
  return evaluation;
}

}  // namespace mnemo
