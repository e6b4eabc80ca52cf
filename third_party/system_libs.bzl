"""The flags of Debian's libraries that core's headers use, in one place: the
Bazel targets of third_party/BUILD and eigen.BUILD, and the SDK's pkg-config
and CMake files (tools/sdk) are written from these."""

# Abseil, in link order (Debian's 20220623 has no pkg-config umbrella).
ABSL_LINKOPTS = [
    "-labsl_flags_parse",
    "-labsl_flags_usage",
    "-labsl_flags_usage_internal",
    "-labsl_flags_internal",
    "-labsl_flags_marshalling",
    "-labsl_flags_reflection",
    "-labsl_flags_config",
    "-labsl_flags_private_handle_accessor",
    "-labsl_flags_commandlineflag",
    "-labsl_flags_commandlineflag_internal",
    "-labsl_flags_program_name",
    "-labsl_status",
    "-labsl_statusor",
    "-labsl_cord",
    "-labsl_cord_internal",
    "-labsl_cordz_info",
    "-labsl_cordz_handle",
    "-labsl_cordz_functions",
    "-labsl_str_format_internal",
    "-labsl_strings",
    "-labsl_strings_internal",
    "-labsl_synchronization",
    "-labsl_graphcycles_internal",
    "-labsl_time",
    "-labsl_time_zone",
    "-labsl_civil_time",
    "-labsl_hash",
    "-labsl_city",
    "-labsl_low_level_hash",
    "-labsl_raw_hash_set",
    "-labsl_symbolize",
    "-labsl_stacktrace",
    "-labsl_debugging_internal",
    "-labsl_demangle_internal",
    "-labsl_malloc_internal",
    "-labsl_int128",
    "-labsl_throw_delegate",
    "-labsl_raw_logging_internal",
    "-labsl_log_severity",
    "-labsl_spinlock_wait",
    "-labsl_base",
    "-labsl_bad_optional_access",
    "-labsl_bad_variant_access",
]

PROTOBUF_LINKOPTS = ["-lprotobuf", "-lpthread"]

# Eigen's include directory and the definitions every side of mnemo's ABI is
# built with: they pin the alignment of Eigen's heap blocks and fixed-size
# objects, which -march would otherwise choose (core/abi.h).
EIGEN_INCLUDE_DIR = "/usr/include/eigen3"
EIGEN_DEFINES = [
    "EIGEN_MPL2_ONLY",
    "EIGEN_MAX_ALIGN_BYTES=64",
    "EIGEN_MAX_STATIC_ALIGN_BYTES=64",
]
