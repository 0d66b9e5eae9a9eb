# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The boot script that rebuilds a host's VPCs without Ansible (pure: returns text).

A private module of the fakevpc.vpc collection: its interface may change without notice.

After a reboot nothing of the VPCs is left (namespaces live in /run, links and rules in the
kernel). A oneshot unit runs this script early at boot. It builds exactly what the role's
modules build - the same names, addresses, routes and the same tagged rules (the rule text
comes from the same plan and the same tagging code) - so a playbook run after a reboot finds
nothing to change. Every step checks before it adds, so running it twice is harmless.
Order: the firewall first (no window in which a VPC is wired but not isolated), then
namespaces, bridges, veth pairs, addresses and routes, then the subnets' policies.
"""

from __future__ import annotations

import shlex

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names
from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_rules as rules_lib

HEADER = """#!/bin/sh
# Rebuilds the VPCs of this host at boot: namespaces, bridges, veth pairs, addresses, routes, firewall.
# Written by the fakevpc.vpc netns_vpc role from its plan; do not edit, rerun the role instead.
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

has_link() { ip ${2:+-n "$2"} link show dev "$1" >/dev/null 2>&1; }
"""


def _q(word):
    return shlex.quote(str(word))


def _chains(table_chains, iptables, restore, netns=None):
    """Each table's chains loaded in one iptables-restore, then the jumps to them from the built-in chains."""
    tables = dict.fromkeys(chain["table"] for chain in table_chains)
    lines = [rules_lib.shell_restore(restore, table, [chain for chain in table_chains if chain["table"] == table],
                                     netns) for table in tables]
    return lines + [rules_lib.shell_jump(iptables, chain["table"], source, chain["chain"], netns=netns)
                    for chain in table_chains for source in chain["jump_from"]]


def render_boot_script(plan, backend="auto"):
    """The shell script for plan (the result of build_vpc_plan); '' when the plan has no VPC."""
    if plan["empty"]:
        return ""
    iptables, restore = rules_lib.IPTABLES_TOOLS[backend]
    out = [HEADER]
    if plan["forwarding"]:
        out.append("sysctl -q -w net.ipv4.ip_forward=1")
    host_chains = [chain for chain in plan["host_chains"] if chain["state"] == "present"]
    out.append("\n# The host's firewall, before anything is wired.")
    out += _chains(host_chains, iptables, restore)
    out.append("\n# One namespace per subnet.")
    for namespace in plan["namespaces"]:
        out.append("[ -e /run/netns/%s ] || ip netns add %s" % (namespace, _q(namespace)))
        out.append("ip -n %s link set dev lo up" % _q(namespace))
    out.append("\n# One bridge per VPC, with the gateway of each subnet.")
    for bridge in plan["bridges"]:
        name = _q(bridge["name"])
        out.append("has_link %s || ip link add %s type bridge" % (name, name))
        out += ["ip address replace %s dev %s" % (address, name) for address in bridge["addresses"]]
        out.append("sysctl -q -w %s=1" % names.sysctl_interface_key(bridge["name"], "rp_filter"))
        out.append("ip link set dev %s up" % name)
    out.append("\n# A veth pair from each subnet's namespace to its VPC's bridge.")
    for veth in plan["veths"]:
        name, peer, netns = _q(veth["name"]), _q(veth["peer"]["name"]), _q(veth["peer"]["namespace"])
        out.append("has_link %s || ip link add %s type veth peer name %s netns %s" % (name, name, peer, netns))
        out.append("ip link set dev %s master %s" % (name, _q(veth["master"])))
        out.append("ip link set dev %s up" % name)
    for link in plan["subnet_links"]:
        name, netns = _q(link["name"]), _q(link["namespace"])
        out += ["ip -n %s address replace %s dev %s" % (netns, address, name) for address in link["addresses"]]
        out.append("ip -n %s link set dev %s up" % (netns, name))
        for route in link["routes"]:
            out.append("ip -n %s route replace %s via %s dev %s" % (netns, route["dst"], route["via"], name))
    chains = [chain for chain in plan["namespace_chains"] if chain["state"] == "present"]
    if chains:
        out.append("\n# The subnets' policies, inside their namespaces.")
    for chain in chains:
        out += _chains([chain], iptables, restore, chain["namespace"])
    return "\n".join(out) + "\n"
