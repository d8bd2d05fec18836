#!/usr/bin/env bash
# FaceAtlas's checkpoints are safetensors files (README): an independent reader of the published
# format (tests/tools/safetensors_peer.py, Python's standard library only) reads the checkpoints a tiny
# training writes, and FaceAtlas reads what that peer writes back (another tensor order, a padded and an
# unpadded header, one tensor changed): the same predictions, the changed ones, the same resumed curve.
# Usage: safetensors_cli_test.sh FACEATLAS-CLI
set -euo pipefail
cli=$1
peer=$(dirname "$0")/../tools/safetensors_peer.py
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export FACEATLAS_CACHE_DIR=$dir/cache FACEATLAS_WORKSPACE=$dir/workspace
fail() { echo "safetensors_cli_test: $*" >&2; exit 1; }

"$cli" prepare --source demo:60 --out "$dir/p" --size 16 >/dev/null || fail "prepare failed"
"$cli" train --model age --data "$dir/p" --out "$dir/run" --epochs 1 --device cpu --seed 5 >/dev/null \
    || fail "train failed"

# FaceAtlas -> peer: both checkpoints read, checked (format, checksum, names, dtypes, shapes, finite values).
python3 "$peer" check "$dir/run/best.pt" --kind age >"$dir/best.json" || fail "the peer refused best.pt"
python3 "$peer" check "$dir/run/last.pt" --kind age --optimizer >"$dir/last.json" || fail "the peer refused last.pt"
python3 - "$dir/best.json" "$dir/last.json" <<'PY' || fail "the peer's reading of the checkpoints"
import json, sys
best, last = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert best["version"] == "2" and best["size"] == "16" and best["optimizer"] == 0, best
shapes = best["shapes"]
# The age model at 16 px as FaceAtlas builds it: 6 convolutions, batch norms, a 101-bin head.
assert shapes["model.conv1.weight"] == ["F32", [32, 3, 3, 3]], shapes["model.conv1.weight"]
assert shapes["model.head.weight"][1][0] == 101 and shapes["model.head.bias"] == ["F32", [101]]
assert shapes["model.age_bins"] == ["F32", [101]] and shapes["model.age_mean"] == ["F32", []]
assert shapes["model.bn1.num_batches_tracked"] == ["I64", []]
assert shapes["model.input_mean"] == ["F32", [1, 3, 1, 1]]
# last.pt: the same model tensors, and AdamW's two moments for every parameter, shaped like it.
assert {k: v for k, v in last["shapes"].items() if k.startswith("model.")} == shapes
moments = {k: v for k, v in last["shapes"].items() if k.startswith("optimizer.")}
assert len(moments) == last["optimizer"] > 0 and len(moments) % 2 == 0, last["optimizer"]
weights = sorted(v[1] for k, v in shapes.items() if v[0] == "F32" and "running" not in k and "age_" not in k
                 and "input_" not in k)
assert sorted(v[1] for k, v in moments.items() if k.endswith(".exp_avg")) == weights
PY

# Peer -> FaceAtlas: the same tensors in reverse order (header and data), unpadded header: the same predictions.
"$cli" predict --run "$dir/run" --data "$dir/p" --out "$dir/original.csv" >/dev/null || fail "predict failed"
cp -r "$dir/run" "$dir/same"
python3 "$peer" rewrite "$dir/run/best.pt" "$dir/same/best.pt" --order reverse --no-pad || fail "peer rewrite"
python3 "$peer" rewrite "$dir/run/last.pt" "$dir/same/last.pt" --order reverse || fail "peer rewrite last.pt"
! cmp -s "$dir/run/best.pt" "$dir/same/best.pt" || fail "the peer wrote the same bytes: nothing was tested"
"$cli" predict --run "$dir/same" --data "$dir/p" --out "$dir/same.csv" >/dev/null \
    || fail "FaceAtlas refused the peer's checkpoint"
cmp -s "$dir/original.csv" "$dir/same.csv" || fail "the peer's copy of the weights predicts otherwise"

# One tensor changed by the peer: 10 added to every age bin moves every prediction up by 10 years
# (the model predicts the softmax-weighted mean of the bins).
cp -r "$dir/run" "$dir/older"
python3 "$peer" rewrite "$dir/run/best.pt" "$dir/older/best.pt" --order sorted --add model.age_bins 10 \
    || fail "peer rewrite --add"
"$cli" predict --run "$dir/older" --data "$dir/p" --out "$dir/older.csv" >/dev/null \
    || fail "FaceAtlas refused the peer's changed checkpoint"
python3 - "$dir/original.csv" "$dir/older.csv" <<'PY' || fail "the changed tensor did not change the predictions by 10"
import csv, sys
a, b = list(csv.DictReader(open(sys.argv[1]))), list(csv.DictReader(open(sys.argv[2])))
assert len(a) == len(b) > 10
for x, y in zip(a, b):
    assert x["path"] == y["path"]
    assert abs(float(y["predicted_age"]) - float(x["predicted_age"]) - 10) <= 0.011, (x, y)
PY

# The optimizer's state written by the peer: a resume from it draws the same curve as from FaceAtlas's own.
"$cli" train --model age --data "$dir/p" --out "$dir/run" --epochs 2 --device cpu --seed 5 --resume >/dev/null \
    || fail "resume failed"
"$cli" train --model age --data "$dir/p" --out "$dir/same" --epochs 2 --device cpu --seed 5 --resume >/dev/null \
    || fail "resume from the peer's last.pt failed"
python3 - "$dir/run/metrics.csv" "$dir/same/metrics.csv" <<'PY' || fail "the resumed curves differ"
import csv, sys
a, b = list(csv.DictReader(open(sys.argv[1]))), list(csv.DictReader(open(sys.argv[2])))
assert len(a) == len(b) == 2, (len(a), len(b))
for key in ("train_loss", "val_loss", "val_mae"):
    assert abs(float(a[1][key]) - float(b[1][key])) < 1e-4, (key, a[1][key], b[1][key])
PY

# The checksum is the file's: one byte of a weight changed without it is refused, and the peer says so too.
cp -r "$dir/run" "$dir/damaged"
python3 - "$dir/damaged/best.pt" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[-5] ^= 0x01
open(sys.argv[1], "wb").write(bytes(data))
PY
if python3 "$peer" check "$dir/damaged/best.pt" >/dev/null 2>"$dir/err"; then fail "the peer missed the damage"; fi
grep -q "checksum" "$dir/err" || fail "the peer's complaint does not name the checksum"
if "$cli" predict --run "$dir/damaged" --data "$dir/p" --out "$dir/damaged.csv" >/dev/null 2>"$dir/err"; then
    fail "FaceAtlas read a damaged checkpoint"
fi
grep -q "checksum" "$dir/err" || fail "FaceAtlas's refusal does not name the checksum: $(cat "$dir/err")"
echo "safetensors_cli_test: ok"
