#!/usr/bin/env bash
# Every module and filter plugin must render with ansible-doc and carry EXAMPLES and RETURN.
# Modules: plugins/modules/<name>.py; filters: documented by plugins/filter/<name>.yml.
# Usage: scripts/doc-check.sh (ansible-doc and python on PATH, ANSIBLE_COLLECTIONS_PATH finding fakevpc.vpc).
set -euo pipefail
cd "$(dirname "$0")/.."

missing_sections='import json, sys
plugin = next(iter(json.load(sys.stdin).values()), {})
sections = {"doc": "DOCUMENTATION", "examples": "EXAMPLES", "return": "RETURN"}
print(" ".join(name for key, name in sections.items() if not plugin.get(key)))'

failed=0 checked=0
check() {  # check TYPE NAME
  local type=$1 fqcn=fakevpc.vpc.$2 err json missing
  checked=$((checked + 1))
  # ansible-doc exits 0 on some failures (an unknown plugin only warns): look at stderr too.
  if ! err=$(ansible-doc -t "$type" "$fqcn" 2>&1 >/dev/null) || [[ $err == *ERROR* || $err == *WARNING* ]]; then
    printf 'doc-check: %s %s does not render:\n%s\n' "$type" "$fqcn" "$err" >&2
    failed=1
    return
  fi
  json=$(ansible-doc -t "$type" --json "$fqcn")
  missing=$(python -c "$missing_sections" <<<"$json")
  if [[ -n $missing ]]; then
    echo "doc-check: $type $fqcn lacks $missing" >&2
    failed=1
  fi
}

shopt -s nullglob
for f in plugins/modules/*.py; do
  name=$(basename "$f" .py)
  [[ $name == __init__ ]] || check module "$name"
done
# Filters: those the plugins define (an undocumented one must fail too) and those with a doc file.
list_names='import json, sys
print("\n".join(fqcn.rsplit(".", 1)[1] for fqcn in json.load(sys.stdin)))'
filters=$(
  ansible-doc -t filter -l fakevpc.vpc --json | python -c "$list_names"
  for f in plugins/filter/*.yml plugins/filter/*.yaml; do basename "${f%.*}"; done
)
while read -r name; do
  [[ -z $name ]] || check filter "$name"
done < <(sort -u <<<"$filters")
echo "doc-check: $checked plugin(s) checked"
exit "$failed"
