#!/usr/bin/env bash
# mnemo as a Bazel dependency (issue 16): this directory is another workspace
# (WORKSPACE: local_repository + mnemo_dependencies()). It builds the SDK
# test's host against @mnemo//core and a plugin of its own with mnemo's
# macros, then
#   1. serves a model that mnemo's tools/train trained with a plugin, and
#      matches tools/eval's accuracy;
#   2. loads its own plugin from a config and runs its layer.
# Prints PASS or FAIL: ... and exits 0 or 1. Called by .ci/run; by hand:
#   tests/external_workspace/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mnemo="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"; (cd "$here" && bazel shutdown 2>/dev/null || true)' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cd "$mnemo"
./bazelw build //tools:train //tools:eval 2>"$tmp/build.log" ||
  { cat "$tmp/build.log"; fail "building mnemo's tools"; }
bazel-bin/tools/train --config=tests/sdk/cancer_plugin.pbtxt --out="$tmp/run" >"$tmp/train.log" 2>&1 ||
  { cat "$tmp/train.log"; fail "tools/train"; }
expected="$(bazel-bin/tools/eval --model="$tmp/run/model.safetensors" | grep '^test accuracy')"
echo "tools/eval:          $expected"

cd "$here"
bazel build //:host //:load_my_plugin 2>"$tmp/external.log" ||
  { cat "$tmp/external.log"; fail "the external workspace does not build"; }
got="$(bazel run //:host -- "$tmp/run/model.safetensors" \
  "$mnemo/configs/data/breast_cancer_test.csv" 2>"$tmp/host.log")" ||
  { cat "$tmp/host.log"; fail "the external workspace's host"; }
echo "external workspace:  $got"
[[ "${got% (*}" == "$expected" ]] || fail "host: '$got', tools/eval: '$expected'"

shifted="$(bazel run //:load_my_plugin 2>"$tmp/plugin.log")" ||
  { cat "$tmp/plugin.log"; fail "the workspace's own plugin"; }
echo "own plugin:          $shifted"
[[ "$shifted" == "Shift output 1.50 1.50 1.50" ]] || fail "its plugin's layer computed '$shifted'"
echo "PASS"
