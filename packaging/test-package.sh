#!/usr/bin/env bash
# Installs a built faceatlas .deb into a fresh, minimal Debian 12 root the way a user would
# (apt-get install ./faceatlas_*.deb, which pulls the dependencies the package declares and
# nothing the build machine happens to have), then runs the installed programs from there:
# --version of both, a short demo pipeline with faceatlas-cli, the desktop application's tour of
# every page (offscreen), and checks of the BLAS in use, the desktop files and the man page; and
# lintian on the package itself. Needs root (or sudo) and network access to a Debian mirror.
# Usage: packaging/test-package.sh PACKAGE.deb [ROOT]   (ROOT: a folder to build the root in)
set -euo pipefail

deb=$(realpath "$1")
keep_root=${2:+1}
root=${2:-$(mktemp -d /tmp/faceatlas-root.XXXXXX)}
mirror=${FACEATLAS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

step() { printf '\n== %s\n' "$*"; }
fail() { echo "test-package: $*" >&2; exit 1; }
cleanup() {
    $sudo umount "$root/proc" 2>/dev/null || true
    $sudo umount "$root/dev" 2>/dev/null || true
    [ -n "$keep_root" ] || $sudo rm -rf --one-file-system "$root"
}
trap cleanup EXIT

for tool in debootstrap lintian; do
    command -v $tool >/dev/null || $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $tool >/dev/null
done

step "lintian (Debian's checks of the package itself)"
if ! report=$(lintian --fail-on error,warning --tag-display-limit 0 "$deb" 2>&1); then
    echo "$report" >&2
    fail "lintian found errors or warnings in the package"
fi
grep -v 'running with root privileges' <<<"$report" || echo "no errors or warnings"

step "a minimal Debian 12 root in $root"
$sudo debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
# /proc and /dev as a running system has them; where mounting is not allowed the root's own /dev
# nodes from debootstrap do, and the programs need nothing from /proc.
$sudo mount -t proc proc "$root/proc" || echo "test-package: could not mount /proc in the root; going on without it"
$sudo mount --bind /dev "$root/dev" || echo "test-package: could not bind /dev in the root; going on with its own"
$sudo cp /etc/resolv.conf "$root/etc/resolv.conf"
$sudo cp "$deb" "$root/tmp/"
in_root() { $sudo chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp/home LANG=C.UTF-8 "$@"; }

step "apt-get install ./$(basename "$deb")"
log=$(mktemp /tmp/faceatlas-apt.XXXXXX.log)
if ! { in_root apt-get update -q && in_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    fail "apt-get could not install the package (the whole log: $log)"
fi
grep -E '^[0-9]+ upgraded, [0-9]+ newly installed' "$log" || true
rm -f "$log"

step "the installed files"
for file in /usr/bin/faceatlas-cli /usr/share/man/man1/faceatlas-cli.1.gz; do
    [ -e "$root$file" ] || fail "$file is not installed"
done
missing=$(in_root sh -c 'for b in /usr/bin/faceatlas*; do ldd "$b"; done' | grep 'not found' || true)
[ -z "$missing" ] || fail "libraries the package does not pull in: $missing"
blas=$(in_root readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)
echo "libblas.so.3 -> $blas"
case "$blas" in *openblas-pthread*) ;; *) fail "LibTorch would use $blas, not the pthread OpenBLAS" ;; esac

step "faceatlas-cli --version"
in_root faceatlas-cli --version
if [ -e "$root/usr/bin/faceatlas" ]; then
    step "faceatlas --version (no display needed)"
    in_root faceatlas --version
    for file in /usr/share/applications/io.github.faceatlas.FaceAtlas.desktop \
                /usr/share/metainfo/io.github.faceatlas.FaceAtlas.metainfo.xml \
                /usr/share/icons/hicolor/scalable/apps/io.github.faceatlas.FaceAtlas.svg \
                /usr/share/icons/hicolor/256x256/apps/io.github.faceatlas.FaceAtlas.png \
                /usr/share/man/man1/faceatlas.1.gz; do
        [ -e "$root$file" ] || fail "$file is not installed"
    done
    if command -v appstreamcli >/dev/null; then
        step "appstreamcli validate-tree (the package's metainfo, desktop entry and icons together)"
        tree=$(mktemp -d /tmp/faceatlas-tree.XXXXXX)
        dpkg-deb -x "$deb" "$tree"
        appstreamcli validate-tree --no-net "$tree" || { rm -rf "$tree"; fail "appstreamcli validate-tree failed"; }
        rm -rf "$tree"
    fi
fi

step "a short demo pipeline from the installed files"
in_root sh -c 'mkdir -p /tmp/home /tmp/demo && cd /tmp/demo && faceatlas-cli demo --out run --faces 400 --epochs 1'
for file in run/prepared/prepared.json run/clusters/metrics.json run/clusters/assignments.csv; do
    [ -s "$root/tmp/demo/$file" ] || fail "the demo did not write $file"
done
ls "$root"/tmp/demo/run/clusters/galleries/*.png >/dev/null || fail "the demo wrote no cluster galleries"
if [ -e "$root/usr/bin/faceatlas" ]; then
    step "the desktop application on the demo, offscreen: every page, with a short training"
    in_root env QT_QPA_PLATFORM=offscreen faceatlas --workspace /tmp/gui-workspace --tour /tmp/tour
    for page in 1-dataset 2-train-age 2-train-autoencoder 3-clusters 4-attention 5-runs; do
        [ -s "$root/tmp/tour/$page.png" ] || fail "the tour saved no screenshot of $page"
    done
fi
step "the package installs and runs"
