# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Judge the side effect's record (side_effect.yml): continuous pings while a fourth server joins, while
server 2 crashes and boots again, while server 3 reboots, while server 2's keys rotate and while server 2 leaves;
what a run limited to server 1 did to the peers; and which interfaces survived each change untouched.

Every ping probe sends ten requests a second, by name. Loss is counted by sequence number, up to the last
request answered: the requests after it may still have been in flight when the probe stopped.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from lab import (DISTURBED, INDEX, RECORD, expected_block, hosts_block, peer_interface, probes, recovery, snapshot,
                 without_record)

# A server that comes back (crash or reboot) must carry traffic again this soon after its tunnels start.
RECOVERY_MAX = 30.0


@pytest.fixture(autouse=True)
def _recorded():
    """Every check here judges the side effect's record."""
    if not os.path.isdir(RECORD):
        without_record("no side effect recorded (run molecule side-effect)")


def undisturbed(phase):
    return [probe for probe in probes(phase) if DISTURBED[phase] not in (probe.source, probe.target)]


def interfaces(label, server):
    return snapshot(label, server)["interfaces"]


@pytest.mark.parametrize("phase", list(DISTURBED))
def test_no_packet_lost_between_the_servers_a_change_does_not_involve(phase):
    judged = undisturbed(phase)
    assert len(judged) >= 6, "probes of %s: %s" % (phase, judged)
    lost = {repr(probe): probe.when_lost() for probe in judged if probe.lost}
    assert not lost, (
        "lost requests during %s, icmp_seq: unix time sent (about; the record, with each server's WireGuard "
        "states and drop and conntrack counters and the controller's UDP counters, is in %s; each server's capture "
        "of the probes' first seconds, WireGuard's log and the packets its kernel dropped (drops.txt), in its "
        "%s-capture/): %s"
    ) % (
        phase, RECORD, phase, lost)
    # Answered up to its last second: nothing lost hides in the tail left out above.
    unanswered_tail = {repr(probe): probe.sent - max(probe.replies, default=0) for probe in judged}
    assert all(count <= 10 for count in unanswered_tail.values()), unanswered_tail


def test_the_limited_run_kept_every_peer_and_touched_only_server1():
    for server in ("server1", "server2", "server3"):
        before, limited = interfaces("before", server), interfaces("limited", server)
        for name, interface in before.items():
            assert set(interface["peers"]) <= set(limited[name]["peers"]), "%s %s lost a peer" % (server, name)
            assert limited[name]["ifindex"] == interface["ifindex"], "%s %s was recreated" % (server, name)
        if server != "server1":
            assert limited == before, "%s changed in a run limited to server1" % server
    server4_key = interfaces("added", "server4")["wgvpc1"]["public_key"]
    assert server4_key in interfaces("limited", "server1")["wgvpc0"]["peers"]


@pytest.mark.parametrize("label", ["added", "crashed", "rebooted", "removed"])
def test_no_existing_interface_was_recreated_readdressed_or_rekeyed(label):
    previous = {"added": "before", "crashed": "added", "rebooted": "crashed", "removed": "rotated"}[label]
    restarted = {"crashed": "server2", "rebooted": "server3"}.get(label)
    for server in sorted(INDEX, key=INDEX.get):
        if snapshot(previous, server) is None or (label == "removed" and server == "server2"):
            continue
        before, after = interfaces(previous, server), interfaces(label, server)
        for name, interface in before.items():
            if label == "removed" and name == peer_interface(server, "server2") and name != "wgvpc0":
                assert name not in after, "%s still has %s, its tunnel to server2" % (server, name)
                continue
            assert name in after, "%s lost %s" % (server, name)
            assert after[name]["addresses"] == interface["addresses"], (server, name)
            assert after[name]["public_key"] == interface["public_key"], (server, name)
            if server != restarted:
                assert after[name]["ifindex"] == interface["ifindex"], "%s %s was recreated" % (server, name)


@pytest.mark.parametrize("phase,server", [("crash", "server2"), ("reboot", "server3")])
def test_a_server_that_comes_back_has_its_tunnels_and_names_with_no_playbook_run(phase, server):
    label = {"crash": "crashed", "reboot": "rebooted"}[phase]
    before, after = snapshot("added" if phase == "crash" else "crashed", server), snapshot(label, server)
    assert after["boot_id"] != before["boot_id"], "%s did not boot again" % server
    servers = sorted(INDEX, key=INDEX.get)
    assert hosts_block(after["hosts"]) == expected_block(INDEX[server], servers)
    seconds = recovery(phase, server, label)
    assert len(seconds) == len(INDEX) - 1, seconds
    late = {source: delay for source, delay in seconds.items() if delay is None or delay > RECOVERY_MAX}
    assert not late, "%s: seconds from its tunnels' start to the first reply, by source: %s" % (server, late)


def test_the_rotation_gave_server2_a_new_key_everywhere_and_changed_nothing_else():
    old = {interface["public_key"] for interface in interfaces("rebooted", "server2").values()}
    new = {interface["public_key"] for interface in interfaces("rotated", "server2").values()}
    assert len(old) == 1 and len(new) == 1 and old != new, (old, new)
    for server in sorted(INDEX, key=INDEX.get):
        before, after = interfaces("rebooted", server), interfaces("rotated", server)
        assert sorted(after) == sorted(before), server
        for name, interface in before.items():
            assert after[name]["ifindex"] == interface["ifindex"], "%s %s was recreated" % (server, name)
            assert after[name]["addresses"] == interface["addresses"], (server, name)
            if server != "server2":
                assert after[name]["public_key"] == interface["public_key"], (server, name)
            peers = sorted(next(iter(new)) if peer in old else peer for peer in interface["peers"])
            assert after[name]["peers"] == peers, "%s %s: wg show peers" % (server, name)


def test_the_rotated_pairs_recover_and_their_longest_gap_is_reported(capsys):
    """The longest time between two replies of each probe to or from server 2 during the rotation, in ms, printed
    and kept in the record (rotate-gaps.json); each probe answers again after it."""
    gaps = {}
    for probe in probes("rotate"):
        if "server2" not in (probe.source, probe.target):
            continue
        times = sorted(probe.replies.values())
        assert times and probe.sent - max(probe.replies) <= 10, "%r: no reply after the rotation" % probe
        gaps[repr(probe)] = {"longest_gap_ms": round(max(b - a for a, b in zip(times, times[1:])) * 1000),
                             "lost": len(probe.lost), "sent": probe.sent}
    assert len(gaps) == 2 * (len(INDEX) - 1), gaps
    with open(os.path.join(RECORD, "rotate-gaps.json"), "w") as stream:
        json.dump(gaps, stream, indent=1, sort_keys=True)
    with capsys.disabled():
        print("\nrotated pairs, longest gap between two replies (ms), lost requests:")
        for name, gap in sorted(gaps.items()):
            print("  %s: %d ms, %d lost of %d" % (name, gap["longest_gap_ms"], gap["lost"], gap["sent"]))


def test_site_yml_after_the_rotation_changed_nothing():
    with open(os.path.join(RECORD, "rotate-rerun.log")) as stream:
        recap = stream.read().rpartition("PLAY RECAP")[2]
    counts = [(host, int(changed), int(failed)) for host, changed, failed in
              re.findall(r"^(\S+)\s*:.*\bchanged=(\d+).*\bfailed=(\d+)", recap, re.MULTILINE)]
    assert len(counts) == len(INDEX) and all(changed == failed == 0 for _host, changed, failed in counts), counts


def test_the_server_that_left_has_no_interface_and_no_peer_anywhere():
    leaving_keys = {interface["public_key"] for interface in interfaces("rotated", "server2").values()}
    assert interfaces("removed", "server2") == {}
    assert hosts_block(snapshot("removed", "server2")["hosts"]) is None
    for server in ("server1", "server3", "server4"):
        for name, interface in interfaces("removed", server).items():
            assert not leaving_keys & set(interface["peers"]), "%s %s still has a peer of server2" % (server, name)
