#!/usr/bin/env bash
# Run the molecule scenario step by step, always destroying at the end, and print how long each step took.
# Usage (from the repository root, with the venv's bin on PATH): molecule/default/timed-test.sh
set -uo pipefail

# A top-level molecule/ directory in a collection: say so, rather than have molecule look in extensions/.
export MOLECULE_GLOB="molecule/*/molecule.yml"
# mitogen, when it is installed: Ansible's tasks on TCG guests take about half the time.
if strategies=$(python -c 'import ansible_mitogen, os
print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))' 2>/dev/null); then
    export ANSIBLE_STRATEGY_PLUGINS=$strategies ANSIBLE_STRATEGY=mitogen_linear
    echo "molecule: with mitogen ($strategies)"
fi
steps=(destroy syntax create converge idempotence side-effect verify)
names=()
seconds=()
status=0

timed() {  # timed LABEL COMMAND...: run, record the duration, keep the first failure
    local label=$1 start=$SECONDS
    shift
    echo "=== molecule: $label"
    "$@"
    local rc=$?
    names+=("$label$([ "$rc" = 0 ] || echo ' (FAILED)')")
    seconds+=($((SECONDS - start)))
    return "$rc"
}

total_start=$SECONDS
for step in "${steps[@]}"; do
    timed "$step" molecule "$step" -s default || { status=1; break; }
done
timed "destroy (final)" molecule destroy -s default || status=1

echo
echo "molecule default: time per step"
for i in "${!names[@]}"; do
    printf '  %-22s %4d s\n' "${names[$i]}" "${seconds[$i]}"
done
printf '  %-22s %4d s\n' total $((SECONDS - total_start))
exit "$status"
