// Every file of the fuzz corpora (tests/fuzz/corpus/<reader>/) with the exact
// message its reader gives, as a user sees it; "" marks a valid seed. A file
// added to a corpus without an entry here fails the test, so each malformed
// input's error is pinned once it is checked in (crash regressions included).
//
// The cases the reader tests already build in code (tests/io, tests/data,
// tests/config, tests/plugins) are not repeated as files: these are the ones
// they lacked, and the seeds.

#include <dirent.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/config_loader.h"
#include "core/io/read_file.h"
#include "core/io/safetensors.h"
#include "core/plugin_api.h"
#include "core/registry.h"
#include "core/status_macros.h"
#include "gtest/gtest.h"
#include "tests/fuzz/example_lines_input.h"
#include "tests/fuzz/plugin_info_input.h"
#include "tools/data/csv.h"
#include "tools/data/npy.h"
#include "tools/data/readers.h"
#include "tools/sample_line.h"

// An allocation a config asks for that fails (the schema's ranges and the
// builder's memory check refuse layer-too-large.pbtxt's 16 EB before any) must
// fail under AddressSanitizer (--config=asan, --config=fuzz) as it does
// without it, with std::bad_alloc, rather than end the process with ASan's
// report.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }

namespace mnemo {
namespace {

struct Case {
  std::string file;
  std::string error;  // "$FILE" stands for the file's path; "" = valid
};

std::string CorpusDir(const std::string& reader) { return "tests/fuzz/corpus/" + reader; }

std::set<std::string> FilesIn(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* entry = readdir(d)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.insert(name);
    }
    closedir(d);
  }
  return names;
}

// Checks each case with `read` (the reader as a user's program calls it on
// the file) and that the cases are exactly the corpus's files. `file_name`
// gives what "$FILE" stands for in the messages.
void ExpectErrors(
    const std::string& reader, const std::vector<Case>& cases,
    const std::function<absl::Status(const std::string& path)>& read,
    const std::function<std::string(const std::string& path)>& file_name =
        [](const std::string& path) { return path; }) {
  std::set<std::string> listed;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    EXPECT_TRUE(listed.insert(c.file).second) << "listed twice";
    const std::string path = CorpusDir(reader) + "/" + c.file;
    const absl::Status status = read(path);
    if (c.error.empty()) {
      EXPECT_TRUE(status.ok()) << status;
    } else {
      EXPECT_FALSE(status.ok());
      EXPECT_EQ(std::string(status.message()),
                absl::StrReplaceAll(c.error, {{"$FILE", file_name(path)}}));
    }
  }
  const std::set<std::string> files = FilesIn(CorpusDir(reader));
  EXPECT_FALSE(files.empty()) << "no corpus in " << CorpusDir(reader);
  for (const std::string& file : files) {
    EXPECT_EQ(listed.count(file), 1u)
        << CorpusDir(reader) << "/" << file << " has no expected message here";
  }
}

TEST(CorpusErrorsTest, Config) {
  ExpectErrors(
      "config",
      {
          {"fashion_mlp.pbtxt", ""},
          {"fashion_mlp_plugin.pbtxt", ""},
          {"frozen_backbone_memo_checkpoint.pbtxt", ""},
          {"small-checkpoint-budget.pbtxt", ""},
          {"small-checkpoint-every-n.pbtxt", ""},
          {"small-memo.pbtxt", ""},
          {"any-url-without-type.pbtxt", "$FILE:3:65: Expected identifier, got: ]"},
          {"checkpoint-budget-too-small.pbtxt",
           "$FILE:3:1: the cache strategy refused the network: memory_budget_bytes 8 "
           "(0.0 MiB) is below what a training step at batch 4 needs: the smallest "
           "workable budget is 224 bytes (0.0 MiB); keeping every activation takes 224 "
           "bytes (0.0 MiB)"},
          {"checkpoint-every-n-zero.pbtxt",
           "$FILE:3:1: checkpoint: every_n must be at least 1 (got 0); the smallest "
           "workable value is 1, which keeps every activation"},
          {"checkpoint-sqrt-false.pbtxt",
           "$FILE:3:1: checkpoint: sqrt: false names no schedule; write sqrt: true, "
           "every_n: N or memory_budget_bytes: B"},
          {"field-given-twice.pbtxt",
           "$FILE:1:33: Non-repeated field \"input_size\" is specified multiple times."},
          {"layer-too-large.pbtxt",
           "$FILE:5:3: model.input_size must be at most 16777216, not 2000000000\n"
           "$FILE:6:25: model.layer[0].units must be at most 16777216, not 2000000000"},
          {"invalid-utf8.pbtxt", "$FILE:3:21: invalid UTF-8 (byte 0xff): a config is UTF-8 text"},
          {"memo-inner-options-wrong.pbtxt",
           "$FILE:4:1: memo: options.inner: cache strategy type \"checkpoint\" takes "
           "options of type mnemo.caching.checkpoint.CheckpointOptions, not "
           "mnemo.caching.memo.MemoOptions"},
          {"memo-options-invalid.pbtxt",
           "$FILE:3:1: memo: options.capacity_bytes must be > 0 (the most the memo may "
           "hold, in bytes; got -5); options.pure_layer_types: unknown layer type "
           "\"Nope\"; options.inner cannot be another memo"},
          {"nesting-too-deep.pbtxt",
           "$FILE:3:2862: Message is too deep, the parser exceeded the configured "
           "recursion limit of 100."},
          {"options-of-another-plugin.pbtxt",
           "$FILE:6:3: cache strategy type \"memo\" takes options of type "
           "mnemo.caching.memo.MemoOptions, not mnemo.caching.checkpoint.CheckpointOptions"},
          {"options-type-unknown.pbtxt",
           "$FILE:5:66: Could not find type "
           "\"type.googleapis.com/mnemo.caching.memo.MemoOptionz\" stored in "
           "google.protobuf.Any. No loaded plugin defines this options type: list the "
           "plugin that does in `plugin`, or correct the type name."},
          {"plugin-missing.pbtxt",
           "$FILE:1:1: cannot load plugin \"/nonexistent/libnone_plugin.so\": No such "
           "file or directory"},
          {"unknown-fields-too-deep.pbtxt",
           "$FILE:1:303: Message is too deep, the parser exceeded the configured "
           "recursion limit of 100."},
          {"syntax-unterminated-string.pbtxt",
           "$FILE:3:34: String literals cannot cross line boundaries.\n"
           "$FILE:5:1: Expected identifier, got: "},
      },
      [](const std::string& path) { return ConfigLoader().LoadFile(path).status(); });
}

// What nesting-too-deep.pbtxt and unknown-fields-too-deep.pbtxt pin, at the
// depth that crashed: before the loader limited nesting, some ten thousand
// levels overflowed the stack (tools/train died of SIGSEGV). Built here, as a
// file it would be 100 times the size of any other seed.
TEST(CorpusErrorsTest, ConfigNestedAHundredThousandLevelsIsAnErrorNotACrash) {
  constexpr int kLevels = 100000;
  std::string unknown;
  for (int i = 0; i < kLevels; ++i) unknown += "x {";
  unknown += std::string(kLevels, '}');
  EXPECT_EQ(ConfigLoader().LoadText(unknown, "deep.pbtxt").status().message(),
            "deep.pbtxt:1:303: Message is too deep, the parser exceeded the configured recursion "
            "limit of 100.");

  std::string memos = "plugin: \"caching/memo/libmemo_plugin.so\"\ncache_strategy ";
  for (int i = 0; i < kLevels / 3; ++i) {
    memos += "{ options { [type.googleapis.com/mnemo.caching.memo.MemoOptions] { inner ";
  }
  memos += "{}";
  for (int i = 0; i < kLevels / 3; ++i) memos += "} } }";
  EXPECT_EQ(ConfigLoader().LoadText(memos, "deep.pbtxt").status().message(),
            "deep.pbtxt:2:2435: Message is too deep, the parser exceeded the configured "
            "recursion limit of 100.");
}

TEST(CorpusErrorsTest, Idx) {
  ExpectErrors("idx",
               {
                   {"images-two.idx3", ""},
                   {"images-two.idx3.gz", ""},
                   {"labels-two.idx1", ""},
                   {"labels-two.idx1.gz", ""},
                   {"images-count-overflow.idx3",
                    "$FILE: bad dimensions: 4294967295 images of 1 x 1 pixels"},
                   {"images-empty.idx3",
                    "$FILE: the file is 0 bytes, too short for the magic number of an IDX image "
                    "file"},
                   // The sizes of a gzip file are those of its contents.
                   {"images-gzip-empty-member.idx3.gz",
                    "$FILE: the file is 0 bytes, too short for the magic number of an IDX image "
                    "file"},
                   {"images-gzip-then-gzip-garbage.idx3.gz",
                    "$FILE: corrupt gzip stream near byte 53: unknown compression method"},
                   {"images-pixels-overflow.idx3",
                    "$FILE: bad dimensions: 1 images of 65536 x 65536 pixels"},
                   {"labels-count-overflow.idx1", "$FILE: bad dimensions: 2147483648 labels"},
                   {"labels-gzip-out-of-range.idx1.gz",
                    "$FILE: label 200 of sample 2 is out of range 0 to 9"},
               },
               // The file's name says which half of a data set it is.
               [](const std::string& path) {
                 return absl::StrContains(path, ".idx1") ? ReadIdxLabels(path).status()
                                                         : ReadIdxImages(path).status();
               });
}

TEST(CorpusErrorsTest, Cifar10) {
  ExpectErrors("cifar10",
               {
                   {"empty.bin", ""},  // no records: an empty data set
                   {"one-record.bin", ""},
                   {"two-records.bin.gz", ""},
                   {"gzip-truncated.bin.gz",
                    "$FILE: the gzip stream is truncated: it ends at byte 40 before its end "
                    "marker"},
                   {"label-255-gzip.bin.gz", "$FILE: label 255 of record 1 is out of range 0 to 9"},
                   {"label-byte-only.bin",
                    "$FILE: the size, 1 bytes, is not a multiple of 3073 (a label byte and 3072 "
                    "pixel bytes): 0 records and 1 bytes left over"},
               },
               [](const std::string& path) { return ReadCifar10({path}).status(); });
}

TEST(CorpusErrorsTest, Safetensors) {
  ExpectErrors("safetensors",
               {
                   {"empty-header.safetensors", ""},
                   {"scalar-and-empty.safetensors", ""},
                   {"two-tensors.safetensors", ""},
                   {"quantized-int8.safetensors", ""},
                   {"narrow-ranks.safetensors", ""},
                   {"bf16-range-of-f32.safetensors",
                    "$FILE: tensor \"w\" has shape [2] (4 bytes of BF16) but data_offsets [0, 8] "
                    "hold 8 bytes"},
                   {"f16-dtype.safetensors",
                    "$FILE: tensor \"w\" has dtype \"F16\"; only F32, BF16 and I8 are supported"},
                   {"dtype-not-string.safetensors",
                    "$FILE: dtype of tensor \"w\" at byte 22 is an integer, not a string"},
                   {"lone-low-surrogate.safetensors",
                    "$FILE: bad JSON header at byte 10: unpaired low surrogate in \\u escape"},
                   {"metadata-not-object.safetensors",
                    "$FILE: \"__metadata__\" at byte 24 is a string, not an object"},
                   {"nul-in-header.safetensors",
                    "$FILE: bad JSON header at byte 11: control character in a string (must be "
                    "escaped)"},
                   {"offsets-not-integers.safetensors",
                    "$FILE: data_offsets of tensor \"w\" has a string at byte 56, not an "
                    "integer"},
                   // 2^62 - 2^32 + 1 elements: the byte count must not wrap around.
                   {"shape-product-overflow.safetensors",
                    "$FILE: tensor \"w\" has shape [2147483647, 2147483647] "
                    "(18446744056529682436 bytes of F32) but data_offsets [0, 4] hold 4 bytes"},
               },
               [](const std::string& path) { return ReadSafetensors(path).status(); });
}

TEST(CorpusErrorsTest, Csv) {
  ExpectErrors("csv",
               {
                   {"iris-like.csv", ""},
                   {"crlf-empty-cells.csv", ""},
                   {"rfc4180-quoting.csv", ""},
                   {"binary-header.csv", ""},
                   {"quote-in-unquoted.csv",
                    "$FILE:2:4: malformed quoting: a quote inside an unquoted field, or text "
                    "after a closing quote (RFC 4180: quote the whole field, and write a quote "
                    "in it as \"\")"},
                   {"unclosed-quote.csv", "$FILE:2:3: a quoted field is never closed"},
                   {"ragged-row.csv", "$FILE:2:1: a row of 3 cells; the header names 2 columns"},
                   {"duplicate-column.csv",
                    "$FILE:1:5: column \"a\" is named twice in the header row (columns 1 and "
                    "3)"},
                   {"empty.csv",
                    "$FILE:1:1: the file is empty; a CSV file needs a header row naming its "
                    "columns"},
               },
               [](const std::string& path) { return ReadCsv(path).status(); });
}

TEST(CorpusErrorsTest, Npy) {
  ExpectErrors("npy",
               {
                   {"float32-2x3.npy", ""},
                   {"float64-3.npy", ""},
                   {"uint8-images-2x2x2.npy", ""},
                   {"int32-labels-v2.npy", ""},
                   {"int64-v3.npy", ""},
                   {"empty-0x784.npy", ""},
                   {"float32-3x0.npy", ""},
                   {"float64-1260550754x0.npy", ""},     // a campaign's hang: no columns, many rows
                   {"float64-0x5x560x5040x57.npy", ""},  // and its out-of-memory: no rows
                   // A campaign's find: no rows, columns whose product wrapped int64.
                   {"columns-overflow.npy",
                    "$FILE: at byte 10: the shape (0, 5, 560, 50400575, 560, 5040057) has more "
                    "than 2^31 - 1 rows or columns"},
                   {"scalar.npy", ""},
                   {"big-endian.npy",
                    "$FILE: at byte 10: big-endian data ('>f4') is not read; save it "
                    "little-endian (a.astype('<f4'))"},
                   {"fortran-order.npy",
                    "$FILE: at byte 10: the array is in Fortran order; save a C-order one "
                    "(np.ascontiguousarray)"},
                   {"short-data.npy",
                    "$FILE: at byte 128: the shape (2, 4) of float32 needs 32 bytes of data but "
                    "the array has 24"},
                   {"huge-shape.npy",
                    "$FILE: at byte 10: the shape (999999999999999999, 999999999999999999) has "
                    "more than 2^31 - 1 rows or columns"},
                   {"not-npy.npy",
                    "$FILE: at byte 0: not a NumPy .npy array (it does not start with "
                    "\\x93NUMPY)"},
               },
               [](const std::string& path) { return NpyFile::Open(path).status(); });
}

// An archive as the "npy" data format reads it by default: its arrays "x"
// (the features) and "y" (the targets).
TEST(CorpusErrorsTest, Npz) {
  ExpectErrors("npz",
               {
                   {"stored-x-y.npz", ""},
                   {"deflated-x-y.npz", ""},
                   {"zip64-x-y.npz", ""},
                   {"zip64-deflated-x-y.npz", ""},
                   {"streamed-x-y.npz", ""},  // data descriptors, as a writer to a pipe
                   {"bad-crc.npz",
                    "$FILE: entry \"x.npy\": at byte 287: the CRC-32 of the inflated entry is "
                    "0xa2de9c7c; the central directory gives 0xa2de9c7d: the archive is damaged"},
                   {"bad-local-signature.npz",
                    "$FILE: entry \"x.npy\": at byte 0: expected a local file header (PK\\3\\4), "
                    "found 0x05054b50: the archive is damaged"},
                   {"bzip2-method.npz",
                    "$FILE: entry \"x.npy\": at byte 416: compression method 12 (bzip2); an .npz "
                    "entry is stored (0) or deflated (8), as np.savez and np.savez_compressed "
                    "write them"},
                   {"corrupt-deflate.npz",
                    "$FILE: entry \"x.npy\": at byte 56: the deflated data is corrupt (zlib: "
                    "invalid block type)"},
                   {"encrypted.npz",
                    "$FILE: entry \"x.npy\": at byte 414: the entry is encrypted; an .npz archive "
                    "is read unencrypted, as np.savez writes it"},
                   {"fortran-order-y.npz",
                    "$FILE (array \"y\"): at byte 10: the array is in Fortran order; save a "
                    "C-order one (np.ascontiguousarray)"},
                   {"local-header-beyond-end.npz",
                    "$FILE: entry \"x.npy\": at byte 448: the local header at byte 4294967280 "
                    "goes beyond the end of the file at byte 530"},
                   {"no-arrays.npz",
                    "$FILE: at byte 0: the central directory has no entry \"x.npy\" (array "
                    "\"x\"); the archive has no arrays"},
                   {"not-a-zip.npz",
                    "$FILE: at byte 0: not a zip archive: no end of central directory record "
                    "(PK\\5\\6) from here to the end of the file at byte 152; an .npz file is a "
                    "zip archive, as np.savez writes it (is this one cut short?)"},
                   {"only-x.npz",
                    "$FILE: at byte 207: the central directory has no entry \"y.npy\" (array "
                    "\"y\"); its arrays are \"x\""},
                   {"size-mismatch.npz",
                    "$FILE: entry \"x.npy\": at byte 143: the entry inflates to 152 bytes; the "
                    "central directory gives it 153"},
                   {"too-many-entries.npz",
                    "$FILE: at byte 518: 65534 entries cannot fit in a central directory of 102 "
                    "bytes (each takes at least 46)"},
                   {"truncated.npz",
                    "$FILE: at byte 0: not a zip archive: no end of central directory record "
                    "(PK\\5\\6) from here to the end of the file at byte 265; an .npz file is a "
                    "zip archive, as np.savez writes it (is this one cut short?)"},
                   // 2^50 bytes: refused before anything is allocated.
                   {"zip64-huge-size.npz",
                    "$FILE: entry \"x.npy\": at byte 295: the central directory gives the entry "
                    "1125899906842624 bytes uncompressed, more than the 1099511627776 bytes an "
                    "entry is inflated to: the archive is damaged"},
                   // A zip64 offset of 2^64 - 1: it must not wrap around.
                   {"zip64-locator-overflow.npz",
                    "$FILE: at byte 485: the zip64 end of central directory record is said to be "
                    "at byte 18446744073709551615, which leaves no room for its 56 bytes before "
                    "the zip64 locator at byte 477"},
               },
               [](const std::string& path) -> absl::Status {
                 MNEMO_RETURN_IF_ERROR(NpyFile::ArchiveArrays(path).status());
                 for (const char* array : {"x", "y"}) {
                   MNEMO_RETURN_IF_ERROR(NpyFile::OpenInArchive(path, array).status());
                 }
                 return absl::OkStatus();
               });
}

// The files hold a plugin's info (plugin_info_input.h); "$FILE" is the
// library the fuzzer loads it through.
TEST(CorpusErrorsTest, PluginInfo) {
  ExpectErrors(
      "plugin_info",
      {
          {"valid.info", ""},
          {"valid-newer-minor.info", ""},
          {"valid-no-name-no-types.info", ""},
          {"clashes-with-core.info",
           "$FILE: nothing was registered: layer type \"Dense\" is registered twice: by "
           "libmnemo_core.so (built-in types) and by $FILE; backend type \"eigen\" is "
           "registered twice: by libmnemo_core.so (built-in types) and by $FILE"},
          {"empty-type-name.info",
           "$FILE: nothing was registered: a layer type with an empty name; a memory module "
           "type with an empty name"},
          {"empty.info",
           "$FILE has a plugin info of 0 bytes; this host needs at least 40; rebuild the plugin "
           "against this mnemo"},
          {"entry-returns-null.info", "$FILE: mnemo_plugin_info() returned null"},
          {"fails.info", "$FILE: nothing was registered: no accelerator found"},
          {"foreign-fingerprint.info",
           absl::StrCat(
               "$FILE was built with a different toolchain, libraries or ABI flags: plugin \"gcc "
               "4.8.5; cxx11-abi 0\", host \"",
               MNEMO_BUILD_FINGERPRINT, "\"; rebuild the plugin against this mnemo")},
          {"newer-abi.info",
           "$FILE was built for mnemo plugin ABI 2.3; this host speaks ABI 1.0; rebuild the "
           "plugin against this mnemo"},
          {"no-fingerprint.info",
           absl::StrCat(
               "$FILE was built with a different toolchain, libraries or ABI flags: plugin "
               "\"(none)\", host \"",
               MNEMO_BUILD_FINGERPRINT, "\"; rebuild the plugin against this mnemo")},
          {"no-register-types.info", "$FILE: the plugin info has no register_types function"},
          {"registers-twice.info",
           "$FILE: nothing was registered: cache strategy type \"fuzz\" is registered twice by "
           "$FILE"},
          {"short-struct.info",
           "$FILE has a plugin info of 12 bytes; this host needs at least 40; rebuild the "
           "plugin against this mnemo"},
      },
      [](const std::string& path) {
        MNEMO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
        Registries registries;
        fuzz::AddBuiltinTypes(registries);
        return fuzz::LoadWithInfo(fuzz::DecodePluginInfo(bytes), registries).status();
      },
      [](const std::string&) { return fuzz::FuzzInfoPluginPath(); });
}

TEST(CorpusErrorsTest, ExampleLines) {
  ExpectErrors(
      "example_lines",
      {
          {"valid.txt", ""},
          {"label-not-a-class.txt", "$FILE: line 2, field 1 (column 1): not a class id or name"},
          {"serve-stream.txt", "$FILE: line 1, field 1 (column 1): not a class id or name"},
          {"class-too-large.txt",
           "$FILE: line 1, field 1 (column 1): class 6 is not one the memory holds"},
          {"label-empty.txt",
           "$FILE: line 1, field 1 (column 1): empty (a label, then the sample's values)"},
          {"too-few-values.txt", "$FILE: line 1: 2 values, but a sample has 3"},
          {"too-many-values.txt",
           "$FILE: line 1, field 5 (column 9): more than the 3 values a sample has"},
          {"value-not-finite.txt", "$FILE: line 1, field 3 (column 5): \"nan\" is not finite"},
          {"value-not-a-number.txt", "$FILE: line 1, field 3 (column 5): \"x\" is not a number"},
          {"trailing-comma.txt",
           "$FILE: line 1, field 5 (column 10): empty (the line ends with a comma)"},
      },
      [](const std::string& path) -> absl::Status {
        MNEMO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
        return ParseExampleLines(text, path, fuzz::kExampleWidth, &fuzz::ExampleLabel).status();
      });
}

}  // namespace
}  // namespace mnemo
