#!/usr/bin/env bash
# The sanitizer leg: builds core, the CLI and the core tests with AddressSanitizer and UBSan (any UB
# is fatal) in BUILD_DIR (default build-asan), then runs every core test, the fuzz corpus replays and
# tests/cli/distributed_cli_test.sh.
# The build took 22 minutes on 2 cores with other work beside it (2026-12-07); the tests about 6.
# FACEATLAS_ASAN_FILTER (a --gtest_filter) narrows the tests, e.g. 'Hostile*:MatFile*:ImdbWiki*'.
# By default every core test runs but one: PrepareJobTest.RealUtkFaceSampleAtCapstoneSettings runs
# dlib's detector over the 5,000 real photos, which took over ten minutes under ASan on 2 cores (a
# third of CI) and exercises dlib far more than our code; the main leg runs it, and the same code
# of ours runs here on real faces in FaceAlignTest and on planted ones in the other Prepare tests.
# usage: tests/sanitize.sh [BUILD_DIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-asan}
filter=${FACEATLAS_ASAN_FILTER:-'-PrepareJobTest.RealUtkFaceSampleAtCapstoneSettings'}

# -O1 -g1 (line tables for the reports' stacks), not RelWithDebInfo's -O2 -g: LibTorch's templates make
# full debug information and -O2 the bulk of this build (TrainJobTest.cpp: 103 s -> 58 s here).
cmake -S "$src" -B "$build" -G Ninja -DFACEATLAS_GUI=OFF -DFACEATLAS_BENCH=OFF -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="-O1 -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
nice cmake --build "$build" -j"${FACEATLAS_ASAN_JOBS:-2}" --target faceatlas-cli faceatlas_core_tests \
    faceatlas_replay_mat faceatlas_replay_csv faceatlas_replay_utkname faceatlas_replay_records \
    faceatlas_replay_prepared faceatlas_replay_review faceatlas_replay_checkpoint faceatlas_replay_faces

# LibTorch and its dependencies (protobuf, glog) keep allocations until exit: leak checking would
# report theirs, not ours. Everything else ASan and UBSan find is fatal.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$build/tests/faceatlas_core_tests" --gtest_filter="$filter"
ctest --test-dir "$build" -R '^FuzzReplay\.' --output-on-failure
# Several processes under the sanitizers (about 1.5 minutes): the launcher, c10d's collectives, the
# gradient buckets, sharded encode and k-means, killed ranks (exit 77: built without Gloo, skipped).
"$src/tests/cli/distributed_cli_test.sh" "$build/bin/faceatlas-cli" || [ $? -eq 77 ]
echo "sanitize.sh: the core tests ($filter), the fuzz corpus replays and the distributed CLI test pass under ASan + UBSan"
