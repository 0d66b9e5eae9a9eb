# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the test playbook wg_mesh.yml: the tests' changes to the interfaces of the plan, and the module's
result as one entry per interface of the plan."""

from __future__ import annotations


def wg_it_overrides(interfaces, public_keys, interface_overrides, peer_overrides, dropped_peers):
    """interfaces (wg_mesh_interfaces' output) with each interface's options replaced as interface_overrides
    ({iface: {option: value}}) says, its peers' as peer_overrides ({iface: {peer_host: {option: value}}}), and the
    peers of dropped_peers ({iface: [peer_host]}) left out."""
    result = []
    for interface in interfaces:
        name = interface["name"]
        by_key = {public_keys[host]: options for host, options in peer_overrides.get(name, {}).items()}
        dropped = [public_keys[host] for host in dropped_peers.get(name, [])]
        peers = [dict(peer, **by_key.get(peer["public_key"], {}))
                 for peer in interface["peers"] if peer["public_key"] not in dropped]
        result.append(dict(interface, peers=peers, **interface_overrides.get(name, {})))
    return result


def wg_it_results(result, plan_interfaces):
    """Per interface of the plan: what wg_interfaces returned for it, its diff, and the plan's interface (item)."""
    diffs = {diff["before_header"][:-len(" (live)")]: diff for diff in result.get("diff") or []}
    entries = []
    for interface in plan_interfaces:
        entry = dict(result.get("interfaces", {}).get(interface["name"], {}), item=interface)
        if interface["name"] in diffs:
            entry["diff"] = diffs[interface["name"]]
        entries.append(entry)
    return entries


class FilterModule:
    def filters(self):
        return {"wg_it_overrides": wg_it_overrides, "wg_it_results": wg_it_results}
