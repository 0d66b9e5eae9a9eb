# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The plan of cloud-style VPCs built from namespaces on one host, from one declarative list (pure, no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

Design (per host):

* a VPC is a Linux bridge on the host holding the gateway address (first host address) of each subnet;
* a subnet is a named network namespace joined to its VPC's bridge by a veth pair; its end (``eth0``) has
  the subnet's second host address; a public subnet has a default route through its gateway, a private one
  only routes to its own VPC and to the VPCs peered with it (so it has no way out at all);
* the host's firewall lives in chains of our own (``<prefix>-FORWARD`` in filter, ``-PREROUTING``,
  ``-OUTPUT``, ``-POSTROUTING`` in nat). Every rule names one of our bridges, so traffic that is not
  the VPCs' falls through untouched. Per VPC: spoofed sources are dropped; replies pass; traffic stays
  inside the VPC, goes to a peered VPC (exactly the two CIDRs), to a port forward's target, or out of
  the uplink from a public subnet (MASQUERADE); everything else to or from the bridge is rejected;
* a subnet's policy (ingress/egress rules, first match wins) is a chain inside its namespace;
* a port forward is a DNAT of a host port to the subnet's address (masqueraded into a private subnet,
  which has no route back to the client);
* apps are systemd units run in the subnet's namespace (``NetworkNamespacePath=``).

A VPC spanning servers (``_netns_fleet``) is built here from its part on this host, plus its *remote* subnets: each
is routed through the mesh tunnel to its server (the mesh plan's interface that carries its prefix), and the
firewall opens exactly its prefix to and from the local VPCs allowed to reach it, on that interface only; anything
else from it is rejected. Its namespaces get ``/etc/netns/<ns>/hosts`` with the names of its apps.

Every error names the VPC it is about. Nothing here touches the system: the role applies the plan.
"""

from __future__ import annotations

import re

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_checks import expected_checks, fleet_checks
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_firewall import host_chains, peers_of, policy_rules
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_fleet import is_fleet_vpc
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_host import host_overlaps
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_live import call_options, module_calls
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_resources import (
    DEFAULTS,
    RESOURCE_KINDS,
    chain_key,
    check_names,
    check_settings,
    previous_resources,
    resource_names,
    resources_of,
)
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_validate import VpcPlanError, validate_vpcs
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import fullmatch


def _remote(fleet, mesh, present):
    """The fleet's remote subnets of this host, each with the mesh interface whose routes carry its prefix."""
    if not fleet:
        return []
    carriers = {}
    for interface in (mesh or {}).get("interfaces") or []:
        for route in interface.get("routes") or []:
            carriers.setdefault(route["to"], interface["name"])
    names = set(vpc["name"] for vpc in present)
    remote, problems = [], []
    for item in fleet["remote"]:
        allowed = [name for name in item["for"] if name in names]
        if not allowed:
            continue
        if item["cidr"] not in carriers:
            problems.append("VPC %r subnet %r (%s) on server %r: no mesh interface of this host carries it (the mesh"
                            " plan must be computed with the fleet's carried prefixes)" % (
                                item["vpc"], item["subnet"], item["cidr"], item["server"]))
            continue
        remote.append(dict(item, carrier=carriers[item["cidr"]], **{"for": allowed}))
    if problems:
        raise VpcPlanError(problems)
    return remote


def _hosts_file(names):
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    lines += ["%s %s" % (address, name) for name, address in names]
    return "# Written by the fakevpc.vpc netns_vpc role: the apps of this VPC and of its peers.\n" + "\n".join(lines) + "\n"


def _settings(overrides):
    settings = dict(DEFAULTS)
    for key, value in overrides.items():
        if key not in settings:
            raise VpcPlanError(["unknown setting %r" % key])
        settings[key] = value if value is not None else DEFAULTS[key]
    check_settings(settings)
    return settings


def _host_vpcs(vpcs, fleet):
    """The VPC list of this host: the fleet's part when given; a VPC naming servers outside a fleet is refused."""
    if fleet is not None:
        return fleet["vpcs"]
    spanning = [vpc.get("name") for vpc in vpcs if is_fleet_vpc(vpc)] if isinstance(vpcs, list) else []
    if spanning:
        raise VpcPlanError(["VPC %r: its subnets name servers, so it spans the servers of the mesh: site.yml builds"
                            " it (with the mesh), not a play of this role alone" % spanning[0]])
    return vpcs


def _check_host(present, remote, host_networks, own_links, mesh, host):
    """No VPC (nor a remote subnet routed here) over one of the host's own networks."""
    if not host_networks:
        return
    mesh_links = [interface["name"] for interface in (mesh or {}).get("interfaces") or []]
    if mesh:
        # The host's mesh interfaces that the mesh will remove (a pair a relay now carries) route prefixes too.
        live = [a["interface"] for a in host_networks.get("addresses") or []] + [
            r["dev"] for r in host_networks.get("routes") or [] if r["dev"]]
        pattern = re.compile(re.escape(mesh["iface_prefix"]) + "[0-9]+")
        mesh_links += [link for link in live if fullmatch(pattern, link)]
    carried = [{"name": item["vpc"], "cidr": item["cidr"], "label": "VPC %r subnet %r (on server %r, routed here)"
                % (item["vpc"], item["subnet"], item["server"])} for item in remote]
    overlaps = host_overlaps(present + carried, host_networks, own_links + mesh_links, host)
    if overlaps:
        raise VpcPlanError(overlaps)


def _subnet_routes(vpc, subnet, peer_cidrs, remote):
    """A public subnet's default route; a private one's routes to its VPC, its peers and their remote parts only."""
    if subnet["public"]:
        return [{"dst": "default", "via": subnet["gateway"]}]
    remote_peers = [item["vpc_cidr"] for item in remote if vpc["name"] in item["for"] and item["vpc"] != vpc["name"]]
    cidrs = [vpc["cidr"]] + peer_cidrs + sorted(set(cidr for cidr in remote_peers if cidr not in peer_cidrs))
    return [{"dst": cidr, "via": subnet["gateway"]} for cidr in cidrs if cidr != subnet["cidr"]]


def _policy_chains(vpc, subnet, namespace, settings, known_chains):
    """The INPUT and OUTPUT policy chains of a subnet: present with a policy, else absent when the registry knows them."""
    policy = vpc["policies"].get(subnet["name"])
    chains = []
    for direction, chain, hook, match in (("ingress", "INPUT", "INPUT", "-i"), ("egress", "OUTPUT", "OUTPUT", "-o")):
        item = {"vpc": vpc["name"], "subnet": subnet["name"], "namespace": namespace, "table": "filter",
                "chain": "%s-%s" % (settings["chain_prefix"], chain), "jump_from": [hook],
                "state": "present" if policy else "absent",
                "rules": policy_rules(policy, direction, match) if policy else []}
        if policy or chain_key(item) in known_chains:
            chains.append(item)
    return chains


def _vpc_parts(present, settings, remote, known_chains):
    """Per VPC: its bridge, the veth, address and routes of each subnet, the subnets' policy chains and the apps."""
    parts = {"bridges": [], "veths": [], "subnet_links": [], "namespaces": [], "namespace_chains": [], "apps": []}
    for vpc in present:
        bridge, subnet_names, units = resource_names(vpc, settings)
        parts["bridges"].append({"vpc": vpc["name"], "name": bridge,
                                 "addresses": ["%s/%d" % (s["gateway"], s["prefixlen"]) for s in vpc["subnets"]]})
        peer_cidrs = [next(v["cidr"] for v in present if v["name"] == peer) for peer in peers_of(vpc, present)]
        for subnet in vpc["subnets"]:
            where = subnet_names[subnet["name"]]
            parts["namespaces"].append(where["namespace"])
            parts["veths"].append({"vpc": vpc["name"], "subnet": subnet["name"], "name": where["veth"], "master": bridge,
                                   "peer": {"name": settings["subnet_interface"], "namespace": where["namespace"]}})
            parts["subnet_links"].append({
                "vpc": vpc["name"], "subnet": subnet["name"], "name": settings["subnet_interface"],
                "namespace": where["namespace"], "address": subnet["address"],
                "addresses": ["%s/%d" % (subnet["address"], subnet["prefixlen"])],
                "routes": _subnet_routes(vpc, subnet, peer_cidrs, remote)})
            parts["namespace_chains"] += _policy_chains(vpc, subnet, where["namespace"], settings, known_chains)
        for app, unit in zip(vpc["apps"], units):
            parts["apps"].append(dict(app, vpc=vpc["name"], unit=unit, namespace=subnet_names[app["subnet"]]["namespace"],
                                      address=next(s["address"] for s in vpc["subnets"] if s["name"] == app["subnet"])))
    return parts


def _module_items(plan):
    """What the role hands its modules, one call per family, without the plan's labels: the links (those to remove
    first) for netns_link; the host's chains, then the namespaces' chains, for netns_iptables; the namespaces'
    hosts files (VPCs spanning servers) for netns."""
    chain_keys = ("table", "chain", "jump_from", "rules", "state")
    return {
        "links": [{"name": name, "state": "absent"} for name in plan["remove"]["links"]]
        + [{"name": b["name"], "kind": "bridge", "addresses": b["addresses"], "rp_filter": 1} for b in plan["bridges"]]
        + [{"name": v["name"], "kind": "veth", "peer": v["peer"], "master": v["master"]} for v in plan["veths"]]
        + [{"name": link["name"], "namespace": link["namespace"], "kind": "veth", "addresses": link["addresses"],
            "routes": link["routes"]} for link in plan["subnet_links"]],
        "chains": [dict(((key, chain[key]) for key in chain_keys), remove_empty_table=True,
                        remove_empty_builtin_chains=True) for chain in plan["host_chains"]]
        + [dict(((key, chain[key]) for key in chain_keys + ("namespace",))) for chain in plan["namespace_chains"]],
        "hosts_files": dict((item["namespace"], item["content"]) for item in plan["hosts_files"]),
    }


def build_vpc_plan(vpcs, previous=None, state="present", host_networks=None, host="this host", fleet=None, mesh=None,
                   manage_forwarding=True, backend="auto", **overrides):
    """The whole plan for one host; raises VpcPlanError before anything is decided on bad input.

    vpcs: the declarative list; previous: the registry the role wrote last time (or None);
    state: absent removes every VPC (listed or registered); host_networks: the host's own addresses and routes
    as read before any change (the host_networks module's addresses and routes), none of which a VPC may cover,
    and its live state of what previous lists (its live), which decides the plan's calls (manage_forwarding: whether
    the role turns forwarding on; backend: the iptables backend of the chains' call).
    fleet: this host's part of the fleet plan (_netns_fleet), whose vpcs replace vpcs; mesh: this server's view
    of the mesh plan, whose interfaces carry the fleet's remote subnets.
    """
    settings = _settings(overrides)
    if state not in ("present", "absent"):
        raise VpcPlanError(["state %r is not present or absent" % (state,)])
    normal = validate_vpcs(_host_vpcs(vpcs, fleet))
    check_names(normal, settings)
    present = [vpc for vpc in normal if vpc["state"] == "present"] if state == "present" else []
    remote = _remote(fleet, mesh, present)
    if any(subnet["public"] for vpc in present for subnet in vpc["subnets"]) and not settings["uplink"]:
        raise VpcPlanError(["VPC %r: public subnets need the host's uplink interface (none was given or found)"
                            % next(vpc["name"] for vpc in present if any(s["public"] for s in vpc["subnets"]))])
    wanted, listed, before = resources_of(present, settings), resources_of(normal, settings), previous_resources(previous)
    _check_host(present, remote, host_networks, wanted["links"] + listed["links"] + before["links"], mesh, host)
    remove = dict((key, [item for item in before[key] + [item for item in listed[key] if item not in before[key]]
                         if item not in wanted[key]]) for key in ("namespaces", "links", "units"))
    parts = _vpc_parts(present, settings, remote, before["chains"])
    chains = host_chains(present, dict((b["vpc"], b["name"]) for b in parts["bridges"]), settings, remote,
                         (mesh or {}).get("transit") or [])
    for chain in chains:
        chain["state"] = "present" if chain["rules"] else "absent"
    wanted["chains"] = [chain_key(chain) for chain in parts["namespace_chains"] if chain["state"] == "present"]
    fleet_names = set((fleet or {}).get("fleet_vpcs") or [])
    namespace_of = dict(("%s/%s" % (link["vpc"], link["subnet"]), link["namespace"]) for link in parts["subnet_links"])
    local_checks = expected_checks([vpc for vpc in present if vpc["name"] not in fleet_names], namespace_of)
    during = dict((key, before[key] + [item for item in wanted[key] if item not in before[key]]) for key in RESOURCE_KINDS)
    plan = dict(parts, **{
        "settings": settings,
        "vpcs": present,
        "removed_vpcs": [vpc["name"] for vpc in normal if vpc not in present],
        "host_chains": chains,
        "remove": remove,
        "resources": wanted,
        "resources_during_change": during,
        # The registry is written again after the change when the run builds or removes anything; once no VPC is
        # left, the host's settings are put back (a rerun that changes nothing recorded all of it before).
        "record_after": wanted != during or (not present and bool(previous)),
        "forwarding": bool(present),
        "empty": not present,
        "checks": local_checks + fleet_checks((fleet or {}).get("checks") or [] if present else [], namespace_of,
                                              len(local_checks)),
        "remote": remote,
        "hosts_files": [{"vpc": link["vpc"], "subnet": link["subnet"], "namespace": link["namespace"],
                         "content": _hosts_file(fleet["names"].get(link["vpc"]) or [])}
                        for link in parts["subnet_links"] if link["vpc"] in fleet_names],
    })
    plan["module_items"] = _module_items(plan)
    plan["call_options"] = call_options(plan["module_items"], backend)
    # With no VPC left, the registry goes after the change: what it records before is left as it is.
    plan["recorded_calls"] = plan["call_options"] if present else (previous or {}).get("calls")
    plan["calls"] = module_calls(plan, previous, (host_networks or {}).get("live"), manage_forwarding)
    return plan
