# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""VPCs spanning the servers of the mesh: placement, carried prefixes, names and the fleet's matrix (pure, no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

Every host's ``netns_vpc_vpcs`` is read. A VPC in which a subnet names a ``server`` (an inventory hostname of the
mesh) spans servers: it is declared once for the group (group vars), and each subnet lives on its server (a subnet
with no server lives on the host whose variables declare it, so a VPC declared by several hosts must name every
server). Any other VPC is the host's own, as in the single-host form, and stays exactly as it was.

Per host, the plan gives:

* ``vpcs``: the list the single-host plan builds from: the host's own VPCs as declared, and each VPC spanning servers
  cut down to what lives on this host (its subnets there, their policies, apps and port forwards; its peerings with
  VPCs that also have subnets there);
* ``remote``: the subnets living on other servers that a subnet here may reach (its own VPC's, or a peered VPC's),
  each with the server it lives on and the local VPCs allowed to reach it: the host routes them through the pair's
  tunnel and opens exactly those prefixes in its firewall;
* ``names``: per VPC spanning servers, ``<app>.<vpc>.<domain>`` of every app of it and of its peers, wherever it runs;
* ``checks``: the rows of the fleet's subnet x subnet matrix whose source subnet lives on this host.

``carried`` lists, per ordered pair of servers, the prefixes behind the second that the first's tunnel carries: the
input of the mesh plan's "extra prefixes carried by a pair's tunnel".
"""

from __future__ import annotations

import copy
import ipaddress

from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import _domain_problem
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_firewall import peers_of, policy_allows
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_validate import VpcPlanError, find_subnet, validate_vpcs
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import control_characters

VARIABLE = "netns_vpc_vpcs"


def is_fleet_vpc(vpc):
    return isinstance(vpc, dict) and isinstance(vpc.get("subnets"), list) and \
        any(isinstance(subnet, dict) and "server" in subnet for subnet in vpc["subnets"])


def _without_servers(vpc):
    raw = copy.deepcopy(vpc)
    for subnet in raw["subnets"]:
        if isinstance(subnet, dict):
            subnet.pop("server", None)
    return raw


def _declarations(declarations, hosts, problems):
    """(fleet VPCs by name: (raw, declaring hosts), local VPC lists by host)."""
    fleet, local = {}, {}
    for host in hosts:
        vpcs = declarations.get(host)
        if vpcs is None:
            vpcs = []
        if not isinstance(vpcs, list):
            problems.append("host %r: variable %s: must be a list of VPCs, got %r" % (host, VARIABLE, vpcs))
            continue
        local[host] = []
        for vpc in vpcs:
            if not is_fleet_vpc(vpc):
                local[host].append(vpc)
                continue
            name = vpc.get("name")
            if not isinstance(name, str):
                problems.append("host %r: variable %s: a VPC spanning servers needs a name, got %r" % (host, VARIABLE, name))
                continue
            if name in fleet and fleet[name][0] != vpc:
                problems.append("VPC %r: declared differently by hosts %r and %r (variable %s): declare a VPC spanning"
                                " servers once, in the group's variables" % (name, fleet[name][1][0], host, VARIABLE))
                continue
            fleet.setdefault(name, (vpc, []))[1].append(host)
    return fleet, local


def _placements(name, raw, declared_by, members, problems):
    """{subnet name: server} of one VPC spanning servers (each problem names the VPC, subnet and variable)."""
    placed = {}
    for subnet in raw["subnets"]:
        if not isinstance(subnet, dict) or not isinstance(subnet.get("name"), str):
            continue  # the VPC's validation says why
        where = "VPC %r subnet %r" % (name, subnet["name"])
        server = subnet.get("server")
        if server is None:
            if len(declared_by) > 1:
                problems.append("%s: no server, and the VPC is declared by several hosts (%s): name the server that"
                                " runs it (variable %s)" % (where, ", ".join(declared_by), VARIABLE))
                continue
            server = declared_by[0]
        if not isinstance(server, str) or control_characters(server):
            problems.append("%s: server %r is not an inventory hostname (variable %s)" % (where, server, VARIABLE))
            continue
        if server not in members:
            problems.append("%s: server %r is not a server of the mesh (an inventory host of its group, with"
                            " wg_mesh_state present) (variable %s)" % (where, server, VARIABLE))
            continue
        placed[subnet["name"]] = server
    return placed


def _mesh_ranges(indices, offset):
    if not isinstance(offset, int):
        return []  # the mesh plan says why
    # An index that is no integer is the mesh plan's to refuse.
    valid = set(index for index in indices if isinstance(index, int) and not isinstance(index, bool))
    return [(ipaddress.IPv4Network("192.168.%d.0/24" % (offset + index - 1)), index)
            for index in sorted(valid) if 0 <= offset + index - 1 <= 255]


def _overlaps(fleet_vpcs, local, mesh_ranges, problems):
    """A VPC spanning servers is routed to every server that carries it: it may overlap no VPC of any host, and
    no VPC (of any kind) may overlap the mesh's own 192.168 ranges."""
    for vpc in fleet_vpcs:
        network = ipaddress.IPv4Network(vpc["cidr"])
        for host in sorted(local):
            for other in local[host]:
                if other["state"] == "present" and other["cidr"] and network.overlaps(ipaddress.IPv4Network(other["cidr"])):
                    problems.append("VPC %r: cidr %s overlaps VPC %r (%s) of host %r (variable %s)" % (
                        vpc["name"], network, other["name"], other["cidr"], host, VARIABLE))
    everything = [(vpc, None) for vpc in fleet_vpcs] + [(vpc, host) for host in sorted(local) for vpc in local[host]]
    for vpc, host in everything:
        if vpc["state"] != "present" or not vpc["cidr"]:
            continue
        for mesh_range, index in mesh_ranges:
            if ipaddress.IPv4Network(vpc["cidr"]).overlaps(mesh_range):
                problems.append("VPC %r%s: cidr %s overlaps the mesh's own range %s (server index %d, wg_mesh_index and"
                                " wg_mesh_iface_ip_offset) (variable %s)" % (
                                    vpc["name"], " of host %r" % host if host else "", vpc["cidr"], mesh_range, index,
                                    VARIABLE))


def _trim(raw, vpc, server_of, host, here):
    """The VPC as the single-host plan on host sees it: its subnets there and what belongs to them."""
    if vpc["state"] == "absent":
        return {"name": vpc["name"], "state": "absent",
                "subnets": [{"name": s["name"]} for s in vpc["subnets"] if server_of[(vpc["name"], s["name"])] == host],
                "apps": [{"name": a["name"]} for a in raw.get("apps") or [] if isinstance(a, dict) and
                         server_of.get((vpc["name"], a.get("subnet"))) == host]}
    local = [s for s in vpc["subnets"] if server_of[(vpc["name"], s["name"])] == host]

    def is_local(reference):
        return find_subnet(local, reference) is not None

    trimmed = dict((key, value) for key, value in _without_servers(raw).items()
                   if key not in ("subnets", "policies", "apps", "port_forwards", "peerings"))
    trimmed["subnets"] = [s for s in _without_servers(raw)["subnets"] if is_local(s["name"])]
    for key in ("policies", "apps", "port_forwards"):
        trimmed[key] = [item for item in raw.get(key) or [] if is_local(item.get("subnet"))]
    trimmed["peerings"] = [peer for peer in vpc["peerings"] if peer in here]
    return trimmed


def _checks(vpcs, server_of, domain):
    """The fleet's matrix: every subnet to every other subnet (ICMP), to every app by name, and to the internet;
    each row with the server of its source subnet."""
    subnets = [(vpc, subnet) for vpc in vpcs for subnet in vpc["subnets"]]
    checks = []

    def add(kind, vpc, subnet, target, address, port, expect, why):
        checks.append({"kind": kind, "server": server_of[(vpc["name"], subnet["name"])], "vpc": vpc["name"],
                       "subnet": subnet["name"], "from": "%s/%s" % (vpc["name"], subnet["name"]), "to": target,
                       "address": address, "port": port, "expect": expect, "why": why})

    for vpc, subnet in subnets:
        source_policy = vpc["policies"].get(subnet["name"])
        peers = peers_of(vpc, vpcs)
        for other_vpc, other in subnets:
            if other is subnet:
                continue
            target_policy = other_vpc["policies"].get(other["name"])
            reachable = other_vpc is vpc or other_vpc["name"] in peers
            why = "same VPC" if other_vpc is vpc else "peered" if reachable else "not peered"
            target = "%s/%s on %s" % (other_vpc["name"], other["name"], server_of[(other_vpc["name"], other["name"])])
            expect = reachable and policy_allows(source_policy, "egress", "icmp", None, other["address"]) \
                and policy_allows(target_policy, "ingress", "icmp", None, subnet["address"])
            add("ping", vpc, subnet, target, other["address"], None, expect,
                why if expect or not reachable else "refused by a policy")
            for app in other_vpc["apps"]:
                if app["subnet"] != other["name"] or not app["port"]:
                    continue
                expect = reachable and policy_allows(source_policy, "egress", "tcp", app["port"], other["address"]) \
                    and policy_allows(target_policy, "ingress", "tcp", app["port"], subnet["address"])
                add("tcp", vpc, subnet, "app %s on %s" % (app_name(app["name"], other_vpc["name"], domain), target),
                    app_name(app["name"], other_vpc["name"], domain), app["port"], expect,
                    "reachable, policies allow" if expect else "isolated or refused")
        add("internet", vpc, subnet, "the internet", None, None,
            subnet["public"] and policy_allows(source_policy, "egress", "icmp", None, None),
            "public subnet, out of its own server" if subnet["public"] else "private subnet")
    return checks


def app_name(app, vpc, domain):
    """An app's name in the hosts files of its VPC's namespaces (and its peers')."""
    return "%s.%s.%s" % (app, vpc, domain)


def build_fleet_plan(declarations, hosts, members, indices=None, iface_ip_offset=1, domain="vpcdomain"):
    """The fleet plan; raises VpcPlanError listing every problem (each naming the VPC, subnet, host and variable).

    declarations: {host: its netns_vpc_vpcs}; hosts: the group's hosts, in order; members: the servers of the mesh
    (a subnet may live only there); indices: {host: wg_mesh_index} (with the external peers' indices under any key)
    for the mesh's own ranges. A pair of servers that a relay carries carries their subnets through it (the
    mesh plan's business: ``carried`` names the two ends only).
    """
    problems = []
    if _domain_problem(domain):
        raise VpcPlanError(["variable netns_vpc_domain: %s" % _domain_problem(domain)])
    members = list(members)
    fleet, local_raw = _declarations(declarations, hosts, problems)
    local = {}
    for host, vpcs in local_raw.items():
        local[host] = []
        for vpc in vpcs:
            if not isinstance(vpc, dict):
                continue  # the host's own plan says why, as it always did
            for peer in vpc.get("peerings") or []:
                if isinstance(peer, str) and peer in fleet:
                    problems.append("VPC %r of host %r: peering with %r, which spans servers: only a VPC spanning"
                                    " servers may peer with it (variable %s)" % (vpc.get("name"), host, peer, VARIABLE))
            if vpc.get("name") in fleet:
                problems.append("VPC %r of host %r: has the name of a VPC spanning servers (variable %s)"
                                % (vpc.get("name"), host, VARIABLE))
            try:
                local[host] += validate_vpcs([dict(vpc, peerings=[])])
            except VpcPlanError:
                pass  # the host's own plan says why
    names = sorted(fleet)
    try:
        vpcs = validate_vpcs([_without_servers(fleet[name][0]) for name in names])
    except VpcPlanError as error:
        raise VpcPlanError(["%s (variable %s)" % (problem, VARIABLE) for problem in error.problems] + problems)
    server_of = {}
    for vpc in vpcs:
        placed = _placements(vpc["name"], fleet[vpc["name"]][0], fleet[vpc["name"]][1], members, problems)
        for subnet in vpc["subnets"]:
            server_of[(vpc["name"], subnet["name"])] = placed.get(subnet["name"])
    _overlaps([vpc for vpc in vpcs if vpc["state"] == "present"], local,
              _mesh_ranges((indices or {}).values(), iface_ip_offset), problems)
    if problems:
        raise VpcPlanError(problems)
    present = [vpc for vpc in vpcs if vpc["state"] == "present"]
    view = dict((host, {"vpcs": list(local_raw.get(host, [])), "fleet_vpcs": [], "remote": [], "names": {},
                        "checks": []}) for host in hosts)
    carried = {}
    for vpc in vpcs:
        on = set(server_of[(vpc["name"], s["name"])] for s in vpc["subnets"])
        for host in sorted(on, key=hosts.index):
            here = [other["name"] for other in present
                    if any(server_of[(other["name"], s["name"])] == host for s in other["subnets"])]
            view[host]["vpcs"].append(_trim(fleet[vpc["name"]][0], vpc, server_of, host, here))
            view[host]["fleet_vpcs"].append(vpc["name"])
    for host in hosts:
        here = [vpc for vpc in present if vpc["name"] in view[host]["fleet_vpcs"]]
        for vpc in present:
            allowed = [local_vpc["name"] for local_vpc in here
                       if local_vpc is vpc or vpc["name"] in peers_of(local_vpc, present)]
            if not allowed:
                continue
            for subnet in vpc["subnets"]:
                server = server_of[(vpc["name"], subnet["name"])]
                if server == host:
                    continue
                view[host]["remote"].append({"vpc": vpc["name"], "vpc_cidr": vpc["cidr"], "subnet": subnet["name"],
                                             "cidr": subnet["cidr"], "server": server, "for": allowed})
                carried.setdefault((host, server), []).append(subnet["cidr"])
        for local_vpc in here:
            apps = []
            for vpc in [local_vpc] + [v for v in present if v["name"] in peers_of(local_vpc, present)]:
                for app in vpc["apps"]:
                    address = next(s["address"] for s in vpc["subnets"] if s["name"] == app["subnet"])
                    apps.append([app_name(app["name"], vpc["name"], domain), address])
            view[host]["names"][local_vpc["name"]] = sorted(apps)
    if problems:
        raise VpcPlanError(problems)
    for check in _checks(present, server_of, domain):
        view[check["server"]]["checks"].append(check)
    return {
        "vpcs": vpcs,
        "placement": dict(("%s/%s" % key, server) for key, server in sorted(server_of.items())),
        "hosts": view,
        "carried": [{"host": host, "peer": peer, "prefixes": sorted(prefixes, key=ipaddress.IPv4Network)}
                    for (host, peer), prefixes in sorted(carried.items())],
    }
