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
[ "$(head -1 "$dir/a/map.csv")" = "path,x,y,preserved" ] || fail "map.csv header"
[ "$(wc -l <"$dir/a/map.csv")" -eq $((count + 1)) ] || fail "map.csv has not one row per code"
python3 - "$dir/a.json" "$dir/a/map.json" "$count" <<'PY' || fail "map.json"
import json, sys
printed, written = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert printed == written, "--json prints map.json"
assert written["method"] == "neighbors" and written["count"] == int(sys.argv[3])
assert written["settings"]["neighbors"] == 15 and written["settings"]["seed"] == 3
assert 0 < written["recall"]["value"] <= 1 and written["recall"]["k"] == 10
s = written["settings"]
assert s["min_dist"] == 0.1 and abs(s["a"] - 1.577) < 0.01 and abs(s["b"] - 0.895) < 0.01, s
# 15 neighbours count the face itself (umap-learn's n_neighbors): 14 others; every dimension searched.
assert s["knn"]["method"] == "exact" and s["knn"]["k"] == 14 and "recall" not in s["knn"], s["knn"]
assert s["knn"]["dims"] > 4 and s["knn"]["variance"] == 1.0, s["knn"]
assert s["start"] in ("spectral", "pca"), s
assert 0 < written["preservation"]["mean"] <= 1 and written["preservation"]["k"] == 10
PY
# Each face's preserved share is one of k + 1 steps; their mean is map.json's.
python3 - "$dir/a/map.csv" "$dir/a/map.json" <<'PY' || fail "map.csv's preserved column"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
values = [float(r["preserved"]) for r in rows]
assert all(round(v * 10, 4) == round(v * 10) and 0 <= v <= 1 for v in values), values[:10]
mean = json.load(open(sys.argv[2]))["preservation"]["mean"]
assert abs(sum(values) / len(values) - mean) < 1e-4, (sum(values) / len(values), mean)
PY
# The approximate graph on request: its recall against the exact search recorded, the layout's
# settings as given.
"$cli" map --codes "$codes" --out "$dir/h" --knn hnsw --knn-dims 4 --min-dist 0.5 --epochs 30 --json >"$dir/h.json" \
    || fail "hnsw map failed"
python3 - "$dir/h.json" <<'PY' || fail "hnsw map.json"
import json, sys
s = json.load(open(sys.argv[1]))["settings"]
assert s["knn"]["method"] == "hnsw" and 0.5 <= s["knn"]["recall"]["value"] <= 1, s["knn"]
assert s["knn"]["dims"] == 4 and 0 < s["knn"]["variance"] < 1, s["knn"]
assert s["min_dist"] == 0.5 and s["epochs"] == 30 and abs(s["b"] - 0.895) > 0.05, s
PY
if "$cli" map --codes "$codes" --out "$dir/x" --knn faiss 2>"$dir/err"; then fail "--knn faiss accepted"; fi
grep -q "exact, hnsw or auto" "$dir/err" || fail "--knn message"
if "$cli" map --codes "$codes" --out "$dir/x" --min-dist 2 2>"$dir/err"; then fail "--min-dist 2 accepted"; fi
if "$cli" map --codes "$codes" --out "$dir/x" --knn-dims some 2>"$dir/err"; then fail "--knn-dims some accepted"; fi
grep -q "auto, all or a number" "$dir/err" || fail "--knn-dims message"
if "$cli" map --codes "$codes" --out "$dir/x" --threads 0 2>"$dir/err"; then fail "--threads 0 accepted"; fi
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
