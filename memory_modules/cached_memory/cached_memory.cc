#include "memory_modules/cached_memory/cached_memory.h"

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
#include "memory_modules/common/state_tensors.h"
#include "memory_modules/common/top_k.h"
#include "memory_modules/common/vote.h"

namespace mnemo::memory_modules {
namespace {

constexpr char kKeys[] = "keys";
constexpr char kLabels[] = "labels";

}  // namespace

absl::StatusOr<std::unique_ptr<MemoryModule>> CachedMemory::Create(const MemoryModuleArgs& args) {
  MNEMO_ASSIGN_OR_RETURN(memory::MemorySettings resolved,
                         memory::ResolveMemorySettings(args.config));
  if (args.feature_dim <= 0 || args.num_classes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cached_memory needs feature_dim > 0 and num_classes > 0 (got ",
                     args.feature_dim, " and ", args.num_classes, ")"));
  }
  Settings settings;
  settings.feature_dim = args.feature_dim;
  settings.num_classes = args.num_classes;
  settings.capacity = resolved.capacity;
  settings.similarity_threshold = resolved.similarity_threshold;
  settings.temperature = resolved.temperature;
  settings.top_k = resolved.top_k;
  settings.vote = resolved.vote;
  settings.scan_precision = resolved.scan_precision;
  MNEMO_RETURN_IF_ERROR(memory::CheckScanPrecision(settings.scan_precision, args.backend.get()));
  settings.index = resolved.index;
  MNEMO_RETURN_IF_ERROR(memory::KeySearch::Create(settings.index, settings.feature_dim).status());
  return std::make_unique<CachedMemory>(settings, args.backend);
}

CachedMemory::CachedMemory(const Settings& settings, std::shared_ptr<const Backend> backend)
    : settings_(settings),
      backend_(backend != nullptr ? std::move(backend) : ReferenceBackend()),
      keys_(Tensor::Zero(settings.capacity, settings.feature_dim)),
      labels_(settings.capacity, -1),
      class_counts_(settings.num_classes, 0),
      search_(memory::KeySearch::Create(settings.index, settings.feature_dim)) {}

int CachedMemory::Donor(int label) const {
  const int held = classes_held_ + (class_counts_[label] == 0 ? 1 : 0);
  if (class_counts_[label] >= settings_.capacity / held) return label;
  return static_cast<int>(std::max_element(class_counts_.begin(), class_counts_.end()) -
                          class_counts_.begin());
}

int CachedMemory::Victim(absl::Span<const float> cosines, int label) const {
  // The donor's least similar item in one branch-free pass (which slots hold
  // it is as unpredictable as the labels), then the first slot that holds
  // it: ties go to the lower slot. The donor holds an item: its own class
  // holds at least its share (>= 1 item once full), the largest class holds
  // the most.
  constexpr float kNone = std::numeric_limits<float>::infinity();
  const int donor = Donor(label);
  const int filled = static_cast<int>(cosines.size());
  float lowest = kNone;
  for (int slot = 0; slot < filled; ++slot) {
    lowest = std::min(lowest, labels_[slot] == donor ? cosines[slot] : kNone);
  }
  int slot = 0;
  while (cosines[slot] != lowest || labels_[slot] != donor) ++slot;
  return slot;
}

void CachedMemory::Place(int slot, int label) {
  if (slot < size_ && labels_[slot] >= 0 && --class_counts_[labels_[slot]] == 0) --classes_held_;
  if (class_counts_[label]++ == 0) ++classes_held_;
  labels_[slot] = label;
}

absl::Status CachedMemory::Store(const Tensor& features, absl::Span<const int> labels) {
  MNEMO_RETURN_IF_ERROR(
      memory::CheckBatch("Store", features, labels, settings_.feature_dim, settings_.num_classes));
  memory::NormalizeRows(features, &unit_, &norms_);
  KeysChanged();
  return memory::StoreRows(
      *backend_, unit_, norms_, keys_.topRows(size_), settings_.capacity,
      memory::Admission::kNovelOnly, settings_.similarity_threshold, &size_,
      [&](int row, absl::Span<const float> cosines) { return Victim(cosines, labels[row]); },
      [&](int slot, int row) {
        keys_.row(slot) = unit_.row(row);
        Place(slot, labels[row]);
      });
}

absl::Status CachedMemory::Write(const Tensor& features, absl::Span<const int> labels) {
  MNEMO_RETURN_IF_ERROR(memory::CheckWriteBatch(features, labels, settings_.feature_dim,
                                                settings_.num_classes, settings_.capacity));
  memory::NormalizeRows(features, &unit_, &norms_);
  MNEMO_RETURN_IF_ERROR(
      memory::CheckNoZeroRows("Write", absl::MakeConstSpan(norms_.data(), norms_.size())));
  KeysChanged();
  // The slots this call wrote, never a later row's victim: their cosines are
  // raised above any real one in a copy.
  std::vector<int> written;
  std::vector<float> candidates;
  return memory::StoreRows(
      *backend_, unit_, norms_, keys_.topRows(size_), settings_.capacity, memory::Admission::kEvery,
      settings_.similarity_threshold, &size_,
      [&](int, absl::Span<const float> cosines) {
        candidates.assign(cosines.begin(), cosines.end());
        for (int slot : written) candidates[slot] = std::numeric_limits<float>::max();
        return memory::FirstMinimum(candidates);
      },
      [&](int slot, int row) {
        keys_.row(slot) = unit_.row(row);
        Place(slot, labels[row]);
        written.push_back(slot);
      });
}

void CachedMemory::KeysChanged() {
  int8_scan_.KeysChanged();
  if (search_.ok()) (*search_)->Invalidate();
}

absl::StatusOr<Retrieval> CachedMemory::Retrieve(const Tensor& features) {
  MNEMO_RETURN_IF_ERROR(memory::CheckFeatures("Retrieve", features, settings_.feature_dim));
  MNEMO_RETURN_IF_ERROR(search_.status());
  memory::NormalizeRows(features, &unit_, &norms_);
  if (settings_.index.type != "exact") {
    MNEMO_RETURN_IF_ERROR(
        (*search_)->Find(*backend_, unit_, keys_.topRows(size_), settings_.top_k, &top_));
  } else if (settings_.scan_precision == memory::ScanPrecision::kInt8) {
    MNEMO_RETURN_IF_ERROR(
        int8_scan_.Search(*backend_, unit_, keys_.topRows(size_), settings_.top_k, &top_));
  } else {
    MNEMO_RETURN_IF_ERROR(
        memory::CosineSimilarities(*backend_, unit_, keys_.topRows(size_), &cosines_));
    memory::SelectTopK(cosines_, settings_.top_k, &top_);
  }
  return memory::Vote(top_, labels_, {}, settings_.vote);
}

absl::StatusOr<float> CachedMemory::Loss(const Tensor& features, absl::Span<const int> labels,
                                         Tensor* grad_features) {
  MNEMO_RETURN_IF_ERROR(
      memory::CheckBatch("Loss", features, labels, settings_.feature_dim, settings_.num_classes));
  grad_features->setZero(features.rows(), settings_.feature_dim);
  if (size_ == 0 || features.rows() == 0) return 0.0f;
  memory::NormalizeRows(features, &unit_, &norms_);
  if (absl::Status s =
          memory::CosineSimilarities(*backend_, unit_, keys_.topRows(size_), &cosines_);
      !s.ok()) {
    return s;
  }
  grad_cosines_.setZero(cosines_.rows(), cosines_.cols());
  int counted = 0;
  const float loss = memory::ContrastiveLossFromCosines<float>(
      cosines_, labels, stored_labels(), settings_.temperature, &grad_cosines_, &counted);
  if (counted > 0) {
    // Keys are fixed: their norms are not needed without their gradient.
    memory::CosineSimilaritiesBackward<float>(grad_cosines_, unit_, norms_, keys_.topRows(size_),
                                              {}, grad_features, nullptr);
  }
  return loss;
}

void CachedMemory::Clear() {
  keys_.setZero();
  KeysChanged();
  std::fill(labels_.begin(), labels_.end(), -1);
  std::fill(class_counts_.begin(), class_counts_.end(), 0);
  classes_held_ = 0;
  size_ = 0;
}

std::map<std::string, Tensor> CachedMemory::ExportState() const {
  std::map<std::string, Tensor> state;
  state[kKeys] = keys_.topRows(size_);
  state[kLabels] = memory::LabelsToTensor(stored_labels());
  return state;
}

absl::Status CachedMemory::ImportState(const std::map<std::string, Tensor>& state) {
  if (absl::Status s = memory::CheckStateNames(state, {kKeys, kLabels}); !s.ok()) return s;
  MNEMO_ASSIGN_OR_RETURN(const Tensor* keys, memory::StateTensor(state, kKeys, -1, feature_dim()));
  const Eigen::Index n = keys->rows();
  if (n > capacity()) {
    return absl::InvalidArgumentError(absl::StrCat("memory state: \"keys\" has ", n,
                                                   " rows, more than the capacity ", capacity()));
  }
  MNEMO_ASSIGN_OR_RETURN(const Tensor* labels_tensor, memory::StateTensor(state, kLabels, 1, n));
  MNEMO_ASSIGN_OR_RETURN(
      std::vector<int> labels,
      memory::LabelsFromTensor(*labels_tensor, kLabels, 0, settings_.num_classes));
  Tensor unit;
  memory::ColumnVector<float> norms;
  memory::NormalizeRows(*keys, &unit, &norms);
  for (Eigen::Index i = 0; i < n; ++i) {
    if (norms(i) == 0.0f) {
      return absl::InvalidArgumentError(
          absl::StrCat("memory state: \"keys\" row ", i, " is zero (no direction to match)"));
    }
  }
  // Rows ExportState wrote are unit already, and dividing them by their norm
  // again (1 only to within a few ulp) would move their last bits: a training
  // run resumed from a snapshot would then drift from one that never
  // stopped. Rows that close to unit length are taken as they are.
  constexpr float kUnitLength = 1e-5f;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (std::abs(norms(i) - 1.0f) <= kUnitLength) unit.row(i) = keys->row(i);
  }
  Clear();
  keys_.topRows(n) = unit;
  for (Eigen::Index i = 0; i < n; ++i) Place(static_cast<int>(i), labels[i]);
  size_ = static_cast<int>(n);
  return absl::OkStatus();
}

}  // namespace mnemo::memory_modules
