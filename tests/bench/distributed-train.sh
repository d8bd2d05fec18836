#!/usr/bin/env bash
# Data-parallel training on this machine (issue 28's measure): 2 processes x 1 thread against
# 1 process x 2 threads, one epoch each with the same global batch, for the autoencoder and
# age-capstone at 64 and 150 px, on FACES demo faces (a step's cost does not depend on what the
# faces show). Prints, per case, the time of a step, the share of a step rank 0 spent waiting for the
# gradient all-reduce after its backward pass, and the gradient bytes summed per step.
#
# usage: tests/bench/distributed-train.sh [WORKDIR] [FACES]    (from the repository root, after building)
set -euo pipefail
work=${1:-/tmp/faceatlas-distributed}
faces=${2:-1024}
cli=build/bin/faceatlas-cli
[ -x "$cli" ] || { echo "distributed-train.sh: build first (cmake --build build)" >&2; exit 1; }
"$cli" --version | grep -q "several processes: c10d" || { echo "distributed-train.sh: built without Gloo" >&2; exit 1; }
mkdir -p "$work"
source="demo:$faces"
printf '%-13s %4s %-20s %8s %10s %9s %12s\n' model px processes steps "ms/step" "all-reduce" "MB/step"
for size in 64 150; do
    data=$work/data-$size
    [ -f "$data/prepared.json" ] || "$cli" prepare --source "$source" --out "$data" --size "$size" --balance none \
        --val-count 64 --no-age-filter >/dev/null
    for model in autoencoder age-capstone; do
        for setup in "1 2" "2 1"; do
            set -- $setup
            run=$work/run-$model-$size-$1x$2
            rm -rf "$run"
            "$cli" train --model "$model" --data "$data" --out "$run" --epochs 1 --batch 32 --device cpu --seed 1 \
                --nproc "$1" --threads "$2" >"$run.log" 2>&1 || { cat "$run.log" >&2; exit 1; }
            line=$(grep -E "^(training|[0-9]+ processes):" "$run.log" | tail -1)
            steps=$(sed -n 's/.* \([0-9]*\) steps.*/\1/p' <<<"$line")
            ms=$(sed -n 's/.*(\([0-9.]*\) ms a step).*/\1/p' <<<"$line")
            share=$(sed -n 's/.*backward passes (\([0-9]*%\)).*/\1/p' <<<"$line")
            mb=$(sed -n 's/.*moved \([0-9.]*\) MB per step.*/\1/p' <<<"$line")
            printf '%-13s %4s %-20s %8s %10s %9s %12s\n' "$model" "$size" "$1 x $2 threads" "$steps" "$ms" \
                "${share:--}" "${mb:--}"
        done
    done
done
