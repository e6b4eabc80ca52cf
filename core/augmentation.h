#ifndef MNEMO_CORE_AUGMENTATION_H_
#define MNEMO_CORE_AUGMENTATION_H_

// Data augmentation for images (data.augmentation, config::Augmentation):
// torchvision's RandomRotation (bilinear), RandomHorizontalFlip (p = 1/2),
// RandomAffine's translate in whole pixels and RandomCrop(size, padding), in
// that order, each filling what comes from outside the image with `fill`.
// A sample's features are its image, channel after channel (CHW).
//
// A sample's changes are a pure function of (trainer.seed, epoch, sample
// index), drawn with SplitMix64 (core/splitmix64.h) from a stream of the
// sample's own, each change from a stream of its own within it. So a run
// resumed from a snapshot draws what the run that never stopped drew, with
// nothing more in the snapshot than where the run stands; and switching one
// change on or off leaves the draws of the others as they were.
//
// Rotation samples the image extended by `fill`: a pixel is bilinear between
// its four neighbours, those outside the image taken as `fill`, so it is
// S + (1 - m) x fill, where S is the weighted sum of the neighbours inside and
// m their weight. torchvision's tensor path gives m x S + (1 - m) x fill (it
// samples with zeros outside, then blends with the fill by the mask sampled
// alike): the two differ on the pixels that read partly outside the image,
// along the rotated image's edges, and agree everywhere else.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/config.pb.h"
#include "core/dataset.h"
#include "core/field_problem.h"
#include "core/tensor.h"

namespace mnemo {

// The changes drawn for one sample.
struct AugmentationDraw {
  // Counter-clockwise as the image is seen (torchvision's rotate), about the
  // image's centre; uniform in [-max_rotation_degrees, max_rotation_degrees).
  double angle_degrees = 0;
  bool flip = false;  // mirrored left-right
  // The translation, down and right, each uniform in [-max_shift, max_shift].
  int shift_y = 0;
  int shift_x = 0;
  // The crop's top-left corner in the image padded by crop_padding on every
  // side, each uniform in [0, 2 x crop_padding].
  int crop_y = 0;
  int crop_x = 0;
};

// Changes images as a resolved data.augmentation says (its shape set:
// ResolveAugmentation). Copyable; Draw and Apply allocate nothing.
class ImageAugmenter {
 public:
  // For samples of `features` features, which height x width x channels must
  // be; refuses what CheckAugmentation does, and a shape not set.
  static absl::StatusOr<ImageAugmenter> Create(const config::Augmentation& config, int features);

  // The changes of the training set's sample `sample` in `epoch` (1-based) of
  // a run seeded `seed`.
  AugmentationDraw Draw(uint64_t seed, int epoch, int64_t sample) const;

  // `out` = the image `in` changed as `draw` says; features() floats each,
  // not overlapping.
  void Apply(const AugmentationDraw& draw, const float* in, float* out) const;

  // Draws and applies the changes of every row of `batch` in `epoch`: row i
  // is the training set's sample samples[i]. `scratch` holds one image (it
  // is resized once, then reused).
  void AugmentBatch(uint64_t seed, int epoch, absl::Span<const int32_t> samples, Tensor* batch,
                    std::vector<float>* scratch) const;

  const config::Augmentation& config() const { return config_; }
  int features() const { return features_; }

 private:
  explicit ImageAugmenter(const config::Augmentation& config);

  // Columns [x_lo, x_hi) of an output row, each column x read from column
  // x + tx of `in_row` after the flip: the unrotated case.
  void CopyRow(const AugmentationDraw& draw, const float* in_row, int tx, int x_lo, int x_hi,
               float* out_row) const;
  // The same through the rotation: row y1 and column x + tx of the rotated
  // and flipped image, bilinear in the channel plane `in`.
  void RotateRow(const AugmentationDraw& draw, double cos_a, double sin_a, const float* in, int y1,
                 int tx, int x_lo, int x_hi, float* out_row) const;

  config::Augmentation config_;
  int height_, width_, channels_, features_;
  float fill_;
  bool rotates_;
};

// What is wrong with data.augmentation on its own, and, when its height and
// width are set, for a model of `input_size` features per sample (0 = not
// known): max_rotation_degrees finite and in [0, 180], fill finite, at least
// one change switched on, height x width x channels = input_size. Each
// problem names its field ("data.augmentation.max_rotation_degrees"). The
// ranges of the counts are the schema's (CheckRanges).
std::vector<FieldProblem> CheckAugmentation(const config::Augmentation& config, int input_size);

// Where data.augmentation's shape disagrees with `known`, the shape of the
// images a format reads (a dimension 0 where it does not know it); `images`
// names them ("cifar10's images").
std::vector<FieldProblem> CheckAugmentationShape(const config::Augmentation& config,
                                                 const ImageShape& known,
                                                 const std::string& images);

// For a format whose rows have no shape of their own (csv, npy): height and
// width are required.
std::vector<FieldProblem> RequireAugmentationShape(const config::Augmentation& config,
                                                   const std::string& format);

// data.augmentation with the dimensions it leaves out taken from `known` (the
// training set's ImageShape; channels 1 when neither says), checked for
// samples of `features` features (ImageAugmenter::Create). Refuses, naming
// the field, a dimension that disagrees with `known` or that neither gives;
// `images` names the images in messages.
absl::StatusOr<config::Augmentation> ResolveAugmentation(const config::Augmentation& config,
                                                         const ImageShape& known, int features,
                                                         const std::string& images);

// "28 x 28 x 1 images: rotation within +-10 degrees, horizontal flip, shift
// within +-2 pixels, crop padded by 4 (fill 0)", for a tool to say.
std::string DescribeAugmentation(const config::Augmentation& config);

}  // namespace mnemo

#endif  // MNEMO_CORE_AUGMENTATION_H_
