#include "core/augmentation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/field_range.h"
#include "core/init.h"
#include "core/splitmix64.h"
#include "core/status_macros.h"

namespace mnemo {
namespace {

// DeriveSeed's stream for augmentation (plus the epoch); layers use their
// index and the shuffle "SHUFF", so this stays clear of both.
constexpr uint64_t kAugmentationStream = 0x4155474D00000000ull;  // "AUGM"
// Each change's stream within a sample's.
enum ChangeStream : uint64_t { kRotation = 0, kFlip = 1, kShift = 2, kCrop = 3 };

constexpr double kRadiansPerDegree = 3.14159265358979323846 / 180.0;

int ChannelsOf(const config::Augmentation& config) {
  return config.channels() > 0 ? config.channels() : 1;
}

bool ChangesSomething(const config::Augmentation& config) {
  return config.max_shift() > 0 || config.crop_padding() > 0 || config.horizontal_flip() ||
         config.max_rotation_degrees() != 0;
}

// "28 x 28 x 1"
std::string ShapeText(int64_t height, int64_t width, int64_t channels) {
  return absl::StrCat(height, " x ", width, " x ", channels);
}

// When height x width x channels is not `features`: why, else "".
std::string SizeProblem(const config::Augmentation& config, int64_t features,
                        const std::string& features_are) {
  const int64_t pixels = int64_t{config.height()} * config.width() * ChannelsOf(config);
  if (pixels == features) return "";
  return absl::StrCat("data.augmentation's images of ",
                      ShapeText(config.height(), config.width(), ChannelsOf(config)),
                      " (height x width x channels) are ", pixels, " features, but ", features_are,
                      " ", features);
}

}  // namespace

std::vector<FieldProblem> CheckAugmentation(const config::Augmentation& config, int input_size) {
  std::vector<FieldProblem> problems;
  const float degrees = config.max_rotation_degrees();
  // Written so that NaN fails too.
  if (!(degrees >= 0 && degrees <= 180)) {
    problems.push_back({"data.augmentation.max_rotation_degrees",
                        absl::StrCat("data.augmentation.max_rotation_degrees must be in [0, 180], "
                                     "not ",
                                     degrees)});
  }
  if (!std::isfinite(config.fill())) {
    problems.push_back(
        {"data.augmentation.fill",
         absl::StrCat("data.augmentation.fill must be finite, not ", config.fill())});
  }
  if (!ChangesSomething(config)) {
    problems.push_back({"data.augmentation",
                        "data.augmentation changes nothing: set max_shift, crop_padding, "
                        "horizontal_flip or max_rotation_degrees, or leave it out"});
  }
  if (input_size > 0 && config.height() > 0 && config.width() > 0) {
    if (std::string problem = SizeProblem(config, input_size, "model.input_size is");
        !problem.empty()) {
      problems.push_back({"data.augmentation.height", problem});
    }
  }
  return problems;
}

std::vector<FieldProblem> CheckAugmentationShape(const config::Augmentation& config,
                                                 const ImageShape& known,
                                                 const std::string& images) {
  std::vector<FieldProblem> problems;
  for (const auto& [name, set, shape] :
       {std::tuple{"height", config.height(), known.height},
        std::tuple{"width", config.width(), known.width},
        std::tuple{"channels", config.channels(), known.channels}}) {
    if (set > 0 && shape > 0 && set != shape) {
      problems.push_back(
          {absl::StrCat("data.augmentation.", name),
           absl::StrCat("data.augmentation.", name, " is ", set, ", but ", images, " have ", name,
                        " ", shape, "; leave it out or set ", shape)});
    }
  }
  return problems;
}

std::vector<FieldProblem> RequireAugmentationShape(const config::Augmentation& config,
                                                   const std::string& format) {
  std::vector<FieldProblem> problems;
  for (const auto& [name, set] :
       {std::pair{"height", config.height()}, std::pair{"width", config.width()}}) {
    if (set == 0) {
      problems.push_back(
          {absl::StrCat("data.augmentation.", name),
           absl::StrCat("data.augmentation.", name, " is required with data.format \"", format,
                        "\": its rows have no image shape of their own (height x "
                        "width x channels, channels default 1, must be the "
                        "features per sample)")});
    }
  }
  return problems;
}

absl::StatusOr<config::Augmentation> ResolveAugmentation(const config::Augmentation& config,
                                                         const ImageShape& known, int features,
                                                         const std::string& images) {
  std::vector<FieldProblem> problems = CheckAugmentationShape(config, known, images);
  config::Augmentation resolved = config;
  if (resolved.height() == 0) resolved.set_height(known.height);
  if (resolved.width() == 0) resolved.set_width(known.width);
  if (resolved.channels() == 0) resolved.set_channels(known.channels > 0 ? known.channels : 1);
  for (const auto& [name, value] :
       {std::pair{"height", resolved.height()}, std::pair{"width", resolved.width()}}) {
    if (value == 0) {
      problems.push_back({absl::StrCat("data.augmentation.", name),
                          absl::StrCat("data.augmentation.", name, " is required: ", images,
                                       " have no known image shape")});
    }
  }
  MNEMO_RETURN_IF_ERROR(ProblemsStatus(problems));
  MNEMO_RETURN_IF_ERROR(ImageAugmenter::Create(resolved, features).status());
  return resolved;
}

std::string DescribeAugmentation(const config::Augmentation& config) {
  std::vector<std::string> changes;
  if (config.max_rotation_degrees() > 0) {
    changes.push_back(
        absl::StrCat("rotation within +-", config.max_rotation_degrees(), " degrees"));
  }
  if (config.horizontal_flip()) changes.push_back("horizontal flip");
  if (config.max_shift() > 0) {
    changes.push_back(absl::StrCat("shift within +-", config.max_shift(), " pixels"));
  }
  if (config.crop_padding() > 0) {
    changes.push_back(absl::StrCat("crop padded by ", config.crop_padding()));
  }
  return absl::StrCat(ShapeText(config.height(), config.width(), ChannelsOf(config)),
                      " images: ", absl::StrJoin(changes, ", "), " (fill ", config.fill(), ")");
}

absl::StatusOr<ImageAugmenter> ImageAugmenter::Create(const config::Augmentation& config,
                                                      int features) {
  std::vector<FieldProblem> problems = CheckRanges(config, "data.augmentation");
  for (FieldProblem& problem : CheckAugmentation(config, 0)) problems.push_back(problem);
  if (config.height() == 0 || config.width() == 0) {
    problems.push_back({"data.augmentation.height",
                        absl::StrCat("data.augmentation's shape is not resolved (height ",
                                     config.height(), ", width ", config.width(),
                                     "): ResolveAugmentation fills it from the data")});
  } else if (std::string problem =
                 SizeProblem(config, features, "the samples' features per sample are");
             !problem.empty()) {
    problems.push_back({"data.augmentation.height", problem});
  }
  MNEMO_RETURN_IF_ERROR(ProblemsStatus(problems));
  return ImageAugmenter(config);
}

ImageAugmenter::ImageAugmenter(const config::Augmentation& config)
    : config_(config),
      height_(config.height()),
      width_(config.width()),
      channels_(ChannelsOf(config)),
      features_(config.height() * config.width() * ChannelsOf(config)),
      fill_(config.fill()),
      rotates_(config.max_rotation_degrees() > 0) {}

AugmentationDraw ImageAugmenter::Draw(uint64_t seed, int epoch, int64_t sample) const {
  const uint64_t epoch_seed = DeriveSeed(seed, kAugmentationStream + static_cast<uint64_t>(epoch));
  const uint64_t sample_seed = DeriveSeed(epoch_seed, static_cast<uint64_t>(sample));
  AugmentationDraw draw;
  if (rotates_) {
    SplitMix64 rng(DeriveSeed(sample_seed, kRotation));
    const double max = config_.max_rotation_degrees();
    draw.angle_degrees = max * (2.0 * rng.Uniform() - 1.0);
  }
  if (config_.horizontal_flip()) {
    SplitMix64 rng(DeriveSeed(sample_seed, kFlip));
    draw.flip = (rng.Next() >> 63) != 0;
  }
  if (const int s = config_.max_shift(); s > 0) {
    SplitMix64 rng(DeriveSeed(sample_seed, kShift));
    const uint32_t values = 2 * static_cast<uint32_t>(s) + 1;
    draw.shift_y = static_cast<int>(rng.Below(values)) - s;
    draw.shift_x = static_cast<int>(rng.Below(values)) - s;
  }
  if (const int p = config_.crop_padding(); p > 0) {
    SplitMix64 rng(DeriveSeed(sample_seed, kCrop));
    const uint32_t values = 2 * static_cast<uint32_t>(p) + 1;
    draw.crop_y = static_cast<int>(rng.Below(values));
    draw.crop_x = static_cast<int>(rng.Below(values));
  }
  return draw;
}

void ImageAugmenter::CopyRow(const AugmentationDraw& draw, const float* in_row, int tx, int x_lo,
                             int x_hi, float* out_row) const {
  if (!draw.flip) {
    std::memcpy(out_row + x_lo, in_row + x_lo + tx, sizeof(float) * (x_hi - x_lo));
    return;
  }
  const int last = width_ - 1 - tx;  // column w - 1 - (x + tx) is last - x
  for (int x = x_lo; x < x_hi; ++x) out_row[x] = in_row[last - x];
}

void ImageAugmenter::RotateRow(const AugmentationDraw& draw, double cos_a, double sin_a,
                               const float* in, int y1, int tx, int x_lo, int x_hi,
                               float* out_row) const {
  const int h = height_, w = width_;
  // torchvision rotates about the centre of the pixel grid; output pixel
  // (x1, y1) reads the source at its position turned back by the angle:
  // xs = cx + cos (x1 - cx) - sin (y1 - cy), ys = cy + sin (x1 - cx) + cos (y1 - cy),
  // here as xs = bx + cos x1, ys = by + sin x1 along the row.
  const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  const double bx = cx - cos_a * cx - sin_a * (y1 - cy);
  const double by = cy - sin_a * cx + cos_a * (y1 - cy);
  const float fill = fill_;
  auto pixel = [&](int y, int x) {
    return static_cast<unsigned>(y) < static_cast<unsigned>(h) &&
                   static_cast<unsigned>(x) < static_cast<unsigned>(w)
               ? in[static_cast<ptrdiff_t>(y) * w + x]
               : fill;
  };
  for (int x = x_lo; x < x_hi; ++x) {
    const int x1 = draw.flip ? w - 1 - (x + tx) : x + tx;
    const double xs = bx + cos_a * x1;
    const double ys = by + sin_a * x1;
    const double x_floor = std::floor(xs), y_floor = std::floor(ys);
    const int x0 = static_cast<int>(x_floor), y0 = static_cast<int>(y_floor);
    const float fx = static_cast<float>(xs - x_floor), fy = static_cast<float>(ys - y_floor);
    float v00, v01, v10, v11;
    if (static_cast<unsigned>(x0) < static_cast<unsigned>(w - 1) &&
        static_cast<unsigned>(y0) < static_cast<unsigned>(h - 1)) {
      const float* p = in + static_cast<ptrdiff_t>(y0) * w + x0;
      v00 = p[0];
      v01 = p[1];
      v10 = p[w];
      v11 = p[w + 1];
    } else {
      v00 = pixel(y0, x0);
      v01 = pixel(y0, x0 + 1);
      v10 = pixel(y0 + 1, x0);
      v11 = pixel(y0 + 1, x0 + 1);
    }
    out_row[x] = (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11);
  }
}

void ImageAugmenter::Apply(const AugmentationDraw& draw, const float* in, float* out) const {
  const int h = height_, w = width_;
  const int padding = config_.crop_padding();
  // Output pixel (y, x) is pixel (y + cy, x + cx) of the shifted image (the
  // crop, whose padding is `fill`), which is pixel (y + ty, x + tx) of the
  // rotated and flipped one (the shift, which fills too): `fill` unless both
  // lie in the image, which holds on rows [y_lo, y_hi) and columns [x_lo, x_hi).
  const int cy = draw.crop_y - padding, cx = draw.crop_x - padding;
  const int ty = cy - draw.shift_y, tx = cx - draw.shift_x;
  const int y_lo = std::max({0, -cy, -ty}), y_hi = std::min({h, h - cy, h - ty});
  const int x_lo = std::max({0, -cx, -tx}), x_hi = std::min({w, w - cx, w - tx});
  const double radians = draw.angle_degrees * kRadiansPerDegree;
  const double cos_a = rotates_ ? std::cos(radians) : 1.0;
  const double sin_a = rotates_ ? std::sin(radians) : 0.0;
  const ptrdiff_t plane = static_cast<ptrdiff_t>(h) * w;
  for (int c = 0; c < channels_; ++c) {
    const float* in_plane = in + c * plane;
    float* out_plane = out + c * plane;
    for (int y = 0; y < h; ++y) {
      float* row = out_plane + static_cast<ptrdiff_t>(y) * w;
      if (y < y_lo || y >= y_hi || x_lo >= x_hi) {
        std::fill(row, row + w, fill_);
        continue;
      }
      std::fill(row, row + x_lo, fill_);
      std::fill(row + x_hi, row + w, fill_);
      if (rotates_) {
        RotateRow(draw, cos_a, sin_a, in_plane, y + ty, tx, x_lo, x_hi, row);
      } else {
        CopyRow(draw, in_plane + static_cast<ptrdiff_t>(y + ty) * w, tx, x_lo, x_hi, row);
      }
    }
  }
}

void ImageAugmenter::AugmentBatch(uint64_t seed, int epoch, absl::Span<const int32_t> samples,
                                  Tensor* batch, std::vector<float>* scratch) const {
  scratch->resize(features_);
  for (size_t i = 0; i < samples.size(); ++i) {
    float* row = batch->data() + static_cast<ptrdiff_t>(i) * features_;
    std::copy(row, row + features_, scratch->data());
    Apply(Draw(seed, epoch, samples[i]), scratch->data(), row);
  }
}

}  // namespace mnemo
