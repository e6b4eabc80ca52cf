#!/usr/bin/env bash
# tools/train and tools/eval as a user runs them: train briefly, then evaluate
# the saved model (3 epochs on 12,000 samples: about 0.67 test accuracy,
# measured) from the config stored in it; bad input gets a clear error.
set -euo pipefail
train="$1"
eval_tool="$2"
out="$TEST_TMPDIR/run"

"$train" --epochs=3 --train_limit=12000 --test_limit=1000 --out="$out" > "$TEST_TMPDIR/train.log"
cat "$TEST_TMPDIR/train.log"
for f in model.safetensors metrics.csv metrics.json steps.csv training.svg; do
  [[ -s "$out/$f" ]] || { echo "missing $out/$f"; exit 1; }
done
grep -q '^epoch  3/3 ' "$TEST_TMPDIR/train.log"
[[ $(wc -l < "$out/metrics.csv") -eq 4 ]]
leftovers="$(find "$out" -name '*.tmp*')"
[[ -z "$leftovers" ]] || { echo "temporary files left: $leftovers"; exit 1; }

"$eval_tool" --model="$out/model.safetensors" > "$TEST_TMPDIR/eval.log"
cat "$TEST_TMPDIR/eval.log"
grep -q '^test samples  10000$' "$TEST_TMPDIR/eval.log"
accuracy=$(awk '/^test accuracy/ {print $3}' "$TEST_TMPDIR/eval.log")
awk -v a="$accuracy" 'BEGIN {exit !(a > 0.6)}' || { echo "accuracy $accuracy"; exit 1; }

# A damaged model file is refused with the file named.
head -c 100 "$out/model.safetensors" > "$TEST_TMPDIR/truncated.safetensors"
if "$eval_tool" --model="$TEST_TMPDIR/truncated.safetensors" 2> "$TEST_TMPDIR/err.log"; then
  echo "a truncated model was accepted"; exit 1
fi
cat "$TEST_TMPDIR/err.log"
grep -q "truncated.safetensors" "$TEST_TMPDIR/err.log"

# A flag that makes no sense is refused before anything runs.
if "$train" --epochs=-3 --out="$TEST_TMPDIR/never" 2> "$TEST_TMPDIR/err2.log"; then
  echo "negative epochs accepted"; exit 1
fi
grep -q -- "--epochs must be > 0" "$TEST_TMPDIR/err2.log"

# A memory module config is refused, not trained without its memory.
if "$train" --config=configs/memory_cached.pbtxt --out="$TEST_TMPDIR/never" 2> "$TEST_TMPDIR/err3.log"; then
  echo "a memory module config was trained by tools/train"; exit 1
fi
cat "$TEST_TMPDIR/err3.log"
grep -q "memory_cached.pbtxt has a memory_module (cached_memory).*//tools:memory_experiment" \
  "$TEST_TMPDIR/err3.log"
[[ ! -e "$TEST_TMPDIR/never" ]] || { echo "the refused run made its output directory"; exit 1; }
echo PASS
