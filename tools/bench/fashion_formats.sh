#!/usr/bin/env bash
# Fashion-MNIST written out as CSV and as .npy trains to the same model as from
# its IDX files, with configs/fashion_mlp.pbtxt's model, trainer and seed:
# prints the three test accuracies and compares the metrics and the models bit
# for bit; exits 1 if they differ (tools/bench/fashion_formats.py).
#
#   ./bazelw run //tools/bench:fashion_formats -- [--epochs=N] [--seed=S] [--dir=DIR --keep]
#
# Needs Debian's python3-numpy.
set -euo pipefail
# Under `bazel run` the working directory is the runfiles root.
if [[ -f tools/bench/fashion_formats.py ]]; then
  root="$PWD"
else
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fi
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  echo "fashion_formats: needs numpy for /usr/bin/python3 (sudo apt-get install python3-numpy)" >&2
  exit 1
fi
exec /usr/bin/python3 "$root/tools/bench/fashion_formats.py" \
  "$root/tools/train" "$root/configs/fashion_mlp.pbtxt" "$@"
