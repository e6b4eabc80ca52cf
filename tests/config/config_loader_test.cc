// Reading experiment configs: parse errors with their place, validation that
// reports every problem at once, and the network the builder makes.

#include "core/config_loader.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/field_range.h"
#include "core/model_builder.h"
#include "core/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"
#include "tests/plugins/test_layers.h"
#include "tests/testing/config_text.h"
#include "tools/data/formats.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestArg;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPath[] = "test.pbtxt";

// "PATH:LINE:COLUMN: " of the first `needle` in `text`.
std::string At(const std::string& text, const std::string& needle) {
  return testing::ConfigAt(kPath, text, needle);
}

std::vector<std::string> Lines(const absl::Status& status) {
  return absl::StrSplit(std::string(status.message()), '\n');
}

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// A trainer section that passes validation, for configs about something else.
constexpr char kTrainer[] =
    "trainer { optimizer { type: \"sgd\" learning_rate: 0.1 } batch_size: 8 epochs: 1 }\n";

// A backend named "fake" that computes as the reference does and remembers
// the threads it was created with.
class FakeBackend : public Backend {
 public:
  explicit FakeBackend(int threads) : threads_(threads) {}
  const char* name() const override { return "fake"; }
  int threads() const override { return threads_; }
  absl::Status MatMulTransposed(const Eigen::Ref<const Tensor>& a,
                                const Eigen::Ref<const Tensor>& b, Tensor* c) const override {
    return ReferenceBackend()->MatMulTransposed(a, b, c);
  }
  absl::StatusOr<float> SoftmaxCrossEntropy(const Tensor& logits, absl::Span<const int32_t> labels,
                                            Tensor* grad_logits, int* correct) const override {
    return ReferenceBackend()->SoftmaxCrossEntropy(logits, labels, grad_logits, correct);
  }

 private:
  int threads_;
};

// Registries of the test's own: core's built-ins and a few test types.
class ConfigLoaderTest : public ::testing::Test {
 protected:
  ConfigLoaderTest() {
    PluginRegistrar builtins("builtins");
    RegisterBuiltins(builtins);
    builtins.AddLayer("Fixed16", testing::FixedInputFactory("Fixed16", 16));
    builtins.AddLayer("fake/Dense", testing::PassThroughFactory("fake/Dense"));
    builtins.AddBackend("fake",
                        [](const BackendArgs& args) -> absl::StatusOr<std::unique_ptr<Backend>> {
                          return std::make_unique<FakeBackend>(args.threads);
                        });
    EXPECT_TRUE(builtins.CommitTo(registries_).ok());
    EXPECT_TRUE(RegisterDataFormats(registries_).ok());
  }

  absl::StatusOr<std::unique_ptr<LoadedConfig>> Load(const std::string& text) {
    return loader_.LoadText(text, kPath);
  }

  Registries registries_;
  ConfigLoader loader_{registries_};
};

TEST(SeedConfigTest, LoadsWithTheGlobalRegistriesAndBuilds) {
  const std::string path = TestArg("fashion_config");
  ConfigLoader loader;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = loader.LoadFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  const config::Experiment& experiment = (*config)->experiment();
  EXPECT_EQ(experiment.model().input_size(), 784);
  ASSERT_EQ(experiment.model().layer_size(), 2);
  EXPECT_EQ((*config)->path(), path);

  // Locations point into the real file.
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string units = "units: 10";
  const size_t offset = text.str().find(units);
  ASSERT_NE(offset, std::string::npos);
  const std::string before = text.str().substr(0, offset);
  const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
  const int column = static_cast<int>(offset - before.rfind('\n'));
  SourceLocation at = (*config)->Locate("model.layer[1].units");
  EXPECT_EQ(at.line, line);
  EXPECT_EQ(at.column, column);

  absl::StatusOr<std::unique_ptr<Network>> network =
      BuildNetwork(**config, Registries::Global());
  ASSERT_TRUE(network.ok()) << network.status();
  ASSERT_EQ((*network)->num_layers(), 3);
  EXPECT_EQ((*network)->layer(0).name(), "0_dense");
  EXPECT_EQ((*network)->layer(1).name(), "0_relu");
  EXPECT_EQ((*network)->layer(2).name(), "1_dense");
  EXPECT_EQ((*network)->input_size(), 784);
  EXPECT_EQ((*network)->output_size(), 10);
}

TEST_F(ConfigLoaderTest, SyntaxErrorHasLineAndColumn) {
  const std::string text = "model {\n  input_size: 784\n  layer { type: \"Dense\" units: = 3 }\n}\n";
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), StartsWith(At(text, "= 3")));
}

TEST_F(ConfigLoaderTest, SyntaxErrorInsideAnUnloadedOptionsTypeHasLineAndColumn) {
  const std::string text =
      "model {\n"
      "  layer {\n"
      "    options { [type.googleapis.com/mnemo.plugins.absent.Options] { x: } }\n"
      "  }\n"
      "}\n";
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), StartsWith(At(text, "} }")));
}

TEST_F(ConfigLoaderTest, UnknownFieldNameHasLineAndColumn) {
  const std::string text = std::string("model {\n  input_sise: 784\n}\n") + kTrainer;
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "input_sise") +
                "Message type \"mnemo.config.Model\" has no field named \"input_sise\".");
}

TEST_F(ConfigLoaderTest, InvalidUtf8IsRefusedWhereItIsEvenInAComment) {
  // A lone continuation byte, an overlong '/', a surrogate: each at its place.
  for (const std::string bad : {"\x80", "\xC0\xAF", "\xED\xA0\x80"}) {
    const std::string text = std::string("model {\n  input_size: 4  # caf") + bad +
                             "\n  layer { type: \"Dense\" units: 3 }\n}\n" + kTrainer;
    auto config = Load(text);
    ASSERT_FALSE(config.ok()) << "accepted " << absl::CEscape(bad);
    EXPECT_EQ(config.status().message(),
              absl::StrFormat("%s:2:23: invalid UTF-8 (byte 0x%02x): a config is UTF-8 text", kPath,
                              static_cast<uint8_t>(bad[0])));
  }
}

TEST_F(ConfigLoaderTest, WellFormedUtf8Loads) {
  const std::string text =
      std::string(
          "# caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x99\x82\n"
          "model {\n  input_size: 4\n"
          "  layer { type: \"Dense\" units: 3 name: \"sortie_\xC3\xA9\" }\n}\n") +
      kTrainer;
  auto config = Load(text);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->experiment().model().layer(0).name(), "sortie_\xC3\xA9");
}

TEST_F(ConfigLoaderTest, UnknownLayerTypeListsTheKnownTypes) {
  const std::string text =
      std::string("model {\n  input_size: 4\n  layer { type: \"Dens\" units: 3 }\n}\n") +
      kTrainer;
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "type: \"Dens\"") +
                "unknown layer type \"Dens\" (known types: BatchNorm, Dense, Dropout, Fixed16, "
                "LayerNorm, MinMaxScale, ReLU, Sigmoid, Standardize, Tanh, fake/Dense)");
}

TEST_F(ConfigLoaderTest, ALayerThatFailsDoesNotHideTheMistakesAfterIt) {
  // The first layer's type is wrong, but it declares 256 units: the second is
  // still built from that width, and its own mistake is reported too.
  const std::string text =
      std::string("model {\n  input_size: 4\n  layer { type: \"Dens\" units: 256 }\n"
                  "  layer { type: \"Dense\" units: 0 }\n}\n") +
      kTrainer;
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr(At(text, "type: \"Dens\"") + "unknown layer type"));
  EXPECT_THAT(message, HasSubstr("needs units > 0 (got 0)")) << message;
}

// LayerNorm and BatchNorm read epsilon (finite, > 0; unset = 1e-5) and
// BatchNorm momentum (in (0, 1]; unset = 0.1); each refuses what it does not
// read and a width of its own. Every error points at its field.
TEST_F(ConfigLoaderTest, NormalizationFieldsAreCheckedAtTheirPlace) {
  const std::string good = std::string(
                               "model {\n  input_size: 4\n"
                               "  layer { type: \"BatchNorm\" epsilon: 0.001 momentum: 1 }\n"
                               "  layer { type: \"LayerNorm\" units: 4 }\n"
                               "  layer { type: \"Dense\" units: 3 }\n}\n") +
                           kTrainer;
  auto config = Load(good);
  ASSERT_TRUE(config.ok()) << config.status();

  // One mistake a config: a layer that fails leaves the width after it
  // unknown, and the layers after it unchecked.
  // The layer's fields, the one the error must point at, the message.
  struct Case {
    std::string layer, field, message;
  };
  const Case cases[] = {
      {"type: \"LayerNorm\" epsilon: -1", "epsilon",
       "LayerNorm: LayerNorm layer needs epsilon finite and > 0 (added to the variance before "
       "its square root; unset = 1e-5); got -1"},
      {"type: \"BatchNorm\" name: \"bn\" epsilon: nan", "epsilon",
       "BatchNorm: BatchNorm layer \"bn\" needs epsilon finite and > 0 (added to the variance "
       "before its square root; unset = 1e-5); got nan"},
      {"type: \"BatchNorm\" momentum: 1.5", "momentum",
       "BatchNorm: BatchNorm layer needs momentum in (0, 1] (the weight of a step's batch "
       "statistics in the running ones; unset = 0.1); got 1.5"},
      {"type: \"BatchNorm\" momentum: -0.1", "momentum",
       "BatchNorm: BatchNorm layer needs momentum in (0, 1] (the weight of a step's batch "
       "statistics in the running ones; unset = 0.1); got -0.1"},
      {"type: \"LayerNorm\" momentum: 0.1", "momentum",
       "LayerNorm: LayerNorm layer does not read momentum (BatchNorm's rate for its running "
       "statistics): leave it out"},
      {"type: \"BatchNorm\" rate: 0.5", "rate",
       "BatchNorm: BatchNorm layer does not read rate (Dropout's): leave it out"},
      {"type: \"LayerNorm\" init { std: 0.1 }", "init",
       "LayerNorm: LayerNorm layer does not read init: its scale (gamma) starts at 1 and its "
       "shift (beta) at 0"},
      {"type: \"BatchNorm\" units: 8", "units",
       "BatchNorm: BatchNorm layer keeps the width of its input (4); units must be unset or "
       "equal to it (got 8)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.layer);
    const std::string text = "model {\n  input_size: 4\n  layer { " + c.layer +
                             " }\n  layer { type: \"Dense\" units: 3 }\n}\n" + kTrainer;
    config = Load(text);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().message(), At(text, c.field) + c.message);
  }
}

TEST_F(ConfigLoaderTest, EveryProblemIsReportedTogetherOnItsOwnLine) {
  const std::string text =
      "model {\n"
      "  input_size: 784\n"
      "  layer { type: \"Dense\" units: 16 activation: \"Relu\" }\n"
      "  layer { type: \"Dense\" units: -2 }\n"
      "}\n"
      "cache_strategy { type: \"keep_some\" }\n"
      "memory_module { type: \"episodic\" capacity: 10 features_after: \"0_dense\" }\n"
      "data { format: \"parquet\" dir: \"/nonexistent/fashion\" }\n"
      "trainer {\n"
      "  optimizer { type: \"rmsprop\" learning_rate: 0 }\n"
      "  batch_size: 0\n"
      "  epochs: -1\n"
      "}\n";
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      Lines(config.status()),
      ElementsAre(At(text, "activation") + "unknown layer type \"Relu\" (known types: "
                                           "BatchNorm, Dense, Dropout, Fixed16, LayerNorm, "
                                           "MinMaxScale, ReLU, Sigmoid, Standardize, Tanh, "
                                           "fake/Dense)",
                  At(text, "units: -2") + "model.layer[1].units must be >= 0, not -2",
                  At(text, "type: \"keep_some\"") +
                      "unknown cache strategy type \"keep_some\" (known types: keep_all)",
                  At(text, "type: \"episodic\"") +
                      "unknown memory module type \"episodic\" (known types: )",
                  // The rest of `data` is its format's to check; there is none.
                  At(text, "format") +
                      "unknown data format type \"parquet\" (known types: cifar10, csv, idx, npy)",
                  At(text, "type: \"rmsprop\"") +
                      "unknown optimizer type \"rmsprop\" (known types: adam, adamw, sgd)",
                  At(text, "learning_rate") + "trainer.optimizer.learning_rate must be > 0, not 0",
                  At(text, "batch_size") + "trainer.batch_size must be > 0, not 0",
                  At(text, "epochs") + "trainer.epochs must be > 0, not -1"));
}

TEST_F(ConfigLoaderTest, MissingRequiredFieldsPointAtTheMessageThatLacksThem) {
  const std::string text =
      "model {\n  layer { type: \"Dense\" units: 4 }\n}\ntrainer {\n  optimizer { type: \"adam\" }\n}\n";
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Lines(config.status()),
              ElementsAre(At(text, "model") + "model.input_size must be > 0 (features per sample)",
                          At(text, "optimizer") +
                              "trainer.optimizer.learning_rate must be > 0, not 0",
                          At(text, "trainer") + "trainer.batch_size must be > 0, not 0",
                          At(text, "trainer") + "trainer.epochs must be > 0, not 0"));
}

TEST_F(ConfigLoaderTest, AnEmptyFileLacksEverything) {
  auto config = Load("");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(Lines(config.status()),
              ElementsAre("test.pbtxt: model.input_size must be > 0 (features per sample)",
                          "test.pbtxt: the model has no layer",
                          "test.pbtxt: trainer.optimizer.type is required (adam, adamw or sgd)",
                          "test.pbtxt: trainer.optimizer.learning_rate must be > 0, not 0",
                          "test.pbtxt: trainer.batch_size must be > 0, not 0",
                          "test.pbtxt: trainer.epochs must be > 0, not 0"));
}

TEST_F(ConfigLoaderTest, SizesThatDoNotChainAreReportedAtTheLayer) {
  const std::string text = std::string(
                               "model {\n"
                               "  input_size: 784\n"
                               "  layer { type: \"Dense\" units: 32 }\n"
                               "  layer { type: \"Fixed16\" }\n"
                               "}\n") +
                           kTrainer;
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "layer { type: \"Fixed16\"") +
                "layer \"1_fixed16\" (Fixed16) takes 16 inputs, but receives 32 from the "
                "layer before it");

  const std::string first = std::string("model {\n  input_size: 10\n  layer { type: \"Fixed16\" }\n}\n") + kTrainer;
  config = Load(first);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(first, "layer") +
                "layer \"0_fixed16\" (Fixed16) takes 16 inputs, but receives 10 "
                "(model.input_size)");
}

TEST_F(ConfigLoaderTest, OptionsOfATypeNoLibraryDefinesAreAClearError) {
  const std::string text =
      "model {\n"
      "  input_size: 4\n"
      "  layer {\n"
      "    type: \"Dense\"\n"
      "    options { [type.googleapis.com/mnemo.plugins.absent.Options] { x: 1 } }\n"
      "  }\n"
      "}\n";
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, StartsWith(absl::StrCat(kPath, ":5:")));
  EXPECT_THAT(message,
              AllOf(HasSubstr("type.googleapis.com/mnemo.plugins.absent.Options"),
                    HasSubstr("list the plugin that does in `plugin`")));
}

TEST_F(ConfigLoaderTest, OptionsOnATypeThatTakesNoneAreAnError) {
  const std::string text = std::string(
                               "model {\n"
                               "  input_size: 4\n"
                               "  layer {\n"
                               "    type: \"Dense\" units: 2\n"
                               "    options { [type.googleapis.com/mnemo.config.Init] { std: 1 } }\n"
                               "  }\n"
                               "}\n") +
                           kTrainer;
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "options") +
                "layer type \"Dense\" takes no options, but options of type mnemo.config.Init "
                "were given");
}

TEST_F(ConfigLoaderTest, DataDirectoryWithoutTheFilesNamesTheMissingOnes) {
  const std::string dir = TempDir() + "/partial_data";
  mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/train-images-idx3-ubyte.gz") << "";
  std::ofstream(dir + "/train-labels-idx1-ubyte") << "";
  const std::string text = absl::StrCat(
      "model { input_size: 4 layer { type: \"Dense\" units: 2 } }\n", "data { dir: \"", dir,
      "\" }\n", kTrainer);
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "dir:") + "data directory \"" + dir +
                "\" is missing files: t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]");
}

TEST_F(ConfigLoaderTest, UnreadableFileIsNamed) {
  auto config = loader_.LoadFile("/no/such/experiment.pbtxt");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              AllOf(HasSubstr("\"/no/such/experiment.pbtxt\""),
                    HasSubstr("No such file or directory")));
}

TEST_F(ConfigLoaderTest, LoadFileReportsTheFilesPath) {
  const std::string path = TempDir() + "/bad.pbtxt";
  std::ofstream(path) << "model {\n  input_size: 4\n}\ntrainer { batch_size: \"x\" }\n";
  auto config = loader_.LoadFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), StartsWith(path + ":4:23: "));
}

TEST_F(ConfigLoaderTest, PluginThatCannotBeFoundIsReportedAtItsEntry) {
  const std::string text = std::string("# header\nplugin: \"plugins/none/libnone.so\"\n") +
                           "model { input_size: 4 layer { type: \"Dense\" units: 2 } }\n" +
                           kTrainer;
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              AllOf(StartsWith(At(text, "plugin")),
                    HasSubstr("plugin \"plugins/none/libnone.so\" not found; tried ./plugins/none/libnone.so")));
}

TEST_F(ConfigLoaderTest, LocateFallsBackToTheEnclosingMessage) {
  const std::string text = std::string(
                               "model {\n"
                               "  input_size: 4\n"
                               "  layer { type: \"Dense\" units: 0 }\n"
                               "  layer {\n"
                               "    type: \"Dense\"\n"
                               "    units: 2\n"
                               "  }\n"
                               "}\n") +
                           kTrainer;
  // units: 0 is refused by Dense, reported at the layer: but the text is read.
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith(At(text, "layer { type: \"Dense\" units: 0") + "Dense: "));

  auto fixed = Load(std::string(text).replace(text.find("units: 0"), 8, "units: 3"));
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  const LoadedConfig& c = **fixed;
  EXPECT_EQ(c.Locate("model.layer[1].units").line, 6);
  EXPECT_EQ(c.Locate("model.layer[1].units").column, 5);
  EXPECT_EQ(c.Locate("model.layer[1]").line, 4);
  EXPECT_EQ(c.Locate("model.layer[1].name").line, 4);  // not written: the layer
  EXPECT_EQ(c.Locate("model.layer").line, 3);
  EXPECT_EQ(c.Locate("trainer.optimizer.learning_rate").column, 35);
  EXPECT_EQ(c.Locate("output.dir").line, 0);
  EXPECT_EQ(c.Describe("output.dir", "m"), "test.pbtxt: m");
  EXPECT_EQ(c.Describe("model.input_size", "m"), "test.pbtxt:2:3: m");
}

TEST_F(ConfigLoaderTest, BuilderNamesFreezesAndSeedsLayers) {
  const std::string text = std::string(
                               "model {\n"
                               "  input_size: 300\n"
                               "  init { scheme: NORMAL std: 0.5 }\n"
                               "  layer { type: \"Dense\" units: 200 activation: \"Tanh\" trainable: false }\n"
                               "  layer { name: \"head\" type: \"Dense\" units: 300 init { std: 0.02 } }\n"
                               "}\n") +
                           kTrainer;
  auto config = Load(text);
  ASSERT_TRUE(config.ok()) << config.status();
  auto network = BuildNetwork(**config, registries_);
  ASSERT_TRUE(network.ok()) << network.status();
  ASSERT_EQ((*network)->num_layers(), 3);
  Network& n = **network;
  EXPECT_EQ(n.layer(0).name(), "0_dense");
  EXPECT_EQ(n.layer(1).name(), "0_tanh");
  EXPECT_EQ(n.layer(2).name(), "head");
  EXPECT_FALSE(n.layer(0).trainable());
  EXPECT_FALSE(n.layer(1).trainable());
  EXPECT_TRUE(n.layer(2).trainable());

  // Model init (std 0.5) for layer 0, the layer's own std (0.02) for layer 1.
  auto std_of = [](const Tensor& t) {
    const double mean = t.mean();
    return std::sqrt((t.array() - mean).square().mean());
  };
  EXPECT_NEAR(std_of(*n.layer(0).parameters()[0].value), 0.5, 0.01);
  EXPECT_NEAR(std_of(*n.layer(2).parameters()[0].value), 0.02, 0.001);

  // The same config builds the same weights: every layer is seeded from the run's seed.
  auto again = BuildNetwork(**config, registries_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*(*again)->layer(0).parameters()[0].value, *n.layer(0).parameters()[0].value);
}

TEST_F(ConfigLoaderTest, DuplicateLayerNamesAreAnError) {
  const std::string text = std::string(
                               "model {\n"
                               "  input_size: 4\n"
                               "  layer { type: \"Dense\" units: 4 name: \"x\" }\n"
                               "  layer { type: \"Dense\" units: 4 name: \"x\" }\n"
                               "}\n") +
                           kTrainer;
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "layer { type: \"Dense\" units: 4 name: \"x\" }\n}") +
                "two layers are named \"x\"; names must be unique (they name the saved "
                "tensors)");
}

TEST_F(ConfigLoaderTest, BackendPrefersItsOwnTypesAndFallsBackToTheReference) {
  const std::string text = std::string(
                               "model {\n"
                               "  input_size: 4\n"
                               "  backend: \"fake\"\n"
                               "  layer { type: \"Dense\" units: 4 activation: \"ReLU\" }\n"
                               "}\n") +
                           kTrainer;
  auto config = Load(text);
  ASSERT_TRUE(config.ok()) << config.status();
  auto network = BuildNetwork(**config, registries_);
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_STREQ((*network)->layer(0).type(), "fake/Dense");
  EXPECT_STREQ((*network)->layer(1).type(), "ReLU");
  EXPECT_STREQ((*network)->backend().name(), "fake");
  EXPECT_EQ((*network)->backend().threads(), 0);  // model.threads unset

  const std::string unknown = std::string(
                                  "model {\n"
                                  "  input_size: 4\n"
                                  "  backend: \"onednn\"\n"
                                  "  layer { type: \"Dense\" units: 4 }\n"
                                  "}\n") +
                              kTrainer;
  config = Load(unknown);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(unknown, "backend") + "unknown backend \"onednn\" (known: eigen, fake)");
}

TEST_F(ConfigLoaderTest, BackendGetsTheModelsThreadsAndTheReferenceIsTheDefault) {
  const std::string threads = std::string(
                                  "model {\n"
                                  "  input_size: 4\n"
                                  "  backend: \"fake\"\n"
                                  "  threads: 3\n"
                                  "  layer { type: \"Dense\" units: 4 }\n"
                                  "}\n") +
                              kTrainer;
  auto config = Load(threads);
  ASSERT_TRUE(config.ok()) << config.status();
  auto network = BuildNetwork(**config, registries_);
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_EQ((*network)->backend().threads(), 3);

  const std::string plain = std::string(
                                "model {\n"
                                "  input_size: 4\n"
                                "  layer { type: \"Dense\" units: 4 }\n"
                                "}\n") +
                            kTrainer;
  config = Load(plain);
  ASSERT_TRUE(config.ok()) << config.status();
  network = BuildNetwork(**config, registries_);
  ASSERT_TRUE(network.ok()) << network.status();
  EXPECT_STREQ((*network)->backend().name(), "eigen");
  EXPECT_EQ((*network)->backend().threads(), 1);

  const std::string negative = std::string(
                                   "model {\n"
                                   "  input_size: 4\n"
                                   "  threads: -2\n"
                                   "  layer { type: \"Dense\" units: 4 }\n"
                                   "}\n") +
                               kTrainer;
  config = Load(negative);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(negative, "threads") + "model.threads must be >= 0 (0 = one per core), not -2");
}

// Every count a user sets has a range, checked at load with its place:
// values near the int32 limit, or merely absurd, are refused naming the
// field, never trained with (a batch of 2^31 - 1 once trained zero steps).
TEST_F(ConfigLoaderTest, AbsurdCountsAreRefusedAtTheirPlace) {
  const std::string base =
      "model {\n"
      "  input_size: 4\n"
      "  threads: 1\n"
      "  layer { type: \"Dense\" units: 4 }\n"
      "}\n"
      "data { train_limit: 10 }\n"
      "trainer {\n"
      "  optimizer { type: \"sgd\" learning_rate: 0.1 }\n"
      "  batch_size: 8\n"
      "  epochs: 1\n"
      "}\n"
      "output { snapshot_every_steps: 5 snapshot_every_seconds: 30 }\n";
  struct Case {
    std::string from, to, needle, message;
  };
  for (const Case& c : std::vector<Case>{
           {"batch_size: 8", "batch_size: 2147483647", "batch_size",
            "trainer.batch_size must be at most 16777216, not 2147483647"},
           {"batch_size: 8", "batch_size: -1", "batch_size",
            "trainer.batch_size must be > 0, not -1"},
           {"epochs: 1", "epochs: 2147483647", "epochs",
            "trainer.epochs must be at most 1000000, not 2147483647"},
           {"units: 4", "units: 200000000", "units",
            "model.layer[0].units must be at most 16777216, not 200000000"},
           {"input_size: 4", "input_size: 100000000", "input_size",
            "model.input_size must be at most 16777216, not 100000000"},
           {"threads: 1", "threads: 100000", "threads",
            "model.threads must be at most 1024 (0 = one per core), not 100000"},
           {"train_limit: 10", "train_limit: -3", "train_limit",
            "data.train_limit must be >= 0, not -3"},
           {"snapshot_every_steps: 5", "snapshot_every_steps: 2000000000", "snapshot_every_steps",
            "output.snapshot_every_steps must be at most 1000000000 (0 = not by steps), not "
            "2000000000"},
           {"snapshot_every_seconds: 30", "snapshot_every_seconds: 1e300", "snapshot_every_seconds",
            "output.snapshot_every_seconds must be at most 31536000 (0 = not by time), not "
            "1e+300"},
           {"snapshot_every_seconds: 30", "snapshot_every_seconds: nan", "snapshot_every_seconds",
            "output.snapshot_every_seconds must be from 0 to 31536000 (0 = not by time), not "
            "nan"},
       }) {
    std::string text = base;
    text.replace(text.find(c.from), c.from.size(), c.to);
    absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
    ASSERT_FALSE(config.ok()) << c.to;
    EXPECT_EQ(config.status().message(), At(text, c.needle) + c.message) << c.to;
  }
}

// The schema itself: every integer a user sets declares its range, so that a
// count added later cannot go unbounded. Seeds are not counts.
TEST(ConfigSchemaTest, EveryIntegerFieldDeclaresARange) {
  std::vector<const google::protobuf::Descriptor*> pending = {config::Experiment::descriptor()};
  std::set<std::string> seen;
  int checked = 0;
  while (!pending.empty()) {
    const google::protobuf::Descriptor* message = pending.back();
    pending.pop_back();
    if (!seen.insert(message->full_name()).second) continue;
    for (int i = 0; i < message->field_count(); ++i) {
      const google::protobuf::FieldDescriptor& field = *message->field(i);
      switch (field.cpp_type()) {
        case google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE:
          pending.push_back(field.message_type());
          break;
        case google::protobuf::FieldDescriptor::CPPTYPE_INT32:
        case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
        case google::protobuf::FieldDescriptor::CPPTYPE_UINT32:
        case google::protobuf::FieldDescriptor::CPPTYPE_UINT64:
          if (field.name() == "seed") break;
          EXPECT_TRUE(RangeOf(field).has_value()) << field.full_name() << " declares no range";
          ++checked;
          break;
        default:
          break;
      }
    }
  }
  EXPECT_GE(checked, 10);
}

// Widths each in range whose parameters no machine holds: refused at the
// layer that crosses the memory there is, before it is allocated (the
// kernel's lazy allocation would otherwise end in its out-of-memory kill).
TEST_F(ConfigLoaderTest, ParametersBeyondMemoryAreRefusedBeforeTheyAreAllocated) {
  const std::string text = std::string(
                               "model {\n"
                               "  input_size: 16777216\n"
                               "  layer { type: \"Dense\" units: 16777216 }\n"
                               "  layer { type: \"Dense\" units: 16 }\n"
                               "}\n") +
                           kTrainer;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  // The first layer alone holds 2^48 parameters: 1 PiB.
  EXPECT_THAT(std::string(config.status().message()),
              ::testing::MatchesRegex(absl::StrCat(
                  At(text, "units: 16777216"),
                  "the model's parameters up to this layer \\(16777216 inputs x 16777216 units\\) "
                  "need 1024\\.[0-9] TiB, more than the [0-9.]+ [GMT]iB of memory this process "
                  "may use")));
}

TEST_F(ConfigLoaderTest, AModelOfTooManyLayersIsRefused) {
  std::string text = "model {\n  input_size: 4\n";
  for (int i = 0; i <= kMaxLayers; ++i) text += "  layer { type: \"ReLU\" }\n";
  text += std::string("}\n") + kTrainer;
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            At(text, "layer") + "a model has at most 4096 layers, not 4097");
}

}  // namespace
}  // namespace mnemo
