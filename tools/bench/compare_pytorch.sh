#!/usr/bin/env bash
# Seed MLP training epoch: mnemo against PyTorch on this machine, interleaved,
# printing the ratio PyTorch seconds / mnemo seconds (> 1: mnemo is faster).
#
#   ./bazelw run //tools/bench:compare_pytorch -- [ROUNDS]
#
# Needs Debian's python3-torch and libopenblas0-pthread (installed if missing,
# when run as root): PyTorch with Debian's reference BLAS is several times slower.
set -euo pipefail
rounds="${1:-5}"
# Under `bazel run` the working directory is the runfiles root.
if [[ -f tools/bench/pytorch_seed_mlp.py ]]; then
  here="$PWD/tools/bench"
else
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fi
bench="$here/train_benchmark"
script="$here/pytorch_seed_mlp.py"

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

ours=()
theirs=()
for ((r = 1; r <= rounds; r++)); do
  # One mnemo epoch: the benchmark's mean over its repetitions of full epochs.
  ms=$("$bench" --benchmark_min_time=2 --benchmark_format=csv 2>/dev/null |
       awk -F, '/BM_SeedMlpTrainEpoch/ {print $3}')
  # One PyTorch epoch: the second of two (the first warms up allocators).
  s=$(/usr/bin/python3 "$script" 2 | awk 'NR == 2 {print $2}')
  ours+=("$(awk -v ms="$ms" 'BEGIN {printf "%.4f", ms / 1000}')")
  theirs+=("$s")
  printf 'round %d: mnemo %.3f s/epoch, pytorch %.3f s/epoch, ratio %.2f\n' \
    "$r" "${ours[-1]}" "$s" "$(awk -v a="$s" -v b="${ours[-1]}" 'BEGIN {print a / b}')"
done

ratios=()
for ((i = 0; i < rounds; i++)); do
  ratios+=("$(awk -v a="${theirs[$i]}" -v b="${ours[$i]}" 'BEGIN {printf "%.3f", a / b}')")
done
printf '%s\n' "${ratios[@]}" | sort -g | awk '
  {v[NR] = $1}
  END {
    median = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "speed ratio (pytorch epoch time / mnemo epoch time) over %d rounds: min %.2f  median %.2f  max %.2f\n", NR, v[1], median, v[NR]
  }'
