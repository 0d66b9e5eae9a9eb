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
import re

import pytest
import testinfra.utils.ansible_runner
import yaml

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
INVENTORY = os.path.join(EPHEMERAL, "inventory")
RECORD = os.environ.get("FAKEVPC_MOLECULE_RECORD") or os.path.join(EPHEMERAL, "lifecycle")
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
DOMAIN = "vpcdomain"
OFFSET = 1  # wg_mesh_iface_ip_offset: server A's subnet is 192.168.(OFFSET + A - 1).0/24
BEGIN = "# BEGIN fakevpc.vpc wg_mesh"
END = "# END fakevpc.vpc wg_mesh"


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
    if seen_from == target:
        return "127.0.0.1"
    low, high = sorted((seen_from, target))
    subnet = "192.168.%d" % (OFFSET + low - 1)
    return "%s.%d" % (subnet, high if seen_from == low else 1)


def expected_block(index, servers):
    """Return the managed hosts block of server index in a VPC of servers (names), one line per server."""
    return ["%s %s %s.%s" % (address(index, INDEX[name]), name, name, DOMAIN) for name in servers]


def hosts_block(text):
    """Return the managed block of a hosts file as normalised lines, or None when it has none; fail if it has several."""
    lines = text.splitlines()
    if BEGIN not in lines and END not in lines:
        return None
    assert lines.count(BEGIN) == 1 and lines.count(END) == 1, "one managed block in the hosts file"
    return [" ".join(line.split()) for line in lines[lines.index(BEGIN) + 1:lines.index(END)]]


def snapshot(label, server):
    """The side effect's snapshot of server at label (see files/mesh_snapshot.py), or None if none was taken."""
    path = os.path.join(RECORD, label, "%s.json" % server)
    if not os.path.exists(path):
        return None
    with open(path) as stream:
        return json.load(stream)


# Each phase of the side effect, and the server it disturbs (its own probes and the probes to it are not
# judged for loss).
DISTURBED = {"add": "server4", "crash": "server2", "reboot": "server3", "rotate": "server2", "remove": "server2"}


_REPLY = re.compile(r"^\[(?P<time>[0-9.]+)\] \d+ bytes from .*icmp_seq=(?P<seq>\d+)")
_SUMMARY = re.compile(r"^(?P<sent>\d+) packets transmitted, (?P<received>\d+) received")


class Probe:
    """One `ping -D -i 0.1` log of the side effect: what was sent, what came back, when."""

    def __init__(self, phase, source, target):
        self.phase, self.source, self.target = phase, source, target
        self.path = os.path.join(RECORD, phase, source, "%s.log" % target)
        self.replies = {}  # icmp_seq -> unix time of the reply (the source's clock)
        self.sent = None
        with open(self.path) as stream:
            for line in stream:
                reply = _REPLY.match(line)
                if reply:
                    self.replies[int(reply["seq"])] = float(reply["time"])
                summary = _SUMMARY.match(line)
                if summary:
                    self.sent = int(summary["sent"])
        assert self.sent is not None, "%s: no summary (the probe did not end cleanly)" % self.path

    def __repr__(self):
        return "%s %s->%s" % (self.phase, self.source, self.target)

    @property
    def lost(self):
        """Requests without a reply sent before the last request that had one (those after it may still have
        been in flight when the probe stopped: under load, round trips reach half a second)."""
        last = max(self.replies, default=0)
        return sorted(set(range(1, last)) - set(self.replies))

    def when_lost(self):
        """Per lost request, the unix time it was sent, told from the replies around it (ten requests a second)."""
        if not self.replies:
            return {}
        first = min(self.replies)
        start = self.replies[first] - (first - 1) * 0.1
        return {seq: round(start + (seq - 1) * 0.1, 1) for seq in self.lost}

    def first_reply_after(self, when):
        """Unix time of the first reply later than `when` (same clock), or None."""
        later = [time for time in self.replies.values() if time > when]
        return min(later) if later else None


def probes(phase):
    """Every probe log of a phase."""
    found = []
    for source in sorted(os.listdir(os.path.join(RECORD, phase))):
        for log in sorted(os.listdir(os.path.join(RECORD, phase, source))):
            found.append(Probe(phase, source, log[:-len(".log")]))
    return found


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
