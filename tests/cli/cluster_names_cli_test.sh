#!/usr/bin/env bash
# faceatlas-cli cluster's labels and cluster-name on the tiny demo pipeline: the labels printed and
# kept in cluster_names.json, a name that survives, an old clustering without the file, and a
# hostile names file refused naming it and left as it was.
# Usage: cluster_names_cli_test.sh FACEATLAS-CLI
set -euo pipefail
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "cluster_names_cli_test: $*" >&2; exit 1; }
export FACEATLAS_CACHE_DIR=$dir/cache

"$cli" demo --faces 200 --epochs 1 --out "$dir/demo" >/dev/null 2>&1 || fail "demo failed"
"$cli" cluster --codes "$dir/demo/codes" --out "$dir/c" --k 3 >"$dir/out" || fail "cluster failed"
c=$dir/c
[ -f "$c/cluster_names.json" ] || fail "no cluster_names.json"
# The printed table holds each cluster's automatic label, as the file does.
python3 - "$c/cluster_names.json" "$dir/out" <<'PY' || fail "labels printed and kept"
import json, sys
names = json.load(open(sys.argv[1]))
out = open(sys.argv[2], encoding="utf-8").read()
assert names["k"] == 3 and len(names["clusters"]) == 3, names["k"]
assert sum(c["summary"]["size"] for c in names["clusters"]) == names["all"]["size"]
for c in names["clusters"]:
    assert c["name"] == "" and c["label"], c
    assert c["label"] in out, (c["label"], out)
PY

# A name is kept, listed, and given back to its automatic label with an empty one.
"$cli" cluster-name --clusters "$c" --cluster 1 --name "Grey hair" >"$dir/out" 2>"$dir/err" || fail "naming failed"
grep -q "Grey hair" "$dir/out" || fail "the list does not show the name"
"$cli" cluster-name --clusters "$c" --json >"$dir/names.json" || fail "--json failed"
python3 -c "import json,sys; n=json.load(open(sys.argv[1])); assert n['clusters'][1]['name']=='Grey hair', n" \
    "$dir/names.json" || fail "the name was not kept"
cmp -s "$dir/names.json" "$c/cluster_names.json" || fail "--json does not print cluster_names.json"

expect_error() { # expect_error WHAT TEXT COMMAND...: the command fails and says TEXT
    local what=$1 text=$2
    shift 2
    if "$@" >"$dir/out" 2>"$dir/err"; then fail "$what: succeeded"; fi
    grep -qF -- "$text" "$dir/err" || fail "$what: said '$(cat "$dir/err")', not '$text'"
}
expect_error "cluster out of range" "--cluster must be a cluster of" \
    "$cli" cluster-name --clusters "$c" --cluster 3 --name x
expect_error "name with a line break" "control characters" \
    "$cli" cluster-name --clusters "$c" --cluster 0 --name "$(printf 'a\nb')"
expect_error "name without a cluster" "give --cluster N and --name TEXT together" \
    "$cli" cluster-name --clusters "$c" --name x

# Hostile names files: refused naming the file, and never written over.
cp "$c/cluster_names.json" "$dir/good.json"
python3 - "$c/cluster_names.json" <<'PY'
import json, sys
n = json.load(open(sys.argv[1]))
n["clusters"].pop()
json.dump(n, open(sys.argv[1], "w"))
PY
cp "$c/cluster_names.json" "$dir/bad.json"
expect_error "wrong cluster count" "$c/cluster_names.json: holds 2 clusters; the clustering has 3" \
    "$cli" cluster-name --clusters "$c" --cluster 0 --name x
cmp -s "$c/cluster_names.json" "$dir/bad.json" || fail "a refused names file was written over"
head -c 300 /dev/urandom >"$c/cluster_names.json"
cp "$c/cluster_names.json" "$dir/bad.json"
expect_error "junk" "$c/cluster_names.json: not JSON" "$cli" cluster-name --clusters "$c"
cmp -s "$c/cluster_names.json" "$dir/bad.json" || fail "a junk names file was written over"

# A clustering made before names were kept: listed from its preparation, saved with its first name.
rm "$c/cluster_names.json"
"$cli" cluster-name --clusters "$c" >"$dir/out" 2>"$dir/err" || fail "an old clustering does not open"
grep -q "made before FaceAtlas kept cluster names" "$dir/err" || fail "no note for an old clustering"
[ ! -e "$c/cluster_names.json" ] || fail "listing wrote the names file"
"$cli" cluster-name --clusters "$c" --cluster 2 --name "Kids" >/dev/null 2>&1 || fail "naming an old clustering"
python3 - "$c/cluster_names.json" "$dir/good.json" <<'PY' || fail "an old clustering's summaries"
import json, sys
now, before = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert now["clusters"][2]["name"] == "Kids"
for a, b in zip(now["clusters"], before["clusters"]):
    assert a["summary"] == b["summary"] and a["label"] == b["label"], (a, b)
PY
echo "cluster_names_cli_test: ok"
