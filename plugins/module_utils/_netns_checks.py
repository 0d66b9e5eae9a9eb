# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the connectivity check of the VPCs expects: a probe per pair of subnets, per app port and per port forward, each
with the line it prints when as expected (pure, no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_firewall import peers_of, policy_allows


def expected_checks(present, namespaces):
    """The connectivity matrix as a flat list of probes, each with the line a probe prints when as expected.

    kind ping (subnet to subnet), internet (subnet to the address given at check time), tcp (subnet to an
    app's port), forward (the host to a port forward whose subnet runs an app on the forwarded port).
    address None: the internet address, or for a forward the host's uplink address, known at check time.
    """
    subnets = [(vpc, subnet) for vpc in present for subnet in vpc["subnets"]]
    checks = []

    def add(kind, source, target, address, port, expect, why):
        check_id = "%s%d" % (kind, sum(1 for c in checks if c["kind"] == kind))
        checks.append({"id": check_id, "kind": kind, "from": source, "namespace": namespaces.get(source),
                       "to": target, "address": address, "port": port, "expect": expect, "why": why,
                       "line": "%s %s" % (check_id, "ok" if expect else "no")})

    for vpc, subnet in subnets:
        source_policy = vpc["policies"].get(subnet["name"])
        label = "%s/%s" % (vpc["name"], subnet["name"])
        for other_vpc, other in subnets:
            if other is subnet:
                continue
            target_policy = other_vpc["policies"].get(other["name"])
            if other_vpc is vpc:
                reachable, why = True, "same VPC"
            elif other_vpc["name"] in peers_of(vpc, present):
                reachable, why = True, "peered"
            else:
                reachable, why = False, "not peered"
            expect = reachable and policy_allows(source_policy, "egress", "icmp", None, other["address"]) \
                and policy_allows(target_policy, "ingress", "icmp", None, subnet["address"])
            add("ping", label, "%s/%s" % (other_vpc["name"], other["name"]), other["address"], None, expect,
                why if expect or not reachable else "refused by a policy")
        add("internet", label, "the internet", None, None,
            subnet["public"] and policy_allows(source_policy, "egress", "icmp", None, None),
            "public subnet" if subnet["public"] else "private subnet")
    for vpc, subnet in subnets:
        source_policy = vpc["policies"].get(subnet["name"])
        for other_vpc, other in subnets:
            target_policy = other_vpc["policies"].get(other["name"])
            reachable = other_vpc is vpc or other_vpc["name"] in peers_of(vpc, present)
            for app in other_vpc["apps"]:
                if other is subnet or app["subnet"] != other["name"] or not app["port"]:
                    continue
                expect = reachable and policy_allows(source_policy, "egress", "tcp", app["port"], other["address"]) \
                    and policy_allows(target_policy, "ingress", "tcp", app["port"], subnet["address"])
                add("tcp", "%s/%s" % (vpc["name"], subnet["name"]), "%s/%s app %s" % (other_vpc["name"], other["name"], app["name"]),
                    other["address"], app["port"], expect, "reachable, policies allow" if expect else "isolated or refused")
    for vpc in present:
        for item in vpc["port_forwards"]:
            if item["protocol"] != "tcp" or \
                    not any(app["subnet"] == item["subnet"] and app["port"] == item["port"] for app in vpc["apps"]):
                continue  # nothing is known to listen there
            add("forward", "host", "%s/%s app port %d" % (vpc["name"], item["subnet"], item["port"]), item["host_ip"],
                item["host_port"], policy_allows(vpc["policies"].get(item["subnet"]), "ingress", item["protocol"],
                                                 item["port"], None), "port forward")
    return checks


def fleet_checks(checks, namespaces, start):
    """The fleet's matrix rows of this host, numbered after its own checks."""
    rows = []
    for position, check in enumerate(checks):
        check_id = "f%s%d" % (check["kind"], start + position)
        rows.append({"id": check_id, "kind": check["kind"], "from": check["from"],
                     "namespace": namespaces.get(check["from"]), "to": check["to"], "address": check["address"],
                     "port": check["port"], "expect": check["expect"], "why": check["why"],
                     "line": "%s %s" % (check_id, "ok" if check["expect"] else "no")})
    return rows
