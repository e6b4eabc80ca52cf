// Data augmentation (core/augmentation.h): each change against an
// independent computation on small images (shift, crop and flip exactly; the
// rotation against hand-computed bilinear values, numpy.rot90 and PyTorch's
// grid_sample), their
// composition against the changes applied one after another as torchvision's
// Compose does, and the draws: a pure function of (seed, epoch, sample), each
// change's values uniform over their range.
#include "core/augmentation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "core/config.pb.h"

namespace mnemo {
namespace {

// A CHW image held on its own, with the changes written the plain way: the
// reference the augmenter's single pass is held to.
struct Image {
  int h = 0, w = 0, c = 0;
  std::vector<float> v;

  Image(int height, int width, int channels)
      : h(height), w(width), c(channels), v(static_cast<size_t>(height) * width * channels) {}
  float& at(int ch, int y, int x) { return v[(static_cast<size_t>(ch) * h + y) * w + x]; }
  float at(int ch, int y, int x) const { return v[(static_cast<size_t>(ch) * h + y) * w + x]; }
  // The pixel, or `fill` outside the image.
  float get(int ch, int y, int x, float fill) const {
    return y >= 0 && y < h && x >= 0 && x < w ? at(ch, y, x) : fill;
  }
};

// Pixel values 100 * channel + 10 * y + x + 1: each different, none the fill.
Image Numbered(int h, int w, int c) {
  Image image(h, w, c);
  for (int ch = 0; ch < c; ++ch) {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) image.at(ch, y, x) = 100.0f * ch + 10.0f * y + x + 1;
    }
  }
  return image;
}

// RandomHorizontalFlip's flip.
Image Flip(const Image& in) {
  Image out(in.h, in.w, in.c);
  for (int ch = 0; ch < in.c; ++ch) {
    for (int y = 0; y < in.h; ++y) {
      for (int x = 0; x < in.w; ++x) out.at(ch, y, x) = in.at(ch, y, in.w - 1 - x);
    }
  }
  return out;
}

// An affine translation by whole pixels: the image moves down by dy and right
// by dx.
Image Shift(const Image& in, int dy, int dx, float fill) {
  Image out(in.h, in.w, in.c);
  for (int ch = 0; ch < in.c; ++ch) {
    for (int y = 0; y < in.h; ++y) {
      for (int x = 0; x < in.w; ++x) out.at(ch, y, x) = in.get(ch, y - dy, x - dx, fill);
    }
  }
  return out;
}

// RandomCrop(size, padding): pad every side with `fill`, then take the
// image's size from (top, left) of the padded image.
Image Crop(const Image& in, int padding, int top, int left, float fill) {
  Image padded(in.h + 2 * padding, in.w + 2 * padding, in.c);
  for (float& value : padded.v) value = fill;
  for (int ch = 0; ch < in.c; ++ch) {
    for (int y = 0; y < in.h; ++y) {
      for (int x = 0; x < in.w; ++x) padded.at(ch, y + padding, x + padding) = in.at(ch, y, x);
    }
  }
  Image out(in.h, in.w, in.c);
  for (int ch = 0; ch < in.c; ++ch) {
    for (int y = 0; y < in.h; ++y) {
      for (int x = 0; x < in.w; ++x) out.at(ch, y, x) = padded.at(ch, y + top, x + left);
    }
  }
  return out;
}

// torchvision's rotate(angle), bilinear, with the image extended by `fill`,
// in double: the output pixel at (xo, yo) from the centre of the pixel grid
// reads the input at (cos a xo - sin a yo, sin a xo + cos a yo) from it.
Image Rotate(const Image& in, double degrees, float fill) {
  const double a = degrees * M_PI / 180.0;
  const double cx = (in.w - 1) / 2.0, cy = (in.h - 1) / 2.0;
  Image out(in.h, in.w, in.c);
  for (int ch = 0; ch < in.c; ++ch) {
    for (int y = 0; y < in.h; ++y) {
      for (int x = 0; x < in.w; ++x) {
        const double xs = std::cos(a) * (x - cx) - std::sin(a) * (y - cy) + cx;
        const double ys = std::sin(a) * (x - cx) + std::cos(a) * (y - cy) + cy;
        const int x0 = static_cast<int>(std::floor(xs)), y0 = static_cast<int>(std::floor(ys));
        const double fx = xs - x0, fy = ys - y0;
        out.at(ch, y, x) = static_cast<float>((1 - fx) * (1 - fy) * in.get(ch, y0, x0, fill) +
                                              fx * (1 - fy) * in.get(ch, y0, x0 + 1, fill) +
                                              (1 - fx) * fy * in.get(ch, y0 + 1, x0, fill) +
                                              fx * fy * in.get(ch, y0 + 1, x0 + 1, fill));
      }
    }
  }
  return out;
}

config::Augmentation Config(int h, int w, int c) {
  config::Augmentation config;
  config.set_height(h);
  config.set_width(w);
  config.set_channels(c);
  return config;
}

int Features(const config::Augmentation& config) {
  return config.height() * config.width() * config.channels();
}

// The augmenter's output for `draw`.
Image Applied(const ImageAugmenter& augmenter, const AugmentationDraw& draw, const Image& in) {
  Image out(in.h, in.w, in.c);
  augmenter.Apply(draw, in.v.data(), out.v.data());
  return out;
}

TEST(AugmentationTest, ShiftMovesByWholePixelsAndFills) {
  config::Augmentation config = Config(4, 5, 2);
  config.set_max_shift(3);
  config.set_fill(-1);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  const Image in = Numbered(4, 5, 2);
  for (const auto& [dy, dx] :
       {std::pair{0, 0}, std::pair{1, -2}, std::pair{-3, 3}, std::pair{2, 0}, std::pair{0, -1}}) {
    AugmentationDraw draw;
    draw.shift_y = dy;
    draw.shift_x = dx;
    EXPECT_EQ(Applied(*augmenter, draw, in).v, Shift(in, dy, dx, -1).v) << dy << ", " << dx;
  }
  // By hand: down 1 and left 2, pixel (0, 0) of channel 1 is fill and pixel
  // (1, 0) is the input's (0, 2).
  AugmentationDraw draw;
  draw.shift_y = 1;
  draw.shift_x = -2;
  const Image out = Applied(*augmenter, draw, in);
  EXPECT_EQ(out.at(1, 0, 0), -1);
  EXPECT_EQ(out.at(1, 1, 0), 100 + 2 + 1);
  EXPECT_EQ(out.at(1, 1, 3), -1);
}

TEST(AugmentationTest, CropOfThePaddedImageIsExact) {
  config::Augmentation config = Config(3, 4, 1);
  config.set_crop_padding(2);
  config.set_fill(0.5f);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  const Image in = Numbered(3, 4, 1);
  for (int top = 0; top <= 4; ++top) {
    for (int left = 0; left <= 4; ++left) {
      AugmentationDraw draw;
      draw.crop_y = top;
      draw.crop_x = left;
      EXPECT_EQ(Applied(*augmenter, draw, in).v, Crop(in, 2, top, left, 0.5f).v)
          << top << ", " << left;
    }
  }
  // The centred crop is the image itself.
  AugmentationDraw centred;
  centred.crop_y = centred.crop_x = 2;
  EXPECT_EQ(Applied(*augmenter, centred, in).v, in.v);
}

TEST(AugmentationTest, FlipMirrorsEveryChannelLeftRight) {
  config::Augmentation config = Config(2, 3, 3);
  config.set_horizontal_flip(true);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  const Image in = Numbered(2, 3, 3);
  AugmentationDraw draw;
  draw.flip = true;
  const Image out = Applied(*augmenter, draw, in);
  EXPECT_EQ(out.v, Flip(in).v);
  EXPECT_THAT(std::vector<float>(out.v.begin() + 6, out.v.begin() + 9),
              ::testing::ElementsAre(103, 102, 101));  // channel 1, row 0
  draw.flip = false;
  EXPECT_EQ(Applied(*augmenter, draw, in).v, in.v);
}

TEST(AugmentationTest, RotationByZeroIsTheIdentityBitForBit) {
  config::Augmentation config = Config(5, 7, 2);
  config.set_max_rotation_degrees(30);
  config.set_fill(-3);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  Image in = Numbered(5, 7, 2);
  in.at(1, 2, 3) = 0.1f;  // a value that is not a whole number
  const Image out = Applied(*augmenter, AugmentationDraw{}, in);
  EXPECT_EQ(std::memcmp(out.v.data(), in.v.data(), in.v.size() * sizeof(float)), 0);
}

TEST(AugmentationTest, RotationIsBilinearAboutTheCentreWithFillOutside) {
  config::Augmentation config = Config(3, 3, 1);
  config.set_max_rotation_degrees(90);
  config.set_fill(-5);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  // in(y, x) = 10 y + x: bilinear interpolation of a linear function is the
  // function itself, so a value read inside the image is 10 ys + xs.
  Image in(3, 3, 1);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 3; ++x) in.at(0, y, x) = 10.0f * y + x;
  }
  AugmentationDraw draw;
  draw.angle_degrees = 45;
  const Image out = Applied(*augmenter, draw, in);
  const double r = std::sqrt(0.5);  // cos 45 = sin 45
  // The centre stays.
  EXPECT_FLOAT_EQ(out.at(0, 1, 1), 11);
  // (x, y) = (2, 1) is 1 right of the centre: it reads (1 + r, 1 + r).
  EXPECT_NEAR(out.at(0, 1, 2), 10 * (1 + r) + (1 + r), 1e-5);  // 18.7782
  // (2, 0) is (1, -1) from the centre: it reads (1 + 2r, 1), between the
  // input's (2, 1) = 12 and the fill beyond the right edge.
  const double fx = 2 * r - 1;
  EXPECT_NEAR(out.at(0, 0, 2), (1 - fx) * 12 + fx * -5, 1e-5);  // 4.9584
  // (0, 1), the left middle, reads (1 - r, 1 - r): inside.
  EXPECT_NEAR(out.at(0, 1, 0), 11 * (1 - r), 1e-5);
}

TEST(AugmentationTest, RotationByNinetyDegreesIsNumpysRot90) {
  config::Augmentation config = Config(6, 6, 2);
  config.set_max_rotation_degrees(90);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  const Image in = Numbered(6, 6, 2);
  AugmentationDraw draw;
  draw.angle_degrees = 90;
  const Image out = Applied(*augmenter, draw, in);
  // Counter-clockwise as seen: numpy.rot90(m)[y, x] = m[x, n - 1 - y], the
  // image flipped left-right and transposed.
  for (int ch = 0; ch < 2; ++ch) {
    for (int y = 0; y < 6; ++y) {
      for (int x = 0; x < 6; ++x) {
        EXPECT_NEAR(out.at(ch, y, x), in.at(ch, x, 5 - y), 1e-4) << ch << " " << y << " " << x;
      }
    }
  }
  draw.angle_degrees = -90;  // clockwise: the other way
  const Image back = Applied(*augmenter, draw, out);
  for (size_t k = 0; k < in.v.size(); ++k) EXPECT_NEAR(back.v[k], in.v[k], 1e-4) << k;
}

TEST(AugmentationTest, RotationMatchesTheReferenceAtAnyAngle) {
  config::Augmentation config = Config(7, 5, 2);
  config.set_max_rotation_degrees(180);
  config.set_fill(0.25f);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  const Image in = Numbered(7, 5, 2);
  for (double degrees : {-180.0, -37.5, -1.0, 12.25, 60.0, 135.0}) {
    AugmentationDraw draw;
    draw.angle_degrees = degrees;
    const Image out = Applied(*augmenter, draw, in);
    const Image want = Rotate(in, degrees, 0.25f);
    for (size_t k = 0; k < in.v.size(); ++k) {
      ASSERT_NEAR(out.v[k], want.v[k], 1e-3) << degrees << " degrees, element " << k;
    }
  }
}

// torchvision's rotate as PyTorch computes it (affine grid and grid_sample,
// bilinear), on the image extended by the fill: rotation_reference.py prints
// these.
TEST(AugmentationTest, RotationMatchesPyTorchsGridSample) {
  config::Augmentation config = Config(4, 5, 2);
  config.set_max_rotation_degrees(180);
  config.set_fill(-2);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  const Image in = Numbered(4, 5, 2);
  const std::vector<std::pair<double, std::vector<float>>> references = {
      {25.0, {-0.871560,  1.394053,   5.039311,   10.171801,  7.330039,   3.414789,   8.547280,
              13.679770,  18.812261,  23.300678,  11.742334,  17.187739,  22.320230,  27.452720,
              32.585211,  10.808242,  25.828199,  30.960689,  23.322749,  8.683632,   28.658620,
              73.186059,  105.039311, 110.171801, 62.675743,  103.414789, 108.547280, 113.679770,
              118.812261, 120.908208, 109.349863, 117.187739, 122.320230, 127.452720, 132.585211,
              66.153945,  125.828199, 130.960689, 95.114755,  38.213811}},
      {-130.0, {-1.868951,  24.552374,  26.492747,  18.189515,  4.965735,   21.211622,  29.134148,
                20.830916,  12.527684,  4.224452,   31.775548,  23.472316,  15.169084,  6.865852,
                0.649070,   13.648590,  17.810485,  9.507253,   2.238591,   -1.981861,  -1.495981,
                101.529789, 126.492747, 118.189515, 61.501547,  85.863353,  129.134148, 120.830916,
                112.527684, 104.224452, 131.775548, 123.472316, 115.169084, 106.865852, 65.300801,
                70.184401,  117.810485, 109.507253, 79.216005,  -1.608891}},
  };
  for (const auto& [degrees, want] : references) {
    AugmentationDraw draw;
    draw.angle_degrees = degrees;
    const Image out = Applied(*augmenter, draw, in);
    ASSERT_EQ(out.v.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_NEAR(out.v[k], want[k], 1e-4) << degrees << " degrees, element " << k;
    }
  }
}

// Rotation, flip, shift and crop, in that order, each filling what comes
// from outside: the single pass equals the four changes one after another.
TEST(AugmentationTest, TheChangesComposeInTheirOrder) {
  config::Augmentation config = Config(6, 8, 2);
  config.set_max_rotation_degrees(20);
  config.set_horizontal_flip(true);
  config.set_max_shift(3);
  config.set_crop_padding(2);
  config.set_fill(-2);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  const Image in = Numbered(6, 8, 2);
  int compared = 0;
  for (int64_t sample = 0; sample < 40; ++sample) {
    const AugmentationDraw draw = augmenter->Draw(7, 2, sample);
    Image want = Rotate(in, draw.angle_degrees, -2);
    if (draw.flip) want = Flip(want);
    want = Shift(want, draw.shift_y, draw.shift_x, -2);
    want = Crop(want, 2, draw.crop_y, draw.crop_x, -2);
    const Image out = Applied(*augmenter, draw, in);
    for (size_t k = 0; k < in.v.size(); ++k) {
      ASSERT_NEAR(out.v[k], want.v[k], 1e-3) << "sample " << sample << ", element " << k;
    }
    ++compared;
  }
  EXPECT_EQ(compared, 40);

  // Without rotation the composition is exact, fill included: a shift and a
  // crop that cancel out still leave the fill of the pixels the shift pushed
  // out of the image.
  config.set_max_rotation_degrees(0);
  absl::StatusOr<ImageAugmenter> exact = ImageAugmenter::Create(config, Features(config));
  ASSERT_TRUE(exact.ok()) << exact.status();
  AugmentationDraw draw;
  draw.flip = true;
  draw.shift_x = 2;  // right by 2: the flipped image's columns 6 and 7 leave it
  draw.crop_x = 4;   // then left by 2 (padding 2): columns 6 and 7 are fill
  draw.crop_y = 2;   // and no move down
  const Image out = Applied(*exact, draw, in);
  EXPECT_EQ(out.v, Crop(Shift(Flip(in), 0, 2, -2), 2, 2, 4, -2).v);
  for (int y = 0; y < 6; ++y) {
    EXPECT_EQ(out.at(1, y, 0), in.at(1, y, 7));
    EXPECT_EQ(out.at(1, y, 5), in.at(1, y, 2));
    EXPECT_EQ(out.at(1, y, 6), -2);
    EXPECT_EQ(out.at(1, y, 7), -2);
  }
}

TEST(AugmentationTest, TheDrawIsAPureFunctionOfSeedEpochAndSample) {
  config::Augmentation config = Config(8, 8, 1);
  config.set_max_rotation_degrees(15);
  config.set_horizontal_flip(true);
  config.set_max_shift(2);
  config.set_crop_padding(1);
  absl::StatusOr<ImageAugmenter> a = ImageAugmenter::Create(config, 64);
  absl::StatusOr<ImageAugmenter> b = ImageAugmenter::Create(config, 64);
  ASSERT_TRUE(a.ok() && b.ok());
  const Image in = Numbered(8, 8, 1);
  Image first(8, 8, 1), again(8, 8, 1), other(8, 8, 1);
  a->Apply(a->Draw(3, 2, 17), in.v.data(), first.v.data());
  a->Apply(a->Draw(3, 5, 4), in.v.data(), other.v.data());   // in between: another draw
  b->Apply(b->Draw(3, 2, 17), in.v.data(), again.v.data());  // another augmenter
  EXPECT_EQ(std::memcmp(first.v.data(), again.v.data(), 64 * sizeof(float)), 0);
  // Another epoch, sample or seed: another angle, so another image.
  for (const auto& [seed, epoch, sample] :
       {std::tuple{3, 3, 17}, std::tuple{3, 2, 18}, std::tuple{4, 2, 17}}) {
    EXPECT_NE(a->Draw(seed, epoch, sample).angle_degrees, a->Draw(3, 2, 17).angle_degrees);
    a->Apply(a->Draw(seed, epoch, sample), in.v.data(), other.v.data());
    EXPECT_NE(other.v, first.v) << seed << " " << epoch << " " << sample;
  }
}

TEST(AugmentationTest, EachChangeDrawsFromItsOwnStream) {
  config::Augmentation shift_only = Config(8, 8, 1);
  shift_only.set_max_shift(2);
  config::Augmentation everything = shift_only;
  everything.set_horizontal_flip(true);
  everything.set_max_rotation_degrees(10);
  everything.set_crop_padding(3);
  absl::StatusOr<ImageAugmenter> a = ImageAugmenter::Create(shift_only, 64);
  absl::StatusOr<ImageAugmenter> b = ImageAugmenter::Create(everything, 64);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int64_t sample = 0; sample < 50; ++sample) {
    const AugmentationDraw x = a->Draw(1, 1, sample), y = b->Draw(1, 1, sample);
    EXPECT_EQ(x.shift_y, y.shift_y);
    EXPECT_EQ(x.shift_x, y.shift_x);
    // What is off is not drawn.
    EXPECT_EQ(x.angle_degrees, 0);
    EXPECT_FALSE(x.flip);
    EXPECT_EQ(x.crop_y, 0);
  }
}

TEST(AugmentationTest, DrawsCoverTheirRangesUniformly) {
  config::Augmentation config = Config(8, 8, 1);
  config.set_max_shift(2);
  config.set_crop_padding(1);
  config.set_horizontal_flip(true);
  config.set_max_rotation_degrees(10);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, 64);
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  constexpr int kDraws = 5000;
  std::map<int, int> shift_y, shift_x, crop_y, crop_x;
  int flips = 0;
  double low = 0, high = 0, sum = 0;
  for (int i = 0; i < kDraws; ++i) {
    // Samples and epochs alike: the draws of one epoch and of one sample.
    const AugmentationDraw d = augmenter->Draw(9, 1 + i % 2 * (i / 2), i % 2 == 0 ? i : 7);
    ++shift_y[d.shift_y];
    ++shift_x[d.shift_x];
    ++crop_y[d.crop_y];
    ++crop_x[d.crop_x];
    flips += d.flip;
    low = std::min(low, d.angle_degrees);
    high = std::max(high, d.angle_degrees);
    sum += d.angle_degrees;
    ASSERT_GE(d.angle_degrees, -10);
    ASSERT_LT(d.angle_degrees, 10);
  }
  // Every value of [-2, 2] about 1000 times (standard deviation 28): none
  // outside.
  for (const std::map<int, int>* counts : {&shift_y, &shift_x}) {
    ASSERT_EQ(counts->size(), 5u);
    EXPECT_EQ(counts->begin()->first, -2);
    EXPECT_EQ(counts->rbegin()->first, 2);
    for (const auto& [value, count] : *counts) EXPECT_NEAR(count, kDraws / 5, 150) << value;
  }
  // Crop offsets in [0, 2 x padding].
  for (const std::map<int, int>* counts : {&crop_y, &crop_x}) {
    ASSERT_EQ(counts->size(), 3u);
    EXPECT_EQ(counts->begin()->first, 0);
    EXPECT_EQ(counts->rbegin()->first, 2);
    for (const auto& [value, count] : *counts) EXPECT_NEAR(count, kDraws / 3, 170) << value;
  }
  EXPECT_NEAR(flips, kDraws / 2, 180);  // 5 standard deviations
  EXPECT_LT(low, -9.9);
  EXPECT_GT(high, 9.9);
  EXPECT_NEAR(sum / kDraws, 0, 0.5);  // standard deviation of the mean 0.08
}

TEST(AugmentationTest, AugmentBatchChangesEachRowAsItsSampleDraws) {
  config::Augmentation config = Config(4, 4, 1);
  config.set_max_shift(1);
  config.set_horizontal_flip(true);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, 16);
  ASSERT_TRUE(augmenter.ok()) << augmenter.status();
  Tensor batch(3, 16);
  for (Eigen::Index k = 0; k < batch.size(); ++k) batch.data()[k] = static_cast<float>(k);
  const Tensor original = batch;
  const std::vector<int32_t> samples = {12, 0, 5};
  std::vector<float> scratch;
  augmenter->AugmentBatch(21, 4, samples, &batch, &scratch);
  for (int r = 0; r < 3; ++r) {
    std::vector<float> want(16);
    augmenter->Apply(augmenter->Draw(21, 4, samples[r]), original.row(r).data(), want.data());
    EXPECT_EQ(std::vector<float>(batch.row(r).data(), batch.row(r).data() + 16), want) << r;
  }
}

TEST(AugmentationTest, CreateRefusesAShapeThatIsNotTheFeatures) {
  config::Augmentation config = Config(28, 28, 1);
  config.set_max_shift(2);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(config, 3072);
  ASSERT_FALSE(augmenter.ok());
  EXPECT_THAT(augmenter.status().message(),
              ::testing::HasSubstr("data.augmentation's images of 28 x 28 x 1 (height x width x "
                                   "channels) are 784 features"));
  config.clear_height();
  augmenter = ImageAugmenter::Create(config, 784);
  ASSERT_FALSE(augmenter.ok());
  EXPECT_THAT(augmenter.status().message(), ::testing::HasSubstr("shape is not resolved"));
}

}  // namespace
}  // namespace mnemo
