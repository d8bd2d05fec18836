#!/usr/bin/env bash
# The age heads compared (issue 30's measure) on the framing bench's split of the UTKFace sample in
# ../shared/data: faceatlas_bench_align --reframe splits it by a hash of the file names into a
# training part and a held-out test part, with a re-framed copy of every test face. Each
# configuration below trains on the aligned training part (its own validation split calibrates the
# spread), then is evaluated on the held-out originals and their re-framed copies: MAE, and how
# many held-out faces its calibrated 80% intervals hold.
#
# usage: tests/bench/age-heads.sh [WORKDIR] [EPOCHS] [CONFIG...]    (from the repository root, after building)
#   CONFIG is NAME=MODEL[,train options...], commas between words and '+' for a comma inside one,
#   e.g. 'age-no-rotate=age,--augment,flip+shift+jitter'. Without CONFIGs: every head with all
#   augmentations, the age head with a wider label distribution and without augmentations, the
#   capstone's CNN, and 'ae-init': the autoencoder trained on every face of the training part
#   (labelled or not, outside the age range too; AE_EPOCHS, default 10), then an age head from it.
set -euo pipefail
work=${1:-/tmp/faceatlas-heads}
epochs=${2:-20}
shift $(( $# > 2 ? 2 : $# ))
cli=${FACEATLAS_CLI:-build/bin/faceatlas-cli}
bench=build/tests/bench/faceatlas_bench_align
[ -x "$cli" ] && [ -x "$bench" ] || { echo "age-heads.sh: build first (cmake --build build)" >&2; exit 1; }
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
    configs=(age=age age-mv=age-mv age-ordinal=age-ordinal age-gaussian=age-gaussian age-adaptive=age-adaptive
             age-sigma4=age,--label-sigma,4 age-no-rotate=age,--augment,flip+shift+jitter
             age-no-augment=age,--augment,none age-capstone=age-capstone ae-init=age)
fi
mkdir -p "$work"
[ -d "$work/test-reframed" ] || "$bench" --reframe "$work" > "$work/reframe.log"
test_options=(--no-face-score-filter --min-image-size 0 --balance none --val-fraction 0 --seed 1)
for part in train test test-reframed; do
    [ -f "$work/$part-aligned/prepared.json" ] && continue
    if [ "$part" = train ]; then
        "$cli" prepare --source "utkface:$work/train" --out "$work/train-aligned" --size 64 > /dev/null
    else
        "$cli" prepare --source "utkface:$work/$part" --out "$work/$part-aligned" --size 64 "${test_options[@]}" > /dev/null
    fi
done
printf '%-16s %10s %10s %10s %10s %9s %9s\n' "config" "MAE orig" "MAE refr" "cover 80%" "+-years" "s/epoch" "cal x"
for config in "${configs[@]}"; do
    name=${config%%=*}
    IFS=, read -r -a words <<< "${config#*=}"
    model=${words[0]}
    options=("${words[@]:1}")
    for i in "${!options[@]}"; do options[$i]=${options[$i]//+/,}; done
    run="$work/run-$name"
    if [ "$name" = ae-init ]; then
        if [ ! -f "$work/ae/best.pt" ]; then
            # The autoencoder learns from every face of the sample, labelled or not.
            [ -f "$work/all-aligned/prepared.json" ] || "$cli" prepare --source "utkface:$work/train" \
                --out "$work/all-aligned" --size 64 --no-age-filter --balance none > /dev/null
            "$cli" train --model autoencoder --data "$work/all-aligned" --out "$work/ae" --epochs "${AE_EPOCHS:-10}" \
                > "$work/ae.log" 2>&1
        fi
        options+=(--init-from "$work/ae")
    fi
    if [ ! -f "$run/run.json" ] || ! grep -q '"status": "finished"' "$run/run.json"; then
        rm -rf "$run"
        "$cli" train --model "$model" --data "$work/train-aligned" --out "$run" --epochs "$epochs" --seed 1 \
            "${options[@]}" > "$work/$name.log" 2>&1
    fi
    seconds=$(awk -F, 'NR > 1 {s += $NF; n++} END {printf "%.1f", s / n}' "$run/metrics.csv")
    scale=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1])).get('calibration') or {}; print('%.2f' % c['spread_scale'] if c.get('spread_scale') else '-')" "$run/run.json")
    declare -A r=()
    for part in test test-reframed; do
        out=$("$cli" evaluate --run "$run" --data "$work/$part-aligned" --split all --json 2> /dev/null)
        r[$part]=$(python3 -c "import json,sys; j=json.loads(sys.argv[1]); c=j['coverage_80']; w=j['interval_80_half_width']; print('%.2f %s %s' % (j['mae'], '%.1f' % (100*c) if c is not None else '-', '%.1f' % w if w is not None else '-'))" "$out")
    done
    read -r mae cover width <<< "${r[test]}"
    read -r maeRe _ _ <<< "${r[test-reframed]}"
    printf '%-16s %10s %10s %10s %10s %9s %9s\n' "$name" "$mae" "$maeRe" "$cover" "$width" "$seconds" "$scale"
done
