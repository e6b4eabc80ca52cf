// A data set larger than the memory it may use (issue "train on your own
// data"): a generated .npy of 4 GiB trains an epoch with a peak resident
// memory under 1 GB.
//
//   ./bazelw run //tools/bench:large_npy_benchmark
//   ./bazelw run //tools/bench:large_npy_benchmark -- --dir=/big/disk --backend=onednn
//   ./bazelw run //tools/bench:large_npy_benchmark -- --rows=65536   # a quick look
//
// 1. Writes (or reuses, when they are there with the right header and size)
//    into --dir: x_train (rows x 1,024 float32, 4 GiB at the default
//    1,048,576 rows), y_train (int64 labels), and a small test set likewise,
//    a chunk at a time, with headers byte for byte as NumPy 1.x's np.save
//    writes them (format 1.0, '<f4' / '<i8', the header padded to 64 bytes).
//    The data is a mixture of Gaussians: each row's class is drawn uniformly
//    from 10, its features are the class's mean (fixed, drawn from
//    N(0, 0.08^2) per feature from --seed) plus N(0, 1) noise. The nearest
//    class mean gets about 82% right, so the task is learnable but not
//    trivial. Every row is drawn from its own index, so the file does not
//    depend on the chunking or the thread count. Files are written under a
//    temporary name and renamed when complete; free space is checked first.
// 2. Writes a config beside them (format "npy", 1024-64-10, SGD, batch 256,
//    one epoch) and trains that epoch in this process through the path
//    tools/train takes: ConfigLoader, LoadData, BuildNetwork, CreateOptimizer,
//    Trainer::Run (evaluating on the test set after the epoch).
// 3. Prints the file's size and rows, the epoch's seconds and samples/s, the
//    training and test accuracy, and the training's peak resident memory
//    (VmHWM, reset just before the config and data are opened, so that
//    writing the files does not count, and between the phases: opening, the
//    epoch's batches, the test evaluation), then PASS or FAIL against
//    --max_resident_bytes (1 GB); exits 1 on FAIL.
//
// What the peak is made of. Linux 6.x keeps a file written in large writes
// in large page-cache folios (up to 2 MiB) and maps a whole folio on a read
// fault, so reading one 4 KiB row can map 2 MiB: a batch of 256 random rows
// mapped about 500 MiB, and one of 1,024 about 1.6 GiB, before NpyFile
// released the mapping every 32 rows of a gather (tools/data/npy.h). Now at
// most about 64 MiB of the file is resident at once whatever the batch size,
// and the peak is that plus the model and its buffers (87 MiB at batch 256,
// 92 MiB at 1,024, on the 2-core EPYC of 2026-12-07). The page cache itself
// is the kernel's, not the process's resident memory.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/config_loader.h"
#include "core/format_bytes.h"
#include "core/model_builder.h"
#include "core/optimizer.h"
#include "core/status_macros.h"
#include "core/stopwatch.h"
#include "core/trainer.h"
#include "tools/data/readers.h"
#include "tools/model_summary.h"
#include "tools/paths.h"
#include "tools/progress.h"
#include "tools/resident_memory.h"
#include "tools/tool_main.h"

ABSL_FLAG(std::string, dir, "/tmp/mnemo_large_npy",
          "directory for the generated arrays and the config (reused when present)");
ABSL_FLAG(int64_t, rows, 1 << 20, "training rows (1,048,576 x 1,024 float32 = 4 GiB)");
ABSL_FLAG(int, cols, 1024, "features per row");
ABSL_FLAG(int64_t, test_rows, 10000, "test rows");
ABSL_FLAG(int64_t, seed, 1, "seed of the generated data and of the training run");
ABSL_FLAG(std::string, backend, "eigen", "the model's backend: eigen or onednn");
ABSL_FLAG(int, threads, -1, "threads of the backend; 0 = one per core, -1 = the backend's default");
ABSL_FLAG(int64_t, max_resident_bytes, 1000000000,
          "the bound on the training's peak resident memory (1 GB)");
ABSL_FLAG(bool, keep, true,
          "keep the generated files for the next run; --nokeep deletes them at the end");
ABSL_FLAG(bool, cold, false,
          "drop the training file from the page cache before training (reads from disk)");

namespace mnemo {
namespace {

constexpr int kClasses = 10;
constexpr double kMeanStddev = 0.08;  // of each class mean's features
constexpr int64_t kChunkRows = 8192;
// Streams of the seed: the class means, and the rows of each set.
constexpr uint64_t kMeansStream = 0x6d65616e73;
constexpr uint64_t kTrainStream = 0x747261696e;
constexpr uint64_t kTestStream = 0x74657374;
// Room left over on the disk beyond the files.
constexpr uint64_t kSpareBytes = uint64_t{256} << 20;
constexpr double kGigabyte = 1e9;

// SplitMix64: a small generator whose state any 64-bit value may be.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1], never 0 (for the logarithm below).
  float Uniform() { return static_cast<float>((Next() >> 40) + 1) * 0x1.0p-24f; }
  // Two N(0, 1) values (Box-Muller).
  void Normal2(float* a, float* b) {
    const float radius = std::sqrt(-2.0f * std::log(Uniform()));
    const float angle = 6.2831853f * Uniform();
    *a = radius * std::cos(angle);
    *b = radius * std::sin(angle);
  }

 private:
  uint64_t state_;
};

uint64_t RowSeed(uint64_t seed, uint64_t stream, int64_t row) {
  SplitMix64 mix(seed ^ (stream * 0xd1b54a32d192ed03ULL));
  const uint64_t base = mix.Next();
  SplitMix64 row_mix(base + static_cast<uint64_t>(row) * 0x9e3779b97f4a7c15ULL);
  return row_mix.Next();
}

// The classes' means, kClasses x cols.
std::vector<float> ClassMeans(uint64_t seed, int cols) {
  std::vector<float> means(static_cast<size_t>(kClasses) * cols);
  SplitMix64 rng(RowSeed(seed, kMeansStream, 0));
  for (size_t i = 0; i < means.size(); i += 2) {
    float a, b;
    rng.Normal2(&a, &b);
    means[i] = static_cast<float>(kMeanStddev) * a;
    if (i + 1 < means.size()) means[i + 1] = static_cast<float>(kMeanStddev) * b;
  }
  return means;
}

// Row `row` of a set: its label, and its features into `x` (cols floats).
int64_t GenerateRow(uint64_t seed, uint64_t stream, int64_t row, const std::vector<float>& means,
                    int cols, float* x) {
  SplitMix64 rng(RowSeed(seed, stream, row));
  const int64_t label = static_cast<int64_t>(((rng.Next() >> 32) * kClasses) >> 32);
  const float* mean = means.data() + label * cols;
  for (int j = 0; j < cols; j += 2) {
    float a, b;
    rng.Normal2(&a, &b);
    x[j] = mean[j] + a;
    if (j + 1 < cols) x[j + 1] = mean[j + 1] + b;
  }
  return label;
}

// The header NumPy's np.save writes (numpy/lib/format.py, format 1.0): the
// magic string and version, the header's length (little-endian uint16), and
// the dictionary's repr with its keys sorted, spare spaces for the first
// size to grow to 21 digits, spaces to make the whole a multiple of 64 bytes,
// and a newline.
std::string NpyHeader(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string shape_text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    absl::StrAppend(&shape_text, i > 0 ? ", " : "", shape[i]);
  }
  absl::StrAppend(&shape_text, shape.size() == 1 ? ",)" : ")");
  std::string dict =
      absl::StrCat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape_text, ", }");
  if (!shape.empty()) {
    constexpr int kGrowthAxisMaxDigits = 21;
    dict.append(kGrowthAxisMaxDigits - absl::StrCat(shape[0]).size(), ' ');
  }
  constexpr size_t kMagicAndLength = 10;  // "\x93NUMPY", 1, 0, and a uint16
  const size_t length = dict.size() + 1;  // with the newline
  const size_t padding = 64 - (kMagicAndLength + length) % 64;
  const size_t header_length = length + padding;
  std::string header("\x93NUMPY\x01\x00", 8);
  header.push_back(static_cast<char>(header_length & 0xff));
  header.push_back(static_cast<char>(header_length >> 8));
  header += dict;
  header.append(padding, ' ');
  header.push_back('\n');
  return header;
}

// One array to write: its path, header and size in all.
struct ArrayFile {
  std::string path;
  std::string header;
  uint64_t bytes = 0;  // header and data
};

ArrayFile Features(const std::string& dir, const std::string& name, int64_t rows, int cols,
                   uint64_t seed) {
  ArrayFile file;
  file.path = absl::StrFormat("%s/%s_x_%dx%d_seed%d.npy", dir, name, rows, cols, seed);
  file.header = NpyHeader("<f4", {rows, cols});
  file.bytes = file.header.size() + static_cast<uint64_t>(rows) * cols * sizeof(float);
  return file;
}

ArrayFile Labels(const std::string& dir, const std::string& name, int64_t rows, int cols,
                 uint64_t seed) {
  ArrayFile file;
  file.path = absl::StrFormat("%s/%s_y_%dx%d_seed%d.npy", dir, name, rows, cols, seed);
  file.header = NpyHeader("<i8", {rows});
  file.bytes = file.header.size() + static_cast<uint64_t>(rows) * sizeof(int64_t);
  return file;
}

// Whether `file` is there, complete: its size and header as written here.
bool IsComplete(const ArrayFile& file) {
  struct stat info;
  if (::stat(file.path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
      static_cast<uint64_t>(info.st_size) != file.bytes) {
    return false;
  }
  std::FILE* f = std::fopen(file.path.c_str(), "rb");
  if (f == nullptr) return false;
  std::string header(file.header.size(), '\0');
  const bool read = std::fread(header.data(), 1, header.size(), f) == header.size();
  std::fclose(f);
  return read && header == file.header;
}

absl::Status ErrnoError(const std::string& what) { return absl::ErrnoToStatus(errno, what); }

// A file being written under a temporary name, renamed into place by Commit.
class Output {
 public:
  static absl::StatusOr<std::unique_ptr<Output>> Create(const ArrayFile& file) {
    const std::string temporary = file.path + ".partial";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoError(absl::StrCat("cannot create ", temporary));
    auto output = std::unique_ptr<Output>(new Output(file.path, temporary, fd));
    MNEMO_RETURN_IF_ERROR(output->Write(file.header.data(), file.header.size()));
    return output;
  }
  ~Output() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(temporary_.c_str());
    }
  }
  absl::Status Write(const void* data, size_t bytes) {
    const char* p = static_cast<const char*>(data);
    while (bytes > 0) {
      const ssize_t n = ::write(fd_, p, bytes);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(absl::StrCat("cannot write ", temporary_));
      }
      p += n;
      bytes -= static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }
  absl::Status Commit() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      ::unlink(temporary_.c_str());
      return ErrnoError(absl::StrCat("cannot write ", temporary_));
    }
    if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
      ::unlink(temporary_.c_str());
      return ErrnoError(absl::StrCat("cannot rename ", temporary_, " to ", path_));
    }
    return absl::OkStatus();
  }

 private:
  Output(std::string path, std::string temporary, int fd)
      : path_(std::move(path)), temporary_(std::move(temporary)), fd_(fd) {}

  std::string path_;
  std::string temporary_;
  int fd_;
};

// Writes a set's features and labels a chunk of rows at a time, the rows of a
// chunk drawn by all the cores.
absl::Status WriteSet(const ArrayFile& x_file, const ArrayFile& y_file, const char* what,
                      int64_t rows, int cols, uint64_t seed, uint64_t stream,
                      const std::vector<float>& means) {
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Output> x_out, Output::Create(x_file));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Output> y_out, Output::Create(y_file));
  const int64_t chunk = std::min(kChunkRows, std::max<int64_t>(rows, 1));
  std::vector<float> x(static_cast<size_t>(chunk) * cols);
  std::vector<int64_t> y(static_cast<size_t>(chunk));
  const int workers = std::max(1u, std::thread::hardware_concurrency());
  const int chunks = static_cast<int>((rows + chunk - 1) / chunk);

  ProgressBar bar;
  bar.Start(absl::StrFormat("writing %s (%s)", what, FormatBytes(x_file.bytes)), chunks);
  const Stopwatch stopwatch;
  for (int c = 0; c < chunks; ++c) {
    const int64_t first = c * chunk;
    const int64_t count = std::min(chunk, rows - first);
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        for (int64_t i = w; i < count; i += workers) {
          y[i] = GenerateRow(seed, stream, first + i, means, cols, x.data() + i * cols);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    MNEMO_RETURN_IF_ERROR(
        x_out->Write(x.data(), static_cast<size_t>(count) * cols * sizeof(float)));
    MNEMO_RETURN_IF_ERROR(y_out->Write(y.data(), static_cast<size_t>(count) * sizeof(int64_t)));
    const double written = static_cast<double>(first + count) * cols * sizeof(float);
    bar.Update(c + 1,
               absl::StrFormat("%s of %s, %s/s", FormatBytes(written), FormatBytes(x_file.bytes),
                               FormatBytes(written / stopwatch.ElapsedSeconds())));
  }
  MNEMO_RETURN_IF_ERROR(x_out->Commit());
  MNEMO_RETURN_IF_ERROR(y_out->Commit());
  bar.Finish();
  absl::PrintF("wrote   %s (%s) and its labels in %.1f s\n", x_file.path, FormatBytes(x_file.bytes),
               stopwatch.ElapsedSeconds());
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FreeBytes(const std::string& dir) {
  struct statvfs info;
  if (::statvfs(dir.c_str(), &info) != 0) return ErrnoError(absl::StrCat("cannot stat ", dir));
  return static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
}

absl::Status MakeDirectory(const std::string& dir) {
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string prefix = dir.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError(absl::StrCat("cannot create ", prefix));
    }
    if (slash == std::string::npos) return absl::OkStatus();
  }
}

// Drops `path`'s pages from the page cache (those not mapped anywhere).
absl::Status DropFromPageCache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(absl::StrCat("cannot open ", path));
  // Dirty pages are not dropped: written back first.
  if (::fdatasync(fd) != 0) {
    const int sync_error = errno;
    ::close(fd);
    return absl::ErrnoToStatus(sync_error, absl::StrCat("cannot write back ", path));
  }
  const int error = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  if (error != 0) {
    return absl::ErrnoToStatus(error, absl::StrCat("cannot drop ", path, " from the page cache"));
  }
  return absl::OkStatus();
}

std::string ConfigText(const ArrayFile& x_train, const ArrayFile& y_train, const ArrayFile& x_test,
                       const ArrayFile& y_test, int cols, uint64_t seed, const std::string& backend,
                       int threads) {
  const auto base = [](const ArrayFile& f) { return f.path.substr(f.path.rfind('/') + 1); };
  std::string text =
      "# Written by //tools/bench:large_npy_benchmark: one epoch over the generated arrays\n"
      "# beside this file.\n";
  if (backend == "onednn")
    absl::StrAppend(&text, "plugin: \"plugins/onednn/libonednn_plugin.so\"\n");
  absl::StrAppend(&text, "model {\n");
  if (backend != "eigen") absl::StrAppend(&text, "  backend: \"", backend, "\"\n");
  if (threads >= 0) absl::StrAppend(&text, "  threads: ", threads, "\n");
  absl::StrAppend(&text, "  input_size: ", cols, "\n",
                  "  init { scheme: HE_UNIFORM }\n"
                  "  layer { type: \"Dense\" units: 64 activation: \"ReLU\" }\n"
                  "  layer { type: \"Dense\" units: ",
                  kClasses,
                  " }\n"
                  "}\n"
                  "data {\n"
                  "  format: \"npy\"\n"
                  "  train_file: \"",
                  base(x_train), "\"\n", "  train_targets_file: \"", base(y_train), "\"\n",
                  "  test_file: \"", base(x_test), "\"\n", "  test_targets_file: \"", base(y_test),
                  "\"\n",
                  "}\n"
                  "trainer {\n"
                  "  optimizer { type: \"sgd\" learning_rate: 0.05 }\n"
                  "  batch_size: 256\n"
                  "  epochs: 1\n"
                  "  seed: ",
                  seed, "\n", "}\n");
  return text;
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return ErrnoError(absl::StrCat("cannot create ", path));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !written) return ErrnoError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// The peak resident memory since the last reset (VmHWM), then a reset; 0
// when either fails.
int64_t TakePeak() {
  const absl::StatusOr<ResidentMemory> memory = ReadResidentMemory();
  if (!memory.ok()) return 0;
  (void)ResetPeakResidentMemory();
  return memory->peak_bytes;
}

// A progress bar over the epoch's batches, and the peak resident memory of
// the epoch's batches and of the evaluation after them, apart.
class EpochProgress : public TrainingObserver {
 public:
  explicit EpochProgress(int batch_size) : batch_size_(batch_size) {}
  void OnEpochStart(int epoch, int num_batches) override {
    setup_peak_ = std::max(setup_peak_, TakePeak());
    bar_.Start(absl::StrFormat("epoch %d", epoch), num_batches);
    num_batches_ = num_batches;
    stopwatch_.Restart();
    loss_sum_ = 0;
    batches_ = 0;
  }
  void OnBatchEnd(int /*epoch*/, int batch, const StepResult& step) override {
    loss_sum_ += step.loss;
    ++batches_;
    // /proc/self/status now and then: reading it takes tens of microseconds.
    if (batch % 32 == 0 || batch == num_batches_) memory_ = ReadResidentMemory();
    const absl::StatusOr<ResidentMemory>& memory = memory_;
    bar_.Update(
        batch,
        absl::StrFormat("loss %.4f  %.0f samples/s  resident %s, peak %s", loss_sum_ / batches_,
                        batches_ * static_cast<double>(batch_size_) / stopwatch_.ElapsedSeconds(),
                        memory.ok() ? FormatBytes(memory->current_bytes) : "?",
                        memory.ok() ? FormatBytes(memory->peak_bytes) : "?"));
    if (batch == num_batches_) epoch_peak_ = std::max(epoch_peak_, TakePeak());
  }
  void OnEpochEnd(const EpochMetrics& /*metrics*/) override {
    bar_.Finish();
    evaluation_peak_ = std::max(evaluation_peak_, TakePeak());
  }

  int64_t setup_peak() const { return setup_peak_; }
  int64_t epoch_peak() const { return epoch_peak_; }
  int64_t evaluation_peak() const { return evaluation_peak_; }

 private:
  ProgressBar bar_;
  int batch_size_;
  int num_batches_ = 0;
  absl::StatusOr<ResidentMemory> memory_ = absl::UnavailableError("not read yet");
  Stopwatch stopwatch_;
  double loss_sum_ = 0;
  int batches_ = 0;
  int64_t setup_peak_ = 0;
  int64_t epoch_peak_ = 0;
  int64_t evaluation_peak_ = 0;
};

absl::Status Run() {
  const std::string dir = UserPath(absl::GetFlag(FLAGS_dir));
  const int64_t rows = absl::GetFlag(FLAGS_rows);
  const int cols = absl::GetFlag(FLAGS_cols);
  const int64_t test_rows = absl::GetFlag(FLAGS_test_rows);
  const int64_t seed_flag = absl::GetFlag(FLAGS_seed);
  const std::string backend = absl::GetFlag(FLAGS_backend);
  const int threads = absl::GetFlag(FLAGS_threads);
  const int64_t bound = absl::GetFlag(FLAGS_max_resident_bytes);
  if (rows < 1 || rows > (int64_t{1} << 31) - 2) {
    return absl::InvalidArgumentError("--rows must be from 1 to 2^31 - 2");
  }
  if (cols < 1 || cols > (1 << 24))
    return absl::InvalidArgumentError("--cols must be from 1 to 2^24");
  if (test_rows < 1 || test_rows > (int64_t{1} << 31) - 2) {
    return absl::InvalidArgumentError("--test_rows must be from 1 to 2^31 - 2");
  }
  if (seed_flag < 0) return absl::InvalidArgumentError("--seed must be >= 0");
  if (backend != "eigen" && backend != "onednn") {
    return absl::InvalidArgumentError("--backend must be eigen or onednn");
  }
  if (threads < -1) return absl::InvalidArgumentError("--threads must be >= -1");
  if (bound <= 0) return absl::InvalidArgumentError("--max_resident_bytes must be > 0");
  const uint64_t seed = static_cast<uint64_t>(seed_flag);

  // 1. The arrays.
  MNEMO_RETURN_IF_ERROR(MakeDirectory(dir));
  const ArrayFile x_train = Features(dir, "train", rows, cols, seed);
  const ArrayFile y_train = Labels(dir, "train", rows, cols, seed);
  const ArrayFile x_test = Features(dir, "test", test_rows, cols, seed);
  const ArrayFile y_test = Labels(dir, "test", test_rows, cols, seed);
  const bool have_train = IsComplete(x_train) && IsComplete(y_train);
  const bool have_test = IsComplete(x_test) && IsComplete(y_test);
  uint64_t needed = 0;
  if (!have_train) needed += x_train.bytes + y_train.bytes;
  if (!have_test) needed += x_test.bytes + y_test.bytes;
  if (needed > 0) {
    MNEMO_ASSIGN_OR_RETURN(uint64_t free_bytes, FreeBytes(dir));
    if (free_bytes < needed + kSpareBytes) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s has %s free; the generated data set needs %s and %s to spare: free some space "
          "there or pass --dir=<a directory with room>",
          dir, FormatBytes(free_bytes), FormatBytes(needed), FormatBytes(kSpareBytes)));
    }
  }
  const std::vector<float> means = ClassMeans(seed, cols);
  if (have_train) {
    absl::PrintF("reusing %s (%s)\n", x_train.path, FormatBytes(x_train.bytes));
  } else {
    MNEMO_RETURN_IF_ERROR(
        WriteSet(x_train, y_train, "the training set", rows, cols, seed, kTrainStream, means));
  }
  if (have_test) {
    absl::PrintF("reusing %s (%s)\n", x_test.path, FormatBytes(x_test.bytes));
  } else {
    MNEMO_RETURN_IF_ERROR(
        WriteSet(x_test, y_test, "the test set", test_rows, cols, seed, kTestStream, means));
  }
  if (x_train.bytes < uint64_t{4} * 1000 * 1000 * 1000) {
    absl::PrintF("note    the training file is %s, under the 4 GB the issue asks for\n",
                 FormatBytes(x_train.bytes));
  }
  if (absl::GetFlag(FLAGS_cold)) {
    MNEMO_RETURN_IF_ERROR(DropFromPageCache(x_train.path));
    absl::PrintF("dropped %s from the page cache (--cold)\n", x_train.path);
  }

  // 2. The config, and one epoch as tools/train trains it.
  const std::string config_path = absl::StrCat(dir, "/large_npy.pbtxt");
  MNEMO_RETURN_IF_ERROR(WriteText(
      config_path, ConfigText(x_train, y_train, x_test, y_test, cols, seed, backend, threads)));
  std::fflush(stdout);

  const absl::StatusOr<ResidentMemory> before = ReadResidentMemory();
  const absl::Status reset = ResetPeakResidentMemory();
  if (!reset.ok()) {
    absl::PrintF("note    %s; the peak below is the whole process's\n", reset.message());
  }
  ConfigLoader loader;
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<LoadedConfig> loaded, loader.LoadFile(config_path));
  const config::Experiment& experiment = loaded->experiment();
  MNEMO_ASSIGN_OR_RETURN(TrainTestData data, LoadData(experiment));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Network> network,
                         BuildNetwork(*loaded, Registries::Global()));
  MNEMO_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                         CreateOptimizer(experiment.trainer().optimizer()));
  MNEMO_ASSIGN_OR_RETURN(Trainer trainer,
                         Trainer::Create(experiment.trainer(), network.get(), optimizer.get()));
  absl::PrintF("config  %s\n", config_path);
  absl::PrintF(
      "data    %d training samples (read on demand: %s) and %d test samples of %d "
      "features\n",
      data.train.size(), data.train.rows ? "yes" : "no", data.test.size(),
      data.train.feature_dim());
  absl::PrintF("model   %s\n", DescribeNetwork(*network));
  absl::PrintF("backend %s, %d thread%s\n", network->backend().name(), network->backend().threads(),
               network->backend().threads() == 1 ? "" : "s");
  std::fflush(stdout);

  EpochProgress observer(experiment.trainer().batch_size());
  TrainingProgress progress;
  const Stopwatch stopwatch;
  MNEMO_RETURN_IF_ERROR(trainer.Run(data, &progress, &observer));
  const double run_seconds = stopwatch.ElapsedSeconds();
  MNEMO_ASSIGN_OR_RETURN(const ResidentMemory after, ReadResidentMemory());
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  if (progress.history.empty()) return absl::InternalError("the epoch left no metrics");
  const EpochMetrics& m = progress.history.back();
  // The training's peak: the largest of its phases' (the high-water mark was
  // reset between them), or the whole process's when it cannot be reset.
  const int64_t peak = reset.ok() ? std::max({observer.setup_peak(), observer.epoch_peak(),
                                              observer.evaluation_peak(), after.peak_bytes})
                                  : static_cast<int64_t>(usage.ru_maxrss) * 1024;

  // 3. The figures.
  const auto gb = [](double bytes) {
    return absl::StrFormat("%.3f GB (%s)", bytes / kGigabyte, FormatBytes(bytes));
  };
  absl::PrintF("\n");
  absl::PrintF("file              %s\n", x_train.path);
  absl::PrintF("file size         %d bytes = %s\n", x_train.bytes, gb(x_train.bytes));
  absl::PrintF("rows              %d x %d float32 features, %d classes; %d test rows\n", rows, cols,
               kClasses, test_rows);
  absl::PrintF(
      "epoch             %.2f s training (%.0f samples/s); %.2f s with the test "
      "evaluation\n",
      m.train_seconds, m.samples_per_second, run_seconds);
  absl::PrintF(
      "accuracy          train %.4f (during the epoch), test %.4f (after it; the "
      "nearest class mean gets about 0.82)\n",
      m.train_accuracy, m.test_accuracy);
  if (before.ok()) {
    absl::PrintF("resident before   %s (before the config and data were opened)\n",
                 gb(static_cast<double>(before->current_bytes)));
  }
  absl::PrintF("resident after    %s\n", gb(static_cast<double>(after.current_bytes)));
  if (reset.ok()) {
    absl::PrintF(
        "peak resident     %s: the largest of opening %s, the epoch's batches %s, "
        "the test evaluation %s (VmHWM, reset between them)\n",
        gb(static_cast<double>(peak)), FormatBytes(observer.setup_peak()),
        FormatBytes(observer.epoch_peak()), FormatBytes(observer.evaluation_peak()));
  } else {
    absl::PrintF("peak resident     %s (ru_maxrss of the whole process, writing included)\n",
                 gb(static_cast<double>(peak)));
  }
  const bool pass = peak < bound;
  absl::PrintF("%s  peak resident memory %s the bound of %s\n", pass ? "PASS" : "FAIL",
               pass ? "is under" : "is NOT under", gb(static_cast<double>(bound)));
  std::fflush(stdout);

  if (!absl::GetFlag(FLAGS_keep)) {
    for (const ArrayFile* f : {&x_train, &y_train, &x_test, &y_test}) ::unlink(f->path.c_str());
    ::unlink(config_path.c_str());
    absl::PrintF("removed the generated files (--nokeep)\n");
  } else {
    absl::PrintF("kept the generated files in %s for the next run (--nokeep removes them)\n", dir);
  }
  if (!pass) return absl::ResourceExhaustedError("the peak resident memory is over the bound");
  return absl::OkStatus();
}

}  // namespace
}  // namespace mnemo

int main(int argc, char** argv) {
  return mnemo::RunTool(
      argc, argv, "large_npy_benchmark",
      "Writes (or reuses) a generated 4 GiB .npy data set and trains one epoch on it,\n"
      "printing the epoch's speed and accuracy and the peak resident memory, PASS or\n"
      "FAIL against 1 GB.\n"
      "  bazel run //tools/bench:large_npy_benchmark -- [--dir=DIR] [--backend=onednn]",
      &mnemo::Run);
}
