#!/usr/bin/env bash
# tools/sweep on the memo config, on a slice of the data: the runs share the
# named memo, so the backbone runs once per sample in the first run only.
set -euo pipefail
sweep="$1"
log="$TEST_TMPDIR/sweep.log"

"$sweep" --learning_rates=0.1,0.2 --head_sizes=0,32 --epochs=2 \
  --train_limit=2000 --test_limit=500 > "$log"
cat "$log"
grep -q '^sweep .*frozen_backbone_memo.pbtxt: 4 runs on 2000 training and 500 test samples$' "$log"
grep -q 'ran on 2500 rows over 4 runs, for 2500 distinct samples .*: once per sample$' "$log"
# Runs 2 to 4 computed no backbone row: the table's "rows computed" column is 0.
rows="$(awk '$1 ~ /^[234]$/ && NF == 9 {print $7}' "$log")"
[[ "$rows" == $'0\n0\n0' ]] || { echo "rows computed in runs 2-4: $rows"; exit 1; }

# A bad list is refused before anything runs.
if "$sweep" --learning_rates=0.1,fast 2> "$TEST_TMPDIR/err.log"; then
  echo "a bad learning rate was accepted"; exit 1
fi
grep -q -- '--learning_rates: "fast" is not a number > 0' "$TEST_TMPDIR/err.log"
echo PASS
