#include "core/trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/field_range.h"
#include "core/gradient_clipping.h"
#include "core/init.h"
#include "core/metrics.h"
#include "core/model_tensors.h"
#include "core/nonfinite.h"
#include "core/splitmix64.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"

namespace mnemo {
namespace {

// Stream ids for DeriveSeed; layers use their index, so these stay clear of it.
constexpr uint64_t kShuffleStream = 0x5348554646000000ull;  // "SHUFF"

// Fisher-Yates with SplitMix64 (core/splitmix64.h), not std::shuffle, whose
// sequence depends on the standard library.
void Shuffle(uint64_t seed, std::vector<int32_t>* order) {
  SplitMix64 rng(seed);
  for (size_t i = order->size(); i > 1; --i) {
    std::swap((*order)[i - 1], (*order)[rng.Below(static_cast<uint32_t>(i))]);
  }
}

// "step 58 (epoch 2, batch 18 of 40)": the step `progress` is about to take,
// counted from 1, for messages.
std::string StepName(const TrainingProgress& progress, int num_batches) {
  return absl::StrCat("step ", progress.step + 1, " (epoch ", progress.epoch, ", batch ",
                      progress.batch + 1, " of ", num_batches, ")");
}

// The validation figure `figure` of `metrics`, which `field` (set to
// `metric`) names; an error naming the field when the model's validation has
// no such figure.
absl::StatusOr<double> WatchedFigureOf(const EpochMetrics& metrics, const std::string& figure,
                                       const char* field, const std::string& metric) {
  auto it = metrics.figures.find(figure);
  if (it != metrics.figures.end()) return it->second;
  std::vector<std::string> known;
  for (const auto& [name, value] : metrics.figures) {
    if (absl::StartsWith(name, "val_")) known.push_back(name.substr(4));
  }
  return absl::InvalidArgumentError(absl::StrCat(field, " \"", metric,
                                                 "\" is not a figure of this model's "
                                                 "validation (it has: ",
                                                 absl::StrJoin(known, ", "), ")"));
}

// The figure `schedule` watches of each epoch in `history`; none when it
// watches none.
absl::StatusOr<std::vector<double>> WatchedFigures(const LearningRateSchedule& schedule,
                                                   const std::vector<EpochMetrics>& history) {
  std::vector<double> figures;
  if (schedule.watched_figure().empty()) return figures;
  for (const EpochMetrics& metrics : history) {
    MNEMO_ASSIGN_OR_RETURN(double value, WatchedFigureOf(metrics, schedule.watched_figure(),
                                                         "trainer.optimizer.schedule.metric",
                                                         schedule.watched_metric()));
    figures.push_back(value);
  }
  return figures;
}

// The rate of the last step of `epoch` (1-based); `watched` as
// LearningRateSchedule::Rate takes it.
double EpochRate(const LearningRateSchedule& schedule, int epoch,
                 absl::Span<const double> watched) {
  const uint64_t last_step = static_cast<uint64_t>(epoch) * schedule.steps_per_epoch() - 1;
  return schedule.Rate(last_step, watched);
}

// The metrics of the epoch `progress` has trained (not yet evaluated). With
// no step skipped the means are over every batch and sample.
EpochMetrics EpochMetricsOf(const TrainingProgress& progress, int samples) {
  const int batches = progress.batch - progress.skipped;
  EpochMetrics metrics;
  metrics.epoch = progress.epoch;
  metrics.train_loss = progress.loss_sum / batches;
  metrics.train_accuracy = static_cast<double>(progress.correct) / progress.samples;
  metrics.train_seconds = progress.train_seconds;
  metrics.samples_per_second = samples / progress.train_seconds;
  metrics.skipped_steps = progress.skipped;
  for (const auto& [name, sum] : progress.part_sums) {
    metrics.figures[absl::StrCat("train_", name)] = sum / batches;
  }
  return metrics;
}

}  // namespace

absl::StatusOr<Trainer> Trainer::Create(const config::Trainer& config, TrainableModel* model,
                                        Optimizer* optimizer, Communicator* communicator) {
  MNEMO_RETURN_IF_ERROR(CheckRangesStatus(config, "trainer"));
  if (!config::Trainer::NonFinite_IsValid(config.nonfinite())) {
    return absl::InvalidArgumentError(absl::StrCat("trainer.nonfinite ", config.nonfinite(),
                                                   " is unknown (known: STOP, SKIP_STEP)"));
  }
  if (config.has_early_stopping()) {
    MNEMO_RETURN_IF_ERROR(CheckEarlyStopping(config.early_stopping()));
  }
  if (model == nullptr || optimizer == nullptr) {
    return absl::InvalidArgumentError("a trainer needs a model and an optimizer");
  }
  return Trainer(config, model, optimizer, communicator);
}

absl::StatusOr<Trainer> Trainer::Create(const config::Trainer& config, Network* network,
                                        Optimizer* optimizer, Communicator* communicator) {
  if (network == nullptr) return absl::InvalidArgumentError("a trainer needs a network");
  auto model = std::make_unique<NetworkModel>(network);
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer, Create(config, model.get(), optimizer, communicator));
  trainer.network_model_ = std::move(model);
  return trainer;
}

absl::StatusOr<EpochMetrics> Trainer::TrainEpoch(const Dataset& train, int epoch,
                                                 TrainingObserver* observer) {
  MNEMO_RETURN_IF_ERROR(CheckDataFits(train, model_->input_size(), model_->output_size(),
                                      model_->loss(), "training"));
  MNEMO_ASSIGN_OR_RETURN(const LearningRateSchedule schedule, Schedule(train.size()));
  TrainingProgress progress;
  progress.epoch = epoch;
  progress.step = step_;
  bool stopped = false;
  MNEMO_RETURN_IF_ERROR(
      TrainBatches(train, nullptr, schedule, &progress, observer, nullptr, &stopped));
  EpochMetrics metrics = EpochMetricsOf(progress, train.size());
  metrics.learning_rate = EpochRate(schedule, epoch, {});
  return metrics;
}

absl::StatusOr<LearningRateSchedule> Trainer::Schedule(int train_samples) const {
  return LearningRateSchedule::Create(
      optimizer_->config(), NumBatches(train_samples, config_.batch_size()), config_.epochs());
}

absl::StatusOr<std::vector<double>> Trainer::StepRates(
    int train_samples, const std::vector<EpochMetrics>& history) const {
  MNEMO_ASSIGN_OR_RETURN(const LearningRateSchedule schedule, Schedule(train_samples));
  MNEMO_ASSIGN_OR_RETURN(const std::vector<double> watched, WatchedFigures(schedule, history));
  const uint64_t steps = history.size() * static_cast<uint64_t>(schedule.steps_per_epoch());
  std::vector<double> rates(steps);
  for (uint64_t step = 0; step < steps; ++step) rates[step] = schedule.Rate(step, watched);
  return rates;
}

absl::Status Trainer::TrainBatches(const Dataset& train, const ImageAugmenter* augmenter,
                                   const LearningRateSchedule& schedule, TrainingProgress* progress,
                                   TrainingObserver* observer, TrainingHook* hook, bool* stopped) {
  *stopped = false;
  const Stopwatch stopwatch;
  const double seconds_before = progress->train_seconds;
  const int n = train.size();
  EpochOrder(config_, progress->epoch, n, &order_);
  const int batch_size = config_.batch_size();
  const int num_batches = NumBatches(n, batch_size);
  if (observer) observer->OnEpochStart(progress->epoch, num_batches);
  const bool skip_nonfinite = config_.nonfinite() == config::Trainer::SKIP_STEP;
  // The epochs' figures the schedule reads do not change within an epoch.
  MNEMO_ASSIGN_OR_RETURN(const std::vector<double> watched,
                         WatchedFigures(schedule, progress->history));
  const GradientClipping clipping = GradientClipping::Of(optimizer_->config());
  // Clipping by norm alone takes the norm from the finiteness check's pass.
  double raw_squared_norm = 0;
  double* const norm_in_check = clipping.NormOfRawGradients() ? &raw_squared_norm : nullptr;

  const int rank = communicator_ != nullptr ? communicator_->rank() : 0;
  while (progress->batch < num_batches) {
    const int begin = progress->batch * batch_size;
    const int count = std::min(batch_size, n - begin);
    // This rank's rows of the global batch (all of it in one process); an
    // empty share computes on the batch's first row and contributes nothing.
    const RowShare share = ShareOfRows(count, rank, ranks());
    const int first = begin + (share.rows() > 0 ? share.begin : 0);
    const int rows = std::max(share.rows(), 1);
    GatherBatch(train, order_.data() + first, rows, &batch_, &batch_labels_, &batch_targets_);
    const absl::Span<const int32_t> samples = absl::MakeConstSpan(order_).subspan(first, rows);
    if (augmenter != nullptr) {
      augmenter->AugmentBatch(config_.seed(), progress->epoch, samples, &batch_, &augment_scratch_);
    }
    const Batch batch{batch_, batch_labels_, samples,
                      train.regression() ? &batch_targets_ : nullptr, share.rows() == 0};
    const ForwardContext context{/*training=*/true, config_.seed(), progress->step};
    MNEMO_ASSIGN_OR_RETURN(StepResult result, model_->ComputeGradients(batch, context));
    if (ranks() > 1) MNEMO_RETURN_IF_ERROR(ReduceStep(share.rows(), count, &result));

    // Why this step may not update the weights; empty when it may.
    std::string nonfinite;
    std::vector<ModelParameter> parameters;
    if (!std::isfinite(result.loss)) {
      nonfinite = absl::StrCat(StepName(*progress, num_batches), ": the loss is ", result.loss,
                               "; ", result.nonfinite);
    } else {
      parameters = model_->TrainableParameters();
      if (std::optional<NonFiniteValue> bad = FindNonFiniteGradient(parameters, norm_in_check)) {
        nonfinite = absl::StrCat(StepName(*progress, num_batches), ": the gradient of ",
                                 bad->ToString(), " (the loss was ", result.loss, ")");
      }
    }
    if (nonfinite.empty()) {
      if (clipping.any()) ClipGradients(clipping, parameters, norm_in_check);
      optimizer_->set_learning_rate(schedule.Rate(progress->step, watched));
      optimizer_->Step(parameters);
      MNEMO_RETURN_IF_ERROR(model_->CommitStep());
      if (ranks() > 1) MNEMO_RETURN_IF_ERROR(ReduceBuffers(share.rows(), count));
      progress->loss_sum += result.loss;
      for (const auto& [name, value] : result.parts) progress->part_sums[name] += value;
      progress->correct += result.correct;
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
    if (train.rows) train.rows->Release();  // a data set read on demand stays out of memory

    if (observer) observer->OnBatchEnd(progress->epoch, progress->batch, result);
    // After an epoch's last step the next point is its end, once evaluated.
    if (hook != nullptr && progress->batch < num_batches) {
      progress->train_seconds = seconds_before + stopwatch.ElapsedSeconds();
      MNEMO_ASSIGN_OR_RETURN(TrainingHook::Decision decision, hook->AfterStep(*progress, false));
      MNEMO_ASSIGN_OR_RETURN(decision, AgreeOn(decision));
      if (decision == TrainingHook::Decision::kStop) {
        *stopped = true;
        return absl::OkStatus();
      }
    }
  }
  progress->train_seconds = seconds_before + stopwatch.ElapsedSeconds();
  return absl::OkStatus();
}

absl::Status Trainer::Run(const Dataset& train, const Dataset& test, TrainingProgress* progress,
                          TrainingObserver* observer, TrainingHook* hook) {
  static const Dataset* const kNone = new Dataset;
  return RunSets(train, *kNone, test, std::nullopt, progress, observer, hook);
}

absl::Status Trainer::Run(const TrainTestData& data, TrainingProgress* progress,
                          TrainingObserver* observer, TrainingHook* hook) {
  return RunSets(data.train, data.validation, data.test, data.augmentation, progress, observer,
                 hook);
}

absl::Status Trainer::CheckData(const TrainTestData& data) const {
  MNEMO_RETURN_IF_ERROR(CheckSets(data.train, data.validation, data.test));
  if (data.augmentation.has_value()) {
    MNEMO_RETURN_IF_ERROR(
        ImageAugmenter::Create(*data.augmentation, data.train.feature_dim()).status());
  }
  return absl::OkStatus();
}

absl::Status Trainer::CheckSets(const Dataset& train, const Dataset& validation,
                                const Dataset& test) const {
  const int inputs = model_->input_size();
  const int outputs = model_->output_size();
  MNEMO_RETURN_IF_ERROR(CheckDataFits(train, inputs, outputs, model_->loss(), "training"));
  for (const auto& [set, what] : {std::pair{&validation, "validation"}, std::pair{&test, "test"}}) {
    if (set->size() > 0 || set->feature_dim() > 0) {
      MNEMO_RETURN_IF_ERROR(CheckDataFits(*set, inputs, outputs, model_->loss(), what));
    }
  }
  if (config_.has_early_stopping() && validation.size() == 0) {
    return absl::InvalidArgumentError(
        "trainer.early_stopping needs a validation set: set data.validation_fraction or "
        "data.validation_file");
  }
  MNEMO_ASSIGN_OR_RETURN(const LearningRateSchedule schedule, Schedule(train.size()));
  if (!schedule.watched_figure().empty() && validation.size() == 0) {
    return absl::InvalidArgumentError(
        "trainer.optimizer.schedule.type plateau needs a validation set: set "
        "data.validation_fraction or data.validation_file");
  }
  return absl::OkStatus();
}

absl::Status Trainer::RunSets(const Dataset& train, const Dataset& validation, const Dataset& test,
                              const std::optional<config::Augmentation>& augmentation,
                              TrainingProgress* progress, TrainingObserver* observer,
                              TrainingHook* hook) {
  MNEMO_RETURN_IF_ERROR(CheckSets(train, validation, test));
  std::optional<ImageAugmenter> augmenter;
  if (augmentation.has_value()) {
    MNEMO_ASSIGN_OR_RETURN(augmenter, ImageAugmenter::Create(*augmentation, train.feature_dim()));
  }
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
  if (progress->ranks != ranks()) {
    if (progress->step != 0 && !config_.distributed().resplit()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the run so far split its batches over ", progress->ranks, " rank",
                       progress->ranks == 1 ? "" : "s", " and this one has ", ranks(),
                       ": go on with ", progress->ranks, " (mpirun -np ", progress->ranks,
                       "), or set trainer.distributed.resplit to split the same batches over ",
                       ranks(), " (the result then differs by float rounding)"));
    }
    progress->ranks = ranks();
  }
  MNEMO_ASSIGN_OR_RETURN(const LearningRateSchedule schedule, Schedule(train.size()));
  // The rates of the epochs done (a resumed run's history lacks them).
  {
    MNEMO_ASSIGN_OR_RETURN(const std::vector<double> watched,
                           WatchedFigures(schedule, progress->history));
    for (EpochMetrics& done : progress->history) {
      done.learning_rate = EpochRate(schedule, done.epoch, watched);
    }
  }
  if (progress->epoch == 1 && progress->batch == 0 && progress->step == 0) {
    MNEMO_RETURN_IF_ERROR(model_->FitToTrainingData(train));
  }
  if (ranks() > 1) {
    MNEMO_RETURN_IF_ERROR(model_->ShareStateAcross(communicator_));
    MNEMO_RETURN_IF_ERROR(BroadcastModel());
  }
  step_ = progress->step;
  while (progress->epoch <= epochs && !progress->stopped_early) {
    bool stopped = false;
    MNEMO_RETURN_IF_ERROR(TrainBatches(train, augmenter ? &*augmenter : nullptr, schedule, progress,
                                       observer, hook, &stopped));
    if (stopped) return absl::OkStatus();
    EpochMetrics metrics = EpochMetricsOf(*progress, train.size());
    {
      MNEMO_ASSIGN_OR_RETURN(const std::vector<double> watched,
                             WatchedFigures(schedule, progress->history));
      metrics.learning_rate = EpochRate(schedule, progress->epoch, watched);
    }
    if (validation.size() > 0) MNEMO_RETURN_IF_ERROR(EvaluateInto(validation, "val_", &metrics));
    if (test.size() > 0) MNEMO_RETURN_IF_ERROR(EvaluateInto(test, "test_", &metrics));
    model_->AddEpochFigures(&metrics.figures);
    if (observer) observer->OnEpochEnd(metrics);

    TrainingProgress next;
    next.epoch = progress->epoch + 1;
    next.step = progress->step;
    next.ranks = progress->ranks;
    next.history = std::move(progress->history);
    next.history.push_back(metrics);
    next.best_epoch = progress->best_epoch;
    next.best_value = progress->best_value;
    next.best_model = std::move(progress->best_model);
    *progress = std::move(next);
    if (config_.has_early_stopping()) MNEMO_RETURN_IF_ERROR(TrackBest(metrics, progress));
    if (hook != nullptr) {
      MNEMO_ASSIGN_OR_RETURN(TrainingHook::Decision decision, hook->AfterStep(*progress, true));
      MNEMO_ASSIGN_OR_RETURN(decision, AgreeOn(decision));
      if (decision == TrainingHook::Decision::kStop) return absl::OkStatus();
    }
  }
  if (config_.has_early_stopping()) MNEMO_RETURN_IF_ERROR(RestoreBest(*progress));
  return absl::OkStatus();
}

absl::Status Trainer::ReduceStep(int rows, int count, StepResult* result) {
  // Each rank's loss and gradients are means over its rows: weighted by its
  // share they sum to the global batch's mean. A non-finite loss has no
  // gradients (no backward pass): the rank sends zeros and its flag, and
  // every rank then sees the global loss as NaN.
  const std::vector<ModelParameter> parameters = model_->TrainableParameters();
  const bool finite = std::isfinite(result->loss);
  const float weight = rows > 0 && finite ? static_cast<float>(rows) / count : 0.0f;
  size_t total = 0;
  for (const ModelParameter& p : parameters) total += static_cast<size_t>(p.gradient->size());
  fused_.resize(total);
  // Zeros rather than products with 0: a gradient left from a skipped step
  // may hold an infinity.
  size_t at = 0;
  for (const ModelParameter& p : parameters) {
    const float* g = p.gradient->data();
    const size_t size = static_cast<size_t>(p.gradient->size());
    float* out = fused_.data() + at;
    if (weight != 0) {
      for (size_t i = 0; i < size; ++i) out[i] = weight * g[i];
    } else {
      std::fill(out, out + size, 0.0f);
    }
    at += size;
  }
  const size_t tail = fused_.size();
  fused_.push_back(weight != 0 ? weight * result->loss : 0.0f);
  fused_.push_back(rows > 0 ? static_cast<float>(result->correct) : 0.0f);
  for (const auto& [name, value] : result->parts) {
    fused_.push_back(weight != 0 ? weight * static_cast<float>(value) : 0.0f);
  }
  for (int r = 0; r < ranks(); ++r) {
    fused_.push_back(r == communicator_->rank() && rows > 0 && !finite ? 1.0f : 0.0f);
  }
  MNEMO_RETURN_IF_ERROR(communicator_->AllReduceSum(absl::MakeSpan(fused_)));

  at = 0;
  for (const ModelParameter& p : parameters) {
    float* g = p.gradient->data();
    const size_t size = static_cast<size_t>(p.gradient->size());
    std::copy(fused_.begin() + at, fused_.begin() + at + size, g);
    at += size;
  }
  at = tail;
  result->loss = fused_[at++];
  result->correct = static_cast<int>(fused_[at++]);
  for (auto& [name, value] : result->parts) value = fused_[at++];
  std::vector<std::string> nonfinite;
  for (int r = 0; r < ranks(); ++r) {
    if (fused_[at++] != 0.0f) nonfinite.push_back(absl::StrCat(r));
  }
  if (!nonfinite.empty()) {
    result->loss = std::numeric_limits<float>::quiet_NaN();
    result->nonfinite = absl::StrCat("the share of rank ", absl::StrJoin(nonfinite, ", "),
                                     finite ? "" : absl::StrCat(": ", result->nonfinite));
  }
  return absl::OkStatus();
}

absl::Status Trainer::ReduceBuffers(int rows, int count) {
  const std::vector<ModelParameter> buffers = model_->Buffers();
  if (buffers.empty()) return absl::OkStatus();
  const float weight = static_cast<float>(rows) / count;
  fused_.clear();
  for (const ModelParameter& b : buffers) {
    const float* v = b.value->data();
    for (Eigen::Index i = 0; i < b.value->size(); ++i) fused_.push_back(weight * v[i]);
  }
  MNEMO_RETURN_IF_ERROR(communicator_->AllReduceSum(absl::MakeSpan(fused_)));
  size_t at = 0;
  for (const ModelParameter& b : buffers) {
    std::copy(fused_.begin() + at, fused_.begin() + at + b.value->size(), b.value->data());
    at += b.value->size();
    if (b.layer != nullptr) b.layer->MarkParametersUpdated();
  }
  return absl::OkStatus();
}

absl::Status Trainer::BroadcastModel() {
  std::vector<ModelParameter> tensors = model_->Parameters();
  for (ModelParameter& b : model_->Buffers()) tensors.push_back(b);
  for (const ModelParameter& t : tensors) {
    MNEMO_RETURN_IF_ERROR(communicator_->Broadcast(
        absl::MakeSpan(t.value->data(), static_cast<size_t>(t.value->size())), 0));
    if (t.layer != nullptr) t.layer->MarkParametersUpdated();
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainingHook::Decision> Trainer::AgreeOn(TrainingHook::Decision decision) {
  if (ranks() == 1) return decision;
  float stop = decision == TrainingHook::Decision::kStop ? 1.0f : 0.0f;
  MNEMO_RETURN_IF_ERROR(communicator_->AllReduceSum(absl::MakeSpan(&stop, 1)));
  return stop > 0 ? TrainingHook::Decision::kStop : TrainingHook::Decision::kContinue;
}

absl::Status Trainer::EvaluateInto(const Dataset& data, const char* prefix, EpochMetrics* metrics) {
  MNEMO_ASSIGN_OR_RETURN(Evaluation evaluation, model_->Evaluate(data, config_.batch_size()));
  if (std::string(prefix) == "test_") {
    metrics->test_loss = evaluation.loss;
    metrics->test_accuracy = evaluation.accuracy;
  } else {
    evaluation.figures["loss"] = evaluation.loss;
    if (!data.regression()) evaluation.figures["accuracy"] = evaluation.accuracy;
  }
  for (const auto& [name, value] : evaluation.figures) {
    metrics->figures[absl::StrCat(prefix, name)] = value;
  }
  return absl::OkStatus();
}

absl::Status Trainer::TrackBest(const EpochMetrics& metrics, TrainingProgress* progress) {
  const config::EarlyStopping& config = config_.early_stopping();
  MNEMO_ASSIGN_OR_RETURN(const double value,
                         WatchedFigureOf(metrics, EarlyStoppingFigure(config),
                                         "trainer.early_stopping.metric", config.metric()));
  const double delta = config.min_delta();
  const bool improved = progress->best_epoch == 0 ||
                        (HigherIsBetter(config.metric().empty() ? "loss" : config.metric())
                             ? value > progress->best_value + delta
                             : value < progress->best_value - delta);
  if (improved) {
    progress->best_epoch = metrics.epoch;
    progress->best_value = value;
    progress->best_model.clear();
    for (const SavedModelTensor& t : SavedModelTensors(*model_)) {
      progress->best_model.emplace(t.name, *t.value);
    }
    for (auto& [name, tensor] : model_->ExportState()) {
      progress->best_model.emplace(absl::StrCat(kStatePrefix, name), std::move(tensor));
    }
  } else if (metrics.epoch - progress->best_epoch >= config.patience()) {
    progress->stopped_early = true;
  }
  return absl::OkStatus();
}

absl::Status Trainer::RestoreBest(const TrainingProgress& progress) {
  if (progress.best_epoch == 0 ||
      progress.best_epoch == static_cast<int>(progress.history.size())) {
    return absl::OkStatus();  // the model is the best epoch's already
  }
  std::map<std::string, Tensor> state;
  for (const auto& [name, tensor] : progress.best_model) {
    if (absl::StartsWith(name, kStatePrefix)) {
      state.emplace(name.substr(sizeof(kStatePrefix) - 1), tensor);
    }
  }
  const std::vector<SavedModelTensor> tensors = SavedModelTensors(*model_);
  for (const SavedModelTensor& t : tensors) {
    auto it = progress.best_model.find(t.name);
    if (it == progress.best_model.end() || it->second.rows() != t.value->rows() ||
        it->second.cols() != t.value->cols()) {
      return absl::InternalError(
          absl::StrCat("the best epoch's copy of ", t.name, " is missing or of another shape"));
    }
  }
  MNEMO_RETURN_IF_ERROR(model_->ImportState(state));
  for (const SavedModelTensor& t : tensors) {
    *t.value = progress.best_model.at(t.name);
    if (t.layer != nullptr) t.layer->MarkParametersUpdated();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EpochMetrics>> Trainer::Fit(const Dataset& train, const Dataset& test,
                                                       TrainingObserver* observer) {
  TrainingProgress progress;
  MNEMO_RETURN_IF_ERROR(Run(train, test, &progress, observer));
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
                 std::vector<int32_t>* labels, Tensor* targets) {
  GatherRows(data, indices, count, batch);
  if (data.regression()) {
    if (targets->rows() != count || targets->cols() != data.targets.cols()) {
      targets->resize(count, data.targets.cols());
    }
    for (int i = 0; i < count; ++i) targets->row(i) = data.targets.row(indices[i]);
    labels->clear();
    return;
  }
  labels->resize(count);
  for (int i = 0; i < count; ++i) (*labels)[i] = data.labels[indices[i]];
}

std::string EarlyStoppingFigure(const config::EarlyStopping& config) {
  return ValidationFigure(config.metric());
}

absl::Status CheckEarlyStopping(const config::EarlyStopping& config) {
  const std::vector<std::string>& known = WatchableFigures();
  const std::string& metric = config.metric();
  if (!metric.empty() && std::find(known.begin(), known.end(), metric) == known.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainer.early_stopping.metric \"", metric,
                     "\" is unknown (known: ", absl::StrJoin(known, ", "), ")"));
  }
  if (!(std::isfinite(config.min_delta()) && config.min_delta() >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "trainer.early_stopping.min_delta must be finite and >= 0, not ", config.min_delta()));
  }
  return absl::OkStatus();
}

int NumBatches(int samples, int batch_size) {
  // Not (samples + batch_size - 1) / batch_size: that overflows for a batch
  // near 2^31 and gives no batches at all.
  return samples / batch_size + (samples % batch_size != 0 ? 1 : 0);
}

}  // namespace mnemo
