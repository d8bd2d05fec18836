#!/usr/bin/env bash
# faceatlas-cli's quality columns (issue 29): prepare measures them on each stored face, export
# --quality writes them, a quality step removes exactly the faces below its threshold (and the
# report counts them), a missing BRISQUE model is a clear error naming opencv-data, and a
# preparation made before the columns is refused with a message that says to prepare it again.
# Usage: quality_cli_test.sh FACEATLAS-CLI
set -euo pipefail
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "quality_cli_test: $*" >&2; exit 1; }

"$cli" prepare --source demo:200 --out "$dir/prepared" --balance none >/dev/null 2>&1 || fail "prepare failed"
"$cli" export --data "$dir/prepared" --out "$dir/all.csv" --quality >/dev/null || fail "export --quality failed"
head -1 "$dir/all.csv" | grep -qx "path,age,gender,split,sharpness,brightness,contrast,colourfulness,brisque" \
    || fail "export --quality header: $(head -1 "$dir/all.csv")"
# The median sharpness as the threshold: the faces below it are what the step must remove.
read -r threshold below < <(python3 - "$dir/all.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
values = sorted(float(r["sharpness"]) for r in rows)
t = values[len(values) // 2]
print(t, sum(1 for v in values if v < t))
PY
)
[ "$below" -gt 0 ] || fail "no face below the median sharpness"
"$cli" prepare --source demo:200 --out "$dir/prepared" --balance none --min-sharpness "$threshold" --json \
    >"$dir/report.json" 2>/dev/null || fail "prepare --min-sharpness failed"
python3 - "$dir/report.json" "$below" <<'PY' || fail "the report's quality step: $(cat "$dir/report.json")"
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
step = steps[-1]
assert step["name"] == "blurred (sharpness below)", step
assert step["removed"] == int(sys.argv[2]), (step, sys.argv[2])
PY
"$cli" export --data "$dir/prepared" --out "$dir/kept.csv" --quality >/dev/null || fail "export after the step"
python3 - "$dir/kept.csv" "$threshold" <<'PY' || fail "a face below the threshold was kept"
import csv, sys
assert all(float(r["sharpness"]) >= float(sys.argv[2]) for r in csv.DictReader(open(sys.argv[1])))
PY
grep -q "min-sharpness" <("$cli" prepare --help) || fail "prepare --help does not list --min-sharpness"
grep -q "sharpness" <("$cli" slices --help) || fail "slices --help does not list the quality attributes"

# No BRISQUE model: an error that names the file and the package.
if FACEATLAS_BRISQUE_MODELS="$dir/none" "$cli" prepare --source demo:40 --out "$dir/p2" >/dev/null 2>"$dir/err"; then
    fail "prepare without the BRISQUE model succeeded"
fi
grep -q "brisque_model_live.yml" "$dir/err" && grep -q "opencv-data" "$dir/err" || fail "missing model: $(cat "$dir/err")"

# A preparation from before the quality columns: export --quality says so, plain export works.
python3 - "$dir/prepared/prepared.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
del m["quality"]
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
rm "$dir/prepared/quality.f32"
"$cli" export --data "$dir/prepared" --out "$dir/old.csv" >/dev/null || fail "plain export of an older preparation"
if "$cli" export --data "$dir/prepared" --out "$dir/old.csv" --quality >/dev/null 2>"$dir/err"; then
    fail "export --quality of a preparation without quality columns succeeded"
fi
grep -q "prepared before FaceAtlas measured image quality" "$dir/err" || fail "older preparation: $(cat "$dir/err")"
echo "quality_cli_test: ok"
