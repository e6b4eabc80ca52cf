#ifndef MNEMO_TESTS_CLASSIFIER_EXACT_MEMORY_H_
#define MNEMO_TESTS_CLASSIFIER_EXACT_MEMORY_H_

// A small but real MemoryModule for the classifier's tests, independent of
// the plugins: exact nearest neighbour by cosine similarity.
//
// - Store: appends; when full, replaces the oldest item (FIFO). Write is
//   Store, refusing zero rows and labels outside [0, num_classes).
// - Retrieve: the class of the most similar item; confidence = max(0, cosine)
//   computed as dot / (|a| |b|), so hand-picked vectors give exact values.
// - Loss: supervised contrastive loss against the stored items: for sample i,
//   s_ij = cos(f_i, k_j) / T and L_i = -log(sum_{j: y_j = y_i} e^s_ij /
//   sum_j e^s_ij), averaged over the samples that have a same-class item.
// - With `trainable_keys` the keys are a Parameter with dLoss/dKeys, so the
//   classifier's optimizer path for memory parameters is exercised.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/memory_module.h"
#include "core/registry.h"

namespace mnemo::testing {

class ExactMemory : public MemoryModule {
 public:
  // Any label the tests use, unless they say.
  static constexpr int kManyClasses = 1 << 20;

  ExactMemory(int feature_dim, int capacity, float temperature = 0.5f, bool trainable_keys = false,
              int num_classes = kManyClasses)
      : feature_dim_(feature_dim),
        capacity_(capacity),
        num_classes_(num_classes),
        temperature_(temperature),
        trainable_keys_(trainable_keys),
        keys_(Tensor::Zero(capacity, feature_dim)),
        keys_gradient_(Tensor::Zero(capacity, feature_dim)),
        labels_(capacity, -1) {}

  absl::Status Store(const Tensor& features, absl::Span<const int> labels) override {
    if (features.cols() != feature_dim_ || static_cast<size_t>(features.rows()) != labels.size()) {
      return absl::InvalidArgumentError("Store: shapes");
    }
    ++stores_;
    for (Eigen::Index i = 0; i < features.rows(); ++i) {
      keys_.row(next_) = features.row(i);
      labels_[next_] = labels[i];
      next_ = (next_ + 1) % capacity_;
      if (size_ < capacity_) ++size_;
    }
    return absl::OkStatus();
  }

  absl::Status Write(const Tensor& features, absl::Span<const int> labels) override {
    if (features.rows() > capacity_) return absl::InvalidArgumentError("Write: too many rows");
    for (Eigen::Index i = 0; i < features.rows(); ++i) {
      if (features.row(i).isZero(0.0f)) return absl::InvalidArgumentError("Write: zero row");
    }
    for (int label : labels) {
      if (label < 0 || label >= num_classes_) return absl::InvalidArgumentError("Write: label");
    }
    ++writes_;
    return Store(features, labels);
  }

  absl::StatusOr<Retrieval> Retrieve(const Tensor& features) override {
    Retrieval r;
    for (Eigen::Index i = 0; i < features.rows(); ++i) {
      int best = -1;
      float best_similarity = -2;
      for (int j = 0; j < size_; ++j) {
        const float s = Cosine(features.row(i), keys_.row(j));
        if (s > best_similarity) {
          best_similarity = s;
          best = j;
        }
      }
      r.slot.push_back(best);
      r.label.push_back(best < 0 ? -1 : labels_[best]);
      r.confidence.push_back(best < 0 ? 0.0f : std::max(0.0f, best_similarity));
    }
    return r;
  }

  int feature_dim() const override { return feature_dim_; }
  int num_classes() const override { return num_classes_; }
  int capacity() const override { return capacity_; }
  int size() const override { return size_; }
  void Clear() override {
    size_ = 0;
    next_ = 0;
  }

  absl::StatusOr<float> Loss(const Tensor& features, absl::Span<const int> labels,
                             Tensor* grad) override {
    ++loss_calls_;
    grad->setZero(features.rows(), features.cols());
    double total = 0;
    int with_positive = 0;
    std::vector<double> p(size_);
    for (Eigen::Index i = 0; i < features.rows(); ++i) {
      bool positive = false;
      for (int j = 0; j < size_; ++j) positive |= labels_[j] == labels[i];
      with_positive += positive;
    }
    if (with_positive == 0) return 0.0f;
    for (Eigen::Index i = 0; i < features.rows(); ++i) {
      double max_s = -1e30;
      bool positive = false;
      for (int j = 0; j < size_; ++j) {
        p[j] = Cosine(features.row(i), keys_.row(j)) / temperature_;
        max_s = std::max(max_s, p[j]);
        positive |= labels_[j] == labels[i];
      }
      if (!positive) continue;
      double all = 0, same = 0;
      for (int j = 0; j < size_; ++j) {
        p[j] = std::exp(p[j] - max_s);
        all += p[j];
        if (labels_[j] == labels[i]) same += p[j];
      }
      total += -std::log(same / all);
      // dL_i/ds_ij = softmax_all_j - softmax_same_j.
      for (int j = 0; j < size_; ++j) {
        const double d = (p[j] / all - (labels_[j] == labels[i] ? p[j] / same : 0.0)) /
                         (temperature_ * with_positive);
        Vector gf, gk;
        CosineGradients(features.row(i), keys_.row(j), &gf, &gk);
        grad->row(i) += static_cast<float>(d) * gf;
        if (trainable_keys_) keys_gradient_.row(j) += static_cast<float>(d) * gk;
      }
    }
    return static_cast<float>(total / with_positive);
  }

  std::vector<Parameter> parameters() override {
    if (!trainable_keys_) return {};
    return {Parameter{"keys", &keys_, &keys_gradient_}};
  }

  std::map<std::string, Tensor> ExportState() const override {
    Tensor labels(1, size_);
    for (int j = 0; j < size_; ++j) labels(0, j) = static_cast<float>(labels_[j]);
    Tensor next(1, 1);
    next(0, 0) = static_cast<float>(next_);
    return {{"keys", keys_.topRows(size_)}, {"labels", labels}, {"next", next}};
  }

  absl::Status ImportState(const std::map<std::string, Tensor>& state) override {
    auto keys = state.find("keys");
    auto labels = state.find("labels");
    auto next = state.find("next");
    if (keys == state.end() || labels == state.end() || next == state.end() ||
        keys->second.cols() != feature_dim_ || keys->second.rows() > capacity_ ||
        labels->second.cols() != keys->second.rows()) {
      return absl::InvalidArgumentError("ExactMemory: state of the wrong shape");
    }
    size_ = static_cast<int>(keys->second.rows());
    keys_.topRows(size_) = keys->second;
    for (int j = 0; j < size_; ++j) labels_[j] = static_cast<int>(labels->second(0, j));
    next_ = static_cast<int>(next->second(0, 0));
    return absl::OkStatus();
  }

  int stores() const { return stores_; }  // Write's included
  int writes() const { return writes_; }
  int loss_calls() const { return loss_calls_; }
  const Tensor& keys() const { return keys_; }

 private:
  template <typename A, typename B>
  static float Cosine(const A& a, const B& b) {
    const float na = a.norm(), nb = b.norm();
    if (na == 0 || nb == 0) return 0;
    return a.dot(b) / (na * nb);
  }

  // dcos(f, k)/df and dcos(f, k)/dk.
  template <typename F, typename K>
  static void CosineGradients(const F& f, const K& k, Vector* gf, Vector* gk) {
    const float nf = f.norm(), nk = k.norm();
    if (nf == 0 || nk == 0) {
      gf->setZero(f.size());
      gk->setZero(k.size());
      return;
    }
    const float c = f.dot(k) / (nf * nk);
    *gf = k / (nf * nk) - c * f / (nf * nf);
    *gk = f / (nf * nk) - c * k / (nk * nk);
  }

  const int feature_dim_;
  const int capacity_;
  const int num_classes_;
  const float temperature_;
  const bool trainable_keys_;
  Tensor keys_;
  Tensor keys_gradient_;
  std::vector<int> labels_;
  int size_ = 0;
  int next_ = 0;
  int stores_ = 0;
  int writes_ = 0;
  int loss_calls_ = 0;
};

inline constexpr char kExactMemoryType[] = "exact_memory";

// Registers "exact_memory" (capacity and temperature from the config) in the
// global registries, once per process.
inline void RegisterExactMemory() {
  static std::once_flag once;
  std::call_once(once, [] {
    PluginRegistrar registrar("tests/classifier/exact_memory.h");
    registrar.AddMemoryModule(
        kExactMemoryType,
        [](const MemoryModuleArgs& args) -> absl::StatusOr<std::unique_ptr<MemoryModule>> {
          const float temperature =
              args.config.temperature() != 0 ? args.config.temperature() : 0.5f;
          return std::make_unique<ExactMemory>(args.feature_dim, args.config.capacity(),
                                               temperature, /*trainable_keys=*/false,
                                               args.num_classes);
        });
    absl::Status status = registrar.CommitTo(Registries::Global());
    if (!status.ok()) std::abort();
  });
}

}  // namespace mnemo::testing

#endif  // MNEMO_TESTS_CLASSIFIER_EXACT_MEMORY_H_
