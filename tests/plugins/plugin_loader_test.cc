// The plugin loader: handshake refusals, all-or-nothing registration,
// duplicate detection, path resolution, and every real plugin in one process.

#include "core/plugin_loader.h"

#include <dlfcn.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/text_format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "core/config.pb.h"
#include "core/plugin_api.h"
#include "core/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/plugins/test_args.h"

namespace mnemo {
namespace {

using ::mnemo::testing::TestArg;
using ::mnemo::testing::TestArgList;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Canonical(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? resolved : path;
}

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

absl::StatusOr<std::unique_ptr<Layer>> CreateLayer(const Registries& registries,
                                                   const std::string& type, int input_size,
                                                   const config::Layer& config = {}) {
  return registries.layers.Create(type, LayerArgs{config, input_size, config::Init(), 0});
}

// Each test gets registries of its own, so the loads of one cannot change
// what another sees (the process-wide ones are the last test's business).
class PluginLoaderTest : public ::testing::Test {
 protected:
  Registries registries_;
  PluginLoader loader_{registries_};
};

TEST_F(PluginLoaderTest, GoodPluginLoadsAndItsTypesAreCreatable) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(TestArg("good_plugin"));
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  EXPECT_EQ(plugin->name, "good_plugin");
  EXPECT_EQ(plugin->path, Canonical(TestArg("good_plugin")));
  EXPECT_EQ(plugin->types_registered, 2);

  auto layer = CreateLayer(registries_, "GoodLayer", 5);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_STREQ((*layer)->type(), "GoodLayer");
  EXPECT_EQ((*layer)->output_size(), 5);
  Tensor input = Tensor::Constant(2, 5, 1.5f), output;
  (*layer)->Forward(input, {}, &output);
  EXPECT_EQ(output, input);

  absl::StatusOr<LayerRegistry::Entry> entry = registries_.layers.Find("GoodFixed8");
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->library, plugin->path);
}

TEST_F(PluginLoaderTest, LoadingTwiceIsANoOp) {
  const std::string path = TestArg("good_plugin");
  absl::StatusOr<LoadedPlugin> first = loader_.Load(path);
  ASSERT_TRUE(first.ok()) << first.status();
  // Another spelling of the same file is the same library.
  const std::string dir = path.substr(0, path.rfind('/'));
  absl::StatusOr<LoadedPlugin> second =
      loader_.Load(dir + "/./" + path.substr(path.rfind('/') + 1));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->path, first->path);
  EXPECT_EQ(second->types_registered, first->types_registered);
  EXPECT_EQ(loader_.loaded().size(), 1u);
  EXPECT_TRUE(registries_.layers.Contains("GoodLayer"));
}

TEST_F(PluginLoaderTest, NewerAbiIsRefusedWithBothVersions) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(TestArg("bad_abi_plugin"));
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()),
              AllOf(HasSubstr(Canonical(TestArg("bad_abi_plugin"))),
                    HasSubstr("was built for mnemo plugin ABI 2.0"),
                    HasSubstr("this host speaks ABI 1.0"),
                    HasSubstr("rebuild the plugin against this mnemo")));
  EXPECT_FALSE(registries_.layers.Contains("BadAbiLayer"));
  EXPECT_TRUE(loader_.loaded().empty());
}

TEST_F(PluginLoaderTest, OlderAbiIsRefusedWithBothVersions) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(TestArg("old_abi_plugin"));
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(
      std::string(plugin.status().message()),
      AllOf(HasSubstr(Canonical(TestArg("old_abi_plugin"))),
            HasSubstr("was built for mnemo plugin ABI 0.7"), HasSubstr("this host speaks ABI 1.0"),
            HasSubstr("rebuild the plugin against this mnemo")));
  EXPECT_FALSE(registries_.layers.Contains("OldAbiLayer"));
  EXPECT_TRUE(loader_.loaded().empty());
}

TEST_F(PluginLoaderTest, ForeignFingerprintIsRefusedWithBothFingerprints) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(TestArg("bad_fingerprint_plugin"));
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()),
              AllOf(HasSubstr(Canonical(TestArg("bad_fingerprint_plugin"))),
                    HasSubstr("gcc 4.8.5; cxx11-abi 0; protobuf 3005000"),
                    HasSubstr(MNEMO_BUILD_FINGERPRINT)));
  EXPECT_FALSE(registries_.layers.Contains("BadFingerprintLayer"));
}

TEST_F(PluginLoaderTest, AnotherEigenAlignmentIsRefusedWithBothFingerprints) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(TestArg("other_align_plugin"));
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()),
              AllOf(HasSubstr(Canonical(TestArg("other_align_plugin"))),
                    HasSubstr("different toolchain, libraries or ABI flags"),
                    HasSubstr("eigen-align 16/16/"), HasSubstr(CoreBuildFingerprint()),
                    HasSubstr("eigen-align 64/64/64")));
  EXPECT_FALSE(registries_.layers.Contains("OtherAlignLayer"));
}

TEST_F(PluginLoaderTest, TooShortInfoIsRefused) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(TestArg("short_info_plugin"));
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()),
              AllOf(HasSubstr("has a plugin info of 12 bytes"), HasSubstr("rebuild")));
}

TEST_F(PluginLoaderTest, DuplicateTypeNamesBothLibrariesAndRegistersNothing) {
  ASSERT_TRUE(loader_.Load(TestArg("good_plugin")).ok());
  absl::StatusOr<LoadedPlugin> duplicate = loader_.Load(TestArg("duplicate_plugin"));
  ASSERT_FALSE(duplicate.ok());
  EXPECT_THAT(std::string(duplicate.status().message()),
              AllOf(HasSubstr("\"GoodLayer\" is registered twice"),
                    HasSubstr(Canonical(TestArg("good_plugin"))),
                    HasSubstr(Canonical(TestArg("duplicate_plugin"))),
                    HasSubstr("nothing was registered")));
  // All or nothing: the duplicate plugin's own type is not there either.
  EXPECT_FALSE(registries_.layers.Contains("DuplicateOnly"));
  // The first plugin's types still work, and still belong to it.
  EXPECT_TRUE(CreateLayer(registries_, "GoodLayer", 3).ok());
  EXPECT_EQ(registries_.layers.Find("GoodLayer")->library, Canonical(TestArg("good_plugin")));
  EXPECT_EQ(loader_.loaded().size(), 1u);
}

TEST_F(PluginLoaderTest, FailingRegistrationCommitsNothing) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(TestArg("failing_plugin"));
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()),
              AllOf(HasSubstr("nothing was registered"),
                    HasSubstr("cannot find the accelerator this plugin drives")));
  EXPECT_FALSE(registries_.layers.Contains("FailingA"));
  EXPECT_FALSE(registries_.layers.Contains("FailingB"));
  EXPECT_TRUE(loader_.loaded().empty());
}

TEST_F(PluginLoaderTest, ThrowingRegistrationCommitsNothing) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(TestArg("throwing_plugin"));
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()),
              HasSubstr("exception during registration: out of coffee"));
  EXPECT_FALSE(registries_.layers.Contains("ThrowingA"));
}

TEST_F(PluginLoaderTest, MissingEntryPointNamesTheSymbol) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(TestArg("no_entry_point"));
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()),
              AllOf(HasSubstr(Canonical(TestArg("no_entry_point"))),
                    HasSubstr("\"mnemo_plugin_info\""), HasSubstr("MNEMO_PLUGIN")));
}

TEST_F(PluginLoaderTest, MissingFileNamesThePath) {
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load("/no/such/dir/libnothing.so");
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()),
              AllOf(HasSubstr("/no/such/dir/libnothing.so"),
                    HasSubstr("No such file or directory")));
}

TEST_F(PluginLoaderTest, NotASharedObjectGivesTheDynamicLoadersReason) {
  const std::string path = TempDir() + "/libtext.so";
  std::ofstream(path) << std::string(256, 'x');  // long enough to have a header
  absl::StatusOr<LoadedPlugin> plugin = loader_.Load(path);
  ASSERT_FALSE(plugin.ok());
  EXPECT_THAT(std::string(plugin.status().message()),
              AllOf(HasSubstr("cannot load plugin " + Canonical(path)),
                    HasSubstr("invalid ELF header")));
}

TEST(PluginResolveTest, AbsolutePathIsKept) {
  EXPECT_EQ(*PluginLoader::Resolve("/abs/libx.so", "/configs"), "/abs/libx.so");
}

TEST(PluginResolveTest, RelativePathIsFoundBesideTheConfig) {
  const std::string dir = TempDir();
  std::ofstream(dir + "/libbeside.so") << "";
  absl::StatusOr<std::string> resolved = PluginLoader::Resolve("libbeside.so", dir);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(*resolved, dir + "/libbeside.so");
}

TEST(PluginResolveTest, RelativePathIsFoundInTheRunfiles) {
  // Under `bazel test` the working directory is the runfiles root, as under
  // `bazel run`; rootpaths are relative to it.
  absl::StatusOr<std::string> resolved =
      PluginLoader::Resolve(TestArg("good_plugin"), "/nonexistent/configs");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(Canonical(*resolved), Canonical(TestArg("good_plugin")));
}

TEST(PluginResolveTest, ToolStartedByHandFindsItsRunfilesBesideItsExecutable) {
  // As `bazel-bin/tools/train --config=...` from any directory: no runfiles
  // variables, another working directory.
  const std::string expected = Canonical(TestArg("good_plugin"));
  char previous[PATH_MAX];
  ASSERT_NE(getcwd(previous, sizeof(previous)), nullptr);
  const std::string runfiles_dir = std::getenv("RUNFILES_DIR") ? std::getenv("RUNFILES_DIR") : "";
  const std::string test_srcdir = std::getenv("TEST_SRCDIR") ? std::getenv("TEST_SRCDIR") : "";
  unsetenv("RUNFILES_DIR");
  unsetenv("TEST_SRCDIR");
  ASSERT_EQ(chdir("/"), 0);
  absl::StatusOr<std::string> resolved =
      PluginLoader::Resolve(TestArg("good_plugin"), "/nonexistent/configs");
  ASSERT_EQ(chdir(previous), 0);
  if (!runfiles_dir.empty()) setenv("RUNFILES_DIR", runfiles_dir.c_str(), 1);
  if (!test_srcdir.empty()) setenv("TEST_SRCDIR", test_srcdir.c_str(), 1);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(Canonical(*resolved), expected);
}

TEST(PluginResolveTest, TheSearchPathComesFirstAsWrittenAndByFileName) {
  // A model trained in the tree names "plugins/x/libx.so"; served elsewhere,
  // its plugin sits in a directory of its own, by its file name.
  const std::string beside = TempDir() + "/beside";
  const std::string flat = TempDir() + "/flat";
  const std::string tree = TempDir() + "/tree";
  for (const std::string& dir : {beside, beside + "/plugins", beside + "/plugins/x", flat, tree,
                                 tree + "/plugins", tree + "/plugins/x"}) {
    mkdir(dir.c_str(), 0755);
  }
  for (const std::string& file :
       {beside + "/plugins/x/libx.so", flat + "/libx.so", tree + "/plugins/x/libx.so"}) {
    std::ofstream(file) << "";
  }
  // The caller's directories first, in order; as written before by file name.
  EXPECT_EQ(*PluginLoader::Resolve("plugins/x/libx.so", beside, {flat, tree}), flat + "/libx.so");
  EXPECT_EQ(*PluginLoader::Resolve("plugins/x/libx.so", beside, {tree, flat}),
            tree + "/plugins/x/libx.so");
  // $MNEMO_PLUGIN_PATH after the caller's, before the config's directory.
  setenv("MNEMO_PLUGIN_PATH", (":" + flat + ":").c_str(), 1);
  EXPECT_EQ(*PluginLoader::Resolve("plugins/x/libx.so", beside), flat + "/libx.so");
  EXPECT_EQ(*PluginLoader::Resolve("plugins/x/libx.so", beside, {tree}),
            tree + "/plugins/x/libx.so");
  EXPECT_EQ(PluginSearchPath({tree}), (std::vector<std::string>{tree, flat}));
  unsetenv("MNEMO_PLUGIN_PATH");
  EXPECT_EQ(*PluginLoader::Resolve("plugins/x/libx.so", beside), beside + "/plugins/x/libx.so");
}

TEST(PluginResolveTest, NotFoundListsEveryPlaceTried) {
  absl::StatusOr<std::string> resolved =
      PluginLoader::Resolve("plugins/nope/libnope.so", "/some/configs");
  ASSERT_FALSE(resolved.ok());
  const std::string message(resolved.status().message());
  EXPECT_THAT(message, AllOf(HasSubstr("\"plugins/nope/libnope.so\" not found"),
                             HasSubstr("/some/configs/plugins/nope/libnope.so")));
  if (const char* srcdir = std::getenv("TEST_SRCDIR")) {
    EXPECT_THAT(message, HasSubstr(std::string(srcdir) + "/mnemo/plugins/nope/libnope.so"));
  }
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The memo plugin (a real one, with an options .proto of its own).
std::string MemoPlugin() {
  for (const std::string& path : TestArgList("all_plugins")) {
    if (path.find("libmemo_plugin.so") != std::string::npos) return path;
  }
  return "";
}

TEST(EmbeddedProtoFilesTest, FindsAPluginsOwnProtoAndNotItsImports) {
  const std::vector<std::string> protos = EmbeddedProtoFiles(ReadAll(MemoPlugin()));
  EXPECT_THAT(protos, ::testing::Contains(std::string("caching/memo/memo_options.proto")));
  // Imported (core/config.proto) is a dependency's name, not a file it defines.
  EXPECT_THAT(protos, ::testing::Not(::testing::Contains(std::string("core/config.proto"))));
  // A name as a FileDescriptorProto opens with it: tag 0x0a, then its length.
  // (b.proto's length byte is wrong; a bare ".proto" names nothing.)
  const std::string bytes = std::string(
      "xx\x0a\x07"
      "a.protoyy\x0a\x03"
      "b.proto\x05.proto");
  EXPECT_THAT(EmbeddedProtoFiles(bytes), ::testing::ElementsAre("a.proto"));
}

// One plugin under two paths: a copy, a copy under the same file name, and
// another build (other bytes, the same .proto): each refused naming both
// paths, before it is opened (opening it would register the plugin's protobuf
// messages a second time and end the process). The first copy keeps working.
TEST_F(PluginLoaderTest, AnotherCopyOrBuildOfALoadedPluginIsRefusedNamingBoth) {
  const std::string original = Canonical(MemoPlugin());
  ASSERT_TRUE(loader_.Load(original).ok());
  const std::string bytes = ReadAll(original);
  const std::string dir = TempDir() + "/copies";
  ASSERT_EQ(system(("mkdir -p " + dir + "/same_name").c_str()), 0);
  struct Copy {
    std::string path, bytes, says;
  };
  for (const Copy& copy : std::vector<Copy>{
           {dir + "/renamed.so", bytes, "it is a copy of the plugin already loaded from "},
           {dir + "/same_name/libmemo_plugin.so", bytes,
            "it is a copy of the plugin already loaded from "},
           // Another build: other bytes (a trailing one), the same generated code.
           {dir + "/rebuilt.so", bytes + std::string(1, '\0'),
            "it holds the generated code of caching/memo/memo_options.proto, which "},
       }) {
    std::ofstream(copy.path, std::ios::binary) << copy.bytes;
    absl::StatusOr<LoadedPlugin> loaded = loader_.Load(copy.path);
    ASSERT_FALSE(loaded.ok()) << copy.path;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(loaded.status().message(),
                AllOf(HasSubstr("cannot load plugin " + Canonical(copy.path) + ": " + copy.says),
                      HasSubstr(original)));
  }
  EXPECT_TRUE(loader_.Load(original).ok());  // a no-op, as before
  EXPECT_TRUE(registries_.cache_strategies.Contains("memo"));
}

// Last, because it changes the process-wide registries: every real plugin and
// the good test plugin load together, and the host sees their types.
TEST(AllPluginsTest, LoadIntoOneProcessWithOneCoreAndOneDescriptorPool) {
  std::vector<std::string> plugins = TestArgList("all_plugins");
  ASSERT_FALSE(plugins.empty());
  plugins.push_back(TestArg("good_plugin"));
  for (const std::string& path : plugins) {
    absl::StatusOr<LoadedPlugin> plugin = PluginLoader::Global().Load(path);
    EXPECT_TRUE(plugin.ok()) << plugin.status();
  }

  Registries& global = Registries::Global();
  EXPECT_TRUE(global.layers.Contains("Scale"));
  EXPECT_TRUE(global.layers.Contains("GoodLayer"));
  EXPECT_TRUE(global.layers.Contains("Dense"));  // built-ins beside them

  // The plugin sees the host's registries, descriptor pool and config
  // descriptors: core and protobuf are each loaded once.
  void* handle = dlopen(Canonical(TestArg("good_plugin")).c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto probe = reinterpret_cast<const void* (*)(int)>(dlsym(handle, "good_plugin_probe"));
  ASSERT_NE(probe, nullptr) << dlerror();
  EXPECT_EQ(probe(0), &global);
  EXPECT_EQ(probe(1), google::protobuf::DescriptorPool::generated_pool());
  EXPECT_EQ(probe(2), config::Experiment::descriptor());

  // The template plugin's options type is in the shared pool, so the host can
  // read it from text and the plugin's layer can unpack it.
  config::Layer layer_config;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(type: "Scale"
           options {
             [type.googleapis.com/mnemo.plugins.template_plugin.ScaleOptions] { factor: -3 }
           })pb",
      &layer_config));
  auto layer = CreateLayer(global, "Scale", 4, layer_config);
  ASSERT_TRUE(layer.ok()) << layer.status();
  Tensor input = Tensor::Constant(2, 4, 2.0f), output, grad_input;
  (*layer)->Forward(input, {}, &output);
  EXPECT_EQ(output, Tensor::Constant(2, 4, -6.0f));
  (*layer)->Backward(input, output, Tensor::Constant(2, 4, 1.0f), {}, &grad_input);
  EXPECT_EQ(grad_input, Tensor::Constant(2, 4, -3.0f));

  // Without options, or with options of another type, Scale says what it needs.
  auto bare = CreateLayer(global, "Scale", 4);
  ASSERT_FALSE(bare.ok());
  EXPECT_THAT(std::string(bare.status().message()),
              HasSubstr("mnemo.plugins.template_plugin.ScaleOptions"));
  config::Layer wrong;
  wrong.mutable_options()->PackFrom(config::Init());
  auto mismatched = CreateLayer(global, "Scale", 4, wrong);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_THAT(std::string(mismatched.status().message()),
              AllOf(HasSubstr("ScaleOptions"), HasSubstr("mnemo.config.Init")));
}

}  // namespace
}  // namespace mnemo
