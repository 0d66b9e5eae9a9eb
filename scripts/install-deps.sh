#!/usr/bin/env bash
# Install what `make test` needs on Debian/Ubuntu: the missing apt packages (apt-get update only when
# something is missing) and a Python venv with requirements.txt.
# Usage: scripts/install-deps.sh VENV
set -euo pipefail

venv=${1:?usage: $0 VENV}
cd "$(dirname "$0")/.."

packages=(
  wireguard-tools wireguard-go iproute2 iptables nftables socat netcat-openbsd iputils-ping  # simulated servers
  systemd                                                                           # systemd-analyze verify (unit tests)
  qemu-system-x86 qemu-utils mmdebstrap e2fsprogs genisoimage openssh-client       # VM lab
  git make rsync shellcheck python3-venv                                            # tooling, sanity
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  as_root=()
  ((EUID == 0)) || as_root=(sudo)
  # No recommends: wireguard-tools would pull a kernel image and an initramfs build.
  apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600)
  "${apt[@]}" update
  "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ -x $venv/bin/python ]] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install -q -r requirements.txt
echo "install-deps: $("$venv/bin/ansible" --version | sed -n 1p), venv $venv"
