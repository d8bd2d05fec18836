#!/usr/bin/env bash
# faceatlas-cli history and diff on two preparations of one demo source with a review between them:
# the versions listed oldest first, a face excluded by the review shown as removed "by review", a
# corrected age as relabelled, the age step's drops attributed to the step; diff.csv and diff.json;
# clear errors naming the file (a folder that is not a preparation, two sources); history --remove
# refuses a folder that is not a preparation and removes a kept version.
# Usage: history_cli_test.sh FACEATLAS-CLI
set -euo pipefail
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "history_cli_test: $*" >&2; exit 1; }

"$cli" prepare --source demo:80 --out "$dir/prepared/demo" --size 16 --balance none >/dev/null 2>&1 || fail "prepare A failed"
# Two faces aged 20-45 of A: one excluded, one relabelled (+5 years) by the review.
"$cli" export --data "$dir/prepared/demo" --out "$dir/a.csv" >/dev/null 2>&1 || fail "export failed"
python3 - "$dir/a.csv" "$dir/review.csv" "$dir/picked" <<'PY' || fail "writing the review"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["age"] and 20 <= int(r["age"]) <= 45]
excluded, relabelled = rows[0], rows[1]
with open(sys.argv[2], "w") as f:
    f.write("path,action,old,new,reason,time\n")
    f.write(f'{excluded["path"]},exclude,,,not a face,2000-01-01T00:00:00Z\n')
    f.write(f'{relabelled["path"]},age,{relabelled["age"]},{int(relabelled["age"]) + 5},older,2000-01-01T00:00:00Z\n')
open(sys.argv[3], "w").write(excluded["path"] + "\n" + relabelled["path"] + "\n")
PY
excluded=$(sed -n 1p "$dir/picked"); relabelled=$(sed -n 2p "$dir/picked")
"$cli" prepare --source demo:80 --out "$dir/prepared/demo" --size 16 --balance none --age-max 50 \
    --review "$dir/review.csv" --keep-earlier >"$dir/prep.out" 2>&1 || { cat "$dir/prep.out" >&2; fail "prepare B failed"; }
grep -q "kept as" "$dir/prep.out" || fail "prepare --keep-earlier did not say where: $(cat "$dir/prep.out")"
kept=$(ls -d "$dir"/prepared/versions/demo-* | head -1)
[ -f "$kept/prepared.json" ] || fail "no kept version"

"$cli" history --data "$dir/prepared/demo" >"$dir/history.txt" 2>"$dir/err" || { cat "$dir/err" >&2; fail "history failed"; }
grep -q "2 versions" "$dir/history.txt" || fail "history: $(cat "$dir/history.txt")"
grep -q "2 decisions: 1 excl, 1 relabel" "$dir/history.txt" || fail "history review: $(cat "$dir/history.txt")"
"$cli" history --data "$dir/prepared/demo" --json >"$dir/history.json" || fail "history --json"
python3 - "$dir/history.json" "$kept" <<'PY' || fail "history.json"
import json, os, sys
h = json.load(open(sys.argv[1]))
v = h["versions"]
assert len(v) == 2 and v[0]["kept"] and not v[1]["kept"], v
assert os.path.samefile(v[0]["dir"], sys.argv[2])
assert v[0]["created"] <= v[1]["created"] and v[0]["fingerprint"] != v[1]["fingerprint"]
assert v[1]["review_excluded"] == 1 and v[1]["review_age_corrected"] == 1 and v[0]["bytes"] > 0
PY

"$cli" diff "$kept" "$dir/prepared/demo" --out "$dir/diff" >"$dir/diff.txt" 2>"$dir/err" || { cat "$dir/err" >&2; fail "diff failed"; }
grep -q "^removed: .*1 by review" "$dir/diff.txt" || fail "diff summary: $(cat "$dir/diff.txt")"
grep -q "^relabelled: 1 (1 by review)" "$dir/diff.txt" || fail "diff summary: $(cat "$dir/diff.txt")"
python3 - "$dir/diff/diff.csv" "$dir/diff/diff.json" "$excluded" "$relabelled" <<'PY' || fail "diff.csv / diff.json"
import csv, json, sys
rows = {r["path"]: r for r in csv.DictReader(open(sys.argv[1]))}
ex, rel = rows[sys.argv[3]], rows[sys.argv[4]]
assert ex["change"] == "removed" and ex["cause"] == "review" and "excluded in review" in ex["detail"], ex
assert rel["change"] == "relabelled" and rel["cause"] == "review", rel
assert int(rel["new_age"]) == int(rel["old_age"]) + 5, rel
steps = [r for r in rows.values() if r["cause"] == "step"]
assert steps and all(r["change"] == "removed" and r["detail"] == "age outside range (ages 15-50)"
                     and int(r["old_age"]) > 50 for r in steps), steps
j = json.load(open(sys.argv[2]))
assert j["format"] == "faceatlas-diff" and len(j["changes"]) == len(rows)
assert j["counts"]["removed"]["by_cause"]["step"] == len(steps)
PY

# Hostile inputs: errors that name the file.
mkdir -p "$dir/mine" && echo mine >"$dir/mine/notes.txt"
if "$cli" diff "$dir/mine" "$dir/prepared/demo" 2>"$dir/err"; then fail "a folder that is not a preparation was compared"; fi
grep -q "$dir/mine/prepared.json" "$dir/err" || fail "not a preparation: $(cat "$dir/err")"
"$cli" prepare --source demo:30 --out "$dir/other" --size 16 >/dev/null 2>&1 || fail "prepare other failed"
"$cli" export --data "$dir/other" --out "$dir/other.csv" >/dev/null 2>&1 || fail "export other failed"
"$cli" prepare --source "csv:$dir/other.csv" --framing centre-crop --min-image-size 0 --out "$dir/csvprep" --size 16 \
    >/dev/null 2>&1 || fail "prepare csv failed"
if "$cli" diff "$dir/other" "$dir/csvprep" 2>"$dir/err"; then fail "two sources were compared"; fi
grep -q "$dir/csvprep/prepared.json" "$dir/err" && grep -q "one source" "$dir/err" || fail "two sources: $(cat "$dir/err")"
if "$cli" diff "$dir/other" 2>"$dir/err"; then fail "one folder was accepted"; fi

# Removal: refused for a folder that is not a preparation and for --data itself; a kept version goes.
if "$cli" history --data "$dir/prepared/demo" --remove "$dir/mine" 2>"$dir/err"; then fail "removed a user's folder"; fi
grep -q "not a FaceAtlas preparation" "$dir/err" || fail "remove mine: $(cat "$dir/err")"
[ -f "$dir/mine/notes.txt" ] || fail "the user's file is gone"
if "$cli" history --data "$dir/prepared/demo" --remove "$dir/prepared/demo" 2>/dev/null; then fail "removed --data"; fi
"$cli" history --data "$dir/prepared/demo" --remove "$kept" >"$dir/rm.txt" 2>"$dir/err" || { cat "$dir/err" >&2; fail "remove failed"; }
grep -q "freed" "$dir/rm.txt" || fail "remove: $(cat "$dir/rm.txt")"
[ ! -e "$kept" ] || fail "the kept version is still there"
grep -q "1 versions" <("$cli" history --data "$dir/prepared/demo") || fail "history after removal"
echo "history_cli_test: ok"
