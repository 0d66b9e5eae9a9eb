# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inventories against the lab: site.yml fails in its first play, naming the host and the variable,
and no server changes (the recap shows nothing changed, and every server's mesh and hosts file are as
before). Also: no key of the lab appears in the side effect's -vvv run, and the key files are private."""

from __future__ import annotations

import os
import re
import stat

import pytest

from lab import EPHEMERAL, INVENTORY, RECORD, RUNNER, SERVERS, without_record
from support.playbook import run_playbook

SITE = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "site.yml")
# name: (host variables by server, extra variables, the words the error must contain)
CASES = {
    "duplicate index": ({"server3": {"wg_mesh_index": 1}}, {}, ["server3", "wg_mesh_index", "already the index"]),
    "index 0": ({"server3": {"wg_mesh_index": 0}}, {}, ["server3", "wg_mesh_index"]),
    "index 255": ({"server3": {"wg_mesh_index": 255}}, {}, ["server3", "wg_mesh_index"]),
    "offset overflow": ({}, {"wg_mesh_iface_ip_offset": 254}, ["server3", "wg_mesh_index", "iface_ip_offset 254"]),
    "bad endpoint": ({"server1": {"wg_mesh_endpoint": "not an address!"}}, {}, ["server1", "wg_mesh_endpoint"]),
    "interface name too long": ({}, {"wg_mesh_iface_prefix": "fakevpcmeshif"}, ["wg_mesh_iface_prefix"]),
}
# No colours: the recap is read below.
PLAIN = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
STATE = "ip -br link show type wireguard; wg show all peers; cat /etc/hosts; systemctl list-units --plain --no-legend 'fakevpc-*'"


def server_states():
    states = {}
    for name in SERVERS:
        host = RUNNER.get_host(name)
        with host.sudo():
            states[name] = host.check_output(STATE)
    return states


@pytest.fixture(scope="module")
def states_before():
    return server_states()


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_inventory_fails_before_any_server_changes(case, tmp_path, states_before):
    host_vars, extra_vars, words = CASES[case]
    bad = tmp_path / "bad.yml"
    bad.write_text("vpc:\n  hosts:\n" + "".join(
        "    %s:\n" % host + "".join("      %s: %r\n" % item for item in variables.items())
        for host, variables in host_vars.items()))
    extra_args = []
    for name, value in extra_vars.items():
        extra_args += ["-e", "%s=%s" % (name, value)]
    run = run_playbook(SITE, [INVENTORY, bad], verbose=0, extra_args=extra_args, timeout=None, cwd=EPHEMERAL, environ=PLAIN)
    output = run.stdout + run.stderr
    assert run.rc != 0, output
    # The error as one line, whatever the callback's wrapping and quoting.
    failure = " ".join(output[output.find("fatal:"):].replace("''", "'").split())
    assert all(word in failure for word in words), failure
    assert "Build the fake VPC" not in output, "the run went past the validation play"
    recap = re.findall(r"^(\S+)\s*: ok=\d+\s+changed=(\d+)", output, re.MULTILINE)
    assert recap and all(changed == "0" for _host, changed in recap), recap
    assert server_states() == states_before


def test_no_key_in_the_verbose_run():
    path = os.path.join(RECORD, "add-vvv.log")
    if not os.path.exists(path):
        without_record("no side effect recorded (run molecule side-effect)")
    with open(path) as stream:
        output = stream.read()
    assert "Configure the WireGuard interfaces" in output, "not the log of a site.yml run"
    key_dir = RUNNER.get_variables(SERVERS[0])["wg_mesh_key_dir"]
    secrets = []
    for name in os.listdir(key_dir):
        with open(os.path.join(key_dir, name)) as stream:
            secrets.append(stream.read().strip())
    assert len(secrets) >= len(SERVERS) * 2
    assert not [secret for secret in secrets if secret in output]


def test_key_files_are_private():
    key_dir = RUNNER.get_variables(SERVERS[0])["wg_mesh_key_dir"]
    assert stat.S_IMODE(os.stat(key_dir).st_mode) == 0o700
    modes = {name: stat.S_IMODE(os.stat(os.path.join(key_dir, name)).st_mode) for name in os.listdir(key_dir)}
    assert modes and all(mode == 0o600 for mode in modes.values()), modes
