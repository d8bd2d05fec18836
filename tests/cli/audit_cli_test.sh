#!/usr/bin/env bash
# faceatlas-cli audit, prepare --review and export on a small demo dataset with a planted copy: the
# files, columns and order of the contract, a rerun that reuses the folds, and clear errors.
# Usage: audit_cli_test.sh FACEATLAS-CLI
set -euo pipefail
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "audit_cli_test: $*" >&2; exit 1; }
export FACEATLAS_CACHE_DIR=$dir/cache FACEATLAS_WORKSPACE=$dir/workspace

# 60 demo faces, exported as CSV, plus an exact copy of the first face labelled 30 years older.
"$cli" prepare --source demo:60 --out "$dir/demo" --size 32 --no-age-filter --min-image-size 0 \
    --no-face-score-filter --keep-multiple-faces >/dev/null || fail "prepare demo failed"
"$cli" export --data "$dir/demo" --out "$dir/faces.csv" >/dev/null || fail "export failed"
[ "$(head -1 "$dir/faces.csv")" = "path,age,gender,split" ] || fail "export header"
[ "$(wc -l <"$dir/faces.csv")" -eq 61 ] || fail "export rows"
python3 - "$dir/faces.csv" "$dir/copy.jpg" <<'PY'
import csv, shutil, sys
rows = list(csv.DictReader(open(sys.argv[1])))
shutil.copyfile(rows[0]["path"], sys.argv[2])
with open(sys.argv[1], "a") as f:
    f.write("%s,%d,%s,train\n" % (sys.argv[2], int(rows[0]["age"]) + 30, rows[0]["gender"]))
PY
"$cli" prepare --source "csv:$dir/faces.csv" --out "$dir/prepared" --size 32 --no-age-filter \
    --min-image-size 0 --no-face-score-filter --keep-multiple-faces --val-fraction 0.5 >/dev/null \
    || fail "prepare csv failed"

"$cli" audit --data "$dir/prepared" --out "$dir/audit" --folds 2 --epochs 1 --seed 3 --device cpu --json \
    >"$dir/audit.json" || fail "audit failed"
[ "$(head -1 "$dir/audit/suspects.csv")" = "path,split,age,gender,predicted,predicted_sd,score,reasons" ] \
    || fail "suspects.csv header"
[ "$(head -1 "$dir/audit/duplicates.csv")" = "group,path,split,age,gender,kind,distance" ] \
    || fail "duplicates.csv header"
[ "$(wc -l <"$dir/audit/suspects.csv")" -eq 62 ] || fail "suspects.csv has not one row per face"
python3 - "$dir" <<'PY' || fail "audit contract"
import csv, json, os, struct, sys
d = sys.argv[1]
printed, written = json.load(open(d + "/audit.json")), json.load(open(d + "/audit/audit.json"))
assert printed == written, "--json prints audit.json"
s = written["settings"]
assert (s["folds"], s["epochs"], s["seed"], s["model"]) == (2, 1, 3, "age"), s
rows = list(csv.DictReader(open(d + "/audit/suspects.csv")))
scores = [float(r["score"]) for r in rows]
assert scores == sorted(scores, reverse=True), "suspects.csv is not highest score first"
faces = {r["path"] for r in csv.DictReader(open(d + "/faces.csv"))}
assert {r["path"] for r in rows} == faces, "suspects.csv paths are not the prepared records' paths"
assert all(r["split"] in ("train", "val") and r["predicted"] and r["predicted_sd"] for r in rows)
copy = next(r for r in rows if r["path"] == d + "/copy.jpg")
for token in ("exact_duplicate", "duplicate_conflict"):
    assert token in copy["reasons"].split(";"), copy
dups = list(csv.DictReader(open(d + "/audit/duplicates.csv")))
group = [r for r in dups if r["group"] == next(x["group"] for x in dups if x["path"] == d + "/copy.jpg")]
assert len(group) == 2 and all(r["kind"] == "exact" and r["distance"] == "0" for r in group), group
assert written["duplicates"]["groups"] >= 1 and written["conflicts"] >= 1
assert written["reasons"]["exact_duplicate"] >= 2
leaks = sum(1 for g in {r["group"] for r in dups} if len({r["split"] for r in dups if r["group"] == g}) == 2)
assert written["leaking_groups"] == leaks
PY
"$cli" audit --data "$dir/prepared" --out "$dir/audit" --folds 2 --epochs 1 --seed 3 --device cpu --json \
    | python3 -c "import json,sys; assert json.load(sys.stdin)['oof']['folds_reused'] == 2" \
    || fail "a rerun did not reuse the finished folds"

# A review: exclude the copy, correct an age; prepare applies it and says so.
first=$(sed -n 2p "$dir/faces.csv" | cut -d, -f1)
printf 'path,action,old,new,reason,time\n%s,exclude,,,exact_duplicate,2026-12-02T10:00:00Z\n%s,age,1,44,age_outlier,2026-12-02T10:00:01Z\n' \
    "$dir/copy.jpg" "$first" >"$dir/review.csv"
"$cli" prepare --source "csv:$dir/faces.csv" --out "$dir/cleaned" --size 32 --no-age-filter --min-image-size 0 \
    --no-face-score-filter --keep-multiple-faces --review "$dir/review.csv" --json >"$dir/report.json" \
    || fail "prepare --review failed"
python3 - "$dir/report.json" <<'PY' || fail "prepare --review report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["review"]["excluded"] == 1 and r["review"]["age_corrected"] == 1, r["review"]
step = r["steps"][-1]
assert step["name"] == "excluded in review" and step["removed"] == 1 and step["remaining"] == 60, step
PY
"$cli" export --data "$dir/cleaned" --out "$dir/cleaned.csv" >/dev/null || fail "export of the cleaned data failed"
grep -q "^$first,44," "$dir/cleaned.csv" || fail "the corrected age is not in the export"
! grep -q "copy.jpg" "$dir/cleaned.csv" || fail "the excluded face is in the export"

if "$cli" audit --data "$dir/nothing" --out "$dir/x" 2>"$dir/err"; then fail "missing data accepted"; fi
grep -q "nothing" "$dir/err" || fail "missing data message does not name the folder"
if "$cli" audit --data "$dir/prepared" --out "$dir/x" --folds 1 2>/dev/null; then fail "--folds 1 accepted"; fi
if "$cli" prepare --source "csv:$dir/faces.csv" --out "$dir/y" --review "$dir/none.csv" 2>"$dir/err"; then
    fail "a missing review file accepted"
fi
grep -q "none.csv" "$dir/err" || fail "missing review message does not name the file"
echo "audit_cli_test: ok"
