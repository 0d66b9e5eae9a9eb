# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The VPCs' firewall as iptables rules: the host's chains (isolation, peering, NAT, port forwards) and each subnet's
policy chain inside its namespace, and what a policy allows (pure, no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

import ipaddress

REJECT = "-j REJECT --reject-with icmp-admin-prohibited"


def _ports_match(ports):
    low, high = ports
    return str(low) if low == high else "%d:%d" % (low, high)


def policy_rules(policy, direction, interface_match):
    """The rules of a subnet's INPUT (ingress) or OUTPUT (egress) chain, first match wins."""
    peer_flag = "-s" if direction == "ingress" else "-d"
    rules = ["%s lo -j ACCEPT" % interface_match, "-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"]
    for rule in policy[direction]:
        words = []
        if rule["peer"]:
            words += [peer_flag, rule["peer"]]
        if rule["protocol"] != "all":
            words += ["-p", rule["protocol"]]
        if rule["ports"]:
            words += ["-m", rule["protocol"], "--dport", _ports_match(rule["ports"])]
        if rule["action"] == "allow":
            words += ["-j", "ACCEPT"]
        elif rule["action"] == "drop":
            words += ["-j", "DROP"]
        elif rule["protocol"] == "tcp":
            words += ["-j", "REJECT", "--reject-with", "tcp-reset"]
        else:
            words += ["-j", "REJECT"]
        rule_text = " ".join(words)
        if rule_text not in rules:
            rules.append(rule_text)
    if policy[direction + "_default"] == "deny":
        rules.append("-j REJECT")
    return rules


def host_chains(present, bridges, settings, remote=(), transit=()):
    """The host's chains: {(table, chain): {'jump_from': [...], 'rules': [...]}}.

    remote: the subnets of VPCs spanning servers that live elsewhere, each with the mesh interface that carries it.
    transit: the prefixes this server relays between two others' tunnels (the mesh plan's view), accepted first
    when the chain refuses anything (the two ends police them)."""
    uplink = settings["uplink"]
    forward, prerouting, output, postrouting = [], [], [], []
    by_name = dict((vpc["name"], vpc) for vpc in present)
    for vpc in present:
        forward.append("-i %s ! -s %s -j DROP" % (bridges[vpc["name"]], vpc["cidr"]))
    for vpc in present:
        bridge = bridges[vpc["name"]]
        forward.append("-i %s -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT" % bridge)
        forward.append("-o %s -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT" % bridge)
        forward.append("-i %s -o %s -j ACCEPT" % (bridge, bridge))
        for peer in peers_of(vpc, present):
            forward.append("-s %s -d %s -i %s -o %s -j ACCEPT"
                           % (vpc["cidr"], by_name[peer]["cidr"], bridge, bridges[peer]))
        for item in remote:
            if vpc["name"] in item["for"]:
                forward.append("-s %s -d %s -i %s -o %s -j ACCEPT" % (vpc["cidr"], item["cidr"], bridge, item["carrier"]))
                forward.append("-s %s -d %s -i %s -o %s -j ACCEPT" % (item["cidr"], vpc["cidr"], item["carrier"], bridge))
        for item in vpc["port_forwards"]:
            forward.append("-d %s/32 -o %s -p %s -m %s --dport %d -m conntrack --ctstate DNAT -j ACCEPT"
                           % (item["address"], bridge, item["protocol"], item["protocol"], item["port"]))
            dnat = "-p %s -m %s --dport %d -j DNAT --to-destination %s:%d" % (
                item["protocol"], item["protocol"], item["host_port"], item["address"], item["port"])
            if item["host_ip"]:
                prerouting.append("-d %s/32 %s" % (item["host_ip"], dnat))
                output.append("-d %s/32 %s" % (item["host_ip"], dnat))
            else:
                prerouting.append("-m addrtype --dst-type LOCAL %s" % dnat)
                # Connections from the host itself to one of its addresses; loopback cannot be forwarded.
                output.append("! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL %s" % dnat)
            if not item["public"]:
                postrouting.append("-d %s/32 -o %s -p %s -m %s --dport %d -m conntrack --ctstate DNAT -j MASQUERADE"
                                   % (item["address"], bridge, item["protocol"], item["protocol"], item["port"]))
        for subnet in vpc["subnets"]:
            if subnet["public"] and uplink:
                forward.append("-s %s -i %s -o %s -j ACCEPT" % (subnet["cidr"], bridge, uplink))
                postrouting.append("-s %s -o %s -j MASQUERADE" % (subnet["cidr"], uplink))
    # Last, once every VPC's accepts are in (a peer's accept into a VPC comes in the peer's section):
    # whatever else comes from or goes to a bridge is refused.
    for vpc in present:
        forward.append("-i %s %s" % (bridges[vpc["name"]], REJECT))
        forward.append("-o %s %s" % (bridges[vpc["name"]], REJECT))
    for item in remote:
        forward.append("-s %s -i %s %s" % (item["cidr"], item["carrier"], REJECT))
    if forward:
        forward[:0] = ["-d %s -i %s -o %s -j ACCEPT" % (item["prefix"], item["in"], item["out"]) for item in transit]
    prefix = settings["chain_prefix"]
    return [
        {"table": "filter", "chain": prefix + "-FORWARD", "jump_from": ["FORWARD"], "rules": forward},
        {"table": "nat", "chain": prefix + "-PREROUTING", "jump_from": ["PREROUTING"], "rules": prerouting},
        {"table": "nat", "chain": prefix + "-OUTPUT", "jump_from": ["OUTPUT"], "rules": output},
        {"table": "nat", "chain": prefix + "-POSTROUTING", "jump_from": ["POSTROUTING"], "rules": postrouting},
    ]


def peers_of(vpc, present):
    """Names of the VPCs peered with vpc: a peering written on either side counts for both."""
    peers = set(vpc["peerings"])
    peers.update(other["name"] for other in present if vpc["name"] in other["peerings"])
    return sorted(peer for peer in peers if peer != vpc["name"])


def policy_allows(policy, direction, protocol, port, peer):
    """Whether a subnet's policy lets this packet in (ingress) or out (egress); peer None matches no peer rule."""
    if not policy:
        return True
    for rule in policy[direction]:
        if rule["protocol"] not in ("all", protocol):
            continue
        if rule["ports"] and (port is None or not rule["ports"][0] <= port <= rule["ports"][1]):
            continue
        if rule["peer"] and (peer is None or ipaddress.IPv4Address(peer) not in ipaddress.IPv4Network(rule["peer"])):
            continue
        return rule["action"] == "allow"
    return policy[direction + "_default"] == "allow"
