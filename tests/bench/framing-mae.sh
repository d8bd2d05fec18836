#!/usr/bin/env bash
# The age model against faces framed another way (issue 15's measure), on the UTKFace sample in
# ../shared/data: faceatlas_bench_align --reframe splits it by a hash of the file names into a
# training part and a held-out test part, and writes a re-framed copy of every test face (padded to
# head and shoulders, non-square, turned by up to 20 degrees, scaled and shifted). For each framing
# (aligned, centre-crop) an `age` model is trained on the training part, then evaluated on the
# held-out originals and on their re-framed copies, framed the same way as its training faces.
#
# usage: tests/bench/framing-mae.sh [WORKDIR] [EPOCHS]    (from the repository root, after building)
set -euo pipefail
work=${1:-/tmp/faceatlas-framing}
epochs=${2:-20}
cli=build/bin/faceatlas-cli
bench=build/tests/bench/faceatlas_bench_align
[ -x "$cli" ] && [ -x "$bench" ] || { echo "framing-mae.sh: build first (cmake --build build)" >&2; exit 1; }
mkdir -p "$work"
"$bench" --reframe "$work"
# Test faces: every one kept, whatever the detector found (a face not found is centre-cropped), in
# the age range the training used; nothing resampled, all of them evaluated.
test_options=(--no-face-score-filter --min-image-size 0 --balance none --val-fraction 0 --seed 1)
declare -A mae
for framing in aligned centre-crop; do
    "$cli" prepare --source "utkface:$work/train" --out "$work/train-$framing" --size 64 --framing "$framing" \
        | grep -E "^framing|^training"
    rm -rf "$work/run-$framing"
    start=$(date +%s)
    "$cli" train --model age --data "$work/train-$framing" --out "$work/run-$framing" --epochs "$epochs" --seed 1 \
        > "$work/train-$framing.log" 2>&1
    echo "trained age ($framing, $epochs epochs) in $(( $(date +%s) - start )) s"
    for part in test test-reframed; do
        "$cli" prepare --source "utkface:$work/$part" --out "$work/$part-$framing" --size 64 --framing "$framing" \
            "${test_options[@]}" | grep -E "^framing" || true
        line=$("$cli" evaluate --run "$work/run-$framing" --data "$work/$part-$framing" --split all 2>&1 | grep -E "^n ")
        echo "  $part: $line"
        mae[$framing,$part]=$(sed -E 's/.*MAE ([0-9.]+) years.*/\1/' <<< "$line")
        mae[$framing,$part,base]=$(sed -E 's/.*baseline MAE ([0-9.]+).*/\1/' <<< "$line")
    done
done
echo
printf '%-12s %22s %22s %10s\n' "framing" "held-out originals" "re-framed copies" "baseline"
for framing in aligned centre-crop; do
    printf '%-12s %22s %22s %10s\n' "$framing" "${mae[$framing,test]}" "${mae[$framing,test-reframed]}" \
        "${mae[$framing,test,base]}"
done
