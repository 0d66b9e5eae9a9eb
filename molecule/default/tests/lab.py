# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the verify step expects of the molecule lab, computed here independently of the collection's code.

The inventory is the one the lab role wrote into molecule's ephemeral directory (plus, after the side effect,
lifecycle.yml, which marks server 2 absent). The side effect's record is in $FAKEVPC_MOLECULE_RECORD (set by
scripts/molecule-test.sh), else in <ephemeral>/lifecycle/.
"""

from __future__ import annotations

import json
import os

import pytest
import testinfra.utils.ansible_runner
import yaml

# The test helper package (tests/support, on sys.path through pytest.ini): the probe logs' reader both scenarios
# share, and the mesh's addresses as the integration tests expect them too.
from support import probe_log
from support.addresses import HOSTS_BEGIN, HOSTS_END, hosts_lines, mesh_address

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
INVENTORY = os.path.join(EPHEMERAL, "inventory")
RECORD = os.environ.get("FAKEVPC_MOLECULE_RECORD") or os.path.join(EPHEMERAL, "lifecycle")
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
DOMAIN = "vpcdomain"
OFFSET = 1  # wg_mesh_iface_ip_offset: server A's subnet is 192.168.(OFFSET + A - 1).0/24


def without_record(reason):
    """A check that cannot run without the side effect's record: skipped, with the reason; under CI (CI set to
    anything but empty, 0 or false, as .ci/run does), where `make molecule` always records it, it fails."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        pytest.fail("CI=%s: a check that cannot run fails under CI: %s" % (os.environ["CI"], reason))
    pytest.skip(reason)


_VARIABLES = {name: RUNNER.get_variables(name) for name in RUNNER.get_hosts("vpc")}
INDEX = {name: int(variables["wg_mesh_index"]) for name, variables in _VARIABLES.items()}
# The servers in the VPC now, by index, and those that left it.
SERVERS = sorted((name for name in INDEX if _VARIABLES[name].get("wg_mesh_state", "present") == "present"), key=INDEX.get)
REMOVED = sorted(set(INDEX) - set(SERVERS), key=INDEX.get)


def services():
    """The VPC-only services as last applied: the side effect's, or else the lab's group variables."""
    path = os.path.join(RECORD, "services.yml")
    if os.path.exists(path):
        with open(path) as stream:
            return yaml.safe_load(stream)["vpc_service_services"]
    return _VARIABLES[SERVERS[0]].get("vpc_service_services", [])


def address(seen_from, target):
    """Return the address server index seen_from uses for server index target."""
    return mesh_address(seen_from, target, OFFSET)


def expected_block(index, servers):
    """Return the managed hosts block of server index in a VPC of servers (names), one line per server."""
    return hosts_lines(index, [(name, INDEX[name]) for name in servers], DOMAIN, OFFSET)


def hosts_block(text):
    """Return the managed block of a hosts file as normalised lines, or None when it has none; fail if it has several."""
    lines = text.splitlines()
    if HOSTS_BEGIN not in lines and HOSTS_END not in lines:
        return None
    assert lines.count(HOSTS_BEGIN) == 1 and lines.count(HOSTS_END) == 1, "one managed block in the hosts file"
    return [" ".join(line.split()) for line in lines[lines.index(HOSTS_BEGIN) + 1:lines.index(HOSTS_END)]]


def snapshot(label, server):
    """The side effect's snapshot of server at label (see shared/files/mesh_snapshot.py), or None if none was taken."""
    path = os.path.join(RECORD, label, "%s.json" % server)
    if not os.path.exists(path):
        return None
    with open(path) as stream:
        return json.load(stream)


# Each phase of the side effect, and the server it disturbs (its own probes and the probes to it are not
# judged for loss).
DISTURBED = {"add": "server4", "crash": "server2", "reboot": "server3", "rotate": "server2", "remove": "server2"}


def probes(phase):
    """Every probe log of a phase."""
    return probe_log.probes(RECORD, phase)


def recovery(phase, server, label):
    """Seconds from the start of each of server's tunnels (after it came back) to the first reply of each probe to it."""
    after = snapshot(label, server)
    seconds = {}
    for probe in probes(phase):
        if probe.target == server:
            started = after["interfaces"][peer_interface(server, probe.source)]["unit_active_since"]
            back = probe.first_reply_after(started)
            seconds[probe.source] = None if back is None else back - started
    return seconds


def peer_interface(server, peer):
    """The interface of server that carries its tunnel to peer (wgvpc0 serves the higher indices)."""
    return "wgvpc0" if INDEX[peer] > INDEX[server] else "wgvpc%d" % INDEX[peer]
