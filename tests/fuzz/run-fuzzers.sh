#!/usr/bin/env bash
# Builds the readers' libFuzzer targets with clang (ASan + UBSan) in BUILD_DIR and runs each for
# SECONDS, starting from the committed corpus. New inputs go to BUILD_DIR/fuzz-corpus/<target>
# (not into the source tree); a crash leaves BUILD_DIR/fuzz-crashes/<target>/crash-* and fails
# the script: fix it, then copy the input into tests/fuzz/corpus/<target>/ as a regression.
# usage: tests/fuzz/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]
set -euo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(mat csv utkname records prepared review checkpoint faces)
cxx=${FACEATLAS_FUZZ_CXX:-$(command -v clang++-14 || command -v clang++)}

mkdir -p "$build"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFACEATLAS_GUI=OFF -DFACEATLAS_BENCH=OFF -DFACEATLAS_IMAGING=ON -DFACEATLAS_FUZZ=ON >"$build/configure.log" 2>&1 \
    || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"${FACEATLAS_FUZZ_JOBS:-2}" --target "${targets[@]/#/faceatlas_fuzz_}"

status=0
for t in "${targets[@]}"; do
    corpus="$build/fuzz-corpus/$t" crashes="$build/fuzz-crashes/$t"
    mkdir -p "$corpus" "$crashes"
    log="$build/fuzz-$t.log"
    # -rss_limit_mb and -malloc_limit_mb: an input that needs gigabytes is a finding too.
    if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
        "$build/tests/fuzz/faceatlas_fuzz_$t" "$corpus" "$src/tests/fuzz/corpus/$t" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1; then
        status=1
        echo "$t: CRASH (see $log and $crashes)"
        grep -m3 -E "ERROR|SUMMARY|runtime error" "$log" || true
    fi
    runs=$(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
    size=$(ls "$corpus" | wc -l)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 || true)
    echo "$t: $runs executions in ${seconds}s, corpus $size new inputs (+ $(ls "$src/tests/fuzz/corpus/$t" | wc -l) committed), ${cov:-cov: ?}, crashes: $(ls "$crashes" | wc -l)"
done
exit $status
