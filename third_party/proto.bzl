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

    # Paths are relative to the repository roots, as includes and imports are
    # ("core/config.proto", "core/config.pb.h"), in mnemo's workspace and in
    # one that uses mnemo (external/mnemo/...): the calling package's
    # repository for src, mnemo's for core's config.proto.
    own_root = _workspace_root(native.repository_name())
    mnemo_root = Label("//core:config.proto").workspace_root
    proto_paths = [own_root or "."]
    if mnemo_root and mnemo_root != own_root:
        proto_paths.append(mnemo_root)
    native.genrule(
        name = name + "_genproto",
        srcs = [src] + imports,
        outs = [base + ".pb.h", base + ".pb.cc"],
        cmd = "protoc %s --cpp_out=$(GENDIR)%s $(location %s)" % (
            " ".join(["--proto_path=" + p for p in proto_paths]),
            "/" + own_root if own_root else "",
            src,
        ),
    )
    native.cc_library(
        name = name,
        srcs = [base + ".pb.cc"],
        hdrs = [base + ".pb.h"],
        copts = ["-Wno-unused-parameter"],
        deps = deps + [Label("//third_party:protobuf")],
        visibility = visibility,
    )
    native.cc_library(
        name = name + "_headers",
        hdrs = [base + ".pb.h"],
        deps = [Label("//third_party:protobuf")],
        visibility = visibility,
    )

def _workspace_root(repository_name):
    """"" for the main repository ("@"), "external/<name>" for another."""
    if repository_name in ["", "@"]:
        return ""
    return "external/" + repository_name.lstrip("@")
