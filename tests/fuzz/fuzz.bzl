"""mnemo_fuzz_target: a libFuzzer target that also runs in the normal gcc build."""

def mnemo_fuzz_target(name, srcs, corpus, deps = [], data = []):
    """A fuzz target `name` (a binary) and `name_replay_test`.

    `srcs` define LLVMFuzzerTestOneInput (and optionally LLVMFuzzerInitialize).
    Under --config=fuzz (--define=mnemo_fuzz=1) the binary is libFuzzer's, built
    with clang and the sanitizers of .bazelrc; in the normal gcc build it is
    standalone_main, which runs the target once on each file it is given. Both
    accept files on the command line, so the replay test runs whichever binary
    the build made over every file of the corpus.

    Args:
      name: the binary, e.g. "idx_fuzzer".
      srcs: the target's sources.
      corpus: a label of the seed files (a filegroup of corpus/<target>/).
      deps: its libraries; //core is not added.
      data: files the target reads at run time (plugins).
    """
    native.cc_library(
        name = name + "_lib",
        srcs = srcs,
        deps = deps,
        # Nothing in the binary's own code calls LLVMFuzzerTestOneInput: the
        # main that does lives in a library (libFuzzer's or ours).
        alwayslink = 1,
    )
    native.cc_binary(
        name = name,
        data = data,
        linkopts = select({
            "//tests/fuzz:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = ["fuzz_target"],
        deps = [":" + name + "_lib"] + select({
            "//tests/fuzz:fuzzing": [],
            "//conditions:default": ["//tests/fuzz:standalone_main"],
        }),
    )
    native.sh_test(
        name = name + "_replay_test",
        size = "small",
        srcs = ["//tests/fuzz:replay_test.sh"],
        args = ["$(rootpath :%s)" % name, "$(rootpaths %s)" % corpus],
        data = [":" + name, corpus],
    )
