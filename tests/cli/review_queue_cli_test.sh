#!/usr/bin/env bash
# faceatlas-cli review-queue on a tiny demo pipeline: the three orders (the audit's, the spread
# largest first, the most informative with codes and a review), the fallback without codes said on
# the first line, and clear errors.
# Usage: review_queue_cli_test.sh FACEATLAS-CLI
set -euo pipefail
cli=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "review_queue_cli_test: $*" >&2; exit 1; }
export FACEATLAS_CACHE_DIR=$dir/cache FACEATLAS_WORKSPACE=$dir/workspace

# 120 demo faces through a CSV (whose faces have no face score, so the audit flags every one: a full
# queue), an autoencoder of one epoch and its codes, and an audit.
opts=(--size 32 --no-age-filter --min-image-size 0 --no-face-score-filter --keep-multiple-faces)
"$cli" prepare --source demo:120 --out "$dir/demo" "${opts[@]}" >/dev/null || fail "prepare demo failed"
"$cli" export --data "$dir/demo" --out "$dir/faces.csv" >/dev/null || fail "export failed"
data=$dir/prepared
codes=$dir/codes
"$cli" prepare --source "csv:$dir/faces.csv" --out "$data" "${opts[@]}" >/dev/null || fail "prepare csv failed"
"$cli" train --model autoencoder --data "$data" --out "$dir/ae" --epochs 1 --device cpu >/dev/null \
    || fail "train failed"
"$cli" encode --run "$dir/ae" --data "$data" --out "$codes" --device cpu >/dev/null 2>&1 || fail "encode failed"
"$cli" audit --data "$data" --out "$dir/audit" --folds 2 --epochs 1 --seed 3 --device cpu >/dev/null \
    || fail "audit failed"

q() { "$cli" review-queue --data "$data" --audit "$dir/audit" --limit 0 --csv "$@"; }
q >"$dir/score.csv" 2>"$dir/score.err" || fail "score order failed"
q --order uncertainty >"$dir/unc.csv" 2>"$dir/unc.err" || fail "uncertainty order failed"
q --order informative >"$dir/nocodes.csv" 2>"$dir/nocodes.err" || fail "informative without codes failed"
q --order informative --codes "$codes" >"$dir/inf.csv" 2>"$dir/inf.err" || fail "informative failed"
header="rank,path,age,predicted,predicted_sd,score,order_value,novelty,reasons,decided"
for f in score unc nocodes inf; do
    [ "$(head -1 "$dir/$f.csv")" = "$header" ] || fail "$f.csv header"
done
grep -q "^order: score$" "$dir/score.err" || fail "score order not said: $(cat "$dir/score.err")"
grep -q "^order: uncertainty$" "$dir/unc.err" || fail "uncertainty order not said"
grep -q "^order: uncertainty (asked for informative: no autoencoder codes" "$dir/nocodes.err" \
    || fail "the fallback without codes is not said: $(cat "$dir/nocodes.err")"
grep -q "^order: informative, compared with 0 faces reviewed already$" "$dir/inf.err" \
    || fail "informative order not said: $(cat "$dir/inf.err")"
cmp -s <(tail -n +2 "$dir/unc.csv") <(tail -n +2 "$dir/nocodes.csv") || fail "the fallback is not the uncertainty order"

# The score order is suspects.csv's flagged rows in its order; uncertainty sorts by spread; every
# order lists the same faces.
python3 - "$dir" <<'PY' || fail "orders"
import csv, sys
d = sys.argv[1]
flagged = [r["path"] for r in csv.DictReader(open(d + "/audit/suspects.csv")) if r["reasons"]]
rows = {f: list(csv.DictReader(open("%s/%s.csv" % (d, f)))) for f in ("score", "unc", "inf")}
assert len(flagged) > 20, "too few flagged faces to tell the orders apart: %d" % len(flagged)
assert [r["path"] for r in rows["score"]] == flagged, "score order is not the audit's"
spreads = [float(r["predicted_sd"]) for r in rows["unc"]]
assert spreads == sorted(spreads, reverse=True), "uncertainty order is not largest spread first"
for f in ("unc", "inf"):
    assert sorted(r["path"] for r in rows[f]) == sorted(flagged), f + " lists other faces"
inf = rows["inf"]
assert all(0 <= float(r["novelty"]) <= 1 for r in inf), "novelty out of 0-1"
assert float(inf[0]["novelty"]) == 1.0 and inf[0]["path"] == rows["unc"][0]["path"], "first pick"
assert [r["path"] for r in inf] != [r["path"] for r in rows["unc"]], "informative is the uncertainty order"
PY

# A reviewed face: marked, and the informative order leaves it (novelty 0) for later.
reviewed=$(sed -n 2p "$dir/unc.csv" | cut -d, -f2)
printf 'path,action,old,new,reason,time\n%s,keep,,,age_outlier,2026-12-07T04:00:00Z\n' "$reviewed" >"$dir/review.csv"
q --order informative --codes "$codes" --review "$dir/review.csv" >"$dir/rev.csv" 2>"$dir/rev.err" \
    || fail "informative with a review failed"
grep -q "compared with 1 faces reviewed already" "$dir/rev.err" || fail "the review is not counted"
python3 - "$dir/rev.csv" "$reviewed" <<'PY' || fail "the reviewed face"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
row = next(r for r in rows if r["path"] == sys.argv[2])
assert row["decided"] == "keep" and float(row["novelty"]) == 0.0, row
assert rows[0]["path"] != sys.argv[2]
PY
"$cli" review-queue --data "$data" --audit "$dir/audit" --limit 3 >"$dir/text" || fail "text listing failed"
[ "$(wc -l <"$dir/text")" -eq 4 ] || fail "--limit 3 did not list 3 faces"

if "$cli" review-queue --data "$data" --audit "$dir/audit" --order random 2>"$dir/err"; then
    fail "--order random accepted"
fi
grep -q "score, uncertainty or informative" "$dir/err" || fail "bad order message"
"$cli" prepare --source demo:50 --out "$dir/other" "${opts[@]}" >/dev/null || fail "prepare other failed"
if "$cli" review-queue --data "$dir/other" --audit "$dir/audit" 2>"$dir/err"; then
    fail "an audit of another preparation accepted"
fi
grep -q "another preparation" "$dir/err" || fail "another preparation's audit: $(cat "$dir/err")"
if "$cli" review-queue --data "$data" --audit "$dir/none" 2>"$dir/err"; then fail "missing audit accepted"; fi
grep -q "none" "$dir/err" || fail "missing audit message does not name the folder"
echo "review_queue_cli_test: ok"
