#!/usr/bin/env bash
# mnemo's oneDNN backend against PyTorch on this machine, interleaved, printing
# the ratios PyTorch time / mnemo time (> 1: mnemo is faster) with min, median
# and max over the rounds, the GEMM roof and accuracy after 10 epochs.
#
#   ./bazelw run //tools/bench:compare_pytorch -- [ROUNDS]     (default 5)
#
# Needs Debian's python3-torch and libopenblas0-pthread (installed if missing,
# when run as root): PyTorch with Debian's reference BLAS is several times slower.
set -euo pipefail
rounds="${1:-5}"
# Under `bazel run` the working directory is the runfiles root.
if [[ -f tools/bench/pytorch_workloads.py ]]; then
  root="$PWD"
else
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fi

need=()
for pkg in python3-torch libopenblas0-pthread; do
  state="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  [[ "$state" == ii* ]] || need+=("$pkg")
done
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "compare_pytorch: install ${need[*]} first (sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

exec /usr/bin/python3 "$root/tools/bench/compare_pytorch.py" \
  "$root/tools/bench/backend_benchmark" "$root/tools/train" "$root/tools/quantize" \
  "$root/tools/eval" "$root/configs/fashion_mlp.pbtxt" "$root/configs/fashion_mlp_onednn.pbtxt" \
  "$root/configs/fashion_mlp_bf16.pbtxt" "$root/tools/bench/pytorch_workloads.py" "$rounds"
