# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host's own IPv4 networks (addresses and routes) and the VPCs that would cover them (pure, no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

A VPC built over a network the host already uses (its uplink's subnet, a route of its own) adds a second route
for it on the VPC's bridge: the host's traffic, or the VPC's, goes the wrong way. Every address and every
unicast route of the host counts, except the default route and those on the role's own links.
"""

from __future__ import annotations

import ipaddress


def parse_addresses(listing):
    """[{interface, address, network}] from the JSON of `ip -j -4 address show` (already loaded)."""
    found = []
    for link in listing or []:
        for info in link.get("addr_info") or []:
            if info.get("family") not in (None, "inet") or "local" not in info:
                continue
            interface = ipaddress.IPv4Interface("%s/%s" % (info["local"], info.get("prefixlen", 32)))
            found.append({"interface": link.get("ifname"), "address": str(interface),
                          "network": str(interface.network)})
    return found


def parse_routes(listing):
    """[{dst, dev, gateway, table, type}] from the JSON of `ip -j -4 route show table all` (already loaded).

    dst is a network ('default' stays 'default'; a host route gets /32); type is 'unicast' when ip omits it.
    """
    found = []
    for route in listing or []:
        dst = route.get("dst", "default")
        if dst != "default":
            dst = str(ipaddress.IPv4Network(dst if "/" in dst else dst + "/32", strict=False))
        found.append({"dst": dst, "dev": route.get("dev"), "gateway": route.get("gateway"),
                      "table": route.get("table", "main"), "type": route.get("type", "unicast")})
    return found


def describe_route(route):
    words = [route["dst"]]
    if route.get("gateway"):
        words += ["via", route["gateway"]]
    if route.get("dev"):
        words += ["dev", route["dev"]]
    if route.get("table") not in (None, "main"):
        words += ["table", route["table"]]
    return " ".join(words)


def host_overlaps(vpcs, networks, own_links, host):
    """Problems (one line each) for every present VPC whose CIDR covers one of the host's own networks.

    vpcs: the plan's present VPCs (name, cidr; optionally label, how the message names it); networks:
    {'addresses': parse_addresses(...), 'routes': parse_routes(...)}; own_links: the interfaces the role built (their addresses and routes are the VPCs');
    host: the inventory name, for the message.
    """
    problems = []
    own = set(own_links)
    for vpc in vpcs:
        cidr = ipaddress.IPv4Network(vpc["cidr"])
        label = vpc.get("label") or "VPC %r" % vpc["name"]
        for address in networks.get("addresses") or []:
            if address["interface"] in own:
                continue
            if cidr.overlaps(ipaddress.IPv4Network(address["network"])):
                problems.append("%s: cidr %s overlaps host %s's address %s on interface %s" % (
                    label, cidr, host, address["address"], address["interface"]))
        for route in networks.get("routes") or []:
            if route["dst"] == "default" or route["type"] != "unicast" or route["dev"] in own:
                continue
            if cidr.overlaps(ipaddress.IPv4Network(route["dst"])):
                problems.append("%s: cidr %s overlaps host %s's route %s (interface %s)" % (
                    label, cidr, host, describe_route(route), route["dev"] or "none"))
    return problems


def default_route_interface(networks):
    """The interface of the main table's default route ('' when there is none): the uplink."""
    for route in networks.get("routes") or []:
        if route["dst"] == "default" and route["table"] == "main" and route["type"] == "unicast" and route["dev"]:
            return route["dev"]
    return ""
