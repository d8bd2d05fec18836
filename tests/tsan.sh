#!/usr/bin/env bash
# The ThreadSanitizer leg: builds tests/threads (parallelFor, the job runner, the interactive lane, the
# write queue, the preparation's thread pools and the batch prefetcher) with -fsanitize=thread in
# BUILD_DIR (default build-tsan) and runs it; any data race it reaches fails. Only that program is
# built: the lanes, core's base and imaging libraries and the prefetcher's source, not the model code.
# LibTorch, OpenCV and Qt are not instrumented: a race inside them is not seen, and LibTorch's OpenMP
# pool is kept to one thread (its barriers are invisible to TSan and would read as races).
# usage: tests/tsan.sh [BUILD_DIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-tsan}
cmake -S "$src" -B "$build" -G Ninja -DFACEATLAS_BENCH=OFF -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="-O1 -g1 -fsanitize=thread -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread"
nice cmake --build "$build" -j"${FACEATLAS_TSAN_JOBS:-2}" --target faceatlas_thread_tests
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$src/tests/threads/tsan.supp"
export OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen
"$build/tests/faceatlas_thread_tests"
echo "tsan.sh: the thread tests pass under ThreadSanitizer"
