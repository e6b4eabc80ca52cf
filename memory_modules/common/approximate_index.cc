#include "memory_modules/common/approximate_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/status_macros.h"
#include "memory_modules/common/faiss_call.h"

namespace mnemo::memory {
namespace {

// FAISS reads rows of `dim` floats back to back; a view with a wider stride
// (rows of a larger matrix's column block) is copied first.
const float* Contiguous(const ConstMatrixRef<float>& x, Matrix<float>* copy) {
  if (x.rows() <= 1 || x.outerStride() == x.cols()) return x.data();
  *copy = x;
  return copy->data();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApproximateIndex>> ApproximateIndex::Create(
    const IndexSettings& settings, int dim) {
  if (settings.type != "ivf_flat" && settings.type != "hnsw") {
    return absl::InvalidArgumentError(absl::StrCat(
        "an approximate index is \"ivf_flat\" or \"hnsw\", not \"", settings.type, "\""));
  }
  if (dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("an approximate index needs a feature width > 0, not ", dim));
  }
  return std::unique_ptr<ApproximateIndex>(new ApproximateIndex(settings, dim));
}

ApproximateIndex::ApproximateIndex(const IndexSettings& settings, int dim)
    : settings_(settings), dim_(dim) {}

ApproximateIndex::~ApproximateIndex() = default;

int64_t ApproximateIndex::MinItems() const {
  return settings_.type == "ivf_flat" ? int64_t{IndexSettings::kIvfItemsPerList} * settings_.nlist
                                      : 1;
}

int64_t ApproximateIndex::size() const { return index_ != nullptr ? index_->ntotal : 0; }

absl::Status ApproximateIndex::Build(const ConstMatrixRef<float>& unit_keys) {
  const int64_t n = unit_keys.rows();
  if (unit_keys.cols() != dim_ || n < MinItems()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", settings_.type, " index of width ", dim_, " is built from at least ",
                     MinItems(), " keys of that width; given ", n, " x ", unit_keys.cols()));
  }
  Matrix<float> copy;
  const float* keys = Contiguous(unit_keys, &copy);
  index_.reset();  // the old index's memory is free before the new one's is taken
  std::unique_ptr<faiss::Index> index;
  const absl::Status built = FaissCall(absl::StrCat(settings_.type, " build"), [&] {
    if (settings_.type == "ivf_flat") {
      auto ivf = std::make_unique<faiss::IndexIVFFlat>(
          new faiss::IndexFlatIP(dim_), dim_, settings_.nlist, faiss::METRIC_INNER_PRODUCT);
      ivf->own_fields = true;  // it deletes the quantizer
      ivf->nprobe = settings_.nprobe;
      ivf->train(n, keys);
      ivf->add(n, keys);
      index = std::move(ivf);
    } else {
      auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(dim_, settings_.hnsw_m,
                                                         faiss::METRIC_INNER_PRODUCT);
      hnsw->hnsw.efConstruction = settings_.ef_construction;
      hnsw->hnsw.efSearch = settings_.ef_search;
      hnsw->add(n, keys);
      index = std::move(hnsw);
    }
  });
  if (!built.ok()) return built;
  index_ = std::move(index);
  return absl::OkStatus();
}

absl::Status ApproximateIndex::Search(const ConstMatrixRef<float>& unit_queries, int k, TopK* top,
                                      int breadth) const {
  if (unit_queries.cols() != dim_) {
    return absl::InvalidArgumentError(absl::StrCat("queries of width ", unit_queries.cols(),
                                                   " given to an index of width ", dim_));
  }
  const int64_t rows = unit_queries.rows();
  top->rows = static_cast<int>(rows);
  top->k = static_cast<int>(std::min<int64_t>(std::max(k, 0), size()));
  top->index.assign(rows * top->k, -1);
  top->score.assign(rows * top->k, 0.0f);
  if (top->k == 0 || rows == 0) return absl::OkStatus();
  Matrix<float> copy;
  const float* queries = Contiguous(unit_queries, &copy);
  // The breadth as FAISS's per-call parameters: the index itself is not
  // changed, so searches may run side by side.
  faiss::SearchParametersIVF ivf;
  faiss::SearchParametersHNSW hnsw;
  const faiss::SearchParameters* params = nullptr;
  if (breadth > 0) {
    ivf.nprobe = breadth;
    hnsw.efSearch = breadth;
    params =
        settings_.type == "ivf_flat" ? static_cast<const faiss::SearchParameters*>(&ivf) : &hnsw;
  }
  std::vector<faiss::Index::idx_t> labels(rows * top->k);
  MNEMO_RETURN_IF_ERROR(FaissCall(absl::StrCat(settings_.type, " search"), [&] {
    index_->search(rows, queries, top->k, top->score.data(), labels.data(), params);
  }));
  // Item ids are rows of the keys, below 2^31 (the capacity is at most 2^24).
  std::transform(labels.begin(), labels.end(), top->index.begin(),
                 [](faiss::Index::idx_t id) { return static_cast<int>(id); });
  return absl::OkStatus();
}

}  // namespace mnemo::memory
