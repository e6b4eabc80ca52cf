// XXH64 against the published test vectors of xxHash's own sanity check
// (github.com/Cyan4973/xxHash, cli/xsum_sanity_check.c), which cover every
// branch: empty input, the 1-, 4- and 8-byte tails, and 32-byte stripes.

#include "caching/memo/hash.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "caching/memo/lru_memo.h"
#include "gtest/gtest.h"

namespace mnemo::caching::memo {
namespace {

constexpr uint64_t kPrime32 = 2654435761u;

// xxHash's sanity buffer: byte i is the top byte of PRIME32 * PRIME64^i.
std::vector<unsigned char> SanityBuffer(size_t size) {
  std::vector<unsigned char> buffer(size);
  uint64_t generator = kPrime32;
  for (size_t i = 0; i < size; ++i) {
    buffer[i] = static_cast<unsigned char>(generator >> 56);
    generator *= 11400714785074694797ull;
  }
  return buffer;
}

struct Vector {
  size_t length;
  uint64_t seed;
  uint64_t expected;
};

TEST(Xxh64Test, MatchesThePublishedSanityVectors) {
  const std::vector<unsigned char> buffer = SanityBuffer(222);
  const Vector vectors[] = {
      {0, 0, 0xEF46DB3751D8E999ull},   {0, kPrime32, 0xAC75FDA2929B17EFull},
      {1, 0, 0xE934A84ADB052768ull},   {1, kPrime32, 0x5014607643A9B4C3ull},
      {4, 0, 0x9136A0DCA57457EEull},   {14, 0, 0x8282DCC4994E35C8ull},
      {14, kPrime32, 0xC3BD6BF63DEB6DF0ull}, {222, 0, 0xB641AE8CB691C174ull},
      {222, kPrime32, 0x20CB8AB7AE10C14Aull},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(Xxh64(buffer.data(), v.length, v.seed), v.expected)
        << "length " << v.length << ", seed " << v.seed;
  }
}

TEST(Xxh64Test, MatchesAPublishedStringVector) {
  // python-xxhash's README example.
  const std::string text = "Nobody inspects the spammish repetition";
  EXPECT_EQ(Xxh64(text.data(), text.size()), 0xFBCEA83C8A378BF1ull);
}

TEST(Xxh64Test, DoesNotReadPastTheEnd) {
  // The same 40 bytes at an odd offset inside a larger buffer hash alike.
  std::vector<unsigned char> buffer = SanityBuffer(64);
  std::vector<unsigned char> copy(buffer.begin() + 3, buffer.begin() + 43);
  EXPECT_EQ(Xxh64(buffer.data() + 3, 40), Xxh64(copy.data(), copy.size()));
}

TEST(Xxh64Test, TheMemoHashesARowsBytes) {
  const float row[] = {0.0f, -0.0f, 1.5f, 3.25f, -7.0f};
  EXPECT_EQ(LruMemo::DefaultRowHash(row), Xxh64(row, sizeof(row)));
  // -0.0 and 0.0 are different bytes, so different keys.
  const float zero[] = {0.0f};
  const float negative_zero[] = {-0.0f};
  EXPECT_NE(LruMemo::DefaultRowHash(zero), LruMemo::DefaultRowHash(negative_zero));
}

}  // namespace
}  // namespace mnemo::caching::memo
