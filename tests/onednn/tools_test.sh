#!/usr/bin/env bash
# tools/train, tools/eval and tools/serve on the oneDNN backend, as a user
# runs them: the config line selects it, --threads overrides the config's
# threads, a model trained on oneDNN evaluates on the Eigen reference to the
# same accuracy, and one trained on Eigen serves on oneDNN with the labels
# Eigen gives (parameters are the same tensors on both backends).
set -euo pipefail
train="$1"
eval_tool="$2"
serve="$3"
out="$TEST_TMPDIR/run"

"$train" --config=configs/fashion_mlp_onednn.pbtxt --threads=1 --epochs=2 \
  --train_limit=6000 --test_limit=1000 --out="$out" > "$TEST_TMPDIR/train.log"
cat "$TEST_TMPDIR/train.log"
grep -q '^model   784 -> onednn/Dense(256) -> onednn/ReLU(256) -> onednn/Dense(10)$' \
  "$TEST_TMPDIR/train.log"
grep -q '^backend onednn, 1 thread$' "$TEST_TMPDIR/train.log"

"$eval_tool" --model="$out/model.safetensors" --threads=2 > "$TEST_TMPDIR/onednn.log"
cat "$TEST_TMPDIR/onednn.log"
grep -q '^backend       onednn, 2 threads$' "$TEST_TMPDIR/onednn.log"
"$eval_tool" --model="$out/model.safetensors" --config=configs/fashion_mlp.pbtxt \
  > "$TEST_TMPDIR/eigen.log"
cat "$TEST_TMPDIR/eigen.log"
grep -q '^backend       eigen, 1 thread$' "$TEST_TMPDIR/eigen.log"
onednn_accuracy=$(awk '/^test accuracy/ {print $3}' "$TEST_TMPDIR/onednn.log")
eigen_accuracy=$(awk '/^test accuracy/ {print $3}' "$TEST_TMPDIR/eigen.log")
awk -v a="$onednn_accuracy" 'BEGIN {exit !(a > 0.6)}' || { echo "accuracy $onednn_accuracy"; exit 1; }
# 10,000 test samples: the backends' rounding may flip a sample or two.
awk -v a="$onednn_accuracy" -v b="$eigen_accuracy" 'BEGIN {d = a - b; exit !(d < 0.0005 && d > -0.0005)}' ||
  { echo "onednn $onednn_accuracy vs eigen $eigen_accuracy"; exit 1; }

# Trained on Eigen, served on oneDNN: the same label for every test image but
# a tie or two the backends round apart.
"$train" --config=configs/fashion_mlp.pbtxt --epochs=2 --train_limit=6000 --test_limit=1000 \
  --out="$TEST_TMPDIR/eigen_run" > "$TEST_TMPDIR/eigen_train.log"
images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
labels=/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
"$serve" --model="$TEST_TMPDIR/eigen_run/model.safetensors" --batch=256 --idx="$images" \
  --labels="$labels" > "$TEST_TMPDIR/served_eigen.txt"
"$serve" --model="$TEST_TMPDIR/eigen_run/model.safetensors" --batch=256 --idx="$images" \
  --labels="$labels" --config=configs/fashion_mlp_onednn.pbtxt > "$TEST_TMPDIR/served_onednn.txt"
lines=$(wc -l < "$TEST_TMPDIR/served_onednn.txt")
[[ "$lines" -eq 10001 ]] || { echo "served $lines lines, not 10,000 labels and the accuracy"; exit 1; }
differing=$(paste -d' ' "$TEST_TMPDIR/served_eigen.txt" "$TEST_TMPDIR/served_onednn.txt" |
            head -n 10000 | awk '$1 != $2' | wc -l)
echo "trained on eigen, served on onednn: $differing of 10000 labels differ"
[[ "$differing" -le 2 ]] || { echo "$differing labels differ between the backends"; exit 1; }
tail -n 1 "$TEST_TMPDIR/served_onednn.txt" | grep -q '^accuracy 0\.[6-9]' ||
  { echo "onednn accuracy: $(tail -n 1 "$TEST_TMPDIR/served_onednn.txt")"; exit 1; }

if "$train" --config=configs/fashion_mlp_onednn.pbtxt --threads=-2 --out="$TEST_TMPDIR/never" \
  2> "$TEST_TMPDIR/err.log"; then
  echo "negative threads accepted"; exit 1
fi
grep -q -- "--threads must be >= 0" "$TEST_TMPDIR/err.log"
echo PASS
