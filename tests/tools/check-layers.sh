#!/usr/bin/env bash
# The layers of core, checked: each folder is one library and includes only from the folders below it
# (core/CMakeLists.txt says which is which).
#   util      std only
#   data      util and data; never ml or analysis, never LibTorch or Qt
#   ml        util, ml and data's std-only part (faceatlas_base); never the imaging part, analysis or Qt
#   analysis  anything in core; never Qt
# and the window above them: ui/ reaches models only through core's functions, so it never includes
# LibTorch nor calls it (torch::, at::, tensors' data_ptr/item) itself.
# data's imaging headers are read from faceatlas_core's source list, so a file moved between the two
# libraries moves the rule with it. Prints every include that breaks a rule and fails if there is one.
# usage: tests/tools/check-layers.sh [SOURCE_DIR]
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
core=$src/core
cd "$core"

# data/ headers built into faceatlas_core (OpenCV): the block from add_library(faceatlas_core to its ')'.
imaging=$(awk '/add_library\(faceatlas_core /{on=1; next} on && /\)/{on=0} on' CMakeLists.txt |
    tr ' ' '\n' | grep -E '^data/.*\.h$' || true)
[ -n "$imaging" ] || { echo "check-layers: found no imaging headers in $core/CMakeLists.txt" >&2; exit 2; }

broken=0
report() { # FILE:LINE:TEXT and why
    echo "$1 -- $2"
    broken=$((broken + 1))
}
includes() { # the #include lines of the folder's files: FILE:LINE:#include ...
    grep -HnE '^\s*#\s*include' "$1"/*.h "$1"/*.cpp "$1"/*.inl 2>/dev/null || true
}
while IFS= read -r line; do
    case "$line" in
        *'"data/'* | *'"ml/'* | *'"analysis/'* | *'<torch'* | *'<Q'*) report "core/$line" "util includes std only" ;;
    esac
done < <(includes util)
while IFS= read -r line; do
    case "$line" in
        *'"ml/'* | *'"analysis/'*) report "core/$line" "data must not include ml or analysis (move the file to analysis/)" ;;
        *'<torch'* | *'<ATen'* | *'<c10'*) report "core/$line" "data must not use LibTorch" ;;
        *'<Q'*) report "core/$line" "core must not use Qt" ;;
    esac
done < <(includes data)
while IFS= read -r line; do
    case "$line" in
        *'"analysis/'*) report "core/$line" "ml must not include analysis" ;;
        *'<Q'*) report "core/$line" "core must not use Qt" ;;
    esac
    for header in $imaging; do
        case "$line" in *"\"$header\""*) report "core/$line" "ml must not include data's imaging part ($header is in faceatlas_core)" ;; esac
    done
done < <(includes ml)
while IFS= read -r line; do
    case "$line" in *'<Q'*) report "core/$line" "core must not use Qt" ;; esac
done < <(includes analysis)

while IFS= read -r line; do
    report "$line" "ui must reach models through core's functions, not LibTorch"
done < <(cd "$src" && grep -HnE '\b(torch|at|c10)::|<torch/|<ATen|<c10/|\.data_ptr<|\.item<' ui/*.h ui/*.cpp 2>/dev/null || true)

if [ "$broken" -gt 0 ]; then
    echo "check-layers: $broken include(s) cross a layer the wrong way" >&2
    exit 1
fi
echo "check-layers: util < data < ml < analysis < ui hold ($(echo "$imaging" | wc -w) imaging headers in data)"
