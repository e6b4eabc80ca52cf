#ifndef MNEMO_TOOLS_DATA_READERS_H_
#define MNEMO_TOOLS_DATA_READERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.pb.h"
#include "core/data_config.h"
#include "core/dataset.h"
#include "core/tensor.h"

namespace mnemo {

// Reads an IDX image file and its label file (each raw or gzip-compressed,
// chosen by content, not by name). Errors name the file and say what is wrong:
// missing, truncated (expected vs actual bytes), wrong magic number, bad
// dimensions, a label out of range, image and label counts that differ.
// `limit` > 0 keeps only the first `limit` samples.
absl::StatusOr<Dataset> ReadIdx(const std::string& images_path, const std::string& labels_path,
                                int limit = 0);

// The two halves of ReadIdx, for samples without labels (images to classify)
// and labels on their own: an IDX image file as rows of features scaled to
// [0, 1] (the first `limit` when > 0), and an IDX label file, each label
// checked as ReadIdx checks it. The same errors as ReadIdx.
absl::StatusOr<Tensor> ReadIdxImages(const std::string& path, int limit = 0);
absl::StatusOr<std::vector<int32_t>> ReadIdxLabels(const std::string& path);

// Reads files of the binary version of CIFAR-10 (data_batch_1.bin ...,
// test_batch.bin), in the order given, as one data set: records of a label
// byte and 3,072 pixel bytes (the 32x32 red plane row by row, then green,
// then blue), each record a row of 3,072 features in the file's order scaled
// to [0, 1]. Each file may be gzip-compressed. Errors name the file: missing,
// a size that is not a whole number of 3,073-byte records (the record count
// and the bytes left over), a label above 9 (its record index). `limit` > 0
// keeps only the first `limit` samples over all the files.
absl::StatusOr<Dataset> ReadCifar10(const std::vector<std::string>& paths, int limit = 0);

// The training and test sets a Data config names (core/data_config.h; the
// defaults filled in: /usr/share/datasets/fashion-mnist, "train", "t10k";
// `<prefix>-images-idx3-ubyte` with or without `.gz`). Format "cifar10" reads data_batch_1.bin to
// data_batch_5.bin (training) and test_batch.bin (test) from data.dir, which
// it requires; it has fixed file names, so train_prefix and test_prefix are
// refused with it.
struct TrainTestData {
  Dataset train;
  Dataset test;
};
absl::StatusOr<TrainTestData> LoadData(const config::Data& config);

}  // namespace mnemo

#endif  // MNEMO_TOOLS_DATA_READERS_H_
