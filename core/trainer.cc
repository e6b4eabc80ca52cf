#include "core/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/init.h"
#include "core/nonfinite.h"

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

int NumBatches(int samples, int batch_size) { return (samples + batch_size - 1) / batch_size; }

// "step 58 (epoch 2, batch 18 of 40)": the step `progress` is about to take,
// counted from 1, for messages.
std::string StepName(const TrainingProgress& progress, int num_batches) {
  return absl::StrCat("step ", progress.step + 1, " (epoch ", progress.epoch, ", batch ",
                      progress.batch + 1, " of ", num_batches, ")");
}

// The metrics of the epoch `progress` has trained (not yet evaluated). With
// no step skipped the means are over every batch and sample, as they always
// were.
EpochMetrics EpochMetricsOf(const TrainingProgress& progress, int samples) {
  EpochMetrics metrics;
  metrics.epoch = progress.epoch;
  metrics.train_loss = progress.loss_sum / (progress.batch - progress.skipped);
  metrics.train_accuracy = static_cast<double>(progress.correct) / progress.samples;
  metrics.train_seconds = progress.train_seconds;
  metrics.samples_per_second = samples / progress.train_seconds;
  metrics.skipped_steps = progress.skipped;
  return metrics;
}

// A non-finite element of a tensor and where it is.
struct Cell {
  Eigen::Index row = 0;
  Eigen::Index col = 0;
  float value = 0;
};

std::optional<Cell> FirstNonFinite(const Tensor& tensor) {
  if (AllFinite(tensor)) return std::nullopt;
  for (Eigen::Index r = 0; r < tensor.rows(); ++r) {
    for (Eigen::Index c = 0; c < tensor.cols(); ++c) {
      if (!std::isfinite(tensor(r, c))) return Cell{r, c, tensor(r, c)};
    }
  }
  return std::nullopt;
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
  if (!config::Trainer::NonFinite_IsValid(config.nonfinite())) {
    return absl::InvalidArgumentError(absl::StrCat("trainer.nonfinite ", config.nonfinite(),
                                                   " is unknown (known: STOP, SKIP_STEP)"));
  }
  return Trainer(config, network, optimizer);
}

absl::StatusOr<EpochMetrics> Trainer::TrainEpoch(const Dataset& train, int epoch,
                                                 TrainingObserver* observer) {
  if (absl::Status s = CheckShapes(*network_, train, "training"); !s.ok()) return s;
  TrainingProgress progress;
  progress.epoch = epoch;
  progress.step = step_;
  bool stopped = false;
  if (absl::Status s = TrainBatches(train, &progress, observer, nullptr, &stopped); !s.ok()) {
    return s;
  }
  return EpochMetricsOf(progress, train.size());
}

absl::Status Trainer::TrainBatches(const Dataset& train, TrainingProgress* progress,
                                   TrainingObserver* observer, TrainingHook* hook, bool* stopped) {
  *stopped = false;
  const auto start = std::chrono::steady_clock::now();
  const double seconds_before = progress->train_seconds;
  const int n = train.size();
  EpochOrder(config_, progress->epoch, n, &order_);
  const int batch_size = config_.batch_size();
  const int num_batches = NumBatches(n, batch_size);
  if (observer) observer->OnEpochStart(progress->epoch, num_batches);
  const bool skip_nonfinite = config_.nonfinite() == config::Trainer::SKIP_STEP;

  while (progress->batch < num_batches) {
    const int begin = progress->batch * batch_size;
    const int count = std::min(batch_size, n - begin);
    Gather(train, order_.data() + begin, count, &batch_, &batch_labels_);

    const ForwardContext context{/*training=*/true, config_.seed(), progress->step};
    absl::StatusOr<const Tensor*> logits = network_->Forward(batch_, context);
    if (!logits.ok()) return logits.status();
    int batch_correct = 0;
    absl::StatusOr<float> loss = network_->backend().SoftmaxCrossEntropy(
        **logits, batch_labels_, &grad_logits_, &batch_correct);
    if (!loss.ok()) {
      network_->strategy().EndPass();
      return loss.status();
    }
    // Why this step may not update the weights; empty when it may.
    std::string nonfinite;
    if (!std::isfinite(*loss)) {
      nonfinite = DescribeNonFiniteLoss(*progress, num_batches, begin, *loss);
      network_->strategy().EndPass();  // no backward pass for this forward one
    } else {
      network_->ZeroGradients();
      if (absl::Status s = network_->Backward(grad_logits_, context); !s.ok()) return s;
      if (std::optional<NonFiniteValue> bad = FindNonFiniteGradient(*network_)) {
        nonfinite = absl::StrCat(StepName(*progress, num_batches), ": the gradient of ",
                                 bad->ToString(), " (the loss was ", *loss, ")");
      }
    }
    if (nonfinite.empty()) {
      optimizer_->Step(*network_);
      progress->loss_sum += *loss;
      progress->correct += batch_correct;
      progress->samples += count;
    } else if (skip_nonfinite) {
      ++progress->skipped;
      if (observer) observer->OnStepSkipped(nonfinite);
    } else {
      return absl::OutOfRangeError(
          absl::StrCat(nonfinite,
                       "; training stopped before the weights took it (trainer.nonfinite "
                       "SKIP_STEP would skip such steps instead)"));
    }
    ++progress->step;
    ++progress->batch;
    step_ = progress->step;

    if (observer) observer->OnBatchEnd(progress->epoch, progress->batch, *loss);
    // After an epoch's last step the next point is its end, once evaluated.
    if (hook != nullptr && progress->batch < num_batches) {
      progress->train_seconds = seconds_before + Seconds(start);
      absl::StatusOr<TrainingHook::Decision> decision = hook->AfterStep(*progress, false);
      if (!decision.ok()) return decision.status();
      if (*decision == TrainingHook::Decision::kStop) {
        *stopped = true;
        return absl::OkStatus();
      }
    }
  }
  progress->train_seconds = seconds_before + Seconds(start);
  return absl::OkStatus();
}

std::string Trainer::DescribeNonFiniteLoss(const TrainingProgress& progress, int num_batches,
                                           int batch_begin, float loss) {
  const std::string where =
      absl::StrCat(StepName(progress, num_batches), ": the loss is ", loss, "; ");
  if (std::optional<NonFiniteValue> bad = FindNonFiniteParameter(*network_)) {
    return absl::StrCat(where, bad->ToString(), " already");
  }
  if (std::optional<Cell> cell = FirstNonFinite(batch_)) {
    return absl::StrCat(where, "training sample ", order_[batch_begin + cell->row], " has feature ",
                        cell->col, " = ", cell->value);
  }
  // The parameters and the inputs are finite, so some layer's output
  // overflowed: find the lowest, asking for the activations in the order a
  // backward pass does (core/cache_strategy.h).
  const int num = network_->num_layers();
  int lowest = -1;
  Cell lowest_cell;
  for (int i = num; i >= 1; --i) {
    if (i < num && !network_->strategy().Activation(i + 1).ok()) break;
    absl::StatusOr<const Tensor*> output = network_->strategy().Activation(i);
    if (!output.ok()) break;
    if (std::optional<Cell> cell = FirstNonFinite(**output)) {
      lowest = i - 1;
      lowest_cell = *cell;
    }
  }
  if (lowest < 0) return absl::StrCat(where, "the parameters and the inputs are finite");
  Layer& layer = network_->layer(lowest);
  std::string text = absl::StrCat(
      where,
      "the parameters and the inputs are finite; the first layer whose output is not: "
      "layer \"",
      layer.name(), "\" (", layer.type(), "), element [", lowest_cell.row, ", ", lowest_cell.col,
      "] = ", lowest_cell.value, " (training sample ", order_[batch_begin + lowest_cell.row], ")");
  // How large its parameters have grown says whether they overflowed it.
  for (const Parameter& p : layer.parameters()) {
    if (p.value->size() == 0) continue;
    absl::StrAppend(&text, ", largest |", p.name, "| ", p.value->cwiseAbs().maxCoeff());
  }
  return text;
}

absl::Status Trainer::Run(const Dataset& train, const Dataset& test, TrainingProgress* progress,
                          TrainingObserver* observer, TrainingHook* hook) {
  if (absl::Status s = CheckShapes(*network_, train, "training"); !s.ok()) return s;
  if (absl::Status s = CheckShapes(*network_, test, "test"); !s.ok()) return s;
  const int epochs = config_.epochs();
  const int num_batches = NumBatches(train.size(), config_.batch_size());
  if (progress->epoch < 1 || progress->epoch > epochs + 1 || progress->batch < 0 ||
      progress->batch > num_batches || (progress->epoch > epochs && progress->batch != 0) ||
      progress->history.size() != static_cast<size_t>(progress->epoch - 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot go on from epoch ", progress->epoch, ", batch ", progress->batch,
                     " with ", progress->history.size(), " epochs done: this run has ", epochs,
                     " epochs of ", num_batches, " batches"));
  }
  step_ = progress->step;
  while (progress->epoch <= epochs) {
    bool stopped = false;
    if (absl::Status s = TrainBatches(train, progress, observer, hook, &stopped); !s.ok()) {
      return s;
    }
    if (stopped) return absl::OkStatus();
    EpochMetrics metrics = EpochMetricsOf(*progress, train.size());
    absl::StatusOr<Evaluation> evaluation = Evaluate(*network_, test, config_.batch_size());
    if (!evaluation.ok()) return evaluation.status();
    metrics.test_loss = evaluation->loss;
    metrics.test_accuracy = evaluation->accuracy;
    if (observer) observer->OnEpochEnd(metrics);

    TrainingProgress next;
    next.epoch = progress->epoch + 1;
    next.step = progress->step;
    next.history = std::move(progress->history);
    next.history.push_back(metrics);
    *progress = std::move(next);
    if (hook != nullptr) {
      absl::StatusOr<TrainingHook::Decision> decision = hook->AfterStep(*progress, true);
      if (!decision.ok()) return decision.status();
      if (*decision == TrainingHook::Decision::kStop) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EpochMetrics>> Trainer::Fit(const Dataset& train,
                                                       const Dataset& test,
                                                       TrainingObserver* observer) {
  TrainingProgress progress;
  if (absl::Status s = Run(train, test, &progress, observer); !s.ok()) return s;
  return std::move(progress.history);
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
