#!/usr/bin/env bash
# The ansible-core matrix: for every release listed in tests/matrix/ansible-core.txt, the unit tests,
# ansible-test sanity and a validation-only run of site.yml (tests/matrix), each release in its own venv
# under ~/.cache/fakevpc/core-matrix/ (outside the checkout: a fresh clone on the same machine reuses them; kept
# with the newest patch release of the day each was made; rebuilt when the package list below changes, or by
# removing it). meta/runtime.yml's requires_ansible must claim
# exactly the listed releases. ansible-test keeps its own sanity venvs under ~/.ansible/test/.
# Usage: scripts/core-matrix.sh [RELEASE...]   (default: every listed release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3.11}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/fakevpc/core-matrix

mapfile -t listed < <(grep -Ev '^[[:space:]]*(#|$)' tests/matrix/ansible-core.txt)
if (($#)); then releases=("$@"); else releases=("${listed[@]}"); fi

# The claim: >=FIRST.0,<LAST+1.0 (the list is in ascending order).
first=${listed[0]} last=${listed[-1]}
claim=">=${first}.0,<${last%.*}.$((${last#*.} + 1)).0"
actual=$(sed -n 's/^requires_ansible: *"\(.*\)"$/\1/p' meta/runtime.yml)
if [[ $actual != "$claim" ]]; then
  echo "core-matrix: meta/runtime.yml says requires_ansible \"$actual\"; the tested releases claim \"$claim\"" >&2
  exit 1
fi

packages=(pytest pytest-xdist pytest-mock mock cryptography pynacl)
stamp_key=$(echo "$python ${packages[*]}" | sha256sum | cut -c1-16)  # a new package list, a new venv

venv_for() {  # venv_for RELEASE: create (or reuse) the venv, print its path
  local release=$1 venv=$cache/ansible-core-$1
  [[ $release =~ ^[0-9]+\.[0-9]+$ ]] || { echo "core-matrix: not a release: $release" >&2; return 1; }
  if [[ ! -f $venv/.stamp-$stamp_key ]]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q "ansible-core==${release}.*" "${packages[@]}" >&2
    touch "$venv/.stamp-$stamp_key"
  fi
  echo "$venv"
}

declare -A results
status=0
for release in "${releases[@]}"; do
  start=$SECONDS
  venv=$(venv_for "$release")
  version=$("$venv/bin/ansible" --version | sed -n '1s/.*core \([0-9.]*\).*/\1/p')
  echo "=== ansible-core $version ($venv)"
  failed=()
  PATH=$venv/bin:$PATH "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit || failed+=(unit)
  PATH=$venv/bin:$PATH "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/matrix || failed+=(validation)
  PATH=$venv/bin:$PATH SANITY_DIR=$root/build/sanity-$release bash scripts/sanity.sh || failed+=(sanity)
  if ((${#failed[@]})); then status=1; results[$version]="FAILED: ${failed[*]}"; else results[$version]=ok; fi
  results[$version]+=" ($((SECONDS - start)) s)"
done
echo "=== core-matrix: requires_ansible \"$claim\""
for version in "${!results[@]}"; do echo "ansible-core $version: ${results[$version]}"; done | sort -V
exit "$status"
