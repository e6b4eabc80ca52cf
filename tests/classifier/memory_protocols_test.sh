#!/usr/bin/env bash
# tools/memory_experiment's protocols of issue 18 as a user runs them,
# briefly (1 epoch on 3,000 samples, two pairs): the results file with a row
# per run, the summary of median and worst pair, the plot; a finished result
# is not replaced without --overwrite; bad flags are named.
set -euo pipefail
tool="$1"
out="$TEST_TMPDIR/run"
common=(--configs=configs/memory_few_shot_cached.pbtxt --epochs=1 --train_limit=3000
        --test_limit=1000 --out="$out")

"$tool" "${common[@]}" --protocol=rare_classes --pairs=0-1,2-3 --examples=2,4 > "$TEST_TMPDIR/rare.log"
cat "$TEST_TMPDIR/rare.log"
csv="$out/rare_classes/results.csv"
[[ "$(head -1 "$csv")" == "module,first,second,examples,network_recall,memory_recall,dual_recall,network_others,dual_others" ]]
[[ $(wc -l < "$csv") -eq 5 ]] || { echo "rows of $csv"; exit 1; }
for row in "cached_memory,0,1,2," "cached_memory,0,1,4," "cached_memory,2,3,2," "cached_memory,2,3,4,"; do
  grep -q "^$row" "$csv" || { echo "no row $row"; exit 1; }
done
# Every figure is a share in [0, 1].
awk -F, 'NR > 1 { for (i = 5; i <= 9; ++i) if ($i < 0 || $i > 1) exit 1 }' "$csv"
[[ -s "$out/rare_classes/rare_classes.svg" ]]
grep -q "<svg" "$out/rare_classes/rare_classes.svg"
[[ -s "$out/rare_classes/memory_few_shot_cached_pair_2_3_kept_4.safetensors" ]]
grep -qE "^  cached_memory, 2 kept: recall network [0-9.]+ \(worst \([0-9],[0-9]\) [0-9.]+\), dual" \
  "$TEST_TMPDIR/rare.log"
grep -qF "Results: $csv" "$TEST_TMPDIR/rare.log"

# A finished result stays unless --overwrite.
before="$(md5sum "$csv")"
status=0
"$tool" "${common[@]}" --protocol=rare_classes --pairs=0-1 --examples=2 \
  > /dev/null 2> "$TEST_TMPDIR/again.err" || status=$?
[[ $status -ne 0 ]] || { echo "replaced a finished result"; exit 1; }
grep -q -- "--overwrite" "$TEST_TMPDIR/again.err"
[[ "$(md5sum "$csv")" == "$before" ]]

"$tool" "${common[@]}" --protocol=new_classes --pairs=4-5 --examples=1,3 > "$TEST_TMPDIR/new.log"
cat "$TEST_TMPDIR/new.log"
csv="$out/new_classes/results.csv"
[[ $(wc -l < "$csv") -eq 3 ]] || { echo "rows of $csv"; exit 1; }
grep -q "^cached_memory,4,5,1," "$csv"
grep -q "^cached_memory,4,5,3," "$csv"
[[ -s "$out/new_classes/new_classes.svg" ]]
grep -qE "^  cached_memory, 3 shown: pair dual [0-9.]+ " "$TEST_TMPDIR/new.log"

# Bad flags: named, nothing run.
for flag in --pairs=0-0 --pairs=1 --examples=0 --protocol=rare --vote=majority \
            --confidence_threshold=0; do
  status=0
  "$tool" "${common[@]}" --protocol=new_classes "$flag" --out="$TEST_TMPDIR/bad" \
    > /dev/null 2> "$TEST_TMPDIR/bad.err" || status=$?
  [[ $status -ne 0 ]] || { echo "$flag accepted"; exit 1; }
  grep -q -- "${flag%%=*}" "$TEST_TMPDIR/bad.err" || { cat "$TEST_TMPDIR/bad.err"; exit 1; }
done
echo PASS
