# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml on the ansible-core of the Python that runs this test (scripts/core-matrix.sh runs it once per
release), validation only: every playbook passes --syntax-check; a good inventory passes the validation play
on every host, and its servers (127.0.0.1 port 1, closed) are unreachable when the build play starts; a bad
one fails in the validation play, naming the host and the variable, before any host is contacted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ansible.release import __version__ as CORE_VERSION

from support.paths import REPO_ROOT, SITE
from support.playbook import run_playbook

# The ansible-core under test is the one of the Python that runs this test.
BIN = Path(sys.executable).parent
VALIDATION, BUILD = "Validate the whole VPC before changing anything", "Build the fake VPC"


def _hosts(count):
    return {f"vpc{i}": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh",
                        "ansible_ssh_common_args": "-o ConnectTimeout=5", "wg_mesh_index": i,
                        "wg_mesh_endpoint": f"192.0.2.{i}"} for i in range(1, count + 1)}


def _inventory(tmp_path, hosts, **group_vars):
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps({"all": {"children": {"vpc": {"hosts": hosts, "vars": group_vars}}}}))
    return path


def _run(playbooks, inventory, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    return run_playbook(playbooks, inventory, verbose=0, extra_args=list(args), environ=env, bindir=BIN)


def _plays(proc):
    """{play name: its output up to the next play or the recap} of the default callback's output."""
    plays = {}
    for chunk in re.split(r"^PLAY ", proc.stdout, flags=re.M)[1:]:
        header = re.match(r"\[(.*)\]", chunk)  # the last chunk is the recap
        if header:
            plays[header.group(1)] = chunk
    return plays


def test_this_is_the_release_under_test():
    version = subprocess.run([str(BIN / "ansible"), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"core {CORE_VERSION}]" in version.splitlines()[0]


def test_syntax_of_every_playbook(tmp_path):
    playbooks = sorted(str(p) for p in (REPO_ROOT / "playbooks").glob("*.yml")) + [str(REPO_ROOT / "site.yml")]
    proc = _run(playbooks, _inventory(tmp_path, _hosts(2)), "--syntax-check")
    assert proc.rc == 0, proc.stdout + proc.stderr


def test_a_good_inventory_passes_the_validation_play(tmp_path):
    services = [{"name": "echo", "port": 8888, "servers": ["vpc2"], "mode": "socat",
                 "command": "/usr/bin/socat TCP-LISTEN:8888,bind=127.0.0.1,reuseaddr,fork EXEC:/bin/cat"}]
    proc = _run(SITE, _inventory(tmp_path, _hosts(3), vpc_service_services=services))
    plays = _plays(proc)
    validation, build = plays[VALIDATION], plays[BUILD]
    assert "fatal:" not in validation and "FAILED" not in validation, proc.stdout[-4000:]
    assert "TASK [fakevpc.vpc.wg_mesh : Compute and validate the mesh plan of the whole group]" in validation
    assert "TASK [fakevpc.vpc.vpc_service : Validate the VPC-only services against the mesh]" in validation
    assert set(re.findall(r"^fatal: \[(\w+)\]: UNREACHABLE!", build, flags=re.M)) == {"vpc1", "vpc2", "vpc3"}
    recap = proc.recap
    assert proc.rc == 4 and set(recap) == {"vpc1", "vpc2", "vpc3"}, proc.stdout[-4000:]
    assert all(counters["failed"] == 0 and counters["unreachable"] == 1 for counters in recap.values())


@pytest.mark.parametrize("change, host, variable", [
    ({"vpc3": {"wg_mesh_index": 1}}, "vpc3", "wg_mesh_index"),
    ({"vpc1": {"wg_mesh_endpoint": None, "ansible_host": None}}, "vpc1", "wg_mesh_endpoint"),
])
def test_a_bad_inventory_fails_in_the_validation_play(tmp_path, change, host, variable):
    hosts = _hosts(3)
    for name, values in change.items():
        hosts[name].update(values)
        for key in [key for key, value in values.items() if value is None]:
            del hosts[name][key]
    proc = _run(SITE, _inventory(tmp_path, hosts))
    plays = _plays(proc)
    failures = re.findall(r"^fatal: \[\w+\]: FAILED! => (.*)$", plays[VALIDATION], flags=re.M)
    assert any(host in failure and variable in failure for failure in failures), proc.stdout[-4000:]
    assert "TASK [" not in plays.get(BUILD, "")
    recap = proc.recap
    assert proc.rc == 2 and all(c["unreachable"] == 0 and c["changed"] == 0 for c in recap.values())
