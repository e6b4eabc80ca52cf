#!/usr/bin/env bash
# Builds every fuzz target of tests/fuzz with --config=fuzz (clang, libFuzzer,
# ASan, UBSan) and fuzzes each for a bounded time on a scratch copy of its seed
# corpus. Prints one line per target:
#   config_fuzzer: 41234 executions, 0 crashes
# and exits non-zero if any target crashed, hung, ran out of memory, a
# sanitizer reported, or it ran no input at all; the input that did it is
# kept and its path printed.
#
# Usage: tools/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET]   (default $FUZZ_SECONDS or 60)
# Environment:
#   FUZZ_SECONDS      seconds per target when no argument is given (default 60)
#   FUZZ_TIMEOUT      seconds one input may take before it counts as a hang (default 10)
#   FUZZ_RSS_MB       memory limit of a fuzzer process in MiB (default 2048)
#   FUZZ_TARGETS      the targets to run, space-separated names (default: all)
#   FUZZ_JOBS         targets fuzzed at a time (default: the number of cores)
#   FUZZ_ARTIFACTS    where crashing inputs and logs go (default out/fuzz)
#   FUZZ_RUNS         also stop a target after this many executions (default: no limit)
#   FUZZ_KEEP         1: after a clean run, add the inputs that reach new code,
#                     minimized, to tests/fuzz/campaign/<reader>/ (a campaign's
#                     corpus, kept in the tree and replayed by the replay tests)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

seconds="${1:-${FUZZ_SECONDS:-60}}"
jobs="${FUZZ_JOBS:-$(nproc)}"
if ! [[ "$jobs" =~ ^[0-9]+$ && "$jobs" -gt 0 ]]; then
  echo "run_fuzzers: FUZZ_JOBS must be a positive integer, not \"$jobs\"" >&2
  exit 2
fi
timeout="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"
artifacts="${FUZZ_ARTIFACTS:-out/fuzz}"
if ! [[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]]; then
  echo "run_fuzzers: seconds per target must be a positive integer, not \"$seconds\"" >&2
  exit 2
fi
runs="${FUZZ_RUNS:--1}"
if ! [[ "$runs" =~ ^(-1|[0-9]+)$ && "$runs" -ne 0 ]]; then
  echo "run_fuzzers: FUZZ_RUNS must be a positive integer, not \"$runs\"" >&2
  exit 2
fi
keep="${FUZZ_KEEP:-0}"
if [[ "$keep" != 0 && "$keep" != 1 ]]; then
  echo "run_fuzzers: FUZZ_KEEP must be 0 or 1, not \"$keep\"" >&2
  exit 2
fi

# clang and libFuzzer: installed if missing, as ./bazelw installs the rest.
third_party/install_debian_packages.sh third_party/debian-packages-fuzz.txt || exit 2
fuzzer_lib="$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)"
if [[ ! -f "$fuzzer_lib" ]]; then
  echo "run_fuzzers: clang has no libFuzzer ($fuzzer_lib); see third_party/debian-packages-fuzz.txt" >&2
  exit 2
fi

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a names <<<"$FUZZ_TARGETS"
  targets=("${names[@]/#/\/\/tests\/fuzz:}")
else
  # Every binary the mnemo_fuzz_target macro made.
  mapfile -t targets < <(./bazelw query --noshow_progress \
    'attr(tags, "\bfuzz_target\b", kind(cc_binary, //tests/fuzz:all))' 2>/dev/null)
fi
if ((${#targets[@]} == 0)); then
  echo "run_fuzzers: no fuzz targets found in //tests/fuzz" >&2
  exit 2
fi

if ! ./bazelw build --config=fuzz "${targets[@]}"; then
  echo "run_fuzzers: the fuzz build failed" >&2
  exit 1
fi
# --config=fuzz makes no bazel-bin symlink (.bazelrc says why); ask where it put them.
bin="$(./bazelw info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz"

mkdir -p "$artifacts"
artifacts="$(cd "$artifacts" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Minimizes what a target found against its seeds and campaign corpus, and
# adds the inputs that reach code neither reaches to tests/fuzz/campaign/<reader>/.
keep_corpus() {
  local name="$1" reader="$2" found="$3" merged="$scratch/merged-$1" file
  mkdir -p "$merged" tests/fuzz/campaign/"$reader"
  cp tests/fuzz/corpus/"$reader"/* "$merged"/
  cp tests/fuzz/campaign/"$reader"/* "$merged"/ 2>/dev/null || true
  (cd "$scratch/cwd-$name" && "$bin/$name" -merge=1 -timeout="$timeout" \
    -rss_limit_mb="$rss_mb" "$merged" "$found") >>"$artifacts/$name.log" 2>&1 || return 1
  for file in "$merged"/*; do
    [[ -e tests/fuzz/corpus/"$reader"/"${file##*/}" ]] || cp "$file" tests/fuzz/campaign/"$reader"/
  done
}

# One target: fuzzes it and writes its summary line to $scratch/<name>.line.
fuzz_one() {
  local target="$1" name reader corpus log status executions line artifact kind
  name="${target##*:}"
  reader="${name%_fuzzer}"  # its seeds: tests/fuzz/corpus/<reader>/, as in tests/fuzz/BUILD
  corpus="$scratch/$name"
  mkdir -p "$corpus"
  cp tests/fuzz/corpus/"$reader"/* "$corpus"/
  cp tests/fuzz/campaign/"$reader"/* "$corpus"/ 2>/dev/null || true  # none before a campaign
  log="$artifacts/$name.log"
  rm -f "$artifacts/$name"-{crash,timeout,oom,leak}-*
  echo "run_fuzzers: $name for ${seconds}s (log: $log)"
  # The seed corpus is a copy: what libFuzzer adds to it stays out of the
  # tree. An empty working directory of its own: a plugin path in a fuzzed
  # config is then found only in the fuzzer's runfiles, never in the
  # workspace's bazel-bin.
  mkdir -p "$scratch/cwd-$name"
  (cd "$scratch/cwd-$name" && "$bin/$name" "$corpus" \
    -max_total_time="$seconds" -runs="$runs" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
    -print_final_stats=1 -artifact_prefix="$artifacts/$name-") >"$log" 2>&1
  status=$?
  executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  executions="${executions:-0}"
  line="$name: $executions executions"
  if ((status == 0 && executions == 0)); then
    # libFuzzer exited cleanly without running one input (a corpus it could
    # not read, a time of 0): nothing was fuzzed, which is no pass.
    line="$line, 1 failure (it ran no input); log: $log"
  elif ((status != 0)); then
    artifact="$(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$log" | tail -1)"
    # The first report in the log names the failure: a broken check of the
    # target, a sanitizer's error, or libFuzzer's (timeout, out-of-memory).
    kind="$(grep -m1 -oE '(FUZZ CHECK FAILED|runtime error|ERROR: [A-Za-z]+): .*' "$log" | cut -c1-120)"
    kind="${kind:-exit status $status}"
    line="$line, 1 crash ($kind); input: ${artifact:-none written}, log: $log"
  else
    line="$line, 0 crashes"
    if ((keep)); then keep_corpus "$name" "$reader" "$corpus" || line="$line, 1 failure (merge; log: $log)"; fi
  fi
  echo "$line"
  echo "$line" >"$scratch/$name.line"
}

for target in "${targets[@]}"; do
  name="${target##*:}"
  if [[ ! -x "$bin/$name" || ! -d "tests/fuzz/corpus/${name%_fuzzer}" ]]; then
    echo "run_fuzzers: no $bin/$name or no tests/fuzz/corpus/${name%_fuzzer}" >&2
    exit 2
  fi
done
# libFuzzer runs on one core: FUZZ_JOBS targets at a time (default: a core each).
running=0
for target in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  fuzz_one "$target" &
  running=$((running + 1))
done
wait

failed=0
summary=()
for target in "${targets[@]}"; do
  line="$(cat "$scratch/${target##*:}.line" 2>/dev/null || echo "${target##*:}: 0 executions, 1 failure (no result)")"
  [[ "$line" == *", 0 crashes" ]] || failed=1
  summary+=("$line")
done

echo
printf '%s\n' "${summary[@]}"
exit "$failed"
