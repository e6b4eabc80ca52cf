"""The SDK's pkg-config and CMake package files, written from the flags the
Bazel build itself uses (third_party/system_libs.bzl), with @PREFIX@ for the
install directory that tools/sdk/install.sh fills in."""

load(
    "//third_party:system_libs.bzl",
    "ABSL_LINKOPTS",
    "EIGEN_DEFINES",
    "EIGEN_INCLUDE_DIR",
    "PROTOBUF_LINKOPTS",
)

MNEMO_VERSION = "0.16.0"

def _libs():
    return ["-lmnemo_core"] + PROTOBUF_LINKOPTS + ABSL_LINKOPTS + ["-ldl"]

def _pkg_config():
    return "\n".join([
        "prefix=@PREFIX@",
        "libdir=${prefix}/lib",
        "includedir=${prefix}/include/mnemo",
        "plugindir=${libdir}/mnemo/plugins",
        "",
        "Name: mnemo",
        "Description: training and serving MLPs with pluggable memory behaviour",
        "Version: " + MNEMO_VERSION,
        # ${includedir}: #include "core/..."; ${prefix}/include: "mnemo/core/...".
        "Cflags: -std=c++17 -I${includedir} -I${prefix}/include -I" + EIGEN_INCLUDE_DIR + " " +
        " ".join(["-D" + d for d in EIGEN_DEFINES]),
        "Libs: -L${libdir} -Wl,-rpath,${libdir} " + " ".join(_libs()),
        "",
    ])

def _cmake_config():
    link = [opt[len("-l"):] if opt.startswith("-l") else opt for opt in _libs()[1:]]
    return "\n".join([
        "# mnemo's CMake package: find_package(mnemo) gives the target mnemo::core",
        "# (libmnemo_core.so, its headers and the flags that fix its ABI) and",
        "# mnemo_PLUGIN_DIR, where the installed plugins are.",
        "get_filename_component(_mnemo_prefix \"${CMAKE_CURRENT_LIST_DIR}/../../..\" ABSOLUTE)",
        "if(NOT TARGET mnemo::core)",
        "  add_library(mnemo::core SHARED IMPORTED)",
        "  set_target_properties(mnemo::core PROPERTIES",
        "    IMPORTED_LOCATION \"${_mnemo_prefix}/lib/libmnemo_core.so\"",
        "    IMPORTED_SONAME \"libmnemo_core.so\"",
        "    INTERFACE_INCLUDE_DIRECTORIES \"${_mnemo_prefix}/include/mnemo;${_mnemo_prefix}/include;" +
        EIGEN_INCLUDE_DIR + "\"",
        "    INTERFACE_COMPILE_DEFINITIONS \"" + ";".join(EIGEN_DEFINES) + "\"",
        "    INTERFACE_COMPILE_FEATURES cxx_std_17",
        "    INTERFACE_LINK_LIBRARIES \"" + ";".join(link) + "\")",
        "endif()",
        "set(mnemo_PLUGIN_DIR \"${_mnemo_prefix}/lib/mnemo/plugins\")",
        "set(mnemo_VERSION \"" + MNEMO_VERSION + "\")",
        "unset(_mnemo_prefix)",
        "",
    ])

def _cmake_version():
    return "\n".join([
        "set(PACKAGE_VERSION \"" + MNEMO_VERSION + "\")",
        "if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)",
        "  set(PACKAGE_VERSION_COMPATIBLE FALSE)",
        "else()",
        "  set(PACKAGE_VERSION_COMPATIBLE TRUE)",
        "  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)",
        "    set(PACKAGE_VERSION_EXACT TRUE)",
        "  endif()",
        "endif()",
        "",
    ])

def _sdk_files_impl(ctx):
    files = {
        ctx.outputs.pkg_config: _pkg_config(),
        ctx.outputs.cmake_config: _cmake_config(),
        ctx.outputs.cmake_version: _cmake_version(),
    }
    for output, content in files.items():
        ctx.actions.write(output, content)
    outputs = files.keys()
    return [DefaultInfo(files = depset(outputs), runfiles = ctx.runfiles(files = outputs))]

mnemo_sdk_files = rule(
    implementation = _sdk_files_impl,
    outputs = {
        "pkg_config": "mnemo.pc.in",
        "cmake_config": "mnemoConfig.cmake.in",
        "cmake_version": "mnemoConfigVersion.cmake.in",
    },
)
