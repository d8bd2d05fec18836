#!/usr/bin/env bash
# faceatlas-cli prepare's framing when the landmark model is missing or is not a model, and a bad
# --framing word, and every face asked of faces that are not found by detection: each a clear error
# naming the file, the word or the reason, with nothing left half-written.
# (The detector's results on real faces are tested in FaceAlignTest.)
# Usage: framing_cli_test.sh FACEATLAS-CLI
set -euo pipefail
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "framing_cli_test: $*" >&2; exit 1; }
export FACEATLAS_CACHE_DIR=$dir/cache

expect_error() { # expect_error WHAT TEXT COMMAND...: the command fails and says TEXT
    local what=$1 text=$2
    shift 2
    if "$@" >"$dir/out" 2>"$dir/err"; then fail "$what: succeeded"; fi
    grep -qF -- "$text" "$dir/err" || fail "$what: said '$(cat "$dir/err")', not '$text'"
}

expect_error "missing model" "$dir/none.dat: cannot open the face landmark model" \
    env FACEATLAS_LANDMARKS="$dir/none.dat" "$cli" prepare --source demo:20 --framing aligned --out "$dir/p"
head -c 5000 /dev/urandom >"$dir/junk.dat"
expect_error "junk model" "$dir/junk.dat: not a dlib landmark model" \
    env FACEATLAS_LANDMARKS="$dir/junk.dat" "$cli" prepare --source demo:20 --framing aligned --out "$dir/p"
[ ! -e "$dir/p" ] || fail "a failed prepare left $dir/p"
expect_error "bad framing" "--framing: unknown framing 'squash'" \
    "$cli" prepare --source demo:20 --framing squash --out "$dir/p"
expect_error "bad faces" "--faces must be 'best' or 'every', not 'all'" \
    "$cli" prepare --source demo:20 --faces all --out "$dir/p"
expect_error "every face, centre-cropped" "every face of each picture needs the aligned framing" \
    "$cli" prepare --source demo:20 --faces every --out "$dir/p"
expect_error "bad yaw" "--max-yaw and --min-face-size take 0 (off) or a positive number" \
    "$cli" prepare --source demo:20 --max-yaw -3 --out "$dir/p"
[ ! -e "$dir/p" ] || fail "a refused prepare left $dir/p"
# The demo is centre-cropped by default and needs no model at all.
env FACEATLAS_LANDMARKS="$dir/none.dat" "$cli" prepare --source demo:20 --out "$dir/p" --val-count 2 >"$dir/out" \
    || fail "the demo needed the landmark model"
grep -q "^framing: centre-crop" "$dir/out" || fail "the demo's report does not say centre-crop"
echo "framing_cli_test: ok"
