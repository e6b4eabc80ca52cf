#!/usr/bin/env bash
# tools/export_pytorch end to end: models trained by tools/train on the
# repository's data load into the nn.Sequential the tool prints, with
# Debian's python3-torch (load_state_dict, strict, tensors as they are), and
# predict every test sample's label as tools/eval does, with the accuracy it
# prints. Then the refusals: an existing --out, a plugin's layer, a memory
# module.
set -euo pipefail
train="$1"
eval_tool="$2"
export_tool="$3"
check="$4"
python=/usr/bin/python3
tmp="$TEST_TMPDIR"

# Runs tools/eval with --predictions and the export, then the PyTorch check;
# $1 = run directory, the rest = the check's test-set flags.
export_and_check() {
  local run="$1"
  shift
  "$eval_tool" --model="$run/model.safetensors" --predictions="$run/predictions.csv" \
    > "$run/eval.log"
  cat "$run/eval.log"
  local accuracy
  accuracy=$(awk '/^test accuracy/ {print $3}' "$run/eval.log")
  "$export_tool" --model="$run/model.safetensors" --out="$run/model.pt" > "$run/module.py"
  cat "$run/module.py"
  "$python" "$check" --state_dict="$run/model.pt" --module="$run/module.py" \
    --predictions="$run/predictions.csv" --accuracy="$accuracy" "$@"
}

# Digits (npy): MinMaxScale, Dense 64 ReLU, Dense 10, softmax.
"$train" --config=configs/digits_npy.pbtxt --epochs=5 --out="$tmp/digits" > "$tmp/digits.log" 2>&1
export_and_check "$tmp/digits" --npy_features=configs/data/digits_test_x.npy \
  --npy_labels=configs/data/digits_test_y.npy
grep -qx 'nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))' \
  "$tmp/digits/module.py"
awk '/^test accuracy/ {exit !($3 > 0.5)}' "$tmp/digits/eval.log" ||
  { echo "digits trained too little to tell labels apart"; exit 1; }

# Breast cancer (CSV): Standardize, Dense 32 ReLU, Dense 1, one sigmoid logit;
# text labels.
"$train" --config=configs/cancer_csv.pbtxt --epochs=5 --out="$tmp/cancer" > "$tmp/cancer.log" 2>&1
export_and_check "$tmp/cancer" --csv=configs/data/breast_cancer_test.csv --target=diagnosis
grep -q '^# classes: 0 = benign, 1 = malignant$' "$tmp/cancer/module.py"

# Digits with the normalisations: BatchNorm (running statistics trained,
# momentum 0.2) and LayerNorm (epsilon 1e-3) as nn.BatchNorm1d and
# nn.LayerNorm; PyTorch in eval() normalises with the running statistics.
cat > "$tmp/norms.pbtxt" <<CONFIG
model {
  input_size: 64
  init { scheme: HE_UNIFORM }
  layer { type: "Dense" units: 32 }
  layer { type: "BatchNorm" momentum: 0.2 activation: "ReLU" }
  layer { type: "Dense" units: 24 }
  layer { type: "LayerNorm" epsilon: 0.001 }
  layer { type: "Dense" units: 10 }
}
data {
  format: "npy"
  train_file: "$PWD/configs/data/digits_train_x.npy"
  train_targets_file: "$PWD/configs/data/digits_train_y.npy"
  test_file: "$PWD/configs/data/digits_test_x.npy"
  test_targets_file: "$PWD/configs/data/digits_test_y.npy"
}
trainer { optimizer { type: "adam" learning_rate: 0.01 } batch_size: 32 epochs: 3 seed: 1 }
CONFIG
"$train" --config="$tmp/norms.pbtxt" --out="$tmp/norms" > "$tmp/norms.log" 2>&1
export_and_check "$tmp/norms" --npy_features=configs/data/digits_test_x.npy \
  --npy_labels=configs/data/digits_test_y.npy
grep -qx 'nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32, eps=9.99999975e-06, momentum=0.200000003), nn.ReLU(), nn.Linear(32, 24), nn.LayerNorm(24, eps=0.00100000005), nn.Linear(24, 10))' \
  "$tmp/norms/module.py"
grep -q '^# 1: BatchNorm ("1_batchnorm") as nn.BatchNorm1d with its running statistics' \
  "$tmp/norms/module.py"
awk '/^test accuracy/ {exit !($3 > 0.5)}' "$tmp/norms/eval.log" ||
  { echo "the normalised digits model trained too little to tell labels apart"; exit 1; }

# An existing --out is not replaced without --overwrite.
cp "$tmp/digits/model.pt" "$tmp/digits.pt.before"
if "$export_tool" --model="$tmp/cancer/model.safetensors" --out="$tmp/digits/model.pt" \
  > /dev/null 2> "$tmp/err_exists.log"; then
  echo "an existing --out was replaced without --overwrite"; exit 1
fi
cat "$tmp/err_exists.log"
grep -q -- "--out=$tmp/digits/model.pt exists: give another --out, or --overwrite" \
  "$tmp/err_exists.log"
cmp "$tmp/digits/model.pt" "$tmp/digits.pt.before"
"$export_tool" --model="$tmp/cancer/model.safetensors" --out="$tmp/digits/model.pt" --overwrite \
  > /dev/null
cmp -s "$tmp/digits/model.pt" "$tmp/cancer/model.pt" ||
  { echo "--overwrite did not write the model's export"; exit 1; }

# A plugin's layer has no PyTorch module: refused, naming it and its line.
cat > "$tmp/plugin.pbtxt" <<CONFIG
plugin: "$PWD/plugins/template/libtemplate_plugin.so"
model {
  input_size: 64
  layer { type: "Dense" units: 16 activation: "ReLU" }
  layer {
    type: "Scale"
    options {
      [type.googleapis.com/mnemo.plugins.template_plugin.ScaleOptions] { factor: 0.5 }
    }
  }
  layer { type: "Dense" units: 10 }
}
data {
  format: "npy"
  train_file: "$PWD/configs/data/digits_train_x.npy"
  train_targets_file: "$PWD/configs/data/digits_train_y.npy"
}
trainer { optimizer { type: "adam" learning_rate: 0.001 } batch_size: 32 epochs: 1 }
CONFIG
"$train" --config="$tmp/plugin.pbtxt" --out="$tmp/plugin" > "$tmp/plugin.log" 2>&1
if "$export_tool" --model="$tmp/plugin/model.safetensors" --out="$tmp/plugin.pt" \
  2> "$tmp/err_plugin.log"; then
  echo "a plugin's layer was exported"; exit 1
fi
cat "$tmp/err_plugin.log"
grep -q 'cannot export .*/plugin/model.safetensors: .*model.safetensors (stored config):[0-9]*:[0-9]*: layer 1 ("1_scale") is of type "Scale", which the PyTorch export cannot express' \
  "$tmp/err_plugin.log"
[[ ! -e "$tmp/plugin.pt" ]] || { echo "a refused export wrote its file"; exit 1; }

# A dual-path model (memory module) is no nn.Sequential.
if "$export_tool" --model="$tmp/digits/model.safetensors" --config=configs/memory_cached.pbtxt \
  --out="$tmp/memory.pt" 2> "$tmp/err_memory.log"; then
  echo "a memory module config was exported"; exit 1
fi
cat "$tmp/err_memory.log"
grep -q 'memory_cached.pbtxt:[0-9]*:[0-9]*: the model has a memory module (cached_memory)' \
  "$tmp/err_memory.log"
[[ ! -e "$tmp/memory.pt" ]] || { echo "a refused export wrote its file"; exit 1; }
echo PASS
