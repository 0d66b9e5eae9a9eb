#!/usr/bin/env bash
# Check a collection tarball before it ships: every entry must be on the allowlist of what a user runs and
# reads (galaxy.yml's manifest builds from the same list), and nothing key-like may be in it, whatever the
# directory: a WireGuard key (base64 of 32 bytes) as a file's content or line, a PrivateKey/PresharedKey
# setting, a PEM private key, an Ansible vault, a *.key/*.psk/*.pem file or a wg_keys/ directory.
# Usage: scripts/check-build.sh fakevpc-vpc-X.Y.Z.tar.gz
set -euo pipefail

tarball=${1:?usage: $0 TARBALL}
role_dirs='defaults|handlers|meta|tasks|vars|templates|files'
allowed_files='^(MANIFEST\.json|FILES\.json|README\.md|LICENSE|CHANGELOG\.md|meta/runtime\.yml|changelogs/changelog\.yaml'
allowed_files+='|plugins/[a-z_]+/[A-Za-z0-9_]+\.(py|yml)'
allowed_files+='|playbooks/[A-Za-z0-9_]+\.yml'
allowed_files+='|docs/[A-Za-z0-9_./-]+\.(md|rst|yml)'
allowed_files+='|roles/[a-z0-9_]+/README\.md'
allowed_files+='|roles/[a-z0-9_]+/(defaults|handlers|meta|tasks|vars)/[A-Za-z0-9_./-]+\.yml'
allowed_files+='|roles/[a-z0-9_]+/templates/[A-Za-z0-9_./-]+\.j2'
allowed_files+='|roles/[a-z0-9_]+/files/[A-Za-z0-9_./-]+)$'
allowed_dirs="^(meta|changelogs|docs(/.*)?|playbooks|plugins(/[a-z_]+)?|roles(/[a-z0-9_]+(/($role_dirs)(/.*)?)?)?)/\$"

key='[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]='
key_names='(^|/)(wg_keys(/|$)|[^/]*\.(key|psk|pem)$)'
key_lines=(
  "^[[:space:]]*${key}[[:space:]]*\$"                                        # a bare WireGuard key
  "(PrivateKey|PresharedKey)[[:space:]]*=[[:space:]]*${key}"                 # wg-quick / systemd-networkd
  "(private_key|preshared_key|psk)[\"']?[[:space:]]*:[[:space:]]*[\"']?${key}"  # YAML or JSON
  '-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----'
  "\\\$ANSIBLE_VAULT;"
)

problems=()
listing=$(tar -tzvf "$tarball")
while read -r mode _owner _size _date _time path; do
  path=${path#./}
  if [[ $path =~ $key_names ]]; then
    problems+=("key-like name: $path")
  elif [[ $mode == d* ]]; then
    [[ $path =~ $allowed_dirs ]] || problems+=("not on the allowlist: $path")
  elif [[ $mode == -* ]]; then
    [[ $path =~ $allowed_files ]] || problems+=("not on the allowlist: $path")
  else
    problems+=("not a regular file or directory: $path")
  fi
done <<<"$listing"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar -xzf "$tarball" -C "$scratch" --no-same-owner --no-same-permissions
for pattern in "${key_lines[@]}"; do
  while IFS= read -r -d '' file; do
    problems+=("key-like content (${pattern:0:40}): ${file#"$scratch"/}")
  done < <(grep -rlZE -e "$pattern" "$scratch" || true)
done

if ((${#problems[@]})); then
  echo "check-build: $tarball must not ship:" >&2
  printf '  %s\n' "${problems[@]}" | sort -u >&2
  exit 1
fi
echo "check-build: $tarball OK ($(grep -c '^-' <<<"$listing") files, $(wc -l <<<"$listing") entries, $(stat -c %s "$tarball") bytes)"
