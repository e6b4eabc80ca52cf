#include "tools/data/compressed_file.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/io/read_file.h"

namespace mnemo {
namespace {

// zlib counts in 32-bit unsigned ints; larger buffers go through in pieces.
constexpr size_t kMaxZlibChunk = 1u << 30;
// Deflate cannot expand data by more than about 1032:1, which bounds the
// size hint a corrupt gzip trailer can make us reserve.
constexpr size_t kMaxDeflateRatio = 1032;

bool IsGzip(absl::string_view bytes) {
  return bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f &&
         static_cast<uint8_t>(bytes[1]) == 0x8b;
}

// The uncompressed size the gzip trailer (last 4 bytes, modulo 2^32) claims,
// as a hint for the output buffer only: the trailer is not trusted.
size_t SizeHint(absl::string_view compressed) {
  size_t size = 0;
  for (size_t i = 0; i < 4; ++i) {
    size |= static_cast<size_t>(static_cast<uint8_t>(compressed[compressed.size() - 4 + i]))
            << (8 * i);
  }
  return std::max<size_t>(std::min(size, compressed.size() * kMaxDeflateRatio), 1 << 16);
}

}  // namespace

absl::StatusOr<std::string> Gunzip(absl::string_view compressed,
                                   const std::string& name_for_errors) {
  const auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(name_for_errors, ": ", what));
  };
  if (compressed.size() < 18) {  // a 10-byte header and an 8-byte trailer at least
    return error(absl::StrCat("the gzip stream is truncated: the file is only ", compressed.size(),
                              " bytes"));
  }
  z_stream stream = {};
  // 16 + MAX_WBITS: a gzip wrapper, not a zlib one.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
    return absl::ResourceExhaustedError(
        absl::StrCat(name_for_errors, ": cannot start gzip decompression"));
  }
  std::string out(SizeHint(compressed), '\0');
  size_t consumed = 0;
  size_t produced = 0;
  absl::Status status;
  while (true) {
    if (produced == out.size()) out.resize(out.size() * 2);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + consumed));
    stream.avail_in = static_cast<uInt>(std::min(compressed.size() - consumed, kMaxZlibChunk));
    stream.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    stream.avail_out = static_cast<uInt>(std::min(out.size() - produced, kMaxZlibChunk));
    const uInt in_before = stream.avail_in;
    const uInt out_before = stream.avail_out;
    const int result = inflate(&stream, Z_NO_FLUSH);
    consumed += in_before - stream.avail_in;
    produced += out_before - stream.avail_out;

    if (result == Z_STREAM_END) {
      if (consumed == compressed.size()) break;
      // gzip allows several members one after the other (`cat a.gz b.gz`).
      if (IsGzip(compressed.substr(consumed))) {
        inflateReset(&stream);
        continue;
      }
      status = error(absl::StrCat(compressed.size() - consumed,
                                  " bytes that are not gzip after the gzip stream, from byte ",
                                  consumed));
      break;
    }
    if (result == Z_OK) continue;
    // Z_BUF_ERROR means no progress: with room for output, the input ran out.
    if (result == Z_BUF_ERROR && consumed == compressed.size()) {
      status = error(absl::StrCat("the gzip stream is truncated: it ends at byte ", consumed,
                                  " before its end marker"));
      break;
    }
    if (result == Z_BUF_ERROR) continue;
    status = error(absl::StrCat("corrupt gzip stream near byte ", consumed, ": ",
                                stream.msg != nullptr ? stream.msg : zError(result)));
    break;
  }
  inflateEnd(&stream);
  if (!status.ok()) return status;
  out.resize(produced);
  return out;
}

absl::StatusOr<std::string> ReadFileDecompressed(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok() || !IsGzip(*bytes)) return bytes;
  return Gunzip(*bytes, path);
}

}  // namespace mnemo
