#!/usr/bin/env bash
# mnemo against scikit-learn's MLP on breast_cancer, digits and diabetes (the
# data sets scikit-learn ships), 5 seeds interleaved, the same model and
# training budget on both sides: the test metrics (mean ± std), the fit-time
# ratios scikit-learn / mnemo with min, median and max over the seeds, and a
# PASS/FAIL line per criterion (exit status 1 if any fails).
#
#   ./bazelw run //tools/bench:compare_sklearn -- [SEEDS]     (default 5)
#   bazel-bin/tools/bench/compare_sklearn [SEEDS]              (once built)
#
# Needs Debian's python3-sklearn and libopenblas0-pthread (./bazelw installs
# them): numpy on Debian's reference BLAS is about half as fast on digits,
# which would flatter mnemo.
set -euo pipefail
seeds="${1:-5}"
# Under `bazel run` the working directory is the runfiles root; run as
# bazel-bin/tools/bench/compare_sklearn, the runfiles are beside it.
if [[ -f tools/bench/compare_sklearn.py && -x tools/train ]]; then
  root="$PWD"
elif [[ -d "${BASH_SOURCE[0]}.runfiles/mnemo" ]]; then
  root="${BASH_SOURCE[0]}.runfiles/mnemo"
else
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fi

# ./bazelw installs them (third_party/debian-packages.txt); checked here so
# that a machine without them says so rather than compares against a slower
# BLAS.
missing=()
for pkg in python3-numpy python3-sklearn libopenblas0-pthread; do
  state="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  [[ "$state" == ii* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "compare_sklearn: ${missing[*]} missing; ./bazelw installs them" >&2
  exit 1
fi

exec /usr/bin/python3 "$root/tools/bench/compare_sklearn.py" "$root/tools/train" "$seeds"
