"""Every plugin of the repository, for what takes them all: the SDK install
(tools/sdk) and the test that loads them into one process (tests/plugins).
Bazel cannot glob across packages, so a new plugin adds its target here."""

ALL_PLUGINS = [
    "//caching/checkpoint:libcheckpoint_plugin.so",
    "//caching/memo:libmemo_plugin.so",
    "//memory_modules/cached_memory:libcached_memory_plugin.so",
    "//memory_modules/trainable_memory:libtrainable_memory_plugin.so",
    "//plugins/mpi:libmpi_plugin.so",
    "//plugins/onednn:libonednn_plugin.so",
    "//plugins/template:libtemplate_plugin.so",
]
