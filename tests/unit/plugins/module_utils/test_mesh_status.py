# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The status matrix from what the servers measured."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_status import wg_mesh_status
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import build_mesh_plan

PLAN = build_mesh_plan([{"host": "h%d" % i, "index": i, "endpoint": "198.51.100.%d" % i, "name": "server%d" % i}
                       for i in (1, 2, 3)])


def report(now, handshakes, pings):
    """A host's status report: its clock, `wg show` handshake lines, ping lines (one per line of each list)."""
    return {"now": now, "handshakes": "".join(line + "\n" for line in handshakes), "pings": "".join(line + "\n" for line in pings)}


REPORTS = {
    "h1": report("1000", ["wgvpc0\t192.168.1.2/32\t990", "wgvpc0\t192.168.1.3/32\t0"], ["server2.vpcdomain ok 0.52", "server3.vpcdomain down"]),
    "h2": report("1000", ["wgvpc0\t192.168.2.3/32\t995", "wgvpc1\t192.168.1.1/32\t990"], ["server1.vpcdomain ok 0.61", "server3.vpcdomain ok 1.25"]),
    "h3": report("1003", ["wgvpc1\t192.168.1.1/32\t0", "wgvpc2\t192.168.2.1/32\t995"], ["server1.vpcdomain down", "server2.vpcdomain ok 1.3"]),
}


def test_matrix_shows_rtt_and_handshake_age_and_lists_down_pairs():
    status = wg_mesh_status(REPORTS, PLAN)
    assert status["table"].splitlines() == [
        "ping ->   server1   server2   server3",
        "server1   -         0.5ms 10s DOWN",
        "server2   0.6ms 10s -         1.2ms 5s",
        "server3   DOWN      1.3ms 8s  -",
        "cells: round trip by name, age of the last WireGuard handshake; 2 pair(s) down",
    ]
    assert status["down"] == [["server1", "server3"], ["server3", "server1"]]


def test_all_up_and_a_missing_report_counts_as_down():
    up = {host: dict(report, pings=report["pings"].replace("down", "ok 1.0")) for host, report in REPORTS.items()}
    assert wg_mesh_status(up, PLAN)["down"] == []
    assert wg_mesh_status(up, PLAN)["table"].endswith("every pair is up")
    partial = {host: up[host] for host in ("h1", "h2")}
    assert wg_mesh_status(partial, PLAN)["down"] == [["server3", "server1"], ["server3", "server2"]]


def test_unreadable_report_names_the_host():
    with pytest.raises(AnsibleFilterError, match="host 'h1': unreadable report"):
        wg_mesh_status({"h1": {"now": "x", "handshakes": "", "pings": ""}}, PLAN)


def test_relayed_pairs_are_marked_with_their_relay():
    plan = build_mesh_plan([{"host": "h1", "index": 1, "endpoint": "198.51.100.1"},
                            {"host": "h2", "index": 2, "dialable": False}, {"host": "h3", "index": 3, "dialable": False}])
    reports = {
        "h1": report("100", ["wgvpc0\t192.168.1.2/32\t90", "wgvpc0\t192.168.1.3/32\t95"], ["h2.vpcdomain ok 1.0", "h3.vpcdomain ok 1.0"]),
        "h2": report("100", ["wgvpc1\t192.168.1.1/32,192.168.2.3/32\t90"], ["h1.vpcdomain ok 1.0", "h3.vpcdomain ok 2.5"]),
        "h3": report("100", ["wgvpc1\t192.168.1.1/32,192.168.2.1/32\t95"], ["h1.vpcdomain ok 1.0", "h3.vpcdomain ok 2.5"]),
    }
    status = wg_mesh_status(reports, plan)
    lines = status["table"].splitlines()
    assert lines[2].split() == ["h2", "1.0ms", "10s", "-", "2.5ms", "10s", "via", "h1"]
    assert "relayed: h2 <-> h3 via h1" in lines
    assert status["down"] == [["h3", "h2"]]  # h3 did not ping h2 (its report names h3 twice)
