"""C++ code for a .proto with the system protoc (Bazel's proto rules would download protobuf)."""

def mnemo_cc_proto(name, src, deps = [], visibility = None, imports = []):
    """Generates <src>.pb.{h,cc}; defines `name` (code) and `name_headers` (header only).

    The generated code of a .proto must be linked into exactly one shared object of a
    process (protobuf aborts on a second registration of a descriptor). The library that
    owns the messages depends on `name`; everything that only uses them depends on
    `name_headers` and links the owner.

    `imports`: the .proto files `src` imports (e.g. "//core:config.proto"), so that
    protoc can read them. Their code is not generated here: `deps` brings it (for
    core's config.proto, "//core", whose shared object holds it).
    """
    base = src[:-len(".proto")]
    native.genrule(
        name = name + "_genproto",
        srcs = [src] + imports,
        outs = [base + ".pb.h", base + ".pb.cc"],
        cmd = "protoc --proto_path=. --cpp_out=$(GENDIR) $(location %s)" % src,
    )
    native.cc_library(
        name = name,
        srcs = [base + ".pb.cc"],
        hdrs = [base + ".pb.h"],
        copts = ["-Wno-unused-parameter"],
        deps = deps + ["//third_party:protobuf"],
        visibility = visibility,
    )
    native.cc_library(
        name = name + "_headers",
        hdrs = [base + ".pb.h"],
        deps = ["//third_party:protobuf"],
        visibility = visibility,
    )
