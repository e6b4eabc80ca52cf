"""mnemo_plugin: a plugin shared object in a few lines of BUILD."""

def mnemo_plugin(name, srcs, deps = [], **kwargs):
    """A plugin: `lib<name>.so`, loaded at run time through a config's `plugin:` line.

    It links //core dynamically (one libmnemo_core.so per process) and exports
    only its MNEMO_PLUGIN entry point: hidden visibility for its own code, and
    a version script for what is compiled without it (generated protobuf code),
    so plugins loaded into one process cannot clash.

    Args:
      name: the target, e.g. "libmy_plugin.so".
      srcs: the plugin's sources; one of them calls MNEMO_PLUGIN once.
      deps: its libraries (its own options' mnemo_cc_proto, ...); //core is added.
      **kwargs: passed on to cc_binary (visibility, data, ...).
    """
    # Labels, not strings: they name mnemo's targets from any workspace that
    # loads this file (mnemo as a Bazel dependency: deps.bzl).
    exports = Label("//plugins:exports.lds")
    native.cc_binary(
        name = name,
        srcs = srcs,
        additional_linker_inputs = [exports],
        copts = ["-fvisibility=hidden"],
        linkopts = ["-Wl,--version-script=$(location %s)" % exports],
        linkshared = 1,
        deps = deps + [Label("//core")],
        **kwargs
    )
