#!/usr/bin/env bash
# The installed SDK as a user outside the workspace uses it (issue 16):
#   1. ./bazelw run //tools:install -- --prefix=P, into a fresh temporary prefix;
#   2. tools/train trains a model with a plugin's layer (cancer_plugin.pbtxt),
#      tools/eval prints its test accuracy;
#   3. host.cc built with g++ and `pkg-config --cflags --libs mnemo` (no
#      -march: the SDK's ABI does not depend on it), and with CMake's
#      find_package(mnemo), each run outside the workspace with no runfiles:
#      the plugin is found in P/lib/mnemo/plugins, the accuracy is tools/eval's;
#      and the installed Python module, the same from a NumPy array;
#   4. a host built without the SDK's Eigen definitions is served the same
#      (the headers pin them); one built with another Eigen alignment is refused, both
#      fingerprints named, before anything crosses;
#   5. the install replaces nothing unasked.
set -euo pipefail
root="$PWD"
tmp="$TEST_TMPDIR"
prefix="$tmp/prefix"
fail() { echo "FAIL: $*" >&2; exit 1; }

tools/sdk/install --prefix="$prefix" >"$tmp/install.log"
for f in lib/libmnemo_core.so lib/mnemo/plugins/libtemplate_plugin.so \
    lib/mnemo/plugins/libonednn_plugin.so include/mnemo/core/inference/predictor.h \
    include/mnemo/core/config.pb.h lib/pkgconfig/mnemo.pc lib/cmake/mnemo/mnemoConfig.cmake \
    lib/cmake/mnemo/mnemoConfigVersion.cmake lib/python3/dist-packages/mnemo.so; do
  [[ -f "$prefix/$f" ]] || fail "the install has no $f"
done

tools/train --config=tests/sdk/cancer_plugin.pbtxt --out="$tmp/run" >"$tmp/train.log" 2>&1 ||
  { cat "$tmp/train.log"; fail "tools/train"; }
expected="$(tools/eval --model="$tmp/run/model.safetensors" | grep '^test accuracy')"
echo "tools/eval:  $expected"
table="$root/configs/data/breast_cancer_test.csv"

# Runs a host from a directory outside the workspace, with no runfiles in
# its environment: only the SDK can supply the plugin.
serve() {  # HOST
  (cd "$tmp" && env -u RUNFILES_DIR -u TEST_SRCDIR -u RUNFILES_MANIFEST_FILE \
    "$1" "$tmp/run/model.safetensors" "$table")
}

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046  # pkg-config's words are separate flags
g++ -O1 tests/sdk/host.cc $(pkg-config --cflags --libs mnemo) -o "$tmp/host_pkg_config"
got="$(serve "$tmp/host_pkg_config")"
echo "pkg-config:  $got"
[[ "${got% (*}" == "$expected" ]] || fail "pkg-config host: '$got', tools/eval: '$expected'"

cmake -S tests/sdk/cmake_host -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "cmake"; }
cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "cmake --build"; }
got="$(serve "$tmp/cmake/host")"
echo "CMake:       $got"
[[ "${got% (*}" == "$expected" ]] || fail "CMake host: '$got', tools/eval: '$expected'"

# The Python module as installed: the same accuracy from a NumPy array.
got="$(cd "$tmp" && env -u RUNFILES_DIR -u TEST_SRCDIR PYTHONPATH="$prefix/lib/python3/dist-packages" \
  /usr/bin/python3 - "$tmp/run/model.safetensors" "$table" <<'PYTHON'
import csv, sys
import numpy as np
import mnemo
predictor = mnemo.Predictor(sys.argv[1])
rows = list(csv.DictReader(open(sys.argv[2])))
names = predictor.names
x = np.array([[float(row[f]) for f in names["features"]] for row in rows], dtype=np.float32)
labels = predictor.classify(x)
correct = sum(predictor.class_label(int(label)) == row[names["targets"][0]]
              for label, row in zip(labels, rows))
print("test accuracy %.4f (%d of %d)" % (correct / len(rows), correct, len(rows)))
PYTHON
)"
echo "Python:      $got"
[[ "${got% (*}" == "$expected" ]] || fail "Python module: '$got', tools/eval: '$expected'"

# A host that passes none of the SDK's Eigen definitions (a plain build
# without -march): core/abi.h pins the alignments before Eigen is included,
# and it is served, not refused (before the pin, it crashed at exit).
# shellcheck disable=SC2046
g++ -O1 tests/sdk/host.cc $(pkg-config --cflags mnemo | sed 's/-DEIGEN[^ ]*//g') \
  $(pkg-config --libs mnemo) -o "$tmp/host_no_flags"
got="$(serve "$tmp/host_no_flags")"
echo "no Eigen -D: $got"
[[ "${got% (*}" == "$expected" ]] || fail "host without the Eigen flags: '$got', tools/eval: '$expected'"

# Another alignment: what a host that includes Eigen before mnemo without
# the SDK's flags gets. Refused, not a corrupted heap.
# shellcheck disable=SC2046
g++ -O1 tests/sdk/host.cc $(pkg-config --cflags --libs mnemo) -UEIGEN_MAX_ALIGN_BYTES \
  -DEIGEN_MAX_ALIGN_BYTES=16 -o "$tmp/host_other_abi"
if serve "$tmp/host_other_abi" >"$tmp/other.out" 2>"$tmp/other.err"; then
  fail "a host built with EIGEN_MAX_ALIGN_BYTES=16 was not refused: $(cat "$tmp/other.out")"
fi
grep -q 'program ".*eigen-align 16/16/[0-9]*;.*", libmnemo_core.so ".*eigen-align 64/64/64' \
  "$tmp/other.err" || fail "the refusal does not name both fingerprints: $(cat "$tmp/other.err")"
echo "other ABI:   $(cat "$tmp/other.err")"

# Installing the same again changes nothing; a file changed since is kept
# unless --overwrite.
tools/sdk/install --prefix="$prefix" >/dev/null || fail "a second identical install was refused"
echo "# edited" >>"$prefix/lib/pkgconfig/mnemo.pc"
if tools/sdk/install --prefix="$prefix" 2>"$tmp/refused.err"; then
  fail "an install replaced an edited file without --overwrite"
fi
grep -q "mnemo.pc exists with other contents.*--overwrite" "$tmp/refused.err" ||
  fail "the refusal does not say which file: $(cat "$tmp/refused.err")"
tail -1 "$prefix/lib/pkgconfig/mnemo.pc" | grep -q "# edited" || fail "the edited file was replaced"
tools/sdk/install --prefix="$prefix" --overwrite >/dev/null
! grep -q "# edited" "$prefix/lib/pkgconfig/mnemo.pc" || fail "--overwrite did not replace it"
echo "PASS"
