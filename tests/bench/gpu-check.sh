#!/bin/bash
# The GPU path in one command. On a machine with an NVIDIA GPU, CUDA and PyTorch for Python but no
# Qt or OpenCV, it builds the LibTorch-only part (models, training, k-means, attention) against
# PyTorch's own LibTorch, runs its tests (DeviceTest compares the GPU with the CPU) and prints the
# training, encoding and k-means figures. Where PyTorch has no CMake files or there is no GPU (the
# development machine), it builds against Debian's libtorch-dev and runs a short CPU pass instead,
# so the script itself is exercised on every machine.
#
#   tests/bench/gpu-check.sh --vendor    on a Debian machine with the dev packages: copies GoogleTest's
#                                        sources, nlohmann-json and zlib's headers into .gpu-vendor/
#                                        (ignored by git; carry it to a machine that lacks them)
#   tests/bench/gpu-check.sh [LOG_DIR]   configure, build, test, benchmark; logs into LOG_DIR
#
# Within 10 minutes on a 16-core GPU machine: the build takes most of it. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
vendor=$root/.gpu-vendor

if [[ "${1:-}" == "--vendor" ]]; then
    rm -rf "$vendor"
    mkdir -p "$vendor/include" "$vendor/share/cmake"
    cp -r /usr/src/googletest "$vendor/googletest"
    cp -r /usr/include/nlohmann "$vendor/include/"
    cp -r /usr/share/cmake/nlohmann_json "$vendor/share/cmake/"
    cp /usr/include/zlib.h /usr/include/zconf.h "$vendor/include/"
    echo "gpu-check: $(du -sh "$vendor" | cut -f1) of build dependencies in $vendor"
    exit 0
fi

logs=${1:-$root/build-gpu-logs}
mkdir -p "$logs"
build=$root/build-gpu
say() { echo "gpu-check: $*" | tee -a "$logs/summary.txt"; }
: > "$logs/summary.txt"
start=$(date +%s)

# LibTorch: PyTorch's when it ships its CMake files, else the system's (Debian's libtorch-dev).
python=$(command -v python3 || true)
torch_prefix=""
if [[ -n "$python" ]]; then
    torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
fi
cmake_args=(-DFACEATLAS_GUI=OFF -DFACEATLAS_IMAGING=OFF -DCMAKE_BUILD_TYPE=Release)
prefixes=""
if [[ -n "$torch_prefix" && -f "$torch_prefix/Torch/TorchConfig.cmake" ]]; then
    say "LibTorch from PyTorch $("$python" -c 'import torch; print(torch.__version__)') ($torch_prefix)"
    prefixes="$torch_prefix"
    # Hopper (H100/H200) unless the caller says otherwise; saves Caffe2's probing of the GPU.
    cmake_args+=("-DTORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}")
else
    say "PyTorch has no CMake files here: building against the system LibTorch"
fi
# What the machine lacks comes from .gpu-vendor (see --vendor); GPU_CHECK_VENDORED=1 uses it even
# where the packages are installed (to try that path on the development machine).
if [[ -d "$vendor" ]]; then
    prefixes="${prefixes:+$prefixes;}$vendor"
    if [[ -n "${GPU_CHECK_VENDORED:-}" ]] ||
        ! ls /usr/lib/*/cmake/GTest/GTestConfig.cmake /usr/lib/cmake/GTest/GTestConfig.cmake >/dev/null 2>&1 ||
        [[ -n "$torch_prefix" && -f "$torch_prefix/Torch/TorchConfig.cmake" ]]; then
        # Built from source with LibTorch's ABI flags: a packaged GoogleTest may use the other ABI.
        cmake_args+=("-DFACEATLAS_GTEST_SOURCE=$vendor/googletest")
    fi
    if [[ -n "${GPU_CHECK_VENDORED:-}" || ! -f /usr/include/zlib.h ]]; then
        libz=$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p) | awk '/libz\.so\.1 .*x86-64/ && !found {print $NF; found = 1}')
        cmake_args+=("-DZLIB_INCLUDE_DIR=$vendor/include" "-DZLIB_LIBRARY=$libz")
    fi
fi
[[ -n "$prefixes" ]] && cmake_args+=("-DCMAKE_PREFIX_PATH=$prefixes")
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader |
    sed 's/^/gpu-check: GPU /' | tee -a "$logs/summary.txt"

say "configure: cmake ${cmake_args[*]}"
cmake -S "$root" -B "$build" "${cmake_args[@]}" > "$logs/configure.log" 2>&1 || {
    tail -30 "$logs/configure.log"
    say "configure FAILED (log: $logs/configure.log)"
    exit 1
}
jobs=$(nproc)
if ! cmake --build "$build" -j "$jobs" > "$logs/build.log" 2>&1; then
    grep -E "error|Error" "$logs/build.log" | head -30
    say "build FAILED (log: $logs/build.log)"
    exit 1
fi
say "built in $(($(date +%s) - start)) s with $jobs jobs"

cuda=$("$build/tests/bench/faceatlas_bench_kmeans" --cuda-available 2>/dev/null || echo no)
if ctest --test-dir "$build" -j "$(( jobs < 8 ? jobs : 8 ))" --output-on-failure > "$logs/tests.log" 2>&1; then
    say "tests: $(grep -E 'tests passed' "$logs/tests.log")"
else
    grep -E "Failed|FAILED|\*\*\*" "$logs/tests.log" | head -30
    say "tests FAILED (log: $logs/tests.log)"
    status=1
fi
grep -E "Test +#[0-9]+: DeviceTest" "$logs/tests.log" | sed 's/^/gpu-check:   /' | tee -a "$logs/summary.txt" || true

bench=$build/tests/bench
if [[ "$cuda" == "yes" ]]; then
    say "benchmarks on the GPU"
    "$bench/faceatlas_bench_train" 0 3 2>&1 | tee "$logs/train-batch32.log"
    BENCH_BATCH=256 BENCH_ONLY=autoencoder "$bench/faceatlas_bench_train" 0 3 2>&1 | tee "$logs/train-batch256.log"
    "$bench/faceatlas_bench_kmeans" - 175000 2>&1 | tee "$logs/kmeans.log"
else
    say "no CUDA device: a short CPU pass (autoencoder at 64 px, k-means on 20,000 codes)"
    BENCH_ONLY=autoencoder BENCH_SIZE=64 "$bench/faceatlas_bench_train" 0 1 2>&1 | tee "$logs/train.log"
    "$bench/faceatlas_bench_kmeans" - 20000 2>&1 | tee "$logs/kmeans.log"
fi
grep -hE "images/s|epoch|per iteration|whole fit" "$logs"/train*.log "$logs/kmeans.log" | sed 's/^/gpu-check:   /' >> "$logs/summary.txt"
say "done in $(($(date +%s) - start)) s; logs in $logs"
exit "${status:-0}"
