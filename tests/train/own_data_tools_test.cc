// tools/train, tools/eval and tools/serve as a user runs them on their own
// data: the example configs of a CSV classification (text labels, a sigmoid
// output, a validation split and early stopping), a CSV regression and .npy
// arrays, with their data in configs/data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/plugins/test_args.h"
#include "tests/testing/run_command.h"
#include "tests/testing/test_files.h"

namespace mnemo {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;
using testing::TestArg;

CommandResult Tool(const char* tool, const std::string& args, const std::string& stdin_text = "") {
  return testing::RunCommand(absl::StrCat(TestArg(tool), " ", args), TestDir(), stdin_text);
}

// Trains `config` (from configs/) for `epochs` into the test's directory;
// returns the output directory.
std::string Train(const std::string& config, int epochs) {
  const std::string out = absl::StrCat(TestDir(), "/out");
  CommandResult trained = Tool(
      "train", absl::StrCat("--config=configs/", config, " --epochs=", epochs, " --out=", out));
  EXPECT_EQ(trained.exit_code, 0) << trained.err;
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(OwnDataToolsTest, CsvClassifierAnswersTheOriginalLabels) {
  const std::string out = Train("cancer_csv.pbtxt", 30);
  const std::string csv = ReadBytes(out + "/metrics.csv");
  const std::string header = Lines(csv)[0];
  for (const char* column :
       {"val_loss", "val_accuracy", "val_macro_f1", "test_macro_f1", "test_log_loss"}) {
    EXPECT_THAT(header, HasSubstr(column));
  }
  CommandResult eval = Tool("eval", absl::StrCat("--model=", out, "/model.safetensors"));
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_THAT(eval.out, HasSubstr("test samples  143\n"));
  EXPECT_THAT(eval.out, HasSubstr("test macro_f1 "));

  // Raw rows by column name (the table's own order, the target column
  // there): the answers are "benign" and "malignant", checked at the end.
  CommandResult served =
      Tool("serve", absl::StrCat("--model=", out,
                                 "/model.safetensors --csv=configs/data/breast_cancer_test.csv"));
  ASSERT_EQ(served.exit_code, 0) << served.err;
  const std::vector<std::string> lines = Lines(served.out);
  ASSERT_EQ(lines.size(), 144u);
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_THAT(lines[i], MatchesRegex("benign|malignant")) << i;
  }
  EXPECT_THAT(lines.back(), MatchesRegex("accuracy 0\\.9[0-9]+ \\([0-9]+ of 143\\)"));
}

TEST(OwnDataToolsTest, ServeRefusesABadCellWithItsLineAndColumn) {
  const std::string out = Train("cancer_csv.pbtxt", 1);
  const std::string table = absl::StrCat(TestDir(), "/rows.csv");
  std::string text = ReadBytes("configs/data/breast_cancer_test.csv");
  // The second data row's first cell.
  const size_t second = text.find('\n', text.find('\n') + 1) + 1;
  text.replace(second, text.find(',', second) - second, "12.x");
  WriteFile(table, text);
  CommandResult served =
      Tool("serve", absl::StrCat("--model=", out, "/model.safetensors --csv=", table));
  EXPECT_EQ(served.exit_code, 1);
  EXPECT_EQ(served.err, absl::StrCat("serve: ", table,
                                     ":3:1: \"12.x\" in column \"mean radius\" is not a finite "
                                     "number\n"));
  // A table without one of the model's columns.
  WriteFile(table, "mean radius,diagnosis\n1,benign\n");
  served = Tool("serve", absl::StrCat("--model=", out, "/model.safetensors --csv=", table));
  EXPECT_EQ(served.exit_code, 1);
  EXPECT_THAT(served.err,
              StartsWith(absl::StrCat("serve: ", table, " has no column \"mean texture\"")));
}

TEST(OwnDataToolsTest, CsvRegressionReportsAndServesValues) {
  const std::string out = Train("diabetes_csv.pbtxt", 20);
  const std::string header = Lines(ReadBytes(out + "/metrics.csv"))[0];
  for (const char* column : {"test_rmse", "test_mae", "test_r2"}) {
    EXPECT_THAT(header, HasSubstr(column));
  }
  CommandResult eval = Tool("eval", absl::StrCat("--model=", out, "/model.safetensors"));
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_THAT(eval.out, HasSubstr("test r2 "));
  EXPECT_THAT(eval.out, Not(HasSubstr("accuracy")));
  // Rows without the target: a value a row, and no check at the end.
  CommandResult served = Tool("serve", absl::StrCat("--model=", out, "/model.safetensors --csv=-"),
                              "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6\n"
                              "59,2,32.1,101,157,93.2,38,4,4.8598,87\n"
                              "48,1,21.6,87,183,103.2,70,3,3.8918,69\n");
  ASSERT_EQ(served.exit_code, 0) << served.err;
  const std::vector<std::string> lines = Lines(served.out);
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) {
    double value;
    EXPECT_TRUE(absl::SimpleAtod(line, &value)) << line;
  }
}

TEST(OwnDataToolsTest, NpyArraysTrainAndEvaluate) {
  const std::string out = Train("digits_npy.pbtxt", 5);
  CommandResult eval = Tool("eval", absl::StrCat("--model=", out, "/model.safetensors"));
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_THAT(eval.out, HasSubstr("test samples  450\n"));
  double accuracy = 0;
  for (const std::string& line : Lines(eval.out)) {
    if (absl::StartsWith(line, "test accuracy ")) {
      ASSERT_TRUE(absl::SimpleAtod(line.substr(14), &accuracy)) << line;
    }
  }
  EXPECT_GT(accuracy, 0.9);
}

TEST(OwnDataToolsTest, DataThatDoesNotFitTheModelIsRefusedBeforeAnythingIsWritten) {
  // The digits config with a wrong input size, a wrong loss for its labels,
  // or two classes too few: each refused naming the data file, and nothing
  // left in the output directory to stand in the corrected run's way.
  const std::string config = ReadBytes("configs/digits_npy.pbtxt");
  char* cwd = getcwd(nullptr, 0);
  const std::string data = absl::StrCat(cwd, "/configs/data/");
  free(cwd);
  struct Case {
    std::string from, to, message;
  };
  for (const Case& c : std::vector<Case>{
           {"input_size: 64", "input_size: 60",
            "the training set has 64 features per sample but the model's input_size is 60"},
           // With a regression loss the labels are read as values: one a row.
           {"units: 10 }", "units: 10 }\n  loss: MEAN_SQUARED_ERROR",
            "the training set has 1 targets per sample but the model has 10 outputs"},
           {"units: 10 }", "units: 8 }",
            "the training set has 10 classes but the model tells 8 apart (8 outputs, "
            "SOFTMAX_CROSS_ENTROPY)"},
       }) {
    std::string text = config;
    text.replace(text.find(c.from), c.from.size(), c.to);
    for (size_t at = text.find("\"data/"); at != std::string::npos; at = text.find("\"data/")) {
      text.replace(at, 6, "\"" + data);
    }
    const std::string path = absl::StrCat(TestDir(), "/bad.pbtxt");
    WriteFile(path, text);
    const std::string out = absl::StrCat(TestDir(), "/out_", c.to.size());
    CommandResult trained =
        Tool("train", absl::StrCat("--config=", path, " --epochs=1 --out=", out));
    EXPECT_EQ(trained.exit_code, 1) << c.to;
    EXPECT_EQ(trained.err, absl::StrCat("train: ", data, "digits_train_x.npy: ", c.message, "\n"));
    EXPECT_FALSE(std::ifstream(out + "/snapshot.safetensors").good()) << c.to;
    EXPECT_FALSE(std::ifstream(out + "/model.safetensors").good()) << c.to;
  }
}

TEST(OwnDataToolsTest, AFinishedRunIsNotReplacedUnasked) {
  const std::string out = Train("digits_npy.pbtxt", 1);
  const std::string model = out + "/model.safetensors";
  const std::string finished = ReadBytes(model);
  // Again into the same directory, with --resume too (no snapshot is left to
  // resume, so it would start over): refused, the model as it was.
  for (const char* extra : {"", " --resume"}) {
    CommandResult again = Tool("train", absl::StrCat("--config=configs/digits_npy.pbtxt "
                                                     "--epochs=1 --out=",
                                                     out, extra));
    EXPECT_EQ(again.exit_code, 1) << extra;
    EXPECT_EQ(again.err, absl::StrCat("train: ", model,
                                      " holds a finished run, which this one would replace: give "
                                      "another output directory, or --overwrite to replace it\n"))
        << extra;
    EXPECT_EQ(ReadBytes(model), finished) << extra;
  }
  CommandResult replaced = Tool("train", absl::StrCat("--config=configs/digits_npy.pbtxt "
                                                      "--epochs=2 --overwrite --out=",
                                                      out));
  EXPECT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_NE(ReadBytes(model), finished);
}

// Counts on the command line are held to the ranges of the fields they set:
// refused with the flag named, on one line, before anything is written.
TEST(OwnDataToolsTest, AbsurdCountsOnTheCommandLineAreRefusedNamingTheFlag) {
  const std::string out = absl::StrCat(TestDir(), "/absurd");
  ::mkdir(out.c_str(), 0777);
  struct Case {
    const char* tool;
    std::string flag, message;
  };
  for (const Case& c : std::vector<Case>{
           {"train", "--batch_size=2147483647",
            "--batch_size must be at most 16777216, not 2147483647"},
           {"train", "--epochs=2147483647", "--epochs must be at most 1000000, not 2147483647"},
           {"train", "--threads=100000",
            "--threads must be at most 1024 (0 = one per core), not 100000"},
           {"train", "--train_limit=-3", "--train_limit must be >= 0, not -3"},
           {"train", "--snapshot_every_steps=-5",
            "--snapshot_every_steps must be >= 0 (0 = not by steps), not -5"},
           {"train", "--snapshot_every_seconds=1e12",
            "--snapshot_every_seconds must be at most 31536000 (0 = not by time), not "
            "1000000000000"},
           {"eval", "--threads=100000",
            "--threads must be at most 1024 (0 = one per core), not 100000"},
           {"eval", "--batch_size=0", "--batch_size must be > 0, not 0"},
       }) {
    const std::string args =
        std::string(c.tool) == "train"
            ? absl::StrCat("--config=configs/digits_npy.pbtxt --out=", out, " ", c.flag)
            : absl::StrCat("--model=configs/digits_npy.pbtxt ", c.flag);  // not read
    CommandResult run = Tool(c.tool, args);
    EXPECT_EQ(run.exit_code, 1) << c.flag;
    EXPECT_EQ(run.err, absl::StrCat(c.tool, ": ", c.message, "\n")) << c.flag;
    EXPECT_FALSE(std::ifstream(out + "/snapshot.safetensors").good()) << c.flag;
  }
}

// tools/eval reads the test files alone: a model evaluates the same with its
// training files gone (.npy arrays, and a CSV table whose labels are text).
TEST(OwnDataToolsTest, EvalNeedsNoTrainingFiles) {
  struct Case {
    std::string config;
    std::vector<std::string> files, training;
  };
  for (const Case& c : std::vector<Case>{
           {"digits_npy.pbtxt",
            {"digits_train_x.npy", "digits_train_y.npy", "digits_test_x.npy", "digits_test_y.npy"},
            {"digits_train_x.npy", "digits_train_y.npy"}},
           {"cancer_csv.pbtxt",
            {"breast_cancer_train.csv", "breast_cancer_test.csv"},
            {"breast_cancer_train.csv"}},
       }) {
    const std::string dir = absl::StrCat(TestDir(), "/eval_", c.config);
    ::mkdir(dir.c_str(), 0777);
    ::mkdir((dir + "/data").c_str(), 0777);
    for (const std::string& file : c.files) {
      WriteFile(absl::StrCat(dir, "/data/", file), ReadBytes("configs/data/" + file));
    }
    WriteFile(absl::StrCat(dir, "/", c.config), ReadBytes("configs/" + c.config));
    CommandResult trained = Tool(
        "train", absl::StrCat("--config=", dir, "/", c.config, " --epochs=2 --out=", dir, "/out"));
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
    const std::string eval_args = absl::StrCat("--model=", dir, "/out/model.safetensors");
    CommandResult before = Tool("eval", eval_args);
    ASSERT_EQ(before.exit_code, 0) << before.err;
    for (const std::string& file : c.training) {
      ASSERT_EQ(::unlink(absl::StrCat(dir, "/data/", file).c_str()), 0) << file;
    }
    CommandResult after = Tool("eval", eval_args);
    EXPECT_EQ(after.exit_code, 0) << after.err;
    EXPECT_EQ(after.out, before.out) << c.config;
    if (absl::EndsWith(c.files.back(), ".csv")) {
      // The test table's columns in reverse order: read by the model's names.
      const std::string path = absl::StrCat(dir, "/data/", c.files.back());
      std::string reversed;
      for (absl::string_view line : absl::StrSplit(ReadBytes(path), '\n', absl::SkipEmpty())) {
        std::vector<absl::string_view> cells = absl::StrSplit(line, ',');
        std::reverse(cells.begin(), cells.end());
        absl::StrAppend(&reversed, absl::StrJoin(cells, ","), "\n");
      }
      WriteFile(path, reversed);
      CommandResult reordered = Tool("eval", eval_args);
      EXPECT_EQ(reordered.exit_code, 0) << reordered.err;
      EXPECT_EQ(reordered.out, before.out);
    }
    // Without its test files it is refused, naming the file.
    const std::string test_file = absl::StrCat(dir, "/data/", c.files.back());
    ASSERT_EQ(::unlink(test_file.c_str()), 0);
    CommandResult none = Tool("eval", eval_args);
    EXPECT_EQ(none.exit_code, 1) << c.config;
    EXPECT_THAT(none.err, HasSubstr(test_file)) << c.config;
  }
}

// A path echoed in an error reaches the terminal escaped: no escape sequence
// of the user's (or an attacker's file name) is acted on.
TEST(OwnDataToolsTest, APathInAnErrorIsEscaped) {
  CommandResult run = Tool("train", "--config='/nonexistent/\x1b[2J\xc2\x9b.pbtxt'");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("/nonexistent/\\x1b[2J\\xc2\\x9b.pbtxt"));
  EXPECT_EQ(run.err.find('\x1b'), std::string::npos) << run.err;
}

}  // namespace
}  // namespace mnemo
