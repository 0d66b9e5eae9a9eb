#!/usr/bin/env bash
# ansible-test sanity, offline and with no ignore file, on a copy of the collection at
# $SANITY_DIR/ansible_collections/fakevpc/vpc (ansible-test needs that path and a git repository; SANITY_DIR
# defaults to build/sanity).
# Usage: scripts/sanity.sh [extra ansible-test sanity args]; ansible-test (and its python) must be on PATH.
set -euo pipefail

python_version=3.11  # the controller Python the collection is tested on
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${SANITY_DIR:-$root/build/sanity}/ansible_collections/fakevpc/vpc
cd "$root"

shopt -s nullglob
ignores=(tests/sanity/ignore-*.txt)
if ((${#ignores[@]})); then
  echo "sanity: ignore files are not allowed: ${ignores[*]}" >&2
  exit 1
fi

# The tracked and untracked-but-not-ignored files, without the self-referencing collections/ symlink.
rm -rf "$dest" && mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard \
  | grep -zvE '^(collections|\.venv|build|tests/output|\.ansible|\.cache)/' \
  | rsync -a --from0 --files-from=- --ignore-missing-args ./ "$dest/"
git -C "$dest" init -q
git -C "$dest" add -A
git -C "$dest" -c user.name=sanity -c user.email=sanity@invalid commit -qm sanity

# ansible-test downloads a get-pip.py to bootstrap pip in its venvs; hand it a local stand-in instead.
pip_version=$(python -c 'import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))["pip"])' "$python_version")
get_pip=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$get_pip")"
cp "$root/scripts/get_pip_offline.py" "$get_pip.$$" && mv -f "$get_pip.$$" "$get_pip"  # atomic: other runs may read it

cd "$dest"
exec env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH \
  ansible-test sanity --local --python "$python_version" --color no "$@"
