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
  settings.index = resolved.index;
  MNEMO_RETURN_IF_ERROR(memory::KeySearch::Create(settings.index, settings.feature_dim).status());
  return std::make_unique<CachedMemory>(settings, args.backend);
}

CachedMemory::CachedMemory(const Settings& settings, std::shared_ptr<const Backend> backend)
    : settings_(settings),
      backend_(backend != nullptr ? std::move(backend) : ReferenceBackend()),
      keys_(Tensor::Zero(settings.capacity, settings.feature_dim)),
      labels_(settings.capacity, -1),
      search_(memory::KeySearch::Create(settings.index, settings.feature_dim)) {}

int CachedMemory::Victim(absl::Span<const float> cosines, int label) const {
  // Two minima in one branch-free pass (which slots hold the label is as
  // unpredictable as the labels), then the first slot that holds the one
  // chosen: ties go to the lower slot.
  constexpr float kNone = std::numeric_limits<float>::infinity();
  const int filled = static_cast<int>(cosines.size());
  float same_class = kNone;
  float lowest = kNone;
  for (int slot = 0; slot < filled; ++slot) {
    const float cosine = cosines[slot];
    same_class = std::min(same_class, labels_[slot] == label ? cosine : kNone);
    lowest = std::min(lowest, cosine);
  }
  const bool of_class = same_class != kNone;
  const float target = of_class ? same_class : lowest;
  int slot = 0;
  while (cosines[slot] != target || (of_class && labels_[slot] != label)) ++slot;
  return slot;
}

absl::Status CachedMemory::Store(const Tensor& features, absl::Span<const int> labels) {
  MNEMO_RETURN_IF_ERROR(
      memory::CheckBatch("Store", features, labels, settings_.feature_dim, settings_.num_classes));
  memory::NormalizeRows(features, &unit_, &norms_);
  return memory::StoreRows(
      *backend_, unit_, norms_, keys_.topRows(size_), settings_.capacity,
      settings_.similarity_threshold, &size_,
      [&](int row, absl::Span<const float> cosines) { return Victim(cosines, labels[row]); },
      [&](int slot, int row) {
        keys_.row(slot) = unit_.row(row);
        labels_[slot] = labels[row];
        if (search_.ok()) (*search_)->Invalidate();
      });
}

absl::StatusOr<Retrieval> CachedMemory::Retrieve(const Tensor& features) {
  MNEMO_RETURN_IF_ERROR(memory::CheckFeatures("Retrieve", features, settings_.feature_dim));
  MNEMO_RETURN_IF_ERROR(search_.status());
  memory::NormalizeRows(features, &unit_, &norms_);
  memory::TopK top;
  MNEMO_RETURN_IF_ERROR(
      (*search_)->Find(*backend_, unit_, keys_.topRows(size_), settings_.top_k, &top));
  return memory::Vote(top, labels_, {});
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
  std::fill(labels_.begin(), labels_.end(), -1);
  size_ = 0;
  if (search_.ok()) (*search_)->Invalidate();
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
  std::copy(labels.begin(), labels.end(), labels_.begin());
  size_ = static_cast<int>(n);
  return absl::OkStatus();
}

}  // namespace mnemo::memory_modules
