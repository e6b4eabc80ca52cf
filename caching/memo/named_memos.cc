#include "caching/memo/named_memos.h"

#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace mnemo::caching::memo {
namespace {

struct Memos {
  absl::Mutex mu;
  std::map<std::string, std::shared_ptr<LruMemo>> by_name ABSL_GUARDED_BY(mu);
};

Memos& Global() {
  static Memos* const memos = new Memos;  // never destroyed: no exit-time order issues
  return *memos;
}

}  // namespace

absl::StatusOr<std::shared_ptr<LruMemo>> NamedMemo(const std::string& name,
                                                   size_t capacity_bytes) {
  Memos& memos = Global();
  absl::MutexLock lock(&memos.mu);
  std::shared_ptr<LruMemo>& memo = memos.by_name[name];
  if (memo == nullptr) {
    memo = std::make_shared<LruMemo>(capacity_bytes);
  } else if (memo->capacity_bytes() != capacity_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the memo named \"", name, "\" exists with capacity_bytes ", memo->capacity_bytes(),
        "; a memo of the same name must ask for the same capacity (got ", capacity_bytes, ")"));
  }
  return memo;
}

}  // namespace mnemo::caching::memo
