#!/bin/bash
# The capstone's scale on one machine: prepare FACES drawn demo faces at 150 px (175,000 by default,
# the capstone's count after cleaning: a 12 GB image cache), train the autoencoder for one epoch,
# encode every face, cluster the codes with k = 25, and open the result in the desktop application
# (under Xvfb when there is no display). Prints wall time, peak resident memory and the disk used
# after each step. Not part of CI: at full size it runs for about an hour on 2 cores.
#
#   tests/bench/capstone-scale.sh [FACES] [WORKDIR]
#
# Needs a build in build/ (or FACEATLAS_BIN=DIR with faceatlas-cli and faceatlas) and about
# FACES x 70 KB free under WORKDIR (default: $TMPDIR/faceatlas-capstone-scale, emptied first).
set -euo pipefail
faces=${1:-175000}
work=${2:-${TMPDIR:-/tmp}/faceatlas-capstone-scale}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FACEATLAS_BIN:-$root/build/bin}
cli=$bin/faceatlas-cli
[[ -x "$cli" ]] || { echo "capstone-scale: no $cli (build first, or set FACEATLAS_BIN)" >&2; exit 2; }

rm -rf "$work"
mkdir -p "$work/workspace/runs" "$work/logs"
# The demo source writes its faces as JPEGs into the cache folder: keep them with the rest.
export FACEATLAS_CACHE_DIR=$work/cache
need_mb=$((faces * 150 * 150 * 3 / 1000000 + faces * 2888 * 4 / 1000000 + faces * 12 / 1000 + 1000))
free_mb=$(df -Pm "$work" | awk 'NR == 2 {print $4}')
if ((free_mb < need_mb)); then
    echo "capstone-scale: $work has $free_mb MB free, the run needs about $need_mb MB" >&2
    exit 2
fi

table=$work/table.md
printf '| step | wall | peak resident: all / anonymous | disk after |\n|---|---|---|---|\n' > "$table"
# Peak resident memory counts the pages of memory-mapped files (the image cache, the codes) that
# the kernel may drop at any time; the anonymous part (RssAnon, sampled twice a second) is the
# memory the step itself holds, which must not grow with the dataset.
anon_peak_kb() {
    local pid=$1 peak=0 child v
    while kill -0 "$pid" 2> /dev/null; do
        for child in $(pgrep -P "$pid"); do
            v=$(awk '/^RssAnon/ {print $2}' "/proc/$child/status" 2> /dev/null || echo 0)
            ((${v:-0} > peak)) && peak=$v
        done
        sleep 0.5
    done
    echo "$peak"
}

# step NAME "DIRS TO MEASURE" COMMAND...: runs it under /usr/bin/time, adds a row.
step() {
    local name=$1 measured=$2 dir pid anon_kb
    shift 2
    echo "capstone-scale: $name ..." >&2
    /usr/bin/time -f '%e %M' -o "$work/logs/$name.time" "$@" > "$work/logs/$name.log" 2>&1 &
    pid=$!
    anon_kb=$(anon_peak_kb "$pid")
    if ! wait "$pid"; then
        tail -20 "$work/logs/$name.log" >&2
        echo "capstone-scale: $name FAILED (log: $work/logs/$name.log)" >&2
        exit 1
    fi
    read -r wall rss_kb < <(tail -1 "$work/logs/$name.time")
    local disk="" mb
    for dir in $measured; do
        mb=$(du -sm "$dir" | cut -f1)
        disk="${disk:+$disk, }$mb MB in $(basename "$dir")"
    done
    printf '| %s | %.0f s | %.2f / %.2f GB | %s |\n' "$name" "$wall" "$(echo "$rss_kb / 1000000" | bc -l)" \
        "$(echo "$anon_kb / 1000000" | bc -l)" "$disk" >> "$table"
}

# Every drawn face is kept (no cleaning filters, no resampling), so the cache holds exactly FACES.
step "prepare $faces demo faces at 150 px" "$work/cache $work/prepared" \
    "$cli" prepare --source "demo:$faces" --size 150 --balance none --no-face-score-filter --keep-multiple-faces \
    --no-age-filter --out "$work/prepared"
step "train the autoencoder, 1 epoch" "$work/workspace/runs/ae" \
    "$cli" train --model autoencoder --data "$work/prepared" --out "$work/workspace/runs/ae" --epochs 1
step "encode every face" "$work/codes" \
    "$cli" encode --run "$work/workspace/runs/ae" --data "$work/prepared" --out "$work/codes"
step "cluster, k = 25" "$work/clusters" \
    "$cli" cluster --codes "$work/codes" --out "$work/clusters" --k 25

# The desktop application reopens what its settings name: a private settings folder names this run.
gui=$bin/faceatlas
if [[ -x "$gui" ]]; then
    export XDG_CONFIG_HOME=$work/config
    mkdir -p "$XDG_CONFIG_HOME/FaceAtlas"
    cat > "$XDG_CONFIG_HOME/FaceAtlas/FaceAtlas.conf" <<CONF
[General]
workspace=$work/workspace
prepared=$work/prepared
codes=$work/codes
clusters=$work/clusters
CONF
    echo "capstone-scale: opening the result in the desktop application ..." >&2
    wrap=()
    if [[ -z "${DISPLAY:-}" ]]; then
        wrap=(xvfb-run -a -s "-screen 0 1400x900x24")
    fi
    # A small script under Xvfb: start the app, give it 30 s, take a screenshot, read its peak memory.
    cat > "$work/gui.sh" <<GUI
"$gui" --workspace "$work/workspace" > "$work/logs/gui.log" 2>&1 &
pid=\$!
started=\$(date +%s.%N)
sleep 30
import -window root "$work/gui.png" 2>/dev/null || true
awk '/^VmHWM|^RssAnon/ {print \$2}' /proc/\$pid/status | tr '\\n' ' ' > "$work/logs/gui.rss"
kill \$pid
wait \$pid || true
GUI
    "${wrap[@]}" bash "$work/gui.sh"
    read -r rss_kb anon_kb < "$work/logs/gui.rss" || true
    printf '| open in the desktop application (after 30 s) | - | %.2f / %.2f GB (now) | screenshot %s |\n' \
        "$(echo "${rss_kb:-0} / 1000000" | bc -l)" "$(echo "${anon_kb:-0} / 1000000" | bc -l)" "$work/gui.png" >> "$table"
fi

echo
echo "The capstone's scale: $faces faces at 150 px, $(nproc) cores, $(date -u +%Y-%m-%d)"
cat "$table"
