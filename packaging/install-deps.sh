#!/usr/bin/env bash
# Installs every Debian 12 package FaceAtlas needs to build, test and run.
# Safe to run twice; needs root (or sudo). Usage: packaging/install-deps.sh [--no-gui]
set -euo pipefail

gui=1
for arg in "$@"; do
    case "$arg" in
        --no-gui) gui=0 ;;
        *) echo "install-deps.sh: unknown option '$arg' (use --no-gui)" >&2; exit 2 ;;
    esac
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps.sh: run as root or install sudo" >&2; exit 1; }
    sudo="sudo"
fi

packages=(
    build-essential cmake ninja-build pkg-config git clang-format
    libtorch-dev
    # Data-parallel training (train --nproc): the headers of Gloo, which Debian's LibTorch has built in.
    libgloo-dev
    # Without the pthread OpenBLAS, LibTorch falls back to reference BLAS (about 16x slower).
    libopenblas0-pthread
    libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libturbojpeg0-dev
    # The quality columns (issue 29): OpenCV's quality module (BRISQUE) and the LIVE model files it reads.
    libopencv-contrib-dev opencv-data
    nlohmann-json3-dev zlib1g-dev
    # The approximate neighbour search of large maps (HNSW; header-only).
    libhnswlib-dev
    # Face detection and landmarks (the aligned framing): dlib and its 68-point landmark model.
    libdlib-dev libdlib-data
    # Tests: matio writes MAT-files independently of the app's own reader; clang with its runtimes
    # (libFuzzer, ASan, UBSan) builds the fuzzing and sanitizer legs (tests/fuzz, tests/sanitize.sh);
    # clang-tidy checks the changed sources (tests/tidy.sh).
    libmatio-dev libgtest-dev libgmock-dev clang libclang-rt-14-dev clang-tidy
    # The Debian package (CPack runs dpkg-shlibdeps and file) and the man page check.
    dpkg-dev file fakeroot groff-base
)
if [ "$gui" = 1 ]; then
    packages+=(qt6-base-dev libqt6charts6-dev libqt6opengl6-dev libqt6svg6-dev libgl-dev libxkbcommon-dev xvfb xauth
              # checks of the desktop entry and the AppStream metainfo
              appstream desktop-file-utils)
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
