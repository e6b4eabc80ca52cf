#!/usr/bin/env bash
# A file with F32, BF16 and I8 tensors written by WriteSafetensors, read by
# the safetensors specification in Python and checked against PyTorch (see
# check_dtypes_with_torch.py).
set -euo pipefail
writer="$1"
check="$2"
file="$TEST_TMPDIR/dtypes.safetensors"
"$writer" "$file"
/usr/bin/python3 "$check" "$file"
