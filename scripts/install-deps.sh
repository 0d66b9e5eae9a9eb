#!/usr/bin/env bash
# Install what `make test`, `make lab` and `make bench` need on Debian/Ubuntu: the packages of scripts/deps.txt
# that are missing (apt-get update only when something is missing), a Python venv with requirements.txt, then
# check that every command of scripts/deps.txt is there: one line per missing command, naming its package.
# Usage: scripts/install-deps.sh VENV        the packages, python3-venv and the venv, then the check
#        scripts/install-deps.sh --apt-only  the packages, then the check (no venv: scripts/deps-fresh-root.sh)
#        scripts/install-deps.sh --check     the check only
set -euo pipefail

mode=${1:?usage: $0 VENV | --apt-only | --check}
cd "$(dirname "$0")/.."
# Ansible's get_bin_path looks in the sbin directories too, which a user's PATH may lack.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

die() { echo "install-deps: $*" >&2; exit 1; }

commands=()
command_packages=()
packages=()
line_number=0
while read -r command package tier extra; do
  line_number=$((line_number + 1))
  [[ -z $command || $command == \#* ]] && continue
  [[ -n $tier && -z $extra ]] || die "scripts/deps.txt line $line_number: want COMMAND PACKAGE TIER"
  commands+=("$command")
  command_packages+=("$package")
  [[ " ${packages[*]} " == *" $package "* ]] || packages+=("$package")
done < scripts/deps.txt

# Prints one line per missing command; fails when any is missing.
check() {
  local i missing=0
  for i in "${!commands[@]}"; do
    if ! command -v "${commands[i]}" >/dev/null; then
      echo "install-deps: ${commands[i]} is missing: Debian package ${command_packages[i]}" >&2
      missing=$((missing + 1))
    fi
  done
  if ((missing)); then
    echo "install-deps: $missing of the ${#commands[@]} commands of scripts/deps.txt missing" >&2
    return 1
  fi
  echo "install-deps: every command of scripts/deps.txt is here (${#commands[@]} commands, ${#packages[@]} packages)"
}

# Installs the packages that are not installed; a failure is reported, and the check still runs.
install_packages() {
  local pkg status missing=() as_root=() apt
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  echo "install-deps: installing ${missing[*]}"
  ((EUID == 0)) || as_root=(sudo)
  # No recommends: wireguard-tools would pull a kernel image and an initramfs build.
  apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600)
  if ! { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "install-deps: apt-get could not install ${missing[*]}" >&2
    return 1
  fi
}

case $mode in
  --check)
    check
    ;;
  --apt-only)
    status=0
    install_packages "${packages[@]}" || status=1
    check || status=1
    exit "$status"
    ;;
  -*)
    die "unknown option $mode (usage: $0 VENV | --apt-only | --check)"
    ;;
  *)
    venv=$mode
    status=0
    install_packages "${packages[@]}" python3-venv || status=1
    check || status=1
    ((status == 0)) || exit 1
    [[ -x $venv/bin/python ]] || "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install -q -r requirements.txt
    echo "install-deps: $("$venv/bin/ansible" --version | sed -n 1p), venv $venv"
    ;;
esac
