#ifndef MNEMO_CACHING_BENCH_MEMO_MEMO_H_
#define MNEMO_CACHING_BENCH_MEMO_MEMO_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "caching/bench_memo/memo_cache.h"

namespace mnemo::bench {

// A large value (a model, a data set) that benchmarks run one after another
// need: loaded the first time one of them asks, shared with the later ones
// from a MemoCache, and evicted in a teardown after its last benchmark, so
// that memory holds about one such value at a time.
//
//   const Memo<Corpus> corpus("wiki", [] { return LoadCorpus("/data/wiki.bin"); },
//                             [](const Corpus& c) { return c.ByteSize(); });
//   void BM_Tokenize(benchmark::State& state) {
//     absl::StatusOr<std::shared_ptr<Corpus>> text = corpus.Get();  // loads it
//     ...
//   }
//   void BM_Index(benchmark::State& state) { auto text = corpus.Get(); ... }  // cached
//   void TearDownCorpus() { Evict(corpus); }  // before the next corpus loads
//
// Evicting before the last use makes that use load again: the cache's stats
// show it as a reload, with the time it cost.
//
// The loader returns a unique_ptr: the value is built in place, once, and
// may be of a type that cannot move or of a derived class. A loader error is
// returned by Get (to every caller waiting for that load) and not cached.
// The sizer tells the value's bytes for the stats and the capacity; it may
// be empty (0 bytes).
//
// The key names the value in its cache: Memos with the same key and T share
// one entry (copies of a Memo do, and are cheap: they share its key and
// functions). T must not be const, volatile or a reference; values are
// shared, so a benchmark that modifies one shares the result.
template <typename T>
class Memo {
  static_assert(std::is_same_v<T, std::remove_cv_t<std::remove_reference_t<T>>>,
                "Memo<T> takes a plain object type");

 public:
  using Loader = std::function<absl::StatusOr<std::unique_ptr<T>>()>;
  using Sizer = std::function<int64_t(const T&)>;

  Memo(std::string key, Loader load, Sizer size, MemoCache* cache = &MemoCache::Global())
      : spec_(std::make_shared<const Spec>(Spec{std::move(key), std::move(load), std::move(size)})),
        cache_(cache) {}

  // The cached value, loaded on first use (see MemoCache::GetOrLoad).
  absl::StatusOr<std::shared_ptr<T>> Get() const;

  const std::string& key() const { return spec_->key; }
  MemoCache& cache() const { return *cache_; }

 private:
  struct Spec {
    std::string key;
    Loader load;
    Sizer size;
  };

  std::shared_ptr<const Spec> spec_;
  MemoCache* cache_;
};

// Drops `memo`'s value from its cache (MemoCache::Evict); false when it was
// not cached.
template <typename T>
bool Evict(const Memo<T>& memo) {
  return memo.cache().Evict(memo.key());
}

// Drops the entry whose value is `value` (an object a Memo<T>::Get returned),
// whichever Memo loaded it; false when `cache` holds no such entry.
template <typename T>
bool EvictByValue(const T& value, MemoCache& cache = MemoCache::Global()) {
  return cache.EvictByValue(static_cast<const void*>(&value));
}

template <typename T>
absl::StatusOr<std::shared_ptr<T>> Memo<T>::Get() const {
  const Spec& spec = *spec_;
  absl::StatusOr<std::shared_ptr<void>> value =
      cache_->GetOrLoad(spec.key, TypeTagOf<T>(), [&spec]() -> absl::StatusOr<MemoCache::Loaded> {
        if (!spec.load) {
          return absl::InvalidArgumentError(absl::StrCat("memo '", spec.key, "' has no loader"));
        }
        absl::StatusOr<std::unique_ptr<T>> loaded = spec.load();
        if (!loaded.ok()) return loaded.status();
        // A null value comes back as an empty Loaded, which the cache refuses.
        if (*loaded == nullptr) return MemoCache::Loaded{};
        const int64_t bytes = spec.size ? spec.size(**loaded) : 0;
        return MemoCache::Loaded{std::shared_ptr<T>(*std::move(loaded)), bytes};
      });
  if (!value.ok()) return value.status();
  // GetOrLoad checked the entry's type: the void pointer came from a T*.
  return std::static_pointer_cast<T>(*std::move(value));
}

}  // namespace mnemo::bench

#endif  // MNEMO_CACHING_BENCH_MEMO_MEMO_H_
