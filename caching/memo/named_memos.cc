#include "caching/memo/named_memos.h"

#include <map>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mnemo::caching::memo {
namespace {

struct Memos {
  std::mutex mu;  // not absl::Mutex, which ThreadSanitizer cannot see (lru_memo.h)
  std::map<std::string, std::shared_ptr<LruMemo>> by_name;  // guarded by mu
};

Memos& Global() {
  static Memos* const memos = new Memos;  // never destroyed: no exit-time order issues
  return *memos;
}

}  // namespace

absl::StatusOr<std::shared_ptr<LruMemo>> NamedMemo(const std::string& name,
                                                   size_t capacity_bytes) {
  Memos& memos = Global();
  std::lock_guard<std::mutex> lock(memos.mu);
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
