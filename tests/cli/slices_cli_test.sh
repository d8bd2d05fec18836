#!/usr/bin/env bash
# faceatlas-cli slices on a tiny demo run: the files and columns of the contract, one row per slice,
# the same figures from the same seed, and clear errors (an unknown attribute, an autoencoder run,
# a preparation of another image size); --audit's counts; a CSV source's further column as a slice.
# Usage: slices_cli_test.sh FACEATLAS-CLI
set -euo pipefail
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "slices_cli_test: $*" >&2; exit 1; }

"$cli" prepare --source demo:300 --out "$dir/data" --size 32 >/dev/null 2>&1 || fail "prepare failed"
"$cli" train --model age --data "$dir/data" --out "$dir/age" --epochs 1 >/dev/null 2>&1 || fail "train failed"

"$cli" slices --run "$dir/age" --data "$dir/data" --out "$dir/s" --by gender --by age_decade --by gender,age_decade \
    --boot 200 --split all --json >"$dir/s.json" 2>"$dir/err" || { cat "$dir/err" >&2; fail "slices failed"; }
[ "$(head -1 "$dir/s/slices.csv")" = "by,slice,n,mae,mae_lo,mae_hi,bias,bias_lo,bias_hi,baseline_mae,equal_weight_mae,flag,audit_flagged,audit_share" ] \
    || fail "slices.csv header"
python3 - "$dir/s.json" "$dir/s/slices.json" "$dir/s/slices.csv" <<'PY' || fail "slices.json / slices.csv"
import csv, json, sys
printed, written = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert printed == written, "--json prints slices.json"
assert written["format"] == "faceatlas-slices" and written["data_fingerprint"]
assert written["settings"]["boot"] == 200 and written["settings"]["split"] == "all"
rows = list(csv.DictReader(open(sys.argv[3])))
assert rows[0]["by"] == "all" and rows[0]["slice"] == "all"
total = int(rows[0]["n"])
for by in ("gender", "age_decade", "gender,age_decade"):
    part = [r for r in rows if r["by"] == by]
    assert part, by
    assert sum(int(r["n"]) for r in part) + written["faces_without_value"][by] == total, by
for r in rows:
    assert float(r["mae_lo"]) <= float(r["mae"]) <= float(r["mae_hi"]), r
    assert float(r["bias_lo"]) <= float(r["bias"]) <= float(r["bias_hi"]), r
    assert (r["flag"] == "small") == (int(r["n"]) < 30), r
assert any("," in r["slice"] for r in rows if r["by"] == "gender,age_decade")
assert all(r["audit_flagged"] == "" and r["audit_share"] == "" for r in rows), "no --audit: empty"
assert written["audit"] is None
PY
"$cli" slices --run "$dir/age" --data "$dir/data" --out "$dir/s2" --by gender --by age_decade --by gender,age_decade \
    --boot 200 --split all >/dev/null 2>&1 || fail "second slices failed"
cmp -s "$dir/s/slices.csv" "$dir/s2/slices.csv" || fail "the same seed gave other figures"

if "$cli" slices --run "$dir/age" --data "$dir/data" --out "$dir/x" --by height 2>"$dir/err"; then
    fail "an unknown attribute was accepted"
fi
grep -q "height" "$dir/err" && grep -q "age_decade" "$dir/err" || fail "unknown attribute: $(cat "$dir/err")"
"$cli" train --model autoencoder --data "$dir/data" --out "$dir/ae" --epochs 1 >/dev/null 2>&1 || fail "ae failed"
if "$cli" slices --run "$dir/ae" --data "$dir/data" --out "$dir/x" 2>"$dir/err"; then fail "an autoencoder run was accepted"; fi
grep -q "no age predictions" "$dir/err" || fail "autoencoder run: $(cat "$dir/err")"

# --by cluster with --clusters: one slice per cluster, each of the faces assignments.csv gives it.
"$cli" encode --run "$dir/ae" --data "$dir/data" --out "$dir/codes" >/dev/null 2>&1 || fail "encode failed"
"$cli" cluster --codes "$dir/codes" --out "$dir/clusters" --k 3 >/dev/null 2>&1 || fail "cluster failed"
"$cli" slices --run "$dir/age" --data "$dir/data" --out "$dir/sc" --clusters "$dir/clusters" --by cluster \
    --by gender,cluster --boot 50 --split all >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; fail "slices --by cluster failed"; }
python3 - "$dir/sc/slices.csv" "$dir/clusters/assignments.csv" <<'PY' || fail "slices by cluster"
import collections, csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
per = {r["slice"]: int(r["n"]) for r in rows if r["by"] == "cluster"}
counts = collections.Counter(r["cluster"] for r in csv.DictReader(open(sys.argv[2])) if r["cluster"] != "-1")
assert len(per) == 3 and per == dict(counts), (per, counts)
assert any(r["by"] == "gender,cluster" for r in rows)
PY
if "$cli" slices --run "$dir/age" --data "$dir/data" --out "$dir/x" --by cluster 2>"$dir/err"; then
    fail "--by cluster without --clusters was accepted"
fi
grep -q -- "--clusters" "$dir/err" || fail "cluster without --clusters: $(cat "$dir/err")"
"$cli" prepare --source demo:120 --out "$dir/other" --size 32 >/dev/null 2>&1 || fail "prepare other failed"
if "$cli" slices --run "$dir/age" --data "$dir/other" --out "$dir/x" --clusters "$dir/clusters" --by cluster \
    2>"$dir/err"; then
    fail "a clustering of another preparation was accepted"
fi
grep -q "another preparation" "$dir/err" && grep -q "clusters" "$dir/err" || fail "other clustering: $(cat "$dir/err")"
# A clustering from before FaceAtlas recorded the preparation (no data_fingerprint) is matched on
# its paths alone, and the report says so; a metrics.json past the manifest limit is refused, named.
cp -r "$dir/clusters" "$dir/oldclusters"
python3 - "$dir/oldclusters/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); del m["data_fingerprint"]; json.dump(m, open(sys.argv[1], "w"))
PY
"$cli" slices --run "$dir/age" --data "$dir/data" --out "$dir/so" --clusters "$dir/oldclusters" --by cluster \
    --boot 20 --split all >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; fail "slices of an old clustering failed"; }
grep -q "note: .*metrics.json does not say which preparation" "$dir/err" || fail "old clustering: no note: $(cat "$dir/err")"
grep -q "paths alone" "$dir/so/slices.json" || fail "old clustering: slices.json has no note"
cp -r "$dir/clusters" "$dir/bigclusters"
truncate -s 17M "$dir/bigclusters/metrics.json"
if "$cli" slices --run "$dir/age" --data "$dir/data" --out "$dir/x" --clusters "$dir/bigclusters" --by cluster \
    2>"$dir/err"; then
    fail "a metrics.json of 17 MB was read"
fi
grep -q "metrics.json: .*more than the" "$dir/err" || fail "big metrics.json: $(cat "$dir/err")"
"$cli" prepare --source demo:100 --out "$dir/data48" --size 48 >/dev/null 2>&1 || fail "prepare 48 failed"
if "$cli" slices --run "$dir/age" --data "$dir/data48" --out "$dir/x" 2>"$dir/err"; then
    fail "a preparation of another size was accepted"
fi
grep -q "32" "$dir/err" && grep -q "48" "$dir/err" || fail "another size: $(cat "$dir/err")"
[ ! -e "$dir/x/slices.csv" ] || fail "a refused report wrote files"

# --audit: per slice, the faces the label audit flags; an audit of another preparation is refused.
"$cli" audit --data "$dir/data" --out "$dir/audit" --folds 2 --epochs 1 --device cpu >/dev/null 2>&1 || fail "audit failed"
"$cli" slices --run "$dir/age" --data "$dir/data" --out "$dir/sa" --by gender --boot 20 --split all \
    --audit "$dir/audit" >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; fail "slices --audit failed"; }
python3 - "$dir/sa/slices.csv" "$dir/sa/slices.json" "$dir/audit/suspects.csv" <<'PY' || fail "slices --audit columns"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
flagged = sum(1 for s in csv.DictReader(open(sys.argv[3])) if s["reasons"] and s["age"])
assert int(rows[0]["audit_flagged"]) == flagged, (rows[0], flagged)
genders = [r for r in rows if r["by"] == "gender"]
assert genders and sum(int(r["audit_flagged"]) for r in genders) <= flagged
for r in rows:
    assert abs(float(r["audit_share"]) - int(r["audit_flagged"]) / int(r["n"])) < 1e-3, r
written = json.load(open(sys.argv[2]))
assert written["audit"]["dir"].endswith("/audit") and written["audit"]["flagged"] == flagged, written["audit"]
PY
if "$cli" slices --run "$dir/age" --data "$dir/other" --out "$dir/x" --audit "$dir/audit" 2>"$dir/err"; then
    fail "an audit of another preparation was accepted"
fi
grep -q "another preparation" "$dir/err" && grep -q "audit" "$dir/err" || fail "other audit: $(cat "$dir/err")"

# A CSV source's further column, kept through export and prepare, is a slice; --help and errors name it.
"$cli" export --data "$dir/data" --out "$dir/faces.csv" >/dev/null || fail "export failed"
python3 - "$dir/faces.csv" <<'PY' || fail "adding a column"
import sys
lines = open(sys.argv[1]).read().splitlines()
out = [lines[0] + ",site,race"] + [line + ",site %d,r%d" % (i % 3, i % 2) for i, line in enumerate(lines[1:])]
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
"$cli" prepare --source "csv:$dir/faces.csv" --out "$dir/datacsv" --size 32 --framing centre-crop --no-age-filter \
    --min-image-size 0 --no-face-score-filter >"$dir/prep.txt" 2>&1 || fail "prepare csv failed"
# A column named as a slice attribute is kept as csv_NAME, and the report says so.
grep -q "further columns: .*'race' is kept as 'csv_race'" "$dir/prep.txt" || fail "race not renamed: $(cat "$dir/prep.txt")"
"$cli" slices --run "$dir/age" --data "$dir/datacsv" --out "$dir/ss" --by site --by gender,site --boot 20 \
    --split all >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; fail "slices --by site failed"; }
python3 - "$dir/ss/slices.csv" <<'PY' || fail "slices by a CSV column"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
site = {r["slice"]: int(r["n"]) for r in rows if r["by"] == "site"}
assert sorted(site) == ["site 0", "site 1", "site 2"] and sum(site.values()) == int(rows[0]["n"]), site
assert any(r["by"] == "gender,site" for r in rows)
PY
"$cli" slices --help --data "$dir/datacsv" | grep -q "^    site$" || fail "--help does not list the column"
"$cli" slices --help --data "$dir/datacsv" | grep -q "^    csv_race$" || fail "--help does not list csv_race"
"$cli" slices --run "$dir/age" --data "$dir/datacsv" --out "$dir/sr" --by csv_race --boot 20 \
    --split all >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; fail "slices --by csv_race failed"; }
python3 - "$dir/sr/slices.csv" <<'PY' || fail "slices by csv_race"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert sorted(r["slice"] for r in rows if r["by"] == "csv_race") == ["r0", "r1"], rows
PY
if "$cli" slices --run "$dir/age" --data "$dir/datacsv" --out "$dir/x" --by height 2>"$dir/err"; then
    fail "an unknown attribute was accepted (csv)"
fi
grep -q "site" "$dir/err" || fail "unknown attribute does not list the columns: $(cat "$dir/err")"

# The matrix: every run on every preparation; a cell of another image size says why, the others run.
"$cli" evaluate --run "$dir/age" --data "$dir/data,$dir/data48" --split all --json >"$dir/m.json" 2>"$dir/err" \
    || { cat "$dir/err" >&2; fail "evaluate matrix failed"; }
python3 - "$dir/m.json" <<'PY' || fail "evaluate matrix json"
import json, sys
m = json.load(open(sys.argv[1]))
cells = m["cells"]
assert m["split"] == "all" and len(cells) == 2, m
ok, refused = cells
assert ok["n"] > 0 and ok["mae"] >= 0 and "bias" in ok and ok["baseline_mae"] > 0 and "error" not in ok, ok
assert "48" in refused["error"] and "mae" not in refused, refused
PY
echo "slices_cli_test: ok"
