#!/usr/bin/env bash
# A training recipe (default configs/fashion_mlp_best.pbtxt) trained by mnemo
# and by PyTorch side by side, seeds interleaved: both test accuracies (the
# epoch chosen on the validation split) and both training times per seed,
# then min / median / max, and exit status 1 unless mnemo's median accuracy is
# within 0.3 points of PyTorch's (or better) and its median time shorter.
#
#   ./bazelw run //tools/bench:recipe_vs_pytorch -- [--config=PATH] [--seeds=1,2,3]
#
# Needs Debian's python3-torch and libopenblas0-pthread (./bazelw installs
# them): PyTorch on the reference BLAS would flatter mnemo.
set -euo pipefail
# Under `bazel run` the working directory is the runfiles root; run as
# bazel-bin/tools/bench/recipe_vs_pytorch, the runfiles are beside it.
if [[ -f tools/bench/recipe_vs_pytorch.py && -x tools/train ]]; then
  root="$PWD"
elif [[ -d "${BASH_SOURCE[0]}.runfiles/mnemo" ]]; then
  root="${BASH_SOURCE[0]}.runfiles/mnemo"
else
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fi

missing=()
for pkg in python3-torch libopenblas0-pthread; do
  state="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  [[ "$state" == ii* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "recipe_vs_pytorch: ${missing[*]} missing; ./bazelw installs them" >&2
  exit 1
fi

# A relative --config is the caller's (bazel run starts in the runfiles).
args=("--config=$root/configs/fashion_mlp_best.pbtxt")
for arg in "$@"; do
  if [[ "$arg" == --config=* && "$arg" != --config=/* ]]; then
    arg="--config=${BUILD_WORKING_DIRECTORY:-$PWD}/${arg#--config=}"
  fi
  args+=("$arg")
done
exec /usr/bin/python3 "$root/tools/bench/recipe_vs_pytorch.py" "$root/tools/train" "${args[@]}"
