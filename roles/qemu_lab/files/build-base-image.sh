#!/usr/bin/env bash
# Build the qemu lab's base image offline from Debian packages.
#
# Output, in --output DIR:
#   base.qcow2   an ext4 root filesystem (no partition table), booted as an NVMe disk
#   vmlinuz      the guest kernel (Debian's cloud flavour: NVMe and ext4 are built in, so no initrd)
#   image.json   what was built and how long it took; written last, it marks a complete build
# Nothing lands in DIR unless the whole build worked; a failed build leaves only its log behind.
#
# Usage: build-base-image.sh --output DIR --include PKG,PKG [--suite bookworm]
#                            [--mirror URL-OR-SOURCES-FILE] [--aptopt FILE]... [--size 3G] [--user NAME]
# Needs root (mmdebstrap's root mode; mkfs.ext4 -d keeps ownership), mmdebstrap, mkfs.ext4, qemu-img.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
output=""
include=""
suite="bookworm"
mirror="http://deb.debian.org/debian"
size="3G"
user="fakevpc"
aptopts=()

die() { echo "build-base-image: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --output) output="$2"; shift 2 ;;
        --include) include="$2"; shift 2 ;;
        --suite) suite="$2"; shift 2 ;;
        --mirror) mirror="$2"; shift 2 ;;
        --aptopt) aptopts+=("--aptopt=$2"); shift 2 ;;
        --size) size="$2"; shift 2 ;;
        --user) user="$2"; shift 2 ;;
        *) die "unknown argument: $1" ;;
    esac
done

[ -n "$output" ] || die "--output DIR is required"
[ -n "$include" ] || die "--include PKG,PKG is required"
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap root mode)"
for tool in mmdebstrap mkfs.ext4 qemu-img flock; do
    command -v "$tool" >/dev/null || die "$tool not found in PATH"
done

mkdir -p "$output"
# One build at a time per image: a second run (another lab, another checkout) waits for the first, then
# finds the image built.
exec 9>"$output/.lock"
flock 9
if [ -e "$output/image.json" ]; then
    echo "build-base-image: $output was built meanwhile by another run"
    exit 0
fi
rm -rf "$output"/.build.*   # left by a build that was killed
work="$(mktemp -d "$output/.build.XXXXXX")"
log="$output/build.log"
step="starting"
exec 3>&2
finish() {
    status=$?
    rm -rf "$work"
    if [ "$status" != 0 ]; then  # fd 3: the caller's stderr (ours goes to the log)
        echo "build-base-image: failed while $step (exit $status); full log: $log; its last lines:" >&3
        tail -n 25 "$log" | sed 's/^/    /' >&3
    fi
}
trap finish EXIT
# Everything goes to the log; the caller sees one line on success, the failing step and the log's tail
# on failure.
exec >"$log" 2>&1
started="$(date +%s)"

step="installing Debian $suite packages with mmdebstrap into $work/rootfs"
echo "build-base-image: $step"
mmdebstrap --mode=root --variant=apt --components=main --include="$include" "${aptopts[@]}" \
    --customize-hook="'$here/customize-image.sh' \"\$1\" '$user'" \
    "$suite" "$work/rootfs" "$mirror"
packages_done="$(date +%s)"

kernel="$(find "$work/rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n 1)"
[ -n "$kernel" ] || die "no kernel in the image (is a linux-image package included?)"
cp "$kernel" "$work/vmlinuz"

step="making the ext4 filesystem ($size) and the qcow2 image"
echo "build-base-image: $step"
truncate -s "$size" "$work/root.raw"
mkfs.ext4 -q -L fakevpc-root -d "$work/rootfs" "$work/root.raw"
qemu-img convert -f raw -O qcow2 "$work/root.raw" "$work/base.qcow2"
finished="$(date +%s)"

cat > "$work/image.json" <<EOF
{"suite": "$suite", "kernel": "$(basename "$kernel")", "user": "$user", "packages": "$include",
 "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "packages_seconds": $((packages_done - started)),
 "total_seconds": $((finished - started))}
EOF
step="moving the image into place"
for f in vmlinuz base.qcow2 image.json; do
    mv -f "$work/$f" "$output/$f"
done
done_line="build-base-image: done in $((finished - started)) s: $output/base.qcow2"
echo "$done_line"
echo "$done_line" >&3
