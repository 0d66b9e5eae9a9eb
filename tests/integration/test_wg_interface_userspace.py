# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_interfaces with a wireguard-go daemon that dies at start, for the reason it does on a crowded host.

Each wireguard-go daemon takes one inotify instance, and dies at once when it cannot get one (wireguard-go
itself returns 0 before that). The test runs the module in a user namespace of its own whose inotify instance
limit is 0 (/proc/sys/user/max_inotify_instances, counted per user namespace), with its own network, mount and
PID namespaces: the host's limit is untouched, and every process left dies with the namespace's PID 1. The same
run with the limit left as it is must create the interface, or the first case would prove nothing.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from support.paths import REPO_ROOT
from support.playbook import ansible_env

pytestmark = [pytest.mark.root, pytest.mark.wireguard]

UNSHARE = ["unshare", "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child"]


def run_wg_interface_in_own_namespaces(inotify_limit):
    private_key = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout.strip()
    arguments = {"interfaces": [{"name": "wgfvtest", "private_key": private_key, "addresses": ["192.168.250.1/24"],
                                 "listen_port": 51999}], "implementation": "userspace", "persist": False}
    ansible = [str(REPO_ROOT / ".venv" / "bin" / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable, "-m", "fakevpc.vpc.wg_interfaces",
               "-a", json.dumps(arguments)]
    script = "\n".join([
        "set -e",
        "echo %d > /proc/sys/user/max_inotify_instances" % inotify_limit if inotify_limit is not None else ":",
        "mount -t tmpfs fakevpc-test /run/wireguard",
        "%s" % shlex.join(ansible),
        "wg show wgfvtest listen-port",
    ])
    os.makedirs("/run/wireguard", exist_ok=True)  # the mount point only
    return subprocess.run(UNSHARE + ["sh", "-c", script], capture_output=True, text=True, timeout=300, check=False,
                          env=ansible_env(), cwd=REPO_ROOT)


def test_a_wireguard_go_daemon_that_dies_at_start_fails_the_module_with_the_reason():
    run = run_wg_interface_in_own_namespaces(inotify_limit=0)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "cannot create wgfvtest: wireguard-go started but its daemon does not answer on" in output, output
    assert "fs.inotify.max_user_instances" in output and "wireguard-go --foreground wgfvtest" in output, output
    assert "51999" not in run.stdout.splitlines()[-1:], output  # `wg show` never ran


def test_the_same_run_with_inotify_instances_left_creates_the_interface():
    run = run_wg_interface_in_own_namespaces(inotify_limit=None)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "implementation: userspace" in output, output
    assert run.stdout.splitlines()[-1] == "51999", output
