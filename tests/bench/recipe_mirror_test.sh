#!/usr/bin/env bash
# recipe_vs_pytorch reads a config as its PyTorch side would, without
# training: the best recipe is mirrored field by field (so the side-by-side
# stays runnable as the config changes), and a config with something it does
# not mirror is refused naming the field, exit status 1.
#
#   recipe_mirror_test.sh RECIPE_VS_PYTORCH_PY BEST_CONFIG
set -uo pipefail
script="$1"
best="$2"
status=0
fail() { echo "FAIL: $*" >&2; status=1; }

out="$(/usr/bin/python3 "$script" --check "$best" 2>&1)"
code=$?
[[ $code -eq 0 ]] || fail "--check $best exited $code: $out"
[[ "$out" == *"every field mirrored"*"adamw, one_cycle, 33 epochs"* ]] ||
  fail "--check $best printed: $out"

bad="${TEST_TMPDIR:-/tmp}/rotation.pbtxt"
sed 's/augmentation { horizontal_flip: true }/augmentation { horizontal_flip: true max_rotation_degrees: 10 }/' \
  "$best" >"$bad"
grep -q max_rotation_degrees "$bad" || fail "the test's edit of $best did not apply"
out="$(/usr/bin/python3 "$script" --check "$bad" 2>&1)"
code=$?
[[ $code -eq 1 ]] || fail "a rotation config exited $code, not 1: $out"
[[ "$out" == *"rotation is not mirrored"* ]] || fail "a rotation config printed: $out"

bad="${TEST_TMPDIR:-/tmp}/unknown.pbtxt"
sed 's/label_smoothing: 0.1/label_smoothing: 0.1\n  threads: 1\n  loss: SOFTMAX_CROSS_ENTROPY/; s/batch_size: 256/batch_size: 256\n  nonfinite: SKIP_STEP/' \
  "$best" >"$bad"
out="$(/usr/bin/python3 "$script" --check "$bad" 2>&1)"
code=$?
[[ $code -eq 1 ]] || fail "a nonfinite config exited $code, not 1: $out"
[[ "$out" == *"config.trainer.nonfinite"* ]] || fail "a nonfinite config printed: $out"

[[ $status -eq 0 ]] && echo PASS
exit $status
