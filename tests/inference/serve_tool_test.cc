// tools/serve as a user runs it, on tiny models whose answers are known: a
// 4-feature model whose label is the largest of the first three features,
// and a 784-feature one whose label is the index of the brightest pixel
// modulo 10.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config_loader.h"
#include "core/model_builder.h"
#include "core/model_io.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/inference/memory_models.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/run_command.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using ::testing::HasSubstr;

using ::mnemo::testing::CommandResult;

// Runs the serve binary with `args`, `stdin_text` as its input.
CommandResult Serve(const std::string& args, const std::string& stdin_text = "") {
  return testing::RunCommand(absl::StrCat(testing::TestArg("serve"), " ", args), TestDir(),
                             stdin_text);
}

// Saves a model of `config_text` whose first layer's weight is `weight`
// (bias zero); returns the model's path. The config is stored in the file.
std::string SaveModelWithWeight(const std::string& config_text, const Tensor& weight,
                                const std::string& name) {
  const std::string path = absl::StrCat(TestDir(), "/", name, ".safetensors");
  absl::StatusOr<std::unique_ptr<LoadedConfig>> config =
      ConfigLoader(Registries::Global(), ConfigUse::kInference).LoadText(config_text, name);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return path;
  absl::StatusOr<std::unique_ptr<Network>> network = BuildNetwork(**config, Registries::Global());
  EXPECT_TRUE(network.ok()) << network.status();
  if (!network.ok()) return path;
  for (const Parameter& p : (*network)->layer(0).parameters()) {
    if (p.name == "weight") *p.value = weight;
    if (p.name == "bias") p.value->setZero();
  }
  const absl::Status saved = SaveModel(path, **network, config_text);
  EXPECT_TRUE(saved.ok()) << saved;
  return path;
}

// Label = the largest of features 0 to 2 (feature 3 is ignored).
std::string ArgMaxOfThreeModel() {
  Tensor weight = Tensor::Zero(4, 3);
  weight.topRows(3).setIdentity();
  return SaveModelWithWeight(R"pb(model {
                                    input_size: 4
                                    layer { type: "Dense" units: 3 }
                                  })pb",
                             weight, "argmax3");
}

// Label = the brightest pixel's index modulo 10.
std::string PixelModel() {
  Tensor weight = Tensor::Zero(784, 10);
  for (int p = 0; p < 784; ++p) weight(p, p % 10) = 1;
  return SaveModelWithWeight(R"pb(model {
                                    input_size: 784
                                    layer { type: "Dense" units: 10 }
                                  })pb",
                             weight, "pixel");
}

std::string BigEndian(uint32_t n) {
  std::string out;
  AppendBigEndian32(n, &out);
  return out;
}

constexpr char kLines[] =
    "3,1,2,0\n"
    "0 5 1 9\n"
    "\n"                    // blank: skipped
    "  0, 0,\t7 , 100\r\n"  // spaces, tabs, a Windows line end
    "-1e-3,-2,-0.5,0\n";

TEST(ServeToolTest, PrintsOneLabelPerSampleLine) {
  const std::string model = ArgMaxOfThreeModel();
  CommandResult result = Serve(absl::StrCat("--model=", model), kLines);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "0\n1\n2\n0\n");
  EXPECT_EQ(result.err, "");
}

TEST(ServeToolTest, BatchesAnswerAsSingleSamplesDo) {
  const std::string model = ArgMaxOfThreeModel();
  for (int batch : {2, 3, 100}) {
    CommandResult result = Serve(absl::StrCat("--model=", model, " --batch=", batch), kLines);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "0\n1\n2\n0\n") << "batch " << batch;
  }
}

TEST(ServeToolTest, ReadsAFileAndTakesAnExplicitConfig) {
  const std::string model = ArgMaxOfThreeModel();
  const std::string input = TestDir() + "/samples.txt";
  WriteFile(input, kLines);
  const std::string config = TestDir() + "/argmax3.pbtxt";
  WriteFile(config, "model { input_size: 4 layer { type: \"Dense\" units: 3 } }\n");
  CommandResult result =
      Serve(absl::StrCat("--model=", model, " --config=", config, " --input=", input));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "0\n1\n2\n0\n");
}

TEST(ServeToolTest, ABadLineStopsWithItsLineFieldAndColumn) {
  const std::string model = ArgMaxOfThreeModel();
  struct Case {
    std::string line;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"1,2,x3,4", "stdin: line 2, field 3 (column 5): \"x3\" is not a number"},
           {"1,2,,4", "stdin: line 2, field 3 (column 5): empty"},
           {"1 2 3", "stdin: line 2: 3 values, but a sample has 4"},
           {"1 2 3 4 5", "stdin: line 2, field 5 (column 9): more than the 4 values"},
           {"1,2,nan,4", "stdin: line 2, field 3 (column 5): \"nan\" is not finite"},
           {"1,2,3,4,", "stdin: line 2, field 5 (column 9): empty (the line ends with a comma)"},
       }) {
    CommandResult result =
        Serve(absl::StrCat("--model=", model), "3,1,2,0\n" + c.line + "\n0,0,1,0\n");
    EXPECT_EQ(result.exit_code, 1) << c.line;
    EXPECT_THAT(result.err, HasSubstr(c.message)) << c.line;
    EXPECT_EQ(result.out, "0\n") << c.line;  // what came before the bad line
  }
}

// memory_models.h's model (a memory of 4 classes beside a head of 3 that
// always says 0) with `type`'s plugin, saved as `name`; its path.
std::string MemoryModel(const std::string& type, const std::string& name) {
  const std::string path = absl::StrCat(TestDir(), "/", name, ".safetensors");
  testing::SaveMemoryModel(type, testing::TestArg(absl::StrCat(type, "_plugin")), path);
  return path;
}

TEST(ServeToolTest, AddsExamplesOfANewClassWhileServingAndSavesThem) {
  for (const std::string type : {"cached_memory", "trainable_memory"}) {
    const std::string model = MemoryModel(type, type);
    const std::string saved = absl::StrCat(TestDir(), "/", type, "_added.safetensors");
    // (1, 0.05): the memory's class 1. (-1, 0.05): nothing near, the head's
    // 0; after an example of class 3 at (-2, 0), which the head has no output
    // for, 3. (-1, -1): 0.707 from it, the head's 0.
    CommandResult result = Serve(absl::StrCat("--model=", model, " --save_model=", saved),
                                 "1 0.05\n-1 0.05\nadd 3 -2 0\n-1 0.05\n-1 -1\n");
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "1\n0\n3\n0\n") << type;

    // Served again, the saved model answers the added class.
    result = Serve(absl::StrCat("--model=", saved, " --batch=2"), "-1 0.05\n1 0.05\n-1 -1\n");
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "3\n1\n0\n") << type;
    // The model it was loaded from is as it was.
    result = Serve(absl::StrCat("--model=", model), "-1 0.05\n");
    EXPECT_EQ(result.out, "0\n") << type;

    // An existing --save_model is refused before anything is served...
    result = Serve(absl::StrCat("--model=", model, " --save_model=", saved), "1 0.05\n");
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(result.out, "");
    EXPECT_THAT(result.err, HasSubstr(absl::StrCat("--save_model=", saved,
                                                   " exists: give another path, or --overwrite "
                                                   "to replace it")));
    // ... and replaced with --overwrite: no example added this time.
    result = Serve(absl::StrCat("--model=", model, " --save_model=", saved, " --overwrite"), "");
    EXPECT_EQ(result.exit_code, 0) << result.err;
    result = Serve(absl::StrCat("--model=", saved), "-1 0.05\n");
    EXPECT_EQ(result.out, "0\n") << type;
  }
}

TEST(ServeToolTest, AddsAFileOfExamplesBeforeServing) {
  const std::string model = MemoryModel("cached_memory", "cached");
  const std::string examples = TestDir() + "/examples.txt";
  // Two of class 3 near (-1, 0) and one of class 2 near (0, -1); a blank
  // line, commas and spaces.
  WriteFile(examples, "3, -2 0\n\n3 -2,0.1\n  2 0 -1\n");
  const std::string input = TestDir() + "/samples.txt";
  WriteFile(input, "-1 0.05\n0.05 -1\n1 0.05\n");
  CommandResult result =
      Serve(absl::StrCat("--model=", model, " --add_examples=", examples, " --input=", input));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "3\n2\n1\n");
}

TEST(ServeToolTest, ABadExampleStopsWithItsLineFieldAndColumn) {
  const std::string model = MemoryModel("cached_memory", "cached");
  struct Case {
    std::string line;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"add x -2 0",
            "stdin: line 2, field 1 (column 5): \"x\" is neither a class id (an integer >= 0) "
            "nor a class name (the model names none)"},
           {"add 4 -2 0",
            "stdin: line 2, field 1 (column 5): class 4 is not one the memory holds (4 classes, 0 "
            "to 3: memory_module.num_classes)"},
           {"add 3 -2 zz", "stdin: line 2, field 3 (column 10): \"zz\" is not a number"},
           {"add 3 -2", "stdin: line 2: 1 values, but a sample has 2"},
           {"  add", "stdin: line 2, field 1 (column 6): no label"},
           {"add 3 0 0",
            "stdin: line 2: AddExamples: cached_memory: Write: row 0 is a zero vector"},
       }) {
    CommandResult result =
        Serve(absl::StrCat("--model=", model), "1 0.05\n" + c.line + "\n-1 0.05\n");
    EXPECT_EQ(result.exit_code, 1) << c.line;
    EXPECT_THAT(result.err, HasSubstr(c.message)) << c.line;
    EXPECT_EQ(result.out, "1\n") << c.line;  // what came before the bad line
  }
  // In a file: its path and line.
  const std::string examples = TestDir() + "/examples.txt";
  WriteFile(examples, "3 -2 0\n3 -2 0 1\n");
  CommandResult result = Serve(absl::StrCat("--model=", model, " --add_examples=", examples), "");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(absl::StrCat(
                              examples, ": line 2, field 4 (column 8): more than the 2 values")));
  // A model without a memory takes no example.
  result = Serve(absl::StrCat("--model=", ArgMaxOfThreeModel()), "add 1 1 2 3 4\n");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("stdin: line 1: an add line shows examples to a model's "
                                    "memory, but this model has no memory module"));
  result = Serve(absl::StrCat("--model=", ArgMaxOfThreeModel(), " --add_examples=", examples), "");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("--add_examples shows examples to a model's memory"));
}

TEST(ServeToolTest, ClassifiesAnIdxFileAndReportsAccuracy) {
  const std::string model = PixelModel();
  // Three 28 x 28 images, each dark but for one pixel: 3, 25 and 100.
  std::string images = BigEndian(0x803) + BigEndian(3) + BigEndian(28) + BigEndian(28);
  for (int bright : {3, 25, 100}) {
    std::string pixels(784, '\0');
    pixels[bright] = static_cast<char>(200);
    images += pixels;
  }
  const std::string images_path = TestDir() + "/images-idx3-ubyte";
  WriteFile(images_path, images);
  // The third label is wrong (100 % 10 = 0).
  const std::string labels_path = TestDir() + "/labels-idx1-ubyte";
  WriteFile(labels_path, BigEndian(0x801) + BigEndian(3) + std::string("\x03\x05\x07", 3));

  CommandResult plain = Serve(absl::StrCat("--model=", model, " --idx=", images_path));
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "3\n5\n0\n");

  CommandResult scored = Serve(absl::StrCat("--model=", model, " --idx=", images_path,
                                            " --labels=", labels_path, " --batch=2"));
  EXPECT_EQ(scored.exit_code, 0) << scored.err;
  EXPECT_EQ(scored.out, "3\n5\n0\naccuracy 0.6667 (2 of 3)\n");

  // Labels with text samples: counted in order; their numbers must agree.
  std::string lines;
  for (int bright : {3, 25, 100}) {
    std::vector<std::string> values(784, "0");
    values[bright] = "0.8";
    lines += absl::StrJoin(values, ",") + "\n";
  }
  CommandResult text = Serve(absl::StrCat("--model=", model, " --labels=", labels_path), lines);
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out, "3\n5\n0\naccuracy 0.6667 (2 of 3)\n");
  CommandResult fewer = Serve(absl::StrCat("--model=", model, " --labels=", labels_path),
                              lines.substr(0, lines.find('\n') + 1));
  EXPECT_EQ(fewer.exit_code, 1);
  EXPECT_THAT(fewer.err, HasSubstr("there are 3 labels but 1 samples"));
}

TEST(ServeToolTest, RefusesBadFilesAndFlagsClearly) {
  const std::string model = ArgMaxOfThreeModel();
  CommandResult missing = Serve("--model=/no/such/model.safetensors");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("serve: cannot read /no/such/model.safetensors"));

  const std::string truncated = TestDir() + "/truncated.safetensors";
  WriteFile(truncated, ReadBytes(model).substr(0, 40));
  CommandResult corrupt = Serve("--model=" + truncated);
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_THAT(corrupt.err, HasSubstr(truncated));

  // A 784-pixel IDX file for a 4-feature model.
  std::string images = BigEndian(0x803) + BigEndian(1) + BigEndian(28) + BigEndian(28);
  images += std::string(784, '\0');
  const std::string images_path = TestDir() + "/images";
  WriteFile(images_path, images);
  CommandResult wide = Serve(absl::StrCat("--model=", model, " --idx=", images_path));
  EXPECT_EQ(wide.exit_code, 1);
  EXPECT_THAT(wide.err, HasSubstr("has images of 784 pixels, but the model takes 4 features"));

  CommandResult batch = Serve(absl::StrCat("--model=", model, " --batch=0"));
  EXPECT_EQ(batch.exit_code, 1);
  EXPECT_THAT(batch.err, HasSubstr("--batch must be > 0"));
  CommandResult huge = Serve(absl::StrCat("--model=", model, " --batch=1000000000"));
  EXPECT_EQ(huge.exit_code, 1);
  EXPECT_THAT(huge.err, HasSubstr("--batch must be at most 65536"));
}

}  // namespace
}  // namespace mnemo
