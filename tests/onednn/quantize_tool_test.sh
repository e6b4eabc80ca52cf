#!/usr/bin/env bash
# tools/quantize as a user runs it: a model trained in FP32 (Fashion-MNIST,
# and a CSV table) quantized to INT8 (dynamic and static activations) and to
# BF16, then evaluated and served from the quantized file alone, within half
# a point of the FP32 model's test accuracy. What must be refused is: an
# existing --out (left as it was), an INT8 model as input, a bad flag, and an
# INT8 model on a CPU capped below AVX512-VNNI (ONEDNN_MAX_CPU_ISA), naming
# the instructions.
set -euo pipefail
train="$1"
quantize="$2"
eval_tool="$3"
serve="$4"
tmp="$TEST_TMPDIR"

accuracy() { "$eval_tool" --model="$1" | awk '/^test accuracy/ {print $3}'; }
# |a - b| <= 0.005: half a point.
within_half_point() {
  awk -v a="$1" -v b="$2" 'BEGIN {d = a - b; exit !(d <= 0.005 && d >= -0.005)}' ||
    { echo "$3: accuracy $1 against FP32's $2"; exit 1; }
}

"$train" --config=configs/fashion_mlp_onednn.pbtxt --epochs=2 --train_limit=12000 \
  --out="$tmp/fashion" > "$tmp/train.log"
fp32=$(accuracy "$tmp/fashion/model.safetensors")
echo "Fashion-MNIST fp32 $fp32"
for variant in "int8 dynamic" "int8 static" "bf16 dynamic"; do
  set -- $variant
  out="$tmp/fashion_$1_$2.safetensors"
  "$quantize" --model="$tmp/fashion/model.safetensors" --out="$out" --precision="$1" \
    --activations="$2" --calibration_samples=500 | tee "$tmp/quantize.log"
  a=$(accuracy "$out")
  echo "Fashion-MNIST $1 $2 $a"
  within_half_point "$a" "$fp32" "Fashion-MNIST $1 $2"
done
grep -q "calibrated on 500 training samples" "$tmp/quantize.log" ||
  grep -q "(bf16)" "$tmp/quantize.log"
# int8 weights: about a quarter of the file.
in_size=$(stat -c %s "$tmp/fashion/model.safetensors")
int8_size=$(stat -c %s "$tmp/fashion_int8_dynamic.safetensors")
(( int8_size * 3 < in_size )) || { echo "int8 file $int8_size bytes, fp32 $in_size"; exit 1; }

# Served one sample at a time (the VNNI kernel): the accuracy eval gives.
images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
labels=/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
"$serve" --model="$tmp/fashion_int8_dynamic.safetensors" --batch=1 --idx="$images" \
  --labels="$labels" > "$tmp/served.txt"
int8=$(accuracy "$tmp/fashion_int8_dynamic.safetensors")
tail -n 1 "$tmp/served.txt" | grep -q "^accuracy ${int8}" ||
  { echo "served $(tail -n 1 "$tmp/served.txt"), eval $int8"; exit 1; }

# A table (CSV): the breast-cancer classifier, trained on the reference backend.
"$train" --config=configs/cancer_csv.pbtxt --out="$tmp/cancer" > "$tmp/cancer.log"
fp32=$(accuracy "$tmp/cancer/model.safetensors")
for activations in dynamic static; do
  "$quantize" --model="$tmp/cancer/model.safetensors" --out="$tmp/cancer_$activations.safetensors" \
    --activations="$activations" > /dev/null
  a=$(accuracy "$tmp/cancer_$activations.safetensors")
  echo "breast cancer fp32 $fp32, int8 $activations $a"
  within_half_point "$a" "$fp32" "breast cancer $activations"
done

# Refusals.
out="$tmp/fashion_int8_dynamic.safetensors"
before=$(sha256sum < "$out")
if "$quantize" --model="$tmp/fashion/model.safetensors" --out="$out" 2> "$tmp/err.log"; then
  echo "an existing --out was replaced"; exit 1
fi
grep -q -- "exists: give another --out, or --overwrite" "$tmp/err.log"
[[ "$(sha256sum < "$out")" == "$before" ]] || { echo "--out changed"; exit 1; }
if "$quantize" --model="$out" --out="$tmp/twice.safetensors" 2> "$tmp/err.log"; then
  echo "an INT8 model quantized again"; exit 1
fi
grep -q "is an INT8 model already" "$tmp/err.log"
if "$quantize" --model="$tmp/fashion/model.safetensors" --out="$tmp/x.safetensors" \
  --precision=fp16 2> "$tmp/err.log"; then
  echo "--precision=fp16 accepted"; exit 1
fi
grep -q -- '--precision must be int8 or bf16, not "fp16"' "$tmp/err.log"
[[ ! -e "$tmp/x.safetensors" ]]
if ONEDNN_MAX_CPU_ISA=AVX512_CORE "$eval_tool" --model="$out" 2> "$tmp/err.log"; then
  echo "INT8 evaluated below AVX512-VNNI"; exit 1
fi
grep -q "model.precision INT8: this CPU lacks AVX512-VNNI" "$tmp/err.log"
if "$eval_tool" --model="$out" --config=configs/fashion_mlp.pbtxt 2> "$tmp/err.log"; then
  echo "INT8 file loaded into an FP32 model"; exit 1
fi
grep -q '"0_dense.weight" is I8 but the model holds it as F32' "$tmp/err.log"
echo PASS
