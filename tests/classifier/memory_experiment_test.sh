#!/usr/bin/env bash
# tools/memory_experiment as a user runs it, briefly (1 epoch on 3,000
# samples), with both real memory-module plugins: the seed's results block for
# each module, the four plots, the metrics and the model with its memory.
set -euo pipefail
tool="$1"
out="$TEST_TMPDIR/run"
log="$TEST_TMPDIR/experiment.log"

"$tool" --epochs=1 --train_limit=3000 --test_limit=500 --timing_samples=20 --out="$out" > "$log"
cat "$log"
for module in memory_cached memory_trainable; do
  for f in model.safetensors metrics.csv metrics.json loss_curves.svg memory_loss.svg \
           accuracy_curves.svg memory_usage.svg; do
    [[ -s "$out/$module/$f" ]] || { echo "missing $out/$module/$f"; exit 1; }
  done
  [[ $(wc -l < "$out/$module/metrics.csv") -eq 2 ]]
  grep -qF "$out/$module/memory_usage.svg" "$log"
done
for line in '^Parameters$' '^- Memory size: 10000$' '^- Confidence threshold: 0.85$' \
            '^- Number of epochs: 1$' '^- Batch size: 128$' '^- Memory loss weight: 0.4$' \
            '^Cached Memory Results\.$' '^Trainable Memory Results\.$' '^Epoch 1/1 Summary:$' \
            '^Test Accuracy: [0-9.]+%$' '^Memory Usage: [0-9.]+%$' '^Memory Size: [0-9]+/10000$' \
            '^Network-only Test Accuracy: ' '^Memory-path Accuracy: ' \
            '^Average memory path time: [0-9.]+ ms per sample$' \
            '^Memory path is [0-9.]+x (slower|faster) than neural network$' \
            '^Per-sample times at batch 1 \(20 test samples\)'; do
  grep -qE -- "$line" "$log" || { echo "no line matching $line"; exit 1; }
done
# 3,000 samples seen: nearly all stored (zero feature vectors never are).
[[ $(grep -cE '^Memory Size: (2[0-9]{3}|3000)/10000$' "$log") -eq 2 ]] || { echo "fill"; exit 1; }
[[ $(grep -c '^Memory is not full$' "$log") -eq 2 ]] || { echo "memory full?"; exit 1; }
leftovers="$(find "$out" -name '*.tmp*')"
[[ -z "$leftovers" ]] || { echo "temporary files left: $leftovers"; exit 1; }

# The seed's own data: CIFAR-10's binary batches (here 12 random records in
# each of the six files) with --cifar10_dir; the model takes 3,072 inputs.
cifar="$TEST_TMPDIR/cifar"
mkdir -p "$cifar"
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
  for i in $(seq 0 11); do
    printf "\\x0$((i % 10))"
    head -c 3072 /dev/urandom
  done > "$cifar/$f.bin"
done
"$tool" --configs=configs/memory_cached.pbtxt --cifar10_dir="$cifar" --epochs=1 \
  --timing_samples=5 --out="$TEST_TMPDIR/cifar_run" > "$TEST_TMPDIR/cifar.log"
cat "$TEST_TMPDIR/cifar.log"
grep -qF -- "- Data: CIFAR-10 (60 training, 12 test samples)" "$TEST_TMPDIR/cifar.log"
grep -qF "backbone 3072 -> Dense(512)" "$TEST_TMPDIR/cifar.log"
grep -q '^Memory Size: 60/10000$' "$TEST_TMPDIR/cifar.log"

# Stopped and resumed, the experiment ends with the models of the first run,
# byte for byte: a SIGTERM (a snapshot after the step under way, exit 143,
# the command that resumes), then a SIGKILL (the last snapshot on disk stays).
[[ -z "$(find "$out" -name snapshot.safetensors)" ]] || { echo "a finished run left a snapshot"; exit 1; }
stopped="$TEST_TMPDIR/stopped"
run_in_background() {
  "$tool" --epochs=1 --train_limit=3000 --test_limit=500 --timing_samples=20 --out="$stopped" \
    --snapshot_every_steps=2 "$@" > "$TEST_TMPDIR/stopped.log" 2> "$TEST_TMPDIR/stopped.err" &
  pid=$!
}
run_in_background
# The first snapshot is written before the first step.
for _ in $(seq 600); do
  [[ -e "$stopped/memory_cached/snapshot.safetensors" ]] && break
  sleep 0.05
done
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
cat "$TEST_TMPDIR/stopped.err"
[[ $status -eq 143 ]] || { echo "SIGTERM: exit status $status, not 143"; exit 1; }
grep -q "stopped by SIGTERM at step .*memory_cached/snapshot.safetensors holds the run so far" \
  "$TEST_TMPDIR/stopped.err"
grep -qE "^  .*memory_experiment .*--resume$" "$TEST_TMPDIR/stopped.err"
run_in_background --resume
sleep 1
kill -KILL "$pid" 2> /dev/null || true
wait "$pid" || true
"$tool" --epochs=1 --train_limit=3000 --test_limit=500 --timing_samples=20 --out="$stopped" \
  --resume > "$TEST_TMPDIR/resumed.log"
grep -q "^resume  from .*memory_trainable/snapshot.safetensors: step" "$TEST_TMPDIR/resumed.log" ||
  grep -q "^resume  no snapshot in .*memory_trainable" "$TEST_TMPDIR/resumed.log"
for module in memory_cached memory_trainable; do
  cmp "$out/$module/model.safetensors" "$stopped/$module/model.safetensors" ||
    { echo "$module: the resumed model differs from the uninterrupted one"; exit 1; }
done
[[ -z "$(find "$stopped" -name snapshot.safetensors)" ]] || { echo "snapshot left"; exit 1; }

# A flag that makes no sense is refused before anything runs.
if "$tool" --epochs=-1 --out="$TEST_TMPDIR/never" 2> "$TEST_TMPDIR/err.log"; then
  echo "negative epochs accepted"; exit 1
fi
grep -q -- "--epochs must be > 0" "$TEST_TMPDIR/err.log"

# A finished experiment is not replaced unasked: refused, its models as they
# were; with --overwrite it runs again.
cp "$out/memory_cached/model.safetensors" "$TEST_TMPDIR/finished.safetensors"
if "$tool" --epochs=1 --train_limit=3000 --test_limit=500 --out="$out" 2> "$TEST_TMPDIR/err.log"; then
  echo "a finished experiment was run over"; exit 1
fi
grep -qF "$out/memory_cached/model.safetensors holds a finished run, which this one would replace: give another output directory, or --overwrite to replace it" "$TEST_TMPDIR/err.log" ||
  { cat "$TEST_TMPDIR/err.log"; exit 1; }
cmp "$out/memory_cached/model.safetensors" "$TEST_TMPDIR/finished.safetensors"
"$tool" --epochs=1 --train_limit=300 --test_limit=100 --timing_samples=5 --out="$out" --overwrite \
  > /dev/null
echo PASS
