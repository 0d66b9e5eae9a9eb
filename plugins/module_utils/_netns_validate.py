# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Validation of the declarative VPC list of the netns_vpc role: every problem found, each naming its VPC (pure, no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

validate_vpcs() returns the VPCs normalised (defaults filled in, subnets with their gateway and address, policies,
port forwards and apps checked), or raises VpcPlanError listing every problem at once.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.fakevpc.vpc.plugins.module_utils import _systemd as systemd
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import as_int, control_characters, fullmatch, is_int

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_PORT_RANGE = re.compile(r"([0-9]+)[-:]([0-9]+)")
# What a VPC or subnet may never cover: the host's "this network", loopback, link-local, multicast and the
# reserved range up to the broadcast address (0.0.0.0/0 covers them all).
SPECIAL_NETWORKS = (
    (ipaddress.IPv4Network("0.0.0.0/8"), "'this network' (0.0.0.0/8)"),
    (ipaddress.IPv4Network("127.0.0.0/8"), "loopback (127.0.0.0/8)"),
    (ipaddress.IPv4Network("169.254.0.0/16"), "link-local (169.254.0.0/16)"),
    (ipaddress.IPv4Network("224.0.0.0/4"), "multicast (224.0.0.0/4)"),
    (ipaddress.IPv4Network("240.0.0.0/4"), "reserved and broadcast (240.0.0.0/4)"),
)
VPC_KEYS = {"name", "cidr", "state", "subnets", "peerings", "policies", "port_forwards", "apps"}
SUBNET_KEYS = {"name", "cidr", "type", "gateway", "address"}
POLICY_KEYS = {"subnet", "ingress", "egress", "ingress_default", "egress_default"}
RULE_KEYS = {"port", "protocol", "action", "source", "destination"}
FORWARD_KEYS = {"host_port", "subnet", "port", "protocol", "host_ip"}
APP_KEYS = {"name", "subnet", "command", "port", "user"}
PROTOCOLS = ("tcp", "udp", "icmp", "all")
ACTIONS = ("allow", "deny", "drop")


class VpcPlanError(ValueError):
    """Invalid input; the message names every VPC and field at fault, one per line."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Checker:
    """Collects problems, each prefixed with where it is."""

    def __init__(self):
        self.problems = []
        self.forwards = []  # (where, forward) of every present VPC, to find two forwards of one host port

    def problem(self, where, text):
        self.problems.append("%s: %s" % (where, text))

    def unknown_keys(self, where, item, allowed):
        extra = sorted(set(item) - allowed)
        if extra:
            plural = "s" if len(extra) > 1 else ""
            self.problem(where, "unknown key%s %s (allowed: %s)" % (plural, ", ".join(extra), ", ".join(sorted(allowed))))

    def text(self, where, key, value):
        """False (and a problem) when a string has control characters: none reaches a file, a command or a unit."""
        if isinstance(value, str) and control_characters(value):
            self.problem(where, "%s %r contains control characters (%s)" % (key, value, ", ".join(control_characters(value))))
            return False
        return True

    def strings(self, where, item):
        """Refuse control characters in every string value of a mapping (and in its string keys)."""
        for key in sorted(item, key=str):
            if isinstance(key, str) and not self.text(where, "key", key):
                continue
            if isinstance(item[key], str):
                self.text(where, key, item[key])

    def network(self, where, value):
        if isinstance(value, str) and control_characters(value):
            return None  # strings() has said so: every network comes from a mapping it checked
        try:
            network = ipaddress.IPv4Network(str(value))
        except ValueError as error:
            self.problem(where, "%r is not an IPv4 network (%s)" % (value, error))
            return None
        if "/" not in str(value):
            self.problem(where, "%r has no prefix length" % value)
            return None
        return network

    def own_network(self, where, network):
        """A VPC's or a subnet's CIDR: never over the special ranges a host needs for itself."""
        for special, label in SPECIAL_NETWORKS:
            if network.overlaps(special):
                self.problem(where, "%s overlaps %s: a VPC or subnet cannot use it" % (network, label))
                return False
        return True

    def port(self, where, value):
        """(low, high) from 80, '80', '1000-2000' or '1000:2000'; None on a problem."""
        value = as_int(value)
        if is_int(value):
            low = high = value
        elif fullmatch(_PORT_RANGE, value):
            low, high = (int(part) for part in _PORT_RANGE.fullmatch(value).groups())
        else:
            self.problem(where, "port %r is not a port number or a range like 1000-2000" % (value,))
            return None
        if not 1 <= low <= high <= 65535:
            self.problem(where, "port %r is outside 1..65535 (or its range is reversed)" % (value,))
            return None
        return (low, high)


def _vpc_label(vpc, position):
    name = vpc.get("name") if isinstance(vpc, dict) else None
    return "VPC %r" % name if isinstance(name, str) and name else "VPC #%d" % (position + 1)


def _rule(check, where, rule, direction):
    """A normalised policy rule: {protocol, ports, peer, action}."""
    if not isinstance(rule, dict):
        check.problem(where, "a rule must be a mapping, not %r" % (rule,))
        return None
    check.unknown_keys(where, rule, RULE_KEYS)
    check.strings(where, rule)
    peer_key, other_key = ("source", "destination") if direction == "ingress" else ("destination", "source")
    if other_key in rule:
        check.problem(where, "%s rules match on %s, not %s" % (direction, peer_key, other_key))
    action = rule.get("action")
    if action not in ACTIONS:
        check.problem(where, "action %r is not one of %s" % (action, ", ".join(ACTIONS)))
    ports = None
    if rule.get("port") is not None:
        ports = check.port(where, rule["port"])
    protocol = rule.get("protocol", "tcp" if rule.get("port") is not None else "all")
    if protocol not in PROTOCOLS:
        check.problem(where, "protocol %r is not one of %s" % (protocol, ", ".join(PROTOCOLS)))
    elif rule.get("port") is not None and protocol not in ("tcp", "udp"):
        check.problem(where, "a port needs protocol tcp or udp, not %s" % protocol)
    peer = None
    if rule.get(peer_key) is not None:
        peer = check.network(where + " " + peer_key, rule[peer_key])
    return {"protocol": protocol, "ports": ports, "peer": str(peer) if peer else None, "action": action}


def _policy(check, where, policy):
    normal = {}
    for direction in ("ingress", "egress"):
        rules = policy.get(direction) or []
        if not isinstance(rules, list):
            check.problem(where, "%s must be a list of rules" % direction)
            rules = []
        normal[direction] = [_rule(check, "%s %s[%d]" % (where, direction, position), rule, direction)
                             for position, rule in enumerate(rules)]
        default = policy.get(direction + "_default", "allow")
        if default not in ("allow", "deny"):
            check.problem(where, "%s_default %r is not allow or deny" % (direction, default))
        normal[direction + "_default"] = default
    return normal


def _named(check, where, item, keys, what):
    """The name of item, a mapping of keys with a valid name, or None once the problem is said."""
    if not isinstance(item, dict):
        check.problem(where, "%s must be a mapping, not %r" % (what, item))
        return None
    check.unknown_keys(where, item, keys)
    check.strings(where, item)
    name = item.get("name")
    if not fullmatch(_NAME, name):
        check.problem(where, "name %r is not a name (letters, digits, '_', '-'; at most 32)" % (name,))
        return None
    return name


def _subnet(check, where, subnet, vpc_network):
    name = _named(check, where, subnet, SUBNET_KEYS, "a subnet")
    if name is None:
        return None
    where = "%s subnet %r" % (where.rsplit(" subnets", 1)[0], name)
    kind = subnet.get("type", "private")
    if kind not in ("public", "private"):
        check.problem(where, "type %r is not public or private" % (kind,))
    network = check.network(where + " cidr", subnet.get("cidr"))
    if network is None or not check.own_network(where + " cidr", network):
        return None
    if vpc_network is not None and not network.subnet_of(vpc_network):
        check.problem(where, "cidr %s is outside the VPC's %s" % (network, vpc_network))
    if network.num_addresses < 4:
        check.problem(where, "cidr %s is too small: a subnet needs a gateway and an address (at most /30)" % network)
        return None
    hosts = list(network.hosts()) if network.num_addresses <= 256 else [network[1], network[2]]
    addresses = {}
    for key, default in (("gateway", hosts[0]), ("address", hosts[1])):
        value = subnet.get(key)
        try:
            address = ipaddress.IPv4Address(str(value)) if value is not None else default
        except ValueError:
            check.problem(where, "%s %r is not an IPv4 address" % (key, value))
            return None
        if address not in network or address in (network.network_address, network.broadcast_address):
            check.problem(where, "%s %s is not a host address of %s" % (key, address, network))
        addresses[key] = str(address)
    if addresses["gateway"] == addresses["address"]:
        check.problem(where, "gateway and address are both %s" % addresses["gateway"])
    return {"name": name, "cidr": str(network), "type": kind, "public": kind == "public",
            "gateway": addresses["gateway"], "address": addresses["address"], "prefixlen": network.prefixlen}


def find_subnet(subnets, reference):
    """A subnet by name, or by CIDR as the seed's JSON policies write it."""
    for subnet in subnets:
        if reference == subnet["name"] or reference == subnet["cidr"]:
            return subnet
    return None


def _list_of(check, where, vpc, key):
    value = vpc.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        check.problem(where, "%s must be a list" % key)
        return []
    return value


def _mappings(check, where, vpc, key, what, allowed):
    """(where, item) for each mapping in the VPC's list key, its unknown keys reported; other items are problems."""
    for index, item in enumerate(_list_of(check, where, vpc, key)):
        at = "%s %s[%d]" % (where, key, index)
        if not isinstance(item, dict):
            check.problem(at, "%s must be a mapping, not %r" % (what, item))
            continue
        check.unknown_keys(at, item, allowed)
        check.strings(at, item)
        yield at, item


def _vpc(check, position, vpc):
    where = _vpc_label(vpc, position)
    name = _named(check, where, vpc, VPC_KEYS, "a VPC")
    if name is None:
        return None
    state = vpc.get("state", "present")
    if state not in ("present", "absent"):
        check.problem(where, "state %r is not present or absent" % (state,))
    if state == "absent":
        return _absent_vpc(check, where, vpc, name)
    network = check.network(where + " cidr", vpc.get("cidr"))
    if network is not None and not check.own_network(where + " cidr", network):
        network = None
    subnets = []
    for index, subnet in enumerate(_list_of(check, where, vpc, "subnets")):
        normal = _subnet(check, "%s subnets[%d]" % (where, index), subnet, network)
        if normal is None:
            continue
        if any(other["name"] == normal["name"] for other in subnets):
            check.problem(where, "subnet %r is listed twice" % normal["name"])
            continue
        for other in subnets:
            if ipaddress.IPv4Network(other["cidr"]).overlaps(ipaddress.IPv4Network(normal["cidr"])):
                check.problem(where, "subnets %r (%s) and %r (%s) overlap"
                              % (other["name"], other["cidr"], normal["name"], normal["cidr"]))
        subnets.append(normal)
    peerings = []
    for index, peer in enumerate(_list_of(check, where, vpc, "peerings")):
        if isinstance(peer, dict) and set(peer) == {"vpc"}:
            peer = peer["vpc"]
        if isinstance(peer, str) and not check.text(where, "peerings[%d]" % index, peer):
            continue
        if not isinstance(peer, str):
            check.problem(where, "peerings[%d] must be a VPC name, not %r" % (index, peer))
        elif peer not in peerings:
            peerings.append(peer)
    policies = {}
    for at, policy in _mappings(check, where, vpc, "policies", "a policy", POLICY_KEYS):
        subnet = find_subnet(subnets, policy.get("subnet"))
        if subnet is None:
            check.problem(at, "subnet %r is not a subnet of this VPC (give its name or its CIDR)" % (policy.get("subnet"),))
            continue
        if subnet["name"] in policies:
            check.problem(at, "subnet %r already has a policy" % subnet["name"])
            continue
        policies[subnet["name"]] = _policy(check, at, policy)
    forwards = []
    for at, forward in _mappings(check, where, vpc, "port_forwards", "a port forward", FORWARD_KEYS):
        subnet = find_subnet(subnets, forward.get("subnet"))
        if subnet is None:
            check.problem(at, "subnet %r is not a subnet of this VPC" % (forward.get("subnet"),))
        host_port = check.port(at + " host_port", forward.get("host_port"))
        port = check.port(at + " port", forward.get("port", forward.get("host_port")))
        protocol = forward.get("protocol", "tcp")
        if protocol not in ("tcp", "udp"):
            check.problem(at, "protocol %r is not tcp or udp" % (protocol,))
        host_ip = forward.get("host_ip")
        if host_ip is not None:
            try:
                host_ip = str(ipaddress.IPv4Address(str(host_ip)))
            except ValueError:
                check.problem(at, "host_ip %r is not an IPv4 address" % (host_ip,))
        if subnet is None or host_port is None or port is None:
            continue
        if host_port[0] != host_port[1] or port[0] != port[1]:
            check.problem(at, "a port forward takes one port, not a range")
            continue
        forwards.append({"subnet": subnet["name"], "host_port": host_port[0], "port": port[0], "protocol": protocol,
                         "host_ip": host_ip, "address": subnet["address"], "public": subnet["public"]})
        check.forwards.append((at, forwards[-1]))
    apps = []
    for at, app in _mappings(check, where, vpc, "apps", "an app", APP_KEYS):
        app_name = app.get("name")
        if not fullmatch(_NAME, app_name):
            check.problem(at, "name %r is not a name" % (app_name,))
            continue
        at = "%s app %r" % (where, app_name)
        if any(other["name"] == app_name for other in apps):
            check.problem(at, "app %r is listed twice" % app_name)
        subnet = find_subnet(subnets, app.get("subnet"))
        if subnet is None:
            check.problem(at, "subnet %r is not a subnet of this VPC" % (app.get("subnet"),))
        command = app.get("command")
        if not isinstance(command, str) or not command.strip():
            check.problem(at, "command must be a command line, not %r" % (command,))
        elif not control_characters(command):  # else strings() has said so
            try:
                systemd.exec_line(command)
            except systemd.UnitError as error:
                check.problem(at, "command %s" % error)
        user = app.get("user")
        if user is not None and not systemd.is_user_name(user):
            check.problem(at, "user %r is not a POSIX user name ([a-z_][a-z0-9_-]*[$]?, at most %d characters)"
                          % (user, systemd.USER_NAME_MAX))
        port = check.port(at, app["port"]) if app.get("port") is not None else None
        if subnet is not None:
            apps.append({"name": app_name, "subnet": subnet["name"], "command": command,
                         "port": port[0] if port else None, "user": app.get("user")})
    return {"name": name, "cidr": str(network) if network else None, "state": state, "subnets": subnets,
            "peerings": peerings, "policies": policies, "port_forwards": forwards, "apps": apps}


def _absent_vpc(check, where, vpc, name):
    """A VPC to remove: only the names of its subnets and apps matter (they name what to remove)."""
    subnets, apps = [], []
    for key, found in (("subnets", subnets), ("apps", apps)):
        for index, item in enumerate(_list_of(check, where, vpc, key)):
            item_name = item.get("name") if isinstance(item, dict) else None
            if not fullmatch(_NAME, item_name):
                check.problem("%s %s[%d]" % (where, key, index), "name %r is not a name" % (item_name,))
            else:
                found.append({"name": item_name})
    return {"name": name, "cidr": None, "state": "absent", "subnets": subnets, "peerings": [], "policies": {},
            "port_forwards": [], "apps": apps}


def validate_vpcs(vpcs):
    """Normalised VPC definitions, or VpcPlanError listing every problem (each naming its VPC)."""
    check = _Checker()
    if vpcs is None:
        vpcs = []
    if not isinstance(vpcs, list):
        raise VpcPlanError(["the VPC list must be a list of VPCs, not %r" % (vpcs,)])
    normal = []
    for position, vpc in enumerate(vpcs):
        result = _vpc(check, position, vpc)
        if result is None:
            continue
        if any(other["name"] == result["name"] for other in normal):
            check.problem("VPC %r" % result["name"], "listed twice")
            continue
        normal.append(result)
    present = [vpc for vpc in normal if vpc["state"] == "present"]
    for position, vpc in enumerate(present):
        for other in present[:position]:
            if vpc["cidr"] and other["cidr"] and \
                    ipaddress.IPv4Network(vpc["cidr"]).overlaps(ipaddress.IPv4Network(other["cidr"])):
                check.problem("VPC %r" % vpc["name"], "cidr %s overlaps VPC %r (%s)" % (vpc["cidr"], other["name"], other["cidr"]))
    by_name = dict((vpc["name"], vpc) for vpc in normal)
    for vpc in present:
        for peer in vpc["peerings"]:
            if peer == vpc["name"]:
                check.problem("VPC %r" % vpc["name"], "peering with itself")
            elif peer not in by_name:
                check.problem("VPC %r" % vpc["name"], "peering with %r, which is not a VPC in the list" % peer)
            elif by_name[peer]["state"] != "present":
                check.problem("VPC %r" % vpc["name"], "peering with %r, which has state absent" % peer)
    _clashing_forwards(check)
    if check.problems:
        raise VpcPlanError(check.problems)
    return normal


def _clashing_forwards(check):
    """Two forwards of one host port clash when on the same address, or when either is on any address (the
    first DNAT that matches wins: the other would never work)."""
    def on(forward):
        return forward["host_ip"] or "any address"

    for position, (at, forward) in enumerate(check.forwards):
        for other_at, other in check.forwards[:position]:
            if (forward["protocol"], forward["host_port"]) != (other["protocol"], other["host_port"]):
                continue
            if forward["host_ip"] and other["host_ip"] and forward["host_ip"] != other["host_ip"]:
                continue
            check.problem(at, "host port %s/%d on %s clashes with %s (%s/%d on %s)" % (
                forward["protocol"], forward["host_port"], on(forward), other_at, other["protocol"],
                other["host_port"], on(other)))
            break
