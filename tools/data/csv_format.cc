// The "csv" data format: tables with a header row, features and targets
// chosen by column name.
//
//   data {
//     format: "csv"
//     train_file: "iris_train.csv"  # beside the config
//     test_file: "iris_test.csv"    # optional, as is validation_file
//     target: "species"             # several for a multi-target regression
//     features: ["sepal_length", "sepal_width"]  # default: every other column
//     missing: MEAN                 # default ERROR
//   }
//
// Class labels: when every training label is a whole number >= 0 it is the
// class id itself (as IDX labels are); otherwise the distinct labels, sorted,
// are the ids 0, 1, ... Either way the labels travel with the model
// (DataNames::class_label), so that predictions come back as the original
// labels. Numbers are parsed exactly (correctly rounded to float).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/augmentation.h"
#include "core/status_macros.h"
#include "tools/data/csv.h"
#include "tools/data/data_config.h"
#include "tools/data/formats.h"

namespace mnemo {
namespace {

// Cells that mean "no value", as pandas reads them by default.
bool IsMissing(absl::string_view cell) {
  const std::string text = absl::AsciiStrToLower(absl::StripAsciiWhitespace(cell));
  return text.empty() || text == "na" || text == "n/a" || text == "nan" || text == "null" ||
         text == "none";
}

// The columns of a table that the config picks.
struct Columns {
  std::vector<size_t> features;
  std::vector<size_t> targets;
};

// One set read from a table, before its class labels become ids.
struct Rows {
  Tensor features;
  Tensor targets;                        // regression
  std::vector<std::string> labels;       // classification: the raw label of each row
  std::vector<CsvPosition> label_where;  // and where it is, for messages
};

class CsvFormat : public DataFormat {
 public:
  explicit CsvFormat(const DataFormatArgs& args) : regression_(args.regression) {}

  std::vector<FieldProblem> Check(const config::Data& config) const override {
    std::vector<FieldProblem> problems = FieldsNotTaken(
        config, kCsvFormat,
        {"train_file", "validation_file", "test_file", "target", "features", "missing"},
        "its files are train_file, validation_file and test_file, each a table with its "
        "targets");
    if (config.train_file().empty()) {
      problems.push_back({"data",
                          "data.train_file is required with data.format \"csv\" (a "
                          "table with a header row)"});
    }
    for (const auto& [field, path] : {std::pair{"train_file", config.train_file()},
                                      std::pair{"validation_file", config.validation_file()},
                                      std::pair{"test_file", config.test_file()}}) {
      if (!path.empty() && !IsFile(path)) {
        problems.push_back(
            {absl::StrCat("data.", field), absl::StrCat("no such file: \"", path, "\"")});
      }
    }
    if (config.target().empty()) {
      problems.push_back({"data",
                          "data.target is required with data.format \"csv\": the "
                          "column(s) to predict, by header name"});
    } else if (config.target_size() > 1 && !regression_) {
      problems.push_back(
          {"data.target", absl::StrCat("data.target names ", config.target_size(),
                                       " columns, but a classifier predicts one label: "
                                       "several targets need a regression model.loss "
                                       "(MEAN_SQUARED_ERROR or HUBER)")});
    }
    if (config.has_augmentation()) {
      for (FieldProblem& problem : RequireAugmentationShape(config.augmentation(), kCsvFormat)) {
        problems.push_back(std::move(problem));
      }
    }
    return problems;
  }

  absl::StatusOr<TrainTestData> Load(const config::Data& config) const override {
    MNEMO_ASSIGN_OR_RETURN(CsvTable train_table, ReadCsv(config.train_file()));
    MNEMO_ASSIGN_OR_RETURN(Columns columns, PickColumns(train_table, config));
    TrainTestData data;
    for (size_t c : columns.features) data.names.add_feature(train_table.header[c]);
    for (size_t c : columns.targets) data.names.add_target(train_table.header[c]);

    // The training set's column means fill missing values (data.missing MEAN)
    // in every set.
    std::vector<double> means(columns.features.size(), 0.0);
    if (config.missing() == config::Data::MEAN) means = ColumnMeans(train_table, columns);

    MNEMO_ASSIGN_OR_RETURN(Rows train,
                           ReadRows(train_table, columns, config, means, config.train_limit()));
    std::vector<std::pair<const char*, std::string>> others = {
        {"validation", config.validation_file()}, {"test", config.test_file()}};
    std::vector<Rows> other_rows(2);
    for (size_t i = 0; i < others.size(); ++i) {
      if (others[i].second.empty()) continue;
      MNEMO_ASSIGN_OR_RETURN(CsvTable table, ReadCsv(others[i].second));
      MNEMO_ASSIGN_OR_RETURN(Columns picked, SameColumns(table, train_table, columns));
      MNEMO_ASSIGN_OR_RETURN(
          other_rows[i], ReadRows(table, picked, config, means, i == 1 ? config.test_limit() : 0));
    }

    if (!regression_) {
      MNEMO_ASSIGN_OR_RETURN(std::vector<std::string> classes, ClassLabels(train, train_table));
      for (const std::string& label : classes) data.names.add_class_label(label);
    }
    MNEMO_ASSIGN_OR_RETURN(data.train, ToDataset(std::move(train), train_table, data.names));
    for (size_t i = 0; i < others.size(); ++i) {
      if (others[i].second.empty()) continue;
      CsvTable where;
      where.name = others[i].second;
      Dataset* set = i == 0 ? &data.validation : &data.test;
      MNEMO_ASSIGN_OR_RETURN(*set, ToDataset(std::move(other_rows[i]), where, data.names));
    }
    return data;
  }

  // The columns and class ids the model's (else the test table's own and its
  // labels'); the training file read only for data.missing MEAN, whose means
  // are its.
  absl::StatusOr<TrainTestData> LoadTest(const config::Data& config,
                                         const config::DataNames& trained) const override {
    TrainTestData data;
    if (config.test_file().empty()) return data;  // the caller says there is no test set
    MNEMO_ASSIGN_OR_RETURN(CsvTable table, ReadCsv(config.test_file()));
    // The model's columns, by name, in its order, when it keeps them; a table
    // whose columns stand in another order is read as the model was trained.
    absl::StatusOr<Columns> picked =
        trained.feature_size() > 0
            ? ColumnsNamed(table, trained.feature(),
                           trained.target_size() > 0 ? trained.target() : config.target())
            : PickColumns(table, config);
    MNEMO_ASSIGN_OR_RETURN(Columns columns, std::move(picked));
    for (size_t c : columns.features) data.names.add_feature(table.header[c]);
    for (size_t c : columns.targets) data.names.add_target(table.header[c]);
    std::vector<double> means(columns.features.size(), 0.0);
    if (config.missing() == config::Data::MEAN) {
      MNEMO_ASSIGN_OR_RETURN(CsvTable train_table, ReadCsv(config.train_file()));
      MNEMO_ASSIGN_OR_RETURN(Columns train_columns, PickColumns(train_table, config));
      // The means are in the training table's column order; read the test
      // table's columns in that order too.
      MNEMO_ASSIGN_OR_RETURN(columns, SameColumns(table, train_table, train_columns));
      means = ColumnMeans(train_table, train_columns);
    }
    MNEMO_ASSIGN_OR_RETURN(Rows rows, ReadRows(table, columns, config, means, config.test_limit()));
    if (!regression_) {
      std::vector<std::string> classes(trained.class_label().begin(), trained.class_label().end());
      if (classes.empty()) {
        MNEMO_ASSIGN_OR_RETURN(classes, ClassLabels(rows, table));
      }
      for (const std::string& label : classes) data.names.add_class_label(label);
    }
    MNEMO_ASSIGN_OR_RETURN(data.test, ToDataset(std::move(rows), table, data.names));
    return data;
  }

 private:
  // The columns `config` names in `table` (the training table).
  static absl::StatusOr<Columns> PickColumns(const CsvTable& table, const config::Data& config) {
    Columns columns;
    std::set<size_t> targets;
    for (const std::string& name : config.target()) {
      absl::StatusOr<size_t> c = table.Column(name);
      if (!c.ok()) return WithPrefix(c.status(), "data.target");
      if (!targets.insert(*c).second) {
        return absl::InvalidArgumentError(absl::StrCat("data.target names \"", name, "\" twice"));
      }
      columns.targets.push_back(*c);
    }
    if (config.features().empty()) {
      for (size_t c = 0; c < table.header.size(); ++c) {
        if (targets.count(c) == 0) columns.features.push_back(c);
      }
    } else {
      std::set<size_t> seen;
      for (const std::string& name : config.features()) {
        absl::StatusOr<size_t> c = table.Column(name);
        if (!c.ok()) return WithPrefix(c.status(), "data.features");
        if (targets.count(*c) > 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("data.features names \"", name, "\", which is a target"));
        }
        if (!seen.insert(*c).second) {
          return absl::InvalidArgumentError(
              absl::StrCat("data.features names \"", name, "\" twice"));
        }
        columns.features.push_back(*c);
      }
    }
    if (columns.features.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(table.name, " has no feature column besides the target(s)"));
    }
    return columns;
  }

  // The training table's columns, found by name in another table.
  static absl::StatusOr<Columns> SameColumns(const CsvTable& table, const CsvTable& train,
                                             const Columns& columns) {
    std::vector<std::string> features, targets;
    for (size_t c : columns.features) features.push_back(train.header[c]);
    for (size_t c : columns.targets) targets.push_back(train.header[c]);
    return ColumnsNamed(table, features, targets);
  }

  // The columns of `table` with these names, in this order.
  template <typename Names>
  static absl::StatusOr<Columns> ColumnsNamed(const CsvTable& table, const Names& features,
                                              const Names& targets) {
    Columns named;
    for (const auto& [names, to] :
         {std::pair{&features, &named.features}, std::pair{&targets, &named.targets}}) {
      for (const std::string& name : *names) {
        MNEMO_ASSIGN_OR_RETURN(size_t found, table.Column(name));
        to->push_back(found);
      }
    }
    return named;
  }

  // Each feature column's mean over the present values of `table`.
  static std::vector<double> ColumnMeans(const CsvTable& table, const Columns& columns) {
    std::vector<double> means(columns.features.size(), 0.0);
    for (size_t j = 0; j < columns.features.size(); ++j) {
      double sum = 0;
      int64_t count = 0;
      for (const std::vector<std::string>& row : table.rows) {
        float value;
        if (ParseNumber(row[columns.features[j]], &value)) {
          sum += value;
          ++count;
        }
      }
      means[j] = count > 0 ? sum / count : 0.0;
    }
    return means;
  }

  // A finite number, surrounding spaces allowed.
  static bool ParseNumber(absl::string_view cell, float* value) {
    return absl::SimpleAtof(absl::StripAsciiWhitespace(cell), value) && std::isfinite(*value);
  }

  static absl::Status BadCell(const CsvTable& table, size_t row, size_t column,
                              const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(table.Where(row, column), what));
  }

  // The rows of `table` (the first `limit` when > 0) as numbers, missing
  // values dealt with as config.missing says.
  absl::StatusOr<Rows> ReadRows(const CsvTable& table, const Columns& columns,
                                const config::Data& config, const std::vector<double>& means,
                                int limit) const {
    const size_t n =
        limit > 0 ? std::min(table.rows.size(), static_cast<size_t>(limit)) : table.rows.size();
    const config::Data::Missing missing = config.missing();
    const size_t width = columns.features.size();
    std::vector<float> features;
    std::vector<float> targets;
    Rows rows;
    std::vector<float> row_values(width);
    for (size_t r = 0; r < n; ++r) {
      const std::vector<std::string>& cells = table.rows[r];
      bool drop = false;
      for (size_t j = 0; j < width && !drop; ++j) {
        const size_t c = columns.features[j];
        if (ParseNumber(cells[c], &row_values[j])) continue;
        if (!IsMissing(cells[c])) {
          return BadCell(table, r, c,
                         absl::StrCat(QuoteValue(cells[c]), " in column \"", table.header[c],
                                      "\" is not a finite number"));
        }
        switch (missing) {
          case config::Data::DROP_ROW:
            drop = true;
            break;
          case config::Data::MEAN:
            row_values[j] = static_cast<float>(means[j]);
            break;
          case config::Data::ZERO:
            row_values[j] = 0;
            break;
          default:
            return BadCell(table, r, c,
                           absl::StrCat("a missing value in column \"", table.header[c],
                                        "\" (data.missing DROP_ROW, MEAN or ZERO says what to "
                                        "do with one)"));
        }
      }
      std::vector<float> target_values(columns.targets.size());
      for (size_t j = 0; j < columns.targets.size() && !drop; ++j) {
        const size_t c = columns.targets[j];
        if (!regression_) {
          if (IsMissing(cells[c])) {
            if (missing == config::Data::DROP_ROW) {
              drop = true;
              break;
            }
            return BadCell(table, r, c,
                           absl::StrCat("a missing label in column \"", table.header[c], "\""));
          }
          continue;
        }
        if (ParseNumber(cells[c], &target_values[j])) continue;
        if (IsMissing(cells[c]) && missing == config::Data::DROP_ROW) {
          drop = true;
          break;
        }
        return BadCell(table, r, c,
                       absl::StrCat(IsMissing(cells[c]) ? "a missing target value"
                                                        : QuoteValue(cells[c]) + " is not a "
                                                                                 "finite number",
                                    " in column \"", table.header[c],
                                    "\" (a target is never filled in; data.missing DROP_ROW "
                                    "leaves such rows out)"));
      }
      if (drop) continue;
      features.insert(features.end(), row_values.begin(), row_values.end());
      if (regression_) {
        targets.insert(targets.end(), target_values.begin(), target_values.end());
      } else {
        const size_t c = columns.targets[0];
        rows.labels.push_back(std::string(absl::StripAsciiWhitespace(cells[c])));
        rows.label_where.push_back(table.positions[r][c]);
      }
    }
    const Eigen::Index kept = static_cast<Eigen::Index>(features.size() / width);
    if (kept == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          table.name, " has no data rows", n > 0 ? " left after data.missing DROP_ROW" : ""));
    }
    rows.features = Eigen::Map<Tensor>(features.data(), kept, static_cast<Eigen::Index>(width));
    if (regression_) {
      rows.targets = Eigen::Map<Tensor>(targets.data(), kept,
                                        static_cast<Eigen::Index>(columns.targets.size()));
    }
    return rows;
  }

  // The training labels' classes, in id order.
  static absl::StatusOr<std::vector<std::string>> ClassLabels(const Rows& train,
                                                              const CsvTable& table) {
    int64_t largest = -1;
    bool whole = true;
    for (const std::string& label : train.labels) {
      int64_t id;
      if (!absl::SimpleAtoi(label, &id) || id < 0 || id > (1 << 20) || label[0] == '+') {
        whole = false;
        break;
      }
      largest = std::max(largest, id);
    }
    std::vector<std::string> classes;
    if (whole) {
      for (int64_t id = 0; id <= largest; ++id) classes.push_back(absl::StrCat(id));
    } else {
      const std::set<std::string> distinct(train.labels.begin(), train.labels.end());
      classes.assign(distinct.begin(), distinct.end());
    }
    if (classes.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(table.name, ": the training set has ", classes.size(), " class (",
                       absl::StrJoin(classes, ", "), "); a classifier needs at least two"));
    }
    return classes;
  }

  // `rows` as a Dataset, labels mapped to the ids `names` gives them.
  absl::StatusOr<Dataset> ToDataset(Rows rows, const CsvTable& table,
                                    const config::DataNames& names) const {
    Dataset set;
    set.features = std::move(rows.features);
    if (regression_) {
      set.targets = std::move(rows.targets);
      return set;
    }
    std::map<std::string, int32_t> ids;
    bool whole = true;  // the labels are the ids themselves
    for (int i = 0; i < names.class_label_size(); ++i) {
      ids[names.class_label(i)] = i;
      whole = whole && names.class_label(i) == absl::StrCat(i);
    }
    set.num_classes = names.class_label_size();
    set.labels.reserve(rows.labels.size());
    for (size_t i = 0; i < rows.labels.size(); ++i) {
      std::string label = rows.labels[i];
      // Whole-number labels compare as numbers ("07" is class 7).
      int64_t number;
      if (whole && absl::SimpleAtoi(label, &number) && number >= 0) label = absl::StrCat(number);
      auto it = ids.find(label);
      if (it == ids.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            table.name, ":", rows.label_where[i].line, ":", rows.label_where[i].column, ": label ",
            QuoteValue(rows.labels[i]), " is not one of the training set's ",
            names.class_label_size(), " classes"));
      }
      set.labels.push_back(it->second);
    }
    return set;
  }

  bool regression_;
};

}  // namespace

std::unique_ptr<DataFormat> MakeCsvFormat(const DataFormatArgs& args) {
  return std::make_unique<CsvFormat>(args);
}

}  // namespace mnemo
