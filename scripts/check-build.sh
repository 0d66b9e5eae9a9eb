#!/usr/bin/env bash
# Fail if a collection tarball holds anything that must not ship: venvs, VM images, caches,
# build output, the collections/ symlink, VCS or test output.
# Usage: scripts/check-build.sh fakevpc-vpc-X.Y.Z.tar.gz
set -euo pipefail

tarball=${1:?usage: $0 TARBALL}
forbidden='^(\./)?(\.?venv|build|collections|lab|tests/output|\.ansible|\.git|\.ci)(/|$)'
forbidden+='|(^|/)(__pycache__|\.pytest_cache|\.cache|\.molecule)(/|$)'
forbidden+='|\.(pyc|qcow2|img|raw|iso|whl|tar|tar\.gz|tgz)$'

if bad=$(tar -tzf "$tarball" | grep -E "$forbidden"); then
  echo "check-build: $tarball contains entries that must not ship:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "check-build: $tarball OK ($(tar -tzf "$tarball" | wc -l) entries, $(du -h "$tarball" | cut -f1))"
