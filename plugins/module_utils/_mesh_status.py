# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The status matrix of the mesh, from what each server measured (pure: no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

Each server reports its clock, its handshakes (lines 'INTERFACE<TAB>ALLOWED_IPS<TAB>LATEST_HANDSHAKE', the
columns 1, 5 and 6 of the peer lines of `wg show all dump`: no key) and the output of pinging every other
server by name, one line per name: 'NAME ok RTT_MS' or 'NAME down'.
"""

from __future__ import annotations


def latest_handshakes(text):
    """{(interface, allowed ip): latest handshake (unix time, 0: never)} from the handshake lines."""
    handshakes = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        interface, allowed_ips, handshake = fields[0], fields[1], int(fields[2])
        for allowed_ip in allowed_ips.split(","):
            handshakes[(interface, allowed_ip)] = handshake
    return handshakes


def ping_results(text):
    """{name: rtt in ms, or None when down} from the ping lines."""
    results = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2:
            results[words[0]] = float(words[2]) if words[1] == "ok" and len(words) > 2 else None
    return results


def server_row(view, plan_servers, handshake_lines, pings, now):
    """{other host: {'rtt_ms', 'handshake_age', 'relay'}} as seen from one server (None: no answer, no handshake,
    not relayed). A relayed pair's handshake is that of the tunnel to its relay."""
    handshakes = latest_handshakes(handshake_lines)
    rtts = ping_results(pings)
    ages = {}
    for interface in view["interfaces"]:
        for peer in interface["peers"]:
            handshake = handshakes.get((interface["name"], peer["allowed_ips"][0]), 0)
            ages[peer["host"]] = now - handshake if handshake else None
    row = {}
    for host, age in ages.items():
        if host in plan_servers:
            row[host] = {"rtt_ms": rtts.get(plan_servers[host]["fqdn"]), "handshake_age": age, "relay": None}
    for host, relay in view.get("relayed", {}).items():
        if host in plan_servers:
            row[host] = {"rtt_ms": rtts.get(plan_servers[host]["fqdn"]), "handshake_age": ages.get(relay),
                         "relay": plan_servers[relay]["name"]}
    return row


def _cell(status):
    if status is None:
        return "?"
    if status["rtt_ms"] is None:
        return "DOWN"
    age = "-" if status["handshake_age"] is None else "%ds" % status["handshake_age"]
    via = " via %s" % status["relay"] if status.get("relay") else ""
    return "%.1fms %s%s" % (status["rtt_ms"], age, via)


def status_matrix(plan_servers, rows):
    """Render the matrix (row: the server that pings, column: the server it names); return (text, down pairs)."""
    hosts = sorted(plan_servers, key=lambda host: plan_servers[host]["index"])
    names = [plan_servers[host]["name"] for host in hosts]
    cells = [[("-" if looking == named else _cell(rows.get(looking, {}).get(named))) for named in hosts]
             for looking in hosts]
    width = max([len(name) for name in names] + [len(cell) for row in cells for cell in row] + [4])
    lines = [" ".join(["%-*s" % (width, "ping ->")] + ["%-*s" % (width, name) for name in names]).rstrip()]
    for name, row in zip(names, cells):
        lines.append(" ".join(["%-*s" % (width, name)] + ["%-*s" % (width, cell) for cell in row]).rstrip())
    down = [(plan_servers[looking]["name"], plan_servers[named]["name"])
            for looking, row in zip(hosts, cells) for named, cell in zip(hosts, row) if cell in ("DOWN", "?")]
    relayed = sorted(set(tuple(sorted((plan_servers[looking]["name"], plan_servers[named]["name"]))) + (relay,)
                         for looking in hosts for named, relay in plan_servers[looking].get("relayed", {}).items()
                         if named in plan_servers))
    for low, high, relay in relayed:
        lines.append("relayed: %s <-> %s via %s" % (low, high, plan_servers[relay]["name"]))
    lines.append("cells: round trip by name, age of the last WireGuard handshake%s; %s" % (
        " (to the relay, for a relayed pair)" if relayed else "",
        "every pair is up" if not down else "%d pair(s) down" % len(down)))
    return "\n".join(lines), down
