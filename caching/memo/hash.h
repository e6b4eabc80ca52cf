#ifndef MNEMO_CACHING_MEMO_HASH_H_
#define MNEMO_CACHING_MEMO_HASH_H_

#include <cstddef>
#include <cstdint>

namespace mnemo::caching::memo {

// XXH64 (Yann Collet's xxHash, 64-bit variant) of `size` bytes: fast (several
// GB/s, so hashing a 784-float input row costs well under a microsecond) and
// well distributed. Not cryptographic: the memo never trusts a hash alone, it
// confirms every hit by comparing the stored input.
uint64_t Xxh64(const void* data, size_t size, uint64_t seed = 0);

}  // namespace mnemo::caching::memo

#endif  // MNEMO_CACHING_MEMO_HASH_H_
