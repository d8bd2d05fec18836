#!/usr/bin/env bash
# Data-parallel training on loopback (issue 28), in separate processes as users run it:
# - 2 processes (--nproc 2) give one process's weights and loss curve, within float rounding;
# - a checkpoint of 2 processes resumes on 1, and one of 1 on 2, on the same curve;
# - encode --nproc 2 writes the same codes.f32, byte for byte, as one process, and cluster --nproc 2
#   the same clusters;
# - a killed rank ends the others within the timeout, named; the last checkpoint resumes;
# - a rank with no peer, a port in use, an inconsistent rank and another job are clear errors.
# Usage: distributed_cli_test.sh FACEATLAS-CLI   (exit 77: skipped, built without Gloo)
set -euo pipefail
cli=$1
peer=$(dirname "$0")/../tools/safetensors_peer.py
dir=$(mktemp -d)
started=()
trap 'for p in "${started[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
export FACEATLAS_CACHE_DIR=$dir/cache FACEATLAS_WORKSPACE=$dir/workspace
unset RANK WORLD_SIZE LOCAL_RANK MASTER_ADDR MASTER_PORT GLOO_SOCKET_IFNAME
fail() { echo "distributed_cli_test: $*" >&2; exit 1; }
if ! "$cli" --version | grep -q "several processes: c10d"; then
    echo "distributed_cli_test: skipped: this build has no c10d Gloo backend (libgloo-dev)"
    exit 77
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$cli" prepare --source demo:90 --out "$dir/p" --size 16 >/dev/null || fail "prepare failed"
# The autoencoder has no batch norm and no dropout: 2 processes must compute what one does.
common=(--model autoencoder --data "$dir/p" --batch 16 --seed 3 --device cpu --threads 1)
"$cli" train "${common[@]}" --epochs 2 --out "$dir/one" >"$dir/one.txt" || fail "one process failed"
"$cli" train "${common[@]}" --epochs 2 --out "$dir/two" --nproc 2 >"$dir/two.txt" 2>"$dir/two.err" \
    || fail "2 processes failed: $(cat "$dir/two.err")"
grep -q "2 processes on 127.0.0.1:" "$dir/two.err" || fail "the launcher did not say what it started"
grep -q "2 processes: .* steps in .* the gradient all-reduce moved" "$dir/two.txt" || fail "no all-reduce figures"
[ "$(grep -c '^epoch' "$dir/two.txt")" -eq 2 ] || fail "rank 0 alone prints the epochs: $(cat "$dir/two.txt")"

# Weights within 1e-4 of their largest magnitude, losses within 1e-4 (relative): float sums in another order.
same_run() { # A B what
    python3 "$peer" compare "$1/last.pt" "$2/last.pt" >"$dir/diff.json" || fail "$3: the checkpoints differ in form"
    python3 - "$dir/diff.json" "$1/metrics.csv" "$2/metrics.csv" "$3" <<'PY' || fail "$3"
import csv, json, sys
diff = json.load(open(sys.argv[1]))
worst = max(d["max_difference"] / max(d["max_magnitude"], 1e-3) for n, d in diff.items() if not n.startswith("optimizer."))
assert worst < 1e-4, "%s: weights differ by %.2e of their magnitude" % (sys.argv[4], worst)
a, b = list(csv.DictReader(open(sys.argv[2]))), list(csv.DictReader(open(sys.argv[3])))
assert len(a) == len(b) == 2, (len(a), len(b))
for x, y in zip(a, b):
    for k in ("train_loss", "val_loss"):
        assert abs(float(x[k]) - float(y[k])) <= 1e-4 * abs(float(x[k])), (sys.argv[4], k, x[k], y[k])
print("%s: weights within %.1e of their magnitude" % (sys.argv[4], worst))
PY
}
same_run "$dir/one" "$dir/two" "2 processes against 1"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['processes']==2 and r['gradient_bytes_per_step']>0, r" \
    "$dir/two/run.json" || fail "run.json does not say 2 processes"

# A checkpoint resumes with another number of processes, on the same curve.
"$cli" train "${common[@]}" --epochs 1 --out "$dir/two-then-one" --nproc 2 >/dev/null 2>&1 || fail "2 processes, 1 epoch"
"$cli" train "${common[@]}" --epochs 2 --out "$dir/two-then-one" --resume >/dev/null || fail "resume on 1 process"
same_run "$dir/one" "$dir/two-then-one" "2 processes then 1"
"$cli" train "${common[@]}" --epochs 1 --out "$dir/one-then-two" >/dev/null || fail "1 process, 1 epoch"
"$cli" train "${common[@]}" --epochs 2 --out "$dir/one-then-two" --resume --nproc 2 >/dev/null 2>&1 \
    || fail "resume on 2 processes"
same_run "$dir/one" "$dir/one-then-two" "1 process then 2"

# Sharded encoding: each rank its batches, written into one codes.f32, the same bytes as one process.
"$cli" encode --run "$dir/one" --data "$dir/p" --out "$dir/codes1" --device cpu --threads 1 2>/dev/null \
    || fail "encode on 1 process"
"$cli" encode --run "$dir/one" --data "$dir/p" --out "$dir/codes2" --device cpu --threads 1 --nproc 2 2>"$dir/encode2.err" \
    || fail "encode on 2 processes: $(cat "$dir/encode2.err")"
grep -q "on 2 processes" "$dir/encode2.err" || fail "encode did not say it ran on 2 processes: $(cat "$dir/encode2.err")"
for f in codes.f32 records.bin codes.json; do
    cmp -s "$dir/codes1/$f" "$dir/codes2/$f" || fail "encode on 2 processes wrote another $f"
done
[ "$(ls -A "$dir" | grep -c codes2)" = "$(ls -A "$dir" | grep -c codes1)" ] \
    || fail "encode on 2 processes left more beside its folder than one process: $(ls -A "$dir")"

# k-means on 2 processes: the same clusters as one (the sums in another order).
"$cli" cluster --codes "$dir/codes1" --out "$dir/k1" --k 4 --restarts 2 --threads 1 >/dev/null 2>&1 || fail "cluster on 1 process"
"$cli" cluster --codes "$dir/codes1" --out "$dir/k2" --k 4 --restarts 2 --threads 1 --nproc 2 >"$dir/k2.txt" 2>&1 \
    || fail "cluster on 2 processes: $(cat "$dir/k2.txt")"
cmp -s "$dir/k1/assignments.csv" "$dir/k2/assignments.csv" || fail "cluster on 2 processes assigned other clusters"
python3 - "$dir/k1/metrics.json" "$dir/k2/metrics.json" <<'PY' || fail "cluster on 2 processes: other metrics"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert abs(a["inertia"] - b["inertia"]) <= 1e-5 * a["inertia"], (a["inertia"], b["inertia"])
assert a["iterations"] == b["iterations"], (a["iterations"], b["iterations"])
PY

# An age head trains on 2 processes too (its batch norms see each rank's half: not compared).
"$cli" train --model age --data "$dir/p" --epochs 1 --batch 16 --device cpu --out "$dir/age2" --nproc 2 \
    >"$dir/age2.txt" 2>&1 || fail "age on 2 processes: $(cat "$dir/age2.txt")"
grep -q "val MAE" "$dir/age2.txt" || fail "age on 2 processes printed no epoch"

# Torchrun's way: each rank started with its environment. A rank killed mid-epoch ends the other
# within the timeout, naming itself and the cause; the last checkpoint resumes.
"$cli" prepare --source demo:400 --out "$dir/big" --size 32 >/dev/null || fail "prepare big failed"
port=$(free_port)
rank() { # RANK LOG [extra options]
    local r=$1 log=$2
    shift 2
    RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$cli" train --model autoencoder --data "$dir/big" \
        --out "$dir/killed" --epochs 30 --batch 8 --device cpu --threads 1 --dist-timeout 20 "$@" >"$log" 2>&1 &
    started+=($!)
}
rank 0 "$dir/r0.log"
pid0=$!
rank 1 "$dir/r1.log"
pid1=$!
for _ in $(seq 1 300); do # until the first epoch is written (the run is under way on both)
    [ -s "$dir/killed/metrics.csv" ] && [ "$(wc -l <"$dir/killed/metrics.csv")" -ge 2 ] && break
    sleep 0.2
done
[ "$(wc -l <"$dir/killed/metrics.csv")" -ge 2 ] || fail "the 2 ranks never finished an epoch: $(cat "$dir/r0.log")"
kill -9 "$pid1"
t0=$(date +%s)
status=0
wait "$pid0" || status=$?
elapsed=$(($(date +%s) - t0))
[ "$status" -ne 0 ] || fail "rank 0 succeeded although rank 1 was killed"
[ "$elapsed" -le 25 ] || fail "rank 0 took $elapsed s to end after rank 1 was killed (timeout 20 s)"
grep -q "rank 0 of 2: .* failed: another process of the job ended" "$dir/r0.log" \
    || fail "rank 0 did not say why it ended: $(cat "$dir/r0.log")"
"$cli" train --model autoencoder --data "$dir/big" --out "$dir/killed" --epochs 2 --batch 8 --device cpu --resume \
    >/dev/null 2>"$dir/resume.err" || fail "the killed run does not resume: $(cat "$dir/resume.err")"

# The launcher names a rank that was killed, and the job ends.
"$cli" train --model autoencoder --data "$dir/big" --out "$dir/launched" --epochs 30 --batch 8 --device cpu \
    --nproc 2 --dist-timeout 20 >/dev/null 2>"$dir/launch.err" &
launcher=$!
started+=($launcher)
for _ in $(seq 1 300); do
    [ -s "$dir/launched/metrics.csv" ] && [ "$(wc -l <"$dir/launched/metrics.csv")" -ge 2 ] && break
    sleep 0.2
done
victim=$(sed -n 's/.*(pids \([0-9]*\), \([0-9]*\)).*/\2/p' "$dir/launch.err")
[ -n "$victim" ] || fail "the launcher did not list its ranks: $(cat "$dir/launch.err")"
kill -9 "$victim"
status=0
wait "$launcher" || status=$?
[ "$status" -eq 1 ] || fail "the launcher exited $status after a rank was killed"
grep -q "train: rank 1 (pid $victim) was killed by signal 9" "$dir/launch.err" \
    || fail "the launcher did not name the killed rank: $(cat "$dir/launch.err")"

# No peer, a port in use, an impossible rank, another job: clear errors, within the timeout.
t0=$(date +%s)
status=0
RANK=0 WORLD_SIZE=2 MASTER_PORT=$(free_port) "$cli" train "${common[@]}" --epochs 1 --out "$dir/alone" \
    --dist-timeout 3 >/dev/null 2>"$dir/alone.err" || status=$?
[ "$status" -ne 0 ] && [ $(($(date +%s) - t0)) -le 20 ] || fail "a rank without its peer did not fail in time"
grep -q "rank 0 of 2: rank 1 did not arrive within 3 s" "$dir/alone.err" || fail "missing peer: $(cat "$dir/alone.err")"
[ ! -e "$dir/alone/last.pt" ] || fail "a job that never started wrote a checkpoint"

python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)' \
    >"$dir/busy.port" &
started+=($!)
for _ in $(seq 1 50); do [ -s "$dir/busy.port" ] && break; sleep 0.1; done
RANK=0 WORLD_SIZE=2 MASTER_PORT=$(cat "$dir/busy.port") "$cli" train "${common[@]}" --epochs 1 --out "$dir/busy" \
    --dist-timeout 3 >/dev/null 2>"$dir/busy.err" && fail "a port in use was taken"
grep -q "cannot host the rendezvous on port $(cat "$dir/busy.port") (is it in use" "$dir/busy.err" \
    || fail "port in use: $(cat "$dir/busy.err")"

RANK=2 WORLD_SIZE=2 "$cli" train "${common[@]}" --out "$dir/x" >/dev/null 2>"$dir/rank.err" && fail "rank 2 of 2 ran"
"$cli" train "${common[@]}" --out "$dir/x" --nproc 2 --master-addr 10.0.0.1 >/dev/null 2>"$dir/addr.err" \
    && fail "--nproc ran with another master address"
grep -q "not with --master-addr" "$dir/addr.err" || fail "--nproc with --master-addr: $(cat "$dir/addr.err")"
grep -q "rank 2 is outside a world of 2 processes" "$dir/rank.err" || fail "impossible rank: $(cat "$dir/rank.err")"

port=$(free_port)
for r in 0 1; do
    RANK=$r WORLD_SIZE=2 MASTER_PORT=$port "$cli" train "${common[@]}" --epochs 1 --out "$dir/mixed$r" --seed $((r + 1)) \
        --dist-timeout 10 >/dev/null 2>"$dir/mixed$r.err" &
    started+=($!)
done
wait "${started[-1]}" && fail "rank 1 of a mixed job succeeded"
wait "${started[-2]}" && fail "rank 0 of a mixed job succeeded"
grep -q "rank 1's seed is '2', rank 0's is '1'" "$dir/mixed0.err" || fail "mixed job: $(cat "$dir/mixed0.err")"
echo "distributed_cli_test: passed"
