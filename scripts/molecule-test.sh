#!/usr/bin/env bash
# Run one molecule scenario step by step (the steps of its own test_sequence), always destroying at the
# end, and print how long each step took.
# Usage (venv's bin on PATH): scripts/molecule-test.sh PROJECT_DIR [SCENARIO]
#   PROJECT_DIR is where the scenario's molecule/ directory is: the repository root, or a role.
set -uo pipefail

project=${1:?usage: molecule-test.sh PROJECT_DIR [SCENARIO]}
scenario=${2:-default}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$project" || exit 2
# A scenario that records what it saw (molecule/default: probe logs, WireGuard states) writes it here, outside
# molecule's ephemeral directory, which the final destroy removes: a failed verify leaves it as a CI artifact.
record_name=$(realpath --relative-to="$root" .)  # "." for the repository, roles/netns_vpc for a role
[ "$record_name" = . ] && record_name=$scenario || record_name="${record_name//\//-}-$scenario"
export FAKEVPC_MOLECULE_RECORD="$root/build/molecule-record/$record_name"
config="molecule/$scenario/molecule.yml"
[ -f "$config" ] || { echo "molecule-test.sh: no scenario at $project/$config" >&2; exit 2; }

# Scenarios live in molecule/ (a role's or the collection's), not in molecule 26's extensions/molecule/.
export MOLECULE_GLOB="molecule/*/molecule.yml"
# mitogen's strategy: Ansible's tasks on TCG guests take about half the time.
if strategies=$(python -c 'import ansible_mitogen, os
print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))' 2>/dev/null); then
    export ANSIBLE_STRATEGY_PLUGINS=$strategies ANSIBLE_STRATEGY=mitogen_linear
fi
# The scenario's test_sequence without its destroys: the first runs here, the last always runs below.
mapfile -t steps < <(python - "$config" <<'PY'
import sys, yaml
sequence = yaml.safe_load(open(sys.argv[1]))["scenario"]["test_sequence"]
for step in ["destroy"] + [s for s in sequence if s != "destroy"]:
    print(step.replace("_", "-"))
PY
)
# At least one step besides the first destroy, or the scenario was not read: fail rather than test nothing.
[ "${#steps[@]}" -gt 1 ] || { echo "molecule-test.sh: no test_sequence read from $project/$config" >&2; exit 2; }
echo "molecule: $project ($scenario): ${steps[*]}, destroy; strategy ${ANSIBLE_STRATEGY:-linear}; record $FAKEVPC_MOLECULE_RECORD"

names=()
seconds=()
status=0
timed() {  # timed LABEL COMMAND...: run, record the duration, keep the first failure
    local label=$1 start=$SECONDS
    shift
    echo "=== molecule ($scenario): $label"
    "$@"
    local rc=$?
    names+=("$label$([ "$rc" = 0 ] || echo ' (FAILED)')")
    seconds+=($((SECONDS - start)))
    return "$rc"
}

# molecule's check runs the converge playbook with --check and accepts any result: after a converge, this
# one adds --diff and fails when a PLAY RECAP reports a change (a check before any converge only runs).
# shellcheck disable=SC2317  # called through timed
check_no_change() {  # check_no_change SCENARIO
    local log rc
    log=$(mktemp)
    ANSIBLE_DIFF_ALWAYS=true molecule check -s "$1" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # molecule frames and colours ansible's output ("  │ server1   : ok=27   changed=0 ..."): read it bare.
    sed -i -E 's/\x1b\[[0-9;]*m//g; s/^[^[:alnum:]]+//' "$log"
    if ((rc == 0)); then
        if grep -E '^[^ ]+ +: ok=[0-9]+ +changed=[1-9]' "$log"; then
            echo "molecule ($1): check mode on the converged servers reports changes (above)" >&2
            rc=1
        elif ! grep -qE '^[^ ]+ +: ok=[0-9]+ +changed=0' "$log"; then
            echo "molecule ($1): no PLAY RECAP in the check step's output" >&2
            rc=1
        fi
    fi
    rm -f "$log"
    return "$rc"
}

total_start=$SECONDS
converged=0
for step in "${steps[@]}"; do
    if [[ $step == check ]] && ((converged)); then
        timed "check (no change)" check_no_change "$scenario" || { status=1; break; }
    else
        timed "$step" molecule "$step" -s "$scenario" || { status=1; break; }
    fi
    [[ $step != converge ]] || converged=1
done
timed "destroy (final)" molecule destroy -s "$scenario" || status=1

echo
echo "molecule $project ($scenario): time per step"
for i in "${!names[@]}"; do
    printf '  %-22s %4d s\n' "${names[$i]}" "${seconds[$i]}"
done
printf '  %-22s %4d s\n' total $((SECONDS - total_start))
exit "$status"
