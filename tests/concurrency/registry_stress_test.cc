// The registries (core/registry.h: "Thread-safe") and the plugin loader
// (core/plugin_loader.h: "Thread-safe; loads are serialised") under many
// threads, as the headers document them:
//  - the process-wide singletons are made once, whichever thread asks first;
//  - types added while others look up, create and list: every name ends up
//    registered exactly once, a name wanted by several threads by exactly one
//    of them, and readers never see a type vanish or a factory make another;
//  - plugins loaded by several threads at once, in different orders, with a
//    clashing and a failing library among them: each library is registered
//    all or nothing, once, every thread gets the same answer for a path, and
//    what readers saw while it happened agrees with the end state;
//  - built-in types created on several threads at once are the same as on one.
// Run under ThreadSanitizer too (./bazelw test --config=tsan //tests/concurrency/...).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/backend.h"
#include "core/config.pb.h"
#include "core/plugin_loader.h"
#include "core/registry.h"
#include "core/tensor.h"
#include "tests/plugins/test_args.h"
#include "tests/plugins/test_layers.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestArg;
using ::testing::HasSubstr;

std::string Canonical(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? resolved : path;
}

LayerArgs ArgsFor(const config::Layer& config, int input_size, uint64_t seed = 0) {
  config::Init init;
  init.set_scheme(config::Init::NORMAL);
  init.set_std(0.5f);
  return LayerArgs{config, input_size, init, seed};
}

// First in this file, so that it runs while nothing has made the singletons:
// threads race to be the first to ask.
TEST(RegistryStressTest, GlobalSingletonsAreMadeOnceWhicheverThreadAsksFirst) {
  constexpr int kThreads = 8;
  std::vector<const void*> registries(kThreads), loaders(kThreads), backends(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      // Different orders: the loader's first use makes the registries too.
      if (t % 2 == 0) {
        registries[t] = &Registries::Global();
        loaders[t] = &PluginLoader::Global();
      } else {
        loaders[t] = &PluginLoader::Global();
        registries[t] = &Registries::Global();
      }
      backends[t] = ReferenceBackend().get();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 1; t < kThreads; ++t) {
    EXPECT_EQ(registries[t], registries[0]);
    EXPECT_EQ(loaders[t], loaders[0]);
    EXPECT_EQ(backends[t], backends[0]);
  }
  const Registries& global = Registries::Global();
  for (const char* type : {"Dense", "ReLU", "Sigmoid", "Tanh", "Dropout"}) {
    EXPECT_TRUE(global.layers.Contains(type)) << type;
  }
  EXPECT_TRUE(global.cache_strategies.Contains("keep_all"));
  EXPECT_TRUE(global.backends.Contains(kReferenceBackend));
}

TEST(RegistryStressTest, TypesAddedWhileOthersLookUpAreEachRegisteredOnce) {
  constexpr int kWriters = 4;
  constexpr int kReaders = 3;
  constexpr int kOwnNames = 60;     // per writer
  constexpr int kSharedNames = 30;  // every writer tries to add each
  const auto own = [](int writer, int i) { return absl::StrCat("Own", writer, "_", i); };
  const auto shared = [](int i) { return absl::StrCat("Shared", i); };
  const auto library = [](int writer) { return absl::StrCat("writer", writer); };

  Registries registries;  // no built-ins: only what the writers add
  std::vector<std::vector<int>> won(kWriters, std::vector<int>(kSharedNames, 0));
  std::atomic<int> writers_done{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(10 + w);
      std::vector<std::string> names;
      for (int i = 0; i < kOwnNames; ++i) names.push_back(own(w, i));
      for (int i = 0; i < kSharedNames; ++i) names.push_back(shared(i));
      std::shuffle(names.begin(), names.end(), rng);
      for (const std::string& name : names) {
        const bool is_shared = name.rfind("Shared", 0) == 0;
        const absl::Status status =
            registries.layers.Add(name, {testing::PassThroughFactory(name), "", library(w)});
        if (status.ok()) {
          if (is_shared) won[w][std::stoi(name.substr(6))] = 1;
        } else if (!is_shared || status.code() != absl::StatusCode::kAlreadyExists ||
                   status.message().find("is registered twice") == absl::string_view::npos) {
          wrong.fetch_add(1);
        }
      }
      writers_done.fetch_add(1);
    });
  }
  // What each reader saw, to check against the end state.
  std::vector<std::map<std::string, std::string>> seen_library(kReaders);
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937 rng(100 + r);
      size_t last_count = 0;
      config::Layer config;
      do {
        const int pick = static_cast<int>(rng() % (kWriters * kOwnNames + kSharedNames));
        const std::string name = pick < kWriters * kOwnNames
                                     ? own(pick / kOwnNames, pick % kOwnNames)
                                     : shared(pick - kWriters * kOwnNames);
        const bool contained = registries.layers.Contains(name);
        absl::StatusOr<LayerRegistry::Entry> entry = registries.layers.Find(name);
        if (entry.ok()) {
          std::string& library_seen = seen_library[r][name];
          if (!library_seen.empty() && library_seen != entry->library) wrong.fetch_add(1);
          library_seen = entry->library;
          absl::StatusOr<std::unique_ptr<Layer>> layer =
              registries.layers.Create(name, ArgsFor(config, 3));
          if (!layer.ok() || (*layer)->type() != name) wrong.fetch_add(1);
        } else if (contained || entry.status().code() != absl::StatusCode::kNotFound ||
                   entry.status().message().find("unknown layer type") == absl::string_view::npos) {
          wrong.fetch_add(1);  // a type seen is never lost
        }
        const std::vector<std::string> names = registries.layers.Names();
        if (names.size() < last_count) wrong.fetch_add(1);
        if (!std::is_sorted(names.begin(), names.end()) ||
            std::adjacent_find(names.begin(), names.end()) != names.end()) {
          wrong.fetch_add(1);
        }
        last_count = names.size();
      } while (writers_done.load() < kWriters);
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(wrong.load(), 0);
  const std::vector<std::string> names = registries.layers.Names();
  EXPECT_EQ(names.size(), static_cast<size_t>(kWriters * kOwnNames + kSharedNames));
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kOwnNames; ++i) {
      absl::StatusOr<LayerRegistry::Entry> entry = registries.layers.Find(own(w, i));
      ASSERT_TRUE(entry.ok()) << entry.status();
      EXPECT_EQ(entry->library, library(w));
    }
  }
  for (int i = 0; i < kSharedNames; ++i) {
    int winners = 0;
    int winner = -1;
    for (int w = 0; w < kWriters; ++w) {
      if (won[w][i]) {
        ++winners;
        winner = w;
      }
    }
    ASSERT_EQ(winners, 1) << shared(i);
    absl::StatusOr<LayerRegistry::Entry> entry = registries.layers.Find(shared(i));
    ASSERT_TRUE(entry.ok()) << entry.status();
    EXPECT_EQ(entry->library, library(winner)) << shared(i);
  }
  for (const auto& seen : seen_library) {
    for (const auto& [name, library_seen] : seen) {
      EXPECT_EQ(library_seen, registries.layers.Find(name)->library) << name;
    }
  }
}

// The libraries the loaders race over, by test argument.
struct Library {
  const char* arg;
  // Types it registers when it wins; the clash's loser and the failing
  // library register none.
  std::vector<std::string> types;
};

const std::vector<Library>& Libraries() {
  static const auto* libraries = new std::vector<Library>{
      {"good_plugin", {"GoodLayer", "GoodFixed8"}},
      {"duplicate_plugin", {"DuplicateOnly", "GoodLayer"}},
      {"failing_plugin", {}},
      {"template_plugin", {"Scale"}},
      {"memo_plugin", {"memo"}},
      {"checkpoint_plugin", {"checkpoint"}},
      {"cached_memory_plugin", {"cached_memory"}},
      {"trainable_memory_plugin", {"trainable_memory"}},
  };
  return *libraries;
}

std::vector<std::string> AllTypes(const Registries& registries) {
  std::vector<std::string> all;
  for (const std::vector<std::string>& names :
       {registries.layers.Names(), registries.cache_strategies.Names(),
        registries.memory_modules.Names(), registries.backends.Names()}) {
    all.insert(all.end(), names.begin(), names.end());
  }
  return all;
}

// Rounds of: fresh registries and loader, threads loading every library in
// their own orders while readers create and look up. good_plugin and
// duplicate_plugin clash on "GoodLayer": whichever loads first wins whole.
TEST(RegistryStressTest, PluginsLoadedByManyThreadsRegisterOnceAndAllOrNothing) {
  constexpr int kRounds = 12;
  constexpr int kLoaders = 4;
  constexpr int kReaders = 2;
  const std::vector<Library>& libraries = Libraries();
  for (const Library& library : libraries) {
    ASSERT_FALSE(TestArg(library.arg).empty()) << "--" << library.arg << " missing";
  }
  const std::string good = Canonical(TestArg("good_plugin"));
  const std::string duplicate = Canonical(TestArg("duplicate_plugin"));

  int good_won = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    Registries registries;
    PluginLoader loader(registries);
    // results[thread][library]: the answer that thread got.
    std::vector<std::vector<absl::StatusOr<LoadedPlugin>>> results(
        kLoaders, std::vector<absl::StatusOr<LoadedPlugin>>(libraries.size(),
                                                            absl::UnknownError("not loaded")));
    std::atomic<int> loaders_done{0};
    std::atomic<int> wrong{0};
    // What readers saw of the clash: the library that registered GoodLayer,
    // and whether each side's own type showed up.
    std::vector<std::set<std::string>> good_layer_libraries(kReaders);
    std::atomic<bool> saw_good_fixed{false}, saw_duplicate_only{false};

    std::vector<std::thread> threads;
    for (int t = 0; t < kLoaders; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(round * 100 + t);
        std::vector<size_t> order(libraries.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::shuffle(order.begin(), order.end(), rng);
        for (size_t i : order) results[t][i] = loader.Load(TestArg(libraries[i].arg));
        loaders_done.fetch_add(1);
      });
    }
    for (int r = 0; r < kReaders; ++r) {
      threads.emplace_back([&, r] {
        config::Layer config;
        do {
          absl::StatusOr<LayerRegistry::Entry> entry = registries.layers.Find("GoodLayer");
          if (entry.ok()) {
            good_layer_libraries[r].insert(entry->library);
            absl::StatusOr<std::unique_ptr<Layer>> layer =
                registries.layers.Create("GoodLayer", ArgsFor(config, 4));
            if (!layer.ok() || std::string((*layer)->type()) != "GoodLayer") wrong.fetch_add(1);
          }
          if (registries.layers.Contains("GoodFixed8")) saw_good_fixed = true;
          if (registries.layers.Contains("DuplicateOnly")) saw_duplicate_only = true;
          // The failing library never shows, not even for a moment.
          if (registries.layers.Contains("FailingA") || registries.layers.Contains("FailingB")) {
            wrong.fetch_add(1);
          }
          for (const LoadedPlugin& plugin : loader.loaded()) {
            if (plugin.path.empty() || plugin.types_registered <= 0) wrong.fetch_add(1);
          }
        } while (loaders_done.load() < kLoaders);
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0);

    // Every thread got the same answer for each library.
    for (size_t i = 0; i < libraries.size(); ++i) {
      for (int t = 1; t < kLoaders; ++t) {
        ASSERT_EQ(results[t][i].ok(), results[0][i].ok()) << libraries[i].arg;
        if (results[0][i].ok()) {
          EXPECT_EQ(results[t][i]->path, results[0][i]->path);
          EXPECT_EQ(results[t][i]->name, results[0][i]->name);
          EXPECT_EQ(results[t][i]->types_registered, results[0][i]->types_registered);
        } else {
          EXPECT_EQ(results[t][i].status().code(), results[0][i].status().code());
        }
      }
    }
    // One side of the clash, whole; the failing library refused.
    const bool good_ok = results[0][0].ok();
    const bool duplicate_ok = results[0][1].ok();
    ASSERT_NE(good_ok, duplicate_ok) << "exactly one of the clashing libraries loads";
    good_won += good_ok;
    const std::string winner = good_ok ? good : duplicate;
    const std::string loser_message(results[0][good_ok ? 1 : 0].status().message());
    EXPECT_THAT(loser_message, HasSubstr("nothing was registered"));
    EXPECT_THAT(loser_message, HasSubstr("\"GoodLayer\" is registered twice"));
    EXPECT_FALSE(results[0][2].ok());
    EXPECT_EQ(registries.layers.Contains("GoodFixed8"), good_ok);
    EXPECT_EQ(registries.layers.Contains("DuplicateOnly"), duplicate_ok);
    EXPECT_EQ(registries.layers.Find("GoodLayer")->library, winner);
    // Readers saw the winner only: a loser's types never showed.
    for (const std::set<std::string>& seen : good_layer_libraries) {
      for (const std::string& library : seen) EXPECT_EQ(library, winner);
    }
    EXPECT_FALSE(good_ok ? saw_duplicate_only.load() : saw_good_fixed.load());

    // The loader lists each library that loaded, once; the registries hold
    // exactly their types.
    std::multiset<std::string> listed;
    int types = 0;
    for (const LoadedPlugin& plugin : loader.loaded()) {
      listed.insert(plugin.path);
      types += plugin.types_registered;
    }
    std::multiset<std::string> expected_listed;
    std::multiset<std::string> expected_types;
    for (size_t i = 0; i < libraries.size(); ++i) {
      if (!results[0][i].ok()) continue;
      expected_listed.insert(results[0][i]->path);
      expected_types.insert(libraries[i].types.begin(), libraries[i].types.end());
    }
    EXPECT_EQ(listed, expected_listed);
    const std::vector<std::string> all = AllTypes(registries);
    EXPECT_EQ(std::multiset<std::string>(all.begin(), all.end()), expected_types);
    EXPECT_EQ(static_cast<size_t>(types), all.size());
  }
  // Which side wins is the threads' business; both must be whole when they do.
  RecordProperty("good_plugin_won_rounds", good_won);
}

// Built-in types created on many threads at once: a layer made with a seed
// has the same weights as on one thread, and the one reference backend gives
// every thread the product it gives alone.
TEST(RegistryStressTest, BuiltinsCreatedOnManyThreadsAreAsOnOne) {
  constexpr int kThreads = 6;
  constexpr int kRepeats = 30;
  const Registries& global = Registries::Global();
  config::Layer dense;
  dense.set_type("Dense");
  dense.set_units(16);
  const auto weights_of = [](Layer& layer) {
    std::vector<Tensor> values;
    for (const Parameter& parameter : layer.parameters()) values.push_back(*parameter.value);
    return values;
  };
  absl::StatusOr<std::unique_ptr<Layer>> reference =
      global.layers.Create("Dense", ArgsFor(dense, 12, 99));
  ASSERT_TRUE(reference.ok()) << reference.status();
  const std::vector<Tensor> expected = weights_of(**reference);
  ASSERT_FALSE(expected.empty());

  Tensor a = Tensor::Random(9, 12), b = Tensor::Random(7, 12);
  Tensor expected_product;
  ASSERT_TRUE(ReferenceBackend()->MatMulTransposed(a, b, &expected_product).ok());

  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      const config::CacheStrategy keep_all_config;
      for (int i = 0; i < kRepeats; ++i) {
        absl::StatusOr<std::unique_ptr<Layer>> layer =
            global.layers.Create("Dense", ArgsFor(dense, 12, 99));
        if (!layer.ok() || weights_of(**layer) != expected) wrong.fetch_add(1);
        absl::StatusOr<std::unique_ptr<CacheStrategy>> strategy =
            global.cache_strategies.Create("keep_all", CacheStrategyArgs{keep_all_config});
        if (!strategy.ok() || *strategy == nullptr) wrong.fetch_add(1);
        absl::StatusOr<std::unique_ptr<Backend>> backend =
            global.backends.Create(kReferenceBackend, BackendArgs{});
        if (!backend.ok() || std::string((*backend)->name()) != kReferenceBackend) {
          wrong.fetch_add(1);
        }
        Tensor product;
        if (!ReferenceBackend()->MatMulTransposed(a, b, &product).ok() ||
            product != expected_product) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace mnemo
