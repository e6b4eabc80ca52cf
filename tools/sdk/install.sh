#!/usr/bin/env bash
# Installs mnemo's SDK into a prefix:
#   ./bazelw run //tools:install -- --prefix=DIR [--overwrite]
#
#   DIR/lib/libmnemo_core.so               the core, which hosts and plugins link
#   DIR/lib/mnemo/plugins/lib*.so          every plugin (found there by a model's relative
#                                          plugin: path, by its file name)
#   DIR/include/mnemo/core/...             core's headers, config.pb.h with them
#   DIR/lib/pkgconfig/mnemo.pc             g++ host.cc $(pkg-config --cflags --libs mnemo)
#   DIR/lib/cmake/mnemo/mnemoConfig.cmake  find_package(mnemo): target mnemo::core
#   DIR/lib/python3/dist-packages/mnemo.so the Python module (import mnemo)
#
# A file already there with other contents is not replaced without
# --overwrite; nothing is written then. Each file is written beside its place
# and renamed into it, so an interrupted install leaves no half-written file.
set -euo pipefail
readonly usage="usage: install --prefix=DIR [--overwrite]"

prefix=""
overwrite=0
for arg in "$@"; do
  case "$arg" in
    --prefix=*) prefix="${arg#--prefix=}" ;;
    --overwrite) overwrite=1 ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "install: unknown flag '$arg'; $usage" >&2; exit 2 ;;
  esac
done
if [[ -z "$prefix" ]]; then
  echo "install: --prefix is required; $usage" >&2
  exit 2
fi
# `bazel run` starts us in the runfiles; a relative prefix is the caller's.
if [[ "$prefix" != /* ]]; then
  prefix="${BUILD_WORKING_DIRECTORY:-$PWD}/$prefix"
fi
if [[ -e "$prefix" && ! -d "$prefix" ]]; then
  echo "install: --prefix=$prefix is not a directory" >&2
  exit 2
fi

# The runfiles root: where `bazel run`/`bazel test` start us, or beside the script.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -f "${RUNFILES_DIR:-/nonexistent}/mnemo/tools/sdk/sdk_manifest.txt" ]]; then
  root="$RUNFILES_DIR/mnemo"
elif [[ -f "${BASH_SOURCE[0]}.runfiles/mnemo/tools/sdk/sdk_manifest.txt" ]]; then
  root="${BASH_SOURCE[0]}.runfiles/mnemo"
elif [[ -f "$PWD/tools/sdk/sdk_manifest.txt" ]]; then
  root="$PWD"
else
  echo "install: cannot find the SDK's files (tools/sdk/sdk_manifest.txt) in the runfiles of $here; run it with ./bazelw run //tools:install" >&2
  exit 1
fi

# Each line of the manifest: KIND PATH (a runfiles path).
declare -a sources=() targets=() modes=()
while read -r kind path; do
  [[ -z "$kind" ]] && continue
  name="${path##*/}"
  case "$kind" in
    header) target="include/mnemo/$path" mode=644 ;;
    core) target="lib/$name" mode=755 ;;
    plugin) target="lib/mnemo/plugins/$name" mode=755 ;;
    python) target="lib/python3/dist-packages/$name" mode=755 ;;
    pkgconfig) target="lib/pkgconfig/${name%.in}" mode=644 ;;
    cmake) target="lib/cmake/mnemo/${name%.in}" mode=644 ;;
    *) echo "install: the manifest names an unknown kind '$kind'" >&2; exit 1 ;;
  esac
  sources+=("$root/$path")
  targets+=("$prefix/$target")
  modes+=("$mode")
done <"$root/tools/sdk/sdk_manifest.txt"

# What the templates become: the prefix filled in.
content_of() {  # SOURCE
  if [[ "$1" == *.in ]]; then
    sed "s|@PREFIX@|$prefix|g" "$1"
  else
    cat "$1"
  fi
}

# First every check, then every write: a refusal writes nothing.
if ((!overwrite)); then
  for i in "${!sources[@]}"; do
    if [[ -e "${targets[$i]}" ]] && ! cmp -s <(content_of "${sources[$i]}") "${targets[$i]}"; then
      echo "install: ${targets[$i]} exists with other contents (another mnemo?); pass --overwrite to replace it" >&2
      exit 1
    fi
  done
fi

for i in "${!sources[@]}"; do
  target="${targets[$i]}"
  mkdir -p "$(dirname "$target")"
  temporary="$(mktemp "$target.XXXXXX")"
  content_of "${sources[$i]}" >"$temporary"
  chmod "${modes[$i]}" "$temporary"
  mv -f "$temporary" "$target"
done
echo "installed mnemo into $prefix (${#sources[@]} files)"
echo "  pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs mnemo"
echo "  CMake:      cmake -DCMAKE_PREFIX_PATH=$prefix ...   then find_package(mnemo)"
echo "  Python:     PYTHONPATH=$prefix/lib/python3/dist-packages python3 -c 'import mnemo'"
echo "  plugins:    $prefix/lib/mnemo/plugins"
