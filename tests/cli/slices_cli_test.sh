#!/usr/bin/env bash
# faceatlas-cli slices on a tiny demo run: the files and columns of the contract, one row per slice,
# the same figures from the same seed, and clear errors (an unknown attribute, an autoencoder run,
# a preparation of another image size).
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
[ "$(head -1 "$dir/s/slices.csv")" = "by,slice,n,mae,mae_lo,mae_hi,bias,bias_lo,bias_hi,baseline_mae,equal_weight_mae,flag" ] \
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
"$cli" prepare --source demo:100 --out "$dir/data48" --size 48 >/dev/null 2>&1 || fail "prepare 48 failed"
if "$cli" slices --run "$dir/age" --data "$dir/data48" --out "$dir/x" 2>"$dir/err"; then
    fail "a preparation of another size was accepted"
fi
grep -q "32" "$dir/err" && grep -q "48" "$dir/err" || fail "another size: $(cat "$dir/err")"
[ ! -e "$dir/x/slices.csv" ] || fail "a refused report wrote files"

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
