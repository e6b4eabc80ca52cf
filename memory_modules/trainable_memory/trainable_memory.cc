#include "memory_modules/trainable_memory/trainable_memory.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/memory_settings.h"
#include "core/status_macros.h"
#include "memory_modules/common/batch_similarities.h"
#include "memory_modules/common/contrastive_loss.h"
#include "memory_modules/common/input_checks.h"
#include "memory_modules/common/readout_loss.h"
#include "memory_modules/common/state_tensors.h"
#include "memory_modules/common/top_k.h"
#include "memory_modules/common/vote.h"

namespace mnemo::memory_modules {
namespace {

constexpr char kKeys[] = "keys";
constexpr char kValues[] = "values";
constexpr char kLabels[] = "labels";
constexpr char kFill[] = "fill";

// max softmax(v) = 1 / sum_c exp(v_c - max v), and the class it is for.
float Certainty(const Eigen::Ref<const Vector>& values, int* label = nullptr) {
  Eigen::Index at = 0;
  const float max = values.maxCoeff(&at);
  if (label != nullptr) *label = static_cast<int>(at);
  return 1.0f / (values.array() - max).exp().sum();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MemoryModule>> TrainableMemory::Create(const MemoryModuleArgs& args,
                                                                      float value_scale) {
  MNEMO_ASSIGN_OR_RETURN(memory::MemorySettings resolved,
                         memory::ResolveMemorySettings(args.config));
  if (args.feature_dim <= 0 || args.num_classes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainable_memory needs feature_dim > 0 and num_classes > 0 (got ",
                     args.feature_dim, " and ", args.num_classes, ")"));
  }
  // Its keys are parameters the optimizer moves at every step, unseen by the
  // module: an int8 copy would have to be made again at every Retrieve, at
  // about the cost of the scan it saves.
  if (resolved.scan_precision != memory::ScanPrecision::kFp32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory_module.scan_precision \"", memory::ScanPrecisionName(resolved.scan_precision),
        "\" is not available for trainable_memory (its keys are trained: only \"fp32\")"));
  }
  // Its keys are parameters the optimizer moves every step: an index over
  // them would be stale after each step, and rebuilding it every step costs
  // more than the exact search it would replace.
  if (resolved.index.type != "exact") {
    return absl::InvalidArgumentError(absl::StrCat(
        "memory_module.index.type must be \"exact\" (unset) for trainable_memory, not \"",
        resolved.index.type,
        "\": its keys are trained and change every step, so an approximate index over them "
        "would need rebuilding after each step; use cached_memory for an approximate index"));
  }
  if (!(value_scale > 0.0f) || !std::isfinite(value_scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainable_memory: options.value_scale must be > 0 (got ", value_scale, ")"));
  }
  Settings settings;
  settings.feature_dim = args.feature_dim;
  settings.num_classes = args.num_classes;
  settings.capacity = resolved.capacity;
  settings.similarity_threshold = resolved.similarity_threshold;
  settings.temperature = resolved.temperature;
  settings.top_k = resolved.top_k;
  settings.vote = resolved.vote;
  settings.value_scale = value_scale;
  return std::make_unique<TrainableMemory>(settings, args.backend);
}

TrainableMemory::TrainableMemory(const Settings& settings, std::shared_ptr<const Backend> backend)
    : settings_(settings),
      backend_(backend != nullptr ? std::move(backend) : ReferenceBackend()),
      keys_(Tensor::Zero(settings.capacity, settings.feature_dim)),
      values_(Tensor::Zero(settings.capacity, settings.num_classes)),
      keys_gradient_(Tensor::Zero(settings.capacity, settings.feature_dim)),
      values_gradient_(Tensor::Zero(settings.capacity, settings.num_classes)),
      labels_(settings.capacity, -1) {}

std::vector<Parameter> TrainableMemory::parameters() {
  return {{kKeys, &keys_, &keys_gradient_}, {kValues, &values_, &values_gradient_}};
}

std::vector<float> TrainableMemory::Certainties() const {
  std::vector<float> certainty(size_);
  for (int slot = 0; slot < size_; ++slot) certainty[slot] = Certainty(values_.row(slot));
  return certainty;
}

void TrainableMemory::RenormalizeKeys() {
  memory::NormalizeRowsInPlace<float>(keys_.topRows(size_), &key_norms_);
}

void TrainableMemory::WriteSlot(int slot, int row, int label) {
  keys_.row(slot) = unit_.row(row);
  values_.row(slot).setZero();
  values_(slot, label) = settings_.value_scale;
  labels_[slot] = label;
  keys_gradient_.row(slot).setZero();
  values_gradient_.row(slot).setZero();
}

absl::Status TrainableMemory::Store(const Tensor& features, absl::Span<const int> labels) {
  MNEMO_RETURN_IF_ERROR(
      memory::CheckBatch("Store", features, labels, settings_.feature_dim, settings_.num_classes));
  memory::NormalizeRows(features, &unit_, &norms_);
  RenormalizeKeys();
  // Slot certainties, made when the first novel row finds the memory full and
  // kept current as slots are written.
  std::vector<float> certainty;
  return memory::StoreRows(
      *backend_, unit_, norms_, keys_.topRows(size_), settings_.capacity,
      memory::Admission::kNovelOnly, settings_.similarity_threshold, &size_,
      [&](int, absl::Span<const float>) {
        if (certainty.empty()) certainty = Certainties();
        return memory::FirstMinimum(certainty);
      },
      [&](int slot, int row) {
        WriteSlot(slot, row, labels[row]);
        if (!certainty.empty()) certainty[slot] = Certainty(values_.row(slot));
      });
}

absl::Status TrainableMemory::Write(const Tensor& features, absl::Span<const int> labels) {
  MNEMO_RETURN_IF_ERROR(memory::CheckWriteBatch(features, labels, settings_.feature_dim,
                                                settings_.num_classes, settings_.capacity));
  memory::NormalizeRows(features, &unit_, &norms_);
  MNEMO_RETURN_IF_ERROR(
      memory::CheckNoZeroRows("Write", absl::MakeConstSpan(norms_.data(), norms_.size())));
  RenormalizeKeys();
  // As Store's, except that the slots this call wrote are never a later
  // row's victim: their certainty counts as above any real one.
  constexpr float kWritten = std::numeric_limits<float>::max();
  std::vector<int> written;
  std::vector<float> certainty;
  return memory::StoreRows(
      *backend_, unit_, norms_, keys_.topRows(size_), settings_.capacity, memory::Admission::kEvery,
      settings_.similarity_threshold, &size_,
      [&](int, absl::Span<const float>) {
        if (certainty.empty()) {
          certainty = Certainties();
          for (int slot : written) certainty[slot] = kWritten;
        }
        return memory::FirstMinimum(certainty);
      },
      [&](int slot, int row) {
        WriteSlot(slot, row, labels[row]);
        written.push_back(slot);
        if (!certainty.empty()) certainty[slot] = kWritten;
      });
}

absl::StatusOr<Retrieval> TrainableMemory::Retrieve(const Tensor& features) {
  MNEMO_RETURN_IF_ERROR(memory::CheckFeatures("Retrieve", features, settings_.feature_dim));
  memory::NormalizeRows(features, &unit_, &norms_);
  RenormalizeKeys();
  if (absl::Status s =
          memory::CosineSimilarities(*backend_, unit_, keys_.topRows(size_), &cosines_);
      !s.ok()) {
    return s;
  }
  memory::SelectTopK(cosines_, settings_.top_k, &top_);
  // Each slot's class is what its values say now, not what it was stored as.
  slot_class_.resize(size_);
  certainty_.resize(size_);
  for (int slot = 0; slot < size_; ++slot) {
    certainty_[slot] = Certainty(values_.row(slot), &slot_class_[slot]);
  }
  return memory::Vote(top_, slot_class_, certainty_, settings_.vote);
}

absl::StatusOr<float> TrainableMemory::Loss(const Tensor& features, absl::Span<const int> labels,
                                            Tensor* grad_features) {
  MNEMO_RETURN_IF_ERROR(
      memory::CheckBatch("Loss", features, labels, settings_.feature_dim, settings_.num_classes));
  grad_features->setZero(features.rows(), settings_.feature_dim);
  if (size_ == 0 || features.rows() == 0) return 0.0f;
  memory::NormalizeRows(features, &unit_, &norms_);
  RenormalizeKeys();
  const auto keys = keys_.topRows(size_);
  MNEMO_RETURN_IF_ERROR(memory::CosineSimilarities(*backend_, unit_, keys, &cosines_));
  grad_cosines_.setZero(cosines_.rows(), cosines_.cols());
  const float contrastive = memory::ContrastiveLossFromCosines<float>(
      cosines_, labels, stored_labels(), settings_.temperature, &grad_cosines_);
  const float readout =
      memory::ReadoutLossFromCosines<float>(cosines_, values_.topRows(size_), labels,
                                            settings_.temperature, &grad_cosines_, &grad_values_);
  memory::CosineSimilaritiesBackward<float>(grad_cosines_, unit_, norms_, keys, key_norms_,
                                            grad_features, &grad_keys_);
  keys_gradient_.topRows(size_) += grad_keys_;
  values_gradient_.topRows(size_) += grad_values_;
  return contrastive + readout;
}

void TrainableMemory::Clear() {
  keys_.setZero();
  values_.setZero();
  keys_gradient_.setZero();
  values_gradient_.setZero();
  std::fill(labels_.begin(), labels_.end(), -1);
  size_ = 0;
}

std::map<std::string, Tensor> TrainableMemory::ExportState() const {
  std::map<std::string, Tensor> state;
  Tensor& keys = state[kKeys];
  keys.setZero(capacity(), feature_dim());
  keys.topRows(size_) = keys_.topRows(size_);
  Tensor& values = state[kValues];
  values.setZero(capacity(), settings_.num_classes);
  values.topRows(size_) = values_.topRows(size_);
  state[kLabels] = memory::LabelsToTensor(labels_);
  state[kFill] = Tensor::Constant(1, 1, static_cast<float>(size_));
  return state;
}

absl::Status TrainableMemory::ImportState(const std::map<std::string, Tensor>& state) {
  if (absl::Status s = memory::CheckStateNames(state, {kFill, kKeys, kLabels, kValues}); !s.ok()) {
    return s;
  }
  MNEMO_ASSIGN_OR_RETURN(const Tensor* fill_tensor, memory::StateTensor(state, kFill, 1, 1));
  absl::StatusOr<std::vector<int>> fill =
      memory::LabelsFromTensor(*fill_tensor, kFill, 0, capacity() + 1);
  if (!fill.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory state: \"fill\" = ", (*fill_tensor)(0, 0),
                     " is not a slot count in [0, ", capacity(), "]"));
  }
  const int n = (*fill)[0];
  MNEMO_ASSIGN_OR_RETURN(const Tensor* keys,
                         memory::StateTensor(state, kKeys, capacity(), feature_dim()));
  MNEMO_ASSIGN_OR_RETURN(const Tensor* values,
                         memory::StateTensor(state, kValues, capacity(), settings_.num_classes));
  MNEMO_ASSIGN_OR_RETURN(const Tensor* labels_tensor,
                         memory::StateTensor(state, kLabels, 1, capacity()));
  MNEMO_ASSIGN_OR_RETURN(
      std::vector<int> labels,
      memory::LabelsFromTensor(labels_tensor->leftCols(n), kLabels, 0, settings_.num_classes));
  for (int slot = n; slot < capacity(); ++slot) {
    if ((*labels_tensor)(0, slot) != -1.0f) {
      return absl::InvalidArgumentError(
          absl::StrCat("memory state: \"labels\"[", slot, "] = ", (*labels_tensor)(0, slot),
                       ", but slots from fill = ", n, " on are unused and must be -1"));
    }
  }
  for (int slot = 0; slot < n; ++slot) {
    if (keys->row(slot).isZero(0.0f)) {
      return absl::InvalidArgumentError(
          absl::StrCat("memory state: \"keys\" row ", slot, " is zero (no direction to match)"));
    }
  }
  Clear();
  keys_.topRows(n) = keys->topRows(n);
  values_.topRows(n) = values->topRows(n);
  std::copy(labels.begin(), labels.end(), labels_.begin());
  size_ = n;
  RenormalizeKeys();
  return absl::OkStatus();
}

}  // namespace mnemo::memory_modules
