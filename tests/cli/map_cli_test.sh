#!/usr/bin/env bash
# faceatlas-cli map and similar on the tiny demo pipeline: the files and lines of the contract, the
# same map from the same seed, a face's nearest faces without itself, and clear errors.
# Usage: map_cli_test.sh FACEATLAS-CLI
set -euo pipefail
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "map_cli_test: $*" >&2; exit 1; }

"$cli" demo --faces 200 --epochs 1 --out "$dir/demo" >/dev/null 2>&1 || fail "demo failed"
codes=$dir/demo/codes
count=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['count'])" "$codes/codes.json")

"$cli" map --codes "$codes" --out "$dir/a" --seed 3 --json >"$dir/a.json" || fail "map failed"
[ "$(head -1 "$dir/a/map.csv")" = "path,x,y" ] || fail "map.csv header"
[ "$(wc -l <"$dir/a/map.csv")" -eq $((count + 1)) ] || fail "map.csv has not one row per code"
python3 - "$dir/a.json" "$dir/a/map.json" "$count" <<'PY' || fail "map.json"
import json, sys
printed, written = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert printed == written, "--json prints map.json"
assert written["method"] == "neighbors" and written["count"] == int(sys.argv[3])
assert written["settings"]["neighbors"] == 15 and written["settings"]["seed"] == 3
assert 0 < written["recall"]["value"] <= 1 and written["recall"]["k"] == 10
PY
"$cli" map --codes "$codes" --out "$dir/b" --seed 3 >/dev/null || fail "second map failed"
cmp -s "$dir/a/map.csv" "$dir/b/map.csv" || fail "the same seed gave another map"
"$cli" map --codes "$codes" --out "$dir/p" --method pca >/dev/null || fail "pca map failed"
[ "$(wc -l <"$dir/p/map.csv")" -eq $((count + 1)) ] || fail "pca map.csv rows"

face=$(sed -n 2p "$dir/a/map.csv" | cut -d, -f1)
"$cli" similar --codes "$codes" --path "$face" --k 5 >"$dir/similar.csv" || fail "similar failed"
[ "$(head -1 "$dir/similar.csv")" = "path,distance" ] || fail "similar header"
[ "$(wc -l <"$dir/similar.csv")" -eq 6 ] || fail "similar rows"
! grep -q "^$face," "$dir/similar.csv" || fail "a face is its own neighbour"
sort -t, -k2 -g -c <(tail -n +2 "$dir/similar.csv") || fail "similar not nearest first"
# The face's own image, encoded on the fly, is nearest to the face's code.
"$cli" similar --codes "$codes" --image "$face" --k 1 | grep -q "^$face," || fail "--image does not find the face"

if "$cli" similar --codes "$codes" --path /no/such.jpg 2>"$dir/err"; then fail "unknown path accepted"; fi
grep -q "no face with the path" "$dir/err" || fail "unknown path message"
if "$cli" similar --codes "$codes" --path "$face" --k "$count" 2>"$dir/err"; then fail "k too large accepted"; fi
if "$cli" map --codes "$dir/nothing" --out "$dir/c" 2>"$dir/err"; then fail "missing codes accepted"; fi
grep -q "nothing" "$dir/err" || fail "missing codes message does not name the folder"
echo "map_cli_test: ok"
