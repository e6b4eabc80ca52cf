#ifndef MNEMO_CACHING_MEMO_NAMED_MEMOS_H_
#define MNEMO_CACHING_MEMO_NAMED_MEMOS_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "caching/memo/lru_memo.h"

namespace mnemo::caching::memo {

// The process's memo called `name`, created with `capacity_bytes` on first
// use. Memos are shared by name so that networks built one after another (a
// sweep's runs) or side by side reuse each other's results; so each lives
// until the process ends, even when no network uses it for a while.
// Thread-safe. Fails when the memo exists with another capacity.
absl::StatusOr<std::shared_ptr<LruMemo>> NamedMemo(const std::string& name,
                                                   size_t capacity_bytes);

}  // namespace mnemo::caching::memo

#endif  // MNEMO_CACHING_MEMO_NAMED_MEMOS_H_
