#!/usr/bin/env bash
# Prove that scripts/install-deps.sh installs every command of scripts/deps.txt on a machine that has none of
# them: build a minimal Debian root with mmdebstrap, offline, exactly as the qemu lab's image builder does (this
# machine's apt settings and Debian sources), run install-deps.sh --apt-only in it (chroot), then look for every
# command of the list in that root (chroot ROOT sh -c 'command -v COMMAND'). The root is thrown away.
#
# A proof is cached under ~/.cache/fakevpc/deps-fresh-root/, keyed by the digest of deps.txt, install-deps.sh,
# this script and the suite: a rerun with none of them changed takes a fraction of a second.
# Needs root (mmdebstrap's root mode, chroot). When it cannot run, it fails under CI (CI=true) and says it
# skipped otherwise.
#
# Usage: deps-fresh-root.sh [--suite bookworm] [--mirror URL-OR-SOURCES-FILE] [--aptopt FILE]...
#   defaults as the lab's (roles/qemu_lab): the host's debian.sources when it has one, and every file of
#   /etc/apt/apt.conf.d that sets Acquire:: options (the proxy, among others).
set -euo pipefail

self=$(readlink -f "$0")
repo=$(cd "$(dirname "$self")/.." && pwd)
cd "$repo"

die() { echo "deps-fresh-root: $*" >&2; exit 1; }

under_ci() {
    case ${CI:-} in "" | 0 | [Ff][Aa][Ll][Ss][Ee]) return 1 ;; *) return 0 ;; esac
}

cannot_run() {
    if under_ci; then
        die "cannot run: $* (CI=${CI}: a check that cannot run fails)"
    fi
    echo "deps-fresh-root: SKIPPED: $* (under CI=true this fails)"
    exit 0
}

clean_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C)

# The customize hook of mmdebstrap, inside its run (the root has /proc, /dev and the host's resolv.conf):
# install-deps.sh's apt part in the root, then every command of the list looked for there.
in_root() {
    local root=$1 work=$2 command package _tier
    mkdir -p "$root/tmp/fakevpc/scripts"
    cp scripts/install-deps.sh scripts/deps.txt "$root/tmp/fakevpc/scripts/"
    if ! chroot "$root" "${clean_env[@]}" bash /tmp/fakevpc/scripts/install-deps.sh --apt-only \
            >"$work/install.log" 2>&1; then
        touch "$work/install-failed"
    fi
    rm -rf "$root/tmp/fakevpc"
    : >"$work/missing"
    while read -r command package _tier; do
        [[ -z $command || $command == \#* ]] && continue
        # shellcheck disable=SC2016 # $1 is the inner shell's
        chroot "$root" "${clean_env[@]}" sh -c 'command -v "$1"' sh "$command" >/dev/null \
            || echo "$command $package" >>"$work/missing"
    done < scripts/deps.txt
}

if [ "${1:-}" = --in-root ]; then
    in_root "$2" "$3"
    exit 0
fi

suite=bookworm
mirror=http://deb.debian.org/debian
[ -e /etc/apt/sources.list.d/debian.sources ] && mirror=/etc/apt/sources.list.d/debian.sources
aptopts=()
aptopts_given=false
while [ $# -gt 0 ]; do
    case "$1" in
        --suite) suite="$2"; shift 2 ;;
        --mirror) mirror="$2"; shift 2 ;;
        --aptopt) aptopts+=("--aptopt=$2"); aptopts_given=true; shift 2 ;;
        *) die "unknown argument: $1" ;;
    esac
done
if ! $aptopts_given; then
    while IFS= read -r file; do
        aptopts+=("--aptopt=$file")
    done < <(grep -l 'Acquire::' /etc/apt/apt.conf.d/* 2>/dev/null | sort)
fi

key=$(cat scripts/deps.txt scripts/install-deps.sh "$self" <(echo "$suite") | sha256sum | cut -c1-16)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/fakevpc/deps-fresh-root"
proof="$cache/$key.proof"
if [ -e "$proof" ]; then
    echo "deps-fresh-root: proven for this list, cached: $(cat "$proof")"
    exit 0
fi

[ "$(id -u)" = 0 ] || cannot_run "a fresh root needs root (mmdebstrap's root mode, chroot)"
command -v mmdebstrap >/dev/null || cannot_run "mmdebstrap not found (Debian package mmdebstrap: make check-deps installs it)"

mkdir -p "$cache"
# One proof at a time: a second run waits for the first, then finds the proof cached.
exec 9>"$cache/.lock"
flock 9
if [ -e "$proof" ]; then
    echo "deps-fresh-root: proven meanwhile by another run: $(cat "$proof")"
    exit 0
fi
# A run that was killed leaves its work directory; never follow a mount that might still be there.
for old in "$cache"/.run.*; do
    [ -e "$old" ] || continue
    if findmnt --list --noheadings --output TARGET | grep -qF "$old/"; then
        die "$old still has mounts (a killed run?): unmount them, then remove it"
    fi
    rm -rf --one-file-system "$old"
done

work=$(mktemp -d "$cache/.run.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
echo "deps-fresh-root: a fresh $suite root (mmdebstrap), install-deps.sh --apt-only in it, then every command of scripts/deps.txt"
started=$(date +%s)
# TMPDIR: where mmdebstrap makes (and removes) the root of the null format.
# The hook reaches this script and the work directory through the environment, which mmdebstrap keeps.
# shellcheck disable=SC2016 # $1 and the variables are the hook's
if ! TMPDIR="$work" FAKEVPC_SELF="$self" FAKEVPC_WORK="$work" \
        mmdebstrap --mode=root --variant=apt --components=main "${aptopts[@]}" \
        --customize-hook='bash "$FAKEVPC_SELF" --in-root "$1" "$FAKEVPC_WORK"' \
        "$suite" /dev/null "$mirror" >"$work/mmdebstrap.log" 2>&1; then
    echo "deps-fresh-root: mmdebstrap failed; the last lines of its log:" >&2
    tail -n 25 "$work/mmdebstrap.log" | sed 's/^/    /' >&2
    exit 1
fi
seconds=$(($(date +%s) - started))

status=0
if [ -s "$work/missing" ]; then
    while read -r command package; do
        echo "deps-fresh-root: $command is missing from a fresh $suite root after install-deps.sh --apt-only (package $package)" >&2
    done <"$work/missing"
    status=1
fi
if [ -e "$work/install-failed" ]; then
    echo "deps-fresh-root: install-deps.sh --apt-only failed in the fresh root; the last lines of its output:" >&2
    status=1
fi
if [ "$status" != 0 ]; then
    tail -n 25 "$work/install.log" | sed 's/^/    /' >&2
    exit 1
fi
commands=$(grep -cv -e '^#' -e '^[[:space:]]*$' scripts/deps.txt)
echo "$commands commands of scripts/deps.txt present in a fresh $suite root after install-deps.sh --apt-only;" \
    "first run $seconds s, $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$proof"
echo "deps-fresh-root: $(cat "$proof")"
