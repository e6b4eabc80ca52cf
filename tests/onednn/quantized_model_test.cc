// INT8 and BF16 model files (tools/quantization) served by Predictor on the
// oneDNN backend: the answers are those of an independent computation from
// the file's own tensors (integer dot products of the quantized weights and
// inputs, scaled, in double), close to the FP32 model's; files round-trip
// through Predictor::Save; malformed quantized files are refused as other
// models are, naming the tensor. Where the CPU lacks AVX512-VNNI (or
// AVX512-BF16), loading is asserted to be refused instead.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/avx512_warning_workaround.h"  // first: see there
#include "core/bfloat16.h"
#include "core/config_loader.h"
#include "core/inference/predictor.h"
#include "core/io/safetensors.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "tests/onednn/onednn_testing.h"
#include "tests/testing/tensors.h"
#include "tests/testing/test_files.h"
#include "tools/quantization/quantize_model.h"
#include "tools/quantization/weights.h"

namespace mnemo {
namespace {

using ::mnemo::testing::RelativeError;
using ::mnemo::testing::TestRng;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kModel[] =
    "plugin: \"plugins/onednn/libonednn_plugin.so\"\n"
    "model {\n"
    "  input_size: 37\n"
    "  backend: \"onednn\"\n"
    "  init { scheme: HE_NORMAL }\n"
    "  layer { type: \"Dense\" units: 29 activation: \"ReLU\" }\n"
    "  layer { type: \"Dense\" units: 5 }\n"
    "}\n";

TEST(QuantizeColumnsTest, EachWeightWithinHalfItsColumnsScale) {
  TestRng rng(3);
  Tensor w = rng.Random(50, 7, -2.0f, 3.0f);
  w.col(4).setZero();
  const Int8Columns q = QuantizeColumns(w);
  for (Eigen::Index j = 0; j < w.cols(); ++j) {
    const float largest = w.col(j).cwiseAbs().maxCoeff();
    EXPECT_FLOAT_EQ(q.scales(0, j), largest / 127.0f);
    for (Eigen::Index r = 0; r < w.rows(); ++r) {
      EXPECT_LE(std::abs(q.values(r, j)), 127);
      EXPECT_LE(std::abs(q.values(r, j) * q.scales(0, j) - w(r, j)), q.scales(0, j) / 2 + 1e-7f);
    }
  }
  EXPECT_EQ(q.values.col(4).cwiseAbs().maxCoeff(), 0);
}

class QuantizedModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mnemo::testing::LoadOneDnnPlugin(); }

  void SetUp() override {
    backend_ = mnemo::testing::OneDnnBackend();
    ASSERT_NE(backend_, nullptr);
    absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
        ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(kModel, "model.pbtxt");
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *std::move(config);
    absl::StatusOr<std::unique_ptr<Network>> network =
        BuildNetwork(*config_, Registries::Global());
    ASSERT_TRUE(network.ok()) << network.status();
    fp32_ = *std::move(network);
    // Biases away from zero, so that a lost bias shows.
    TestRng rng(11);
    for (const ModelParameter& p : fp32_->Parameters()) {
      if (absl::EndsWith(p.name, ".bias")) *p.value = rng.Random(1, p.value->cols(), -0.5f, 0.5f);
      p.layer->MarkParametersUpdated();
    }
    samples_ = rng.Random(40, 37, -1.5f, 2.0f);
    samples_.row(3).setZero();  // a sample of zeros: scale 0, output = bias
  }

  // `options` applied to the fp32 model, written to TestDir()/name.
  std::string Quantize(const QuantizeOptions& options, const std::string& name) {
    absl::StatusOr<TensorFile> file =
        QuantizeModel(*fp32_, config_->experiment(), config::DataNames(), options);
    EXPECT_TRUE(file.ok()) << file.status();
    const std::string path = TestDir() + "/" + name;
    EXPECT_TRUE(WriteSafetensors(path, *file).ok());
    return path;
  }

  Tensor Fp32Logits() {
    absl::StatusOr<const Tensor*> logits = fp32_->Forward(samples_, ForwardContext{});
    EXPECT_TRUE(logits.ok());
    return **logits;
  }

  bool Has(config::Model::Precision precision) {
    return backend_->CheckPrecision(precision).ok();
  }

  std::shared_ptr<const Backend> backend_;
  std::unique_ptr<LoadedConfig> config_;
  std::unique_ptr<Network> fp32_;
  Tensor samples_;
};

// The file's tensors, read independently of LoadModel.
struct FileLayer {
  Eigen::MatrixXd weight;  // the stored values (int8 as integers, bf16 widened)
  Eigen::RowVectorXd weight_scale, bias;
  double input_scale = 0;  // 0 = dynamic
};

std::vector<FileLayer> ReadLayers(const std::string& path) {
  absl::StatusOr<TensorFile> file = ReadSafetensors(path);
  EXPECT_TRUE(file.ok()) << file.status();
  std::vector<FileLayer> layers;
  for (const std::string layer : {"0_dense", "1_dense"}) {
    FileLayer l;
    const NarrowTensor& w = file->narrow_tensors.at(layer + ".weight");
    l.weight.resize(w.rows, w.cols);
    for (Eigen::Index i = 0; i < w.rows * w.cols; ++i) {
      if (w.dtype == Dtype::kI8) {
        l.weight(i / w.cols, i % w.cols) = static_cast<int8_t>(w.bytes[i]);
      } else {
        uint16_t bits;
        std::memcpy(&bits, &w.bytes[2 * i], 2);
        l.weight(i / w.cols, i % w.cols) = Bfloat16ToFloat(bits);
      }
    }
    l.bias = file->tensors.at(layer + ".bias").cast<double>().row(0);
    if (w.dtype == Dtype::kI8) {
      l.weight_scale = file->tensors.at(layer + ".weight_scale").cast<double>().row(0);
      if (file->tensors.count(layer + ".input_scale")) {
        l.input_scale = file->tensors.at(layer + ".input_scale")(0, 0);
      }
    }
    layers.push_back(l);
  }
  return layers;
}

// y = s_x s_w (q(x) . Wq) + b per layer, ReLU between, in double: q(x) by the
// layer's static scale or each row's own largest magnitude / 127.
Tensor Int8Reference(const std::vector<FileLayer>& layers, const Tensor& samples) {
  Eigen::MatrixXd x = samples.cast<double>();
  for (size_t l = 0; l < layers.size(); ++l) {
    const FileLayer& layer = layers[l];
    Eigen::MatrixXd y(x.rows(), layer.weight.cols());
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      // The scale as the float the layer computes it in.
      const double s = layer.input_scale > 0
                           ? layer.input_scale
                           : static_cast<double>(static_cast<float>(x.row(i).cwiseAbs().maxCoeff()) / 127.0f);
      Eigen::RowVectorXd q(x.cols());
      for (Eigen::Index r = 0; r < x.cols(); ++r) {
        q(r) = s > 0 ? std::clamp(std::nearbyint(x(i, r) / s), -127.0, 127.0) : 0.0;
      }
      const Eigen::RowVectorXd acc = q * layer.weight;  // integers, exact in double
      y.row(i) = (s * acc.cwiseProduct(layer.weight_scale)) + layer.bias;
    }
    x = l + 1 < layers.size() ? Eigen::MatrixXd(y.cwiseMax(0.0)) : y;
  }
  return x.cast<float>();
}

TEST_F(QuantizedModelTest, Int8AnswersAreThoseOfTheFilesTensors) {
  for (auto activations : {config::Quantization::DYNAMIC, config::Quantization::STATIC}) {
    SCOPED_TRACE(config::Quantization::Activations_Name(activations));
    QuantizeOptions options;
    options.activations = activations;
    options.calibration = &samples_;
    const std::string path =
        Quantize(options, config::Quantization::Activations_Name(activations) + ".safetensors");
    absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", path);
    if (!Has(config::Model::INT8)) {
      ASSERT_FALSE(predictor.ok());
      EXPECT_THAT(std::string(predictor.status().message()), HasSubstr("AVX512-VNNI"));
      continue;
    }
    ASSERT_TRUE(predictor.ok()) << predictor.status();
    absl::StatusOr<Predictions> answers = (*predictor)->Classify(samples_);
    ASSERT_TRUE(answers.ok()) << answers.status();
    const Tensor logits = *answers->logits;  // a copy: the next call reuses the buffer

    const std::vector<FileLayer> layers = ReadLayers(path);
    if (activations == config::Quantization::STATIC) {
      // Calibrated: the largest input each layer saw, / 127.
      EXPECT_FLOAT_EQ(layers[0].input_scale, samples_.cwiseAbs().maxCoeff() / 127.0f);
      Tensor hidden;
      fp32_->layer(0).Forward(samples_, ForwardContext{}, &hidden);
      EXPECT_FLOAT_EQ(layers[1].input_scale, hidden.cwiseMax(0.0f).maxCoeff() / 127.0f);
    } else {
      EXPECT_EQ(layers[0].input_scale, 0);
    }
    EXPECT_LE(RelativeError(logits, Int8Reference(layers, samples_)), 1e-5);
    // Close to the fp32 model: 8 bits for weights and inputs.
    EXPECT_LE(RelativeError(logits, Fp32Logits()), 0.03);
    // Batch 1 takes the VNNI kernel: the same answers, row by row.
    for (int i : {0, 3, 39}) {
      absl::StatusOr<Predictions> one = (*predictor)->Classify(Tensor(samples_.row(i)));
      ASSERT_TRUE(one.ok());
      EXPECT_LE(RelativeError(*one->logits, Tensor(logits.row(i))), 1e-6) << "sample " << i;
    }
  }
}

TEST_F(QuantizedModelTest, Int8FilesRoundTripThroughPredictorSave) {
  if (!Has(config::Model::INT8)) {
    EXPECT_THAT(std::string(backend_->CheckPrecision(config::Model::INT8).message()),
                HasSubstr("AVX512-VNNI"));
    return;
  }
  QuantizeOptions options;
  options.activations = config::Quantization::STATIC;
  options.calibration = &samples_;
  const std::string path = Quantize(options, "model.safetensors");
  absl::StatusOr<std::unique_ptr<Predictor>> first = Predictor::Load("", path);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string copy = TestDir() + "/copy.safetensors";
  ASSERT_TRUE((*first)->Save(copy).ok());
  absl::StatusOr<TensorFile> a = ReadSafetensors(path), b = ReadSafetensors(copy);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->tensors.size(), b->tensors.size());
  for (const auto& [name, t] : a->tensors) EXPECT_EQ(t, b->tensors.at(name)) << name;
  ASSERT_EQ(a->narrow_tensors.size(), 2u);
  for (const auto& [name, t] : a->narrow_tensors) {
    EXPECT_EQ(t.dtype, Dtype::kI8);
    EXPECT_EQ(t.bytes, b->narrow_tensors.at(name).bytes) << name;
  }
  absl::StatusOr<std::unique_ptr<Predictor>> second = Predictor::Load("", copy);
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<Predictions> x = (*first)->Classify(samples_);
  ASSERT_TRUE(x.ok());
  const Tensor first_logits = *x->logits;
  absl::StatusOr<Predictions> y = (*second)->Classify(samples_);
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(first_logits, *y->logits);
  // int8 weights: about a quarter of the fp32 model's bytes.
  EXPECT_LT((*first)->weight_bytes(), (37 * 29 + 29 * 5) * 4 / 2);
}

// A quantized file altered one way each: refused as a damaged model is,
// naming the tensor.
TEST_F(QuantizedModelTest, MalformedInt8FilesAreRefusedNamingTheTensor) {
  QuantizeOptions options;
  const std::string path = Quantize(options, "good.safetensors");
  absl::StatusOr<TensorFile> good = ReadSafetensors(path);
  ASSERT_TRUE(good.ok());
  struct Case {
    std::string name, expected;
    std::function<void(TensorFile*)> change;
  };
  const std::vector<Case> cases = {
      {"float_weight", "\"0_dense.weight\" is F32",
       [](TensorFile* f) {
         f->narrow_tensors.erase("0_dense.weight");
         f->tensors["0_dense.weight"] = Tensor::Zero(37, 29);
       }},
      {"no_scale", "\"1_dense.weight_scale\" is missing",
       [](TensorFile* f) { f->tensors.erase("1_dense.weight_scale"); }},
      {"nan_scale", "\"1_dense\" (onednn/Dense), parameter \"weight_scale\", element [0, 1] = nan",
       [](TensorFile* f) { f->tensors["1_dense.weight_scale"](0, 1) = NAN; }},
      {"shape", "\"0_dense.weight\" has shape [36, 29]",
       [](TensorFile* f) {
         NarrowTensor& w = f->narrow_tensors["0_dense.weight"];
         w.rows = 36;
         w.bytes.resize(36 * 29);
       }},
      {"extra_input_scale", "\"0_dense.input_scale\" is not in the model",
       [](TensorFile* f) { f->tensors["0_dense.input_scale"] = Tensor::Ones(1, 1); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TensorFile bad = *good;
    c.change(&bad);
    const std::string bad_path = TestDir() + "/" + c.name + ".safetensors";
    ASSERT_TRUE(WriteSafetensors(bad_path, bad).ok());
    absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", bad_path);
    ASSERT_FALSE(predictor.ok());
    if (!Has(config::Model::INT8)) {
      EXPECT_THAT(std::string(predictor.status().message()), HasSubstr("AVX512-VNNI"));
    } else {
      EXPECT_THAT(std::string(predictor.status().message()),
                  AllOf(HasSubstr(bad_path), HasSubstr(c.expected)));
    }
  }
  // A truncated file.
  const std::string bytes = ReadBytes(path);
  const std::string cut = TestDir() + "/cut.safetensors";
  WriteFile(cut, bytes.substr(0, bytes.size() - 9));
  EXPECT_FALSE(Predictor::Load("", cut).ok());
}

TEST_F(QuantizedModelTest, Bf16FilesHoldHalfTheBytesAndServeTheRoundedWeights) {
  QuantizeOptions options;
  options.precision = config::Model::BF16;
  const std::string path = Quantize(options, "bf16.safetensors");
  absl::StatusOr<std::unique_ptr<Predictor>> predictor = Predictor::Load("", path);
  if (!Has(config::Model::BF16)) {
    ASSERT_FALSE(predictor.ok());
    EXPECT_THAT(std::string(predictor.status().message()), HasSubstr("AVX512-BF16"));
    return;
  }
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  absl::StatusOr<Predictions> answers = (*predictor)->Classify(samples_);
  ASSERT_TRUE(answers.ok());
  // The weights as the file holds them, the inputs rounded to bf16 here.
  const std::vector<FileLayer> layers = ReadLayers(path);
  Eigen::MatrixXd x = samples_.cast<double>();
  for (size_t l = 0; l < layers.size(); ++l) {
    Eigen::MatrixXd xb = x.unaryExpr([](double v) {
      return static_cast<double>(Bfloat16ToFloat(FloatToBfloat16(static_cast<float>(v))));
    });
    Eigen::MatrixXd y = (xb * layers[l].weight).rowwise() + layers[l].bias;
    x = l + 1 < layers.size() ? Eigen::MatrixXd(y.cwiseMax(0.0)) : y;
  }
  EXPECT_LE(RelativeError(*answers->logits, Tensor(x.cast<float>())), 1e-5);
  EXPECT_LE(RelativeError(*answers->logits, Fp32Logits()), 0.02);
}

}  // namespace
}  // namespace mnemo
