#!/usr/bin/env bash
# clang-tidy (the checks of .clang-tidy: bugprone and concurrency) over the C++ sources changed since
# BASE, or over every source with --all. Needs a configured build folder (its compile_commands.json).
# BASE defaults to the commit in .ci/tidy-base (the last one whose sources were all checked; move it
# forward when a submission has landed clean), else to the newest commit at least FACEATLAS_TIDY_HOURS
# (4) older than HEAD.
# Any finding fails (WarningsAsErrors in .clang-tidy).
# usage: tests/tidy.sh [BUILD_DIR] [BASE | --all]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
cd "$src"
if [ "${2:-}" = --all ]; then
    files=$(git ls-files 'core/*.cpp' 'ui/*.cpp' 'app/*.cpp')
else
    hours=${FACEATLAS_TIDY_HOURS:-4}
    if [ -n "${2:-}" ]; then
        base=$2
    elif [ -s .ci/tidy-base ]; then
        base=$(head -1 .ci/tidy-base)
    else
        base=$(git rev-list -1 --before="@$(($(git log -1 --format=%ct) - hours * 3600))" HEAD || true)
    fi
    if [ -z "$base" ]; then base=$(git rev-list --max-parents=0 HEAD | tail -1); fi
    if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
        # A shallow clone without BASE: the last commit's own sources.
        echo "tidy.sh: $base is not in this clone; checking the sources of HEAD's commit" >&2
        base=$(git rev-parse HEAD~1 2>/dev/null || git hash-object -t tree /dev/null)
    fi
    files=$(git diff --name-only --diff-filter=AM "$base" HEAD -- 'core/*.cpp' 'ui/*.cpp' 'app/*.cpp')
fi
# GCC's precompiled headers are no use to clang: a copy of the compile commands without them, with
# the language level GCC 12 assumes and clang 14 does not.
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
python3 - "$build/compile_commands.json" "$db/compile_commands.json" <<'PY'
import json, re, sys
entries = json.load(open(sys.argv[1]))
for e in entries:
    e["command"] = re.sub(r"-include \S*cmake_pch\.hxx|-Winvalid-pch", "", e["command"]) + " -std=c++17"
json.dump(entries, open(sys.argv[2], "w"))
PY
checked=()
for f in $files; do
    # Only what this build compiles (the fuzz targets and the GPU-only sources are left out).
    grep -q "\"$src/$f\"" "$db/compile_commands.json" && checked+=("$f")
done
echo "tidy.sh: ${#checked[@]} sources"
[ ${#checked[@]} -eq 0 ] && exit 0
printf '%s\n' "${checked[@]}" | xargs -P "${FACEATLAS_TIDY_JOBS:-2}" -n 4 clang-tidy -p "$db" --quiet
echo "tidy.sh: no findings"
