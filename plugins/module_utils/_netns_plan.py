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

import ipaddress
import re

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names
from ansible_collections.fakevpc.vpc.plugins.module_utils import _systemd as systemd
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_host import host_overlaps
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import as_int, control_characters, fullmatch, is_int

DEFAULTS = {
    "bridge_prefix": "br-",
    "veth_prefix": "v-",
    "namespace_prefix": "ns-",
    "chain_prefix": "NVPC",
    "unit_prefix": "netns-vpc",
    "subnet_interface": "eth0",
    "uplink": "",
}

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
REJECT = "-j REJECT --reject-with icmp-admin-prohibited"


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


def _subnet(check, where, subnet, vpc_network):
    if not isinstance(subnet, dict):
        check.problem(where, "a subnet must be a mapping, not %r" % (subnet,))
        return None
    check.unknown_keys(where, subnet, SUBNET_KEYS)
    check.strings(where, subnet)
    name = subnet.get("name")
    if not fullmatch(_NAME, name):
        check.problem(where, "name %r is not a name (letters, digits, '_', '-'; at most 32)" % (name,))
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


def _find_subnet(subnets, reference):
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
    if not isinstance(vpc, dict):
        check.problem(where, "a VPC must be a mapping, not %r" % (vpc,))
        return None
    check.unknown_keys(where, vpc, VPC_KEYS)
    check.strings(where, vpc)
    name = vpc.get("name")
    if not fullmatch(_NAME, name):
        check.problem(where, "name %r is not a name (letters, digits, '_', '-'; at most 32)" % (name,))
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
        subnet = _find_subnet(subnets, policy.get("subnet"))
        if subnet is None:
            check.problem(at, "subnet %r is not a subnet of this VPC (give its name or its CIDR)" % (policy.get("subnet"),))
            continue
        if subnet["name"] in policies:
            check.problem(at, "subnet %r already has a policy" % subnet["name"])
            continue
        policies[subnet["name"]] = _policy(check, at, policy)
    forwards = []
    for at, forward in _mappings(check, where, vpc, "port_forwards", "a port forward", FORWARD_KEYS):
        subnet = _find_subnet(subnets, forward.get("subnet"))
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
        subnet = _find_subnet(subnets, app.get("subnet"))
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


# -- names ---------------------------------------------------------------------------------------

def _resource_names(vpc, settings):
    """Names of everything a VPC owns on the host."""
    bridge = names.interface_name(settings["bridge_prefix"], vpc["name"])
    subnets = {}
    for subnet in vpc["subnets"]:
        subnets[subnet["name"]] = {
            "namespace": "%s%s-%s" % (settings["namespace_prefix"], vpc["name"], subnet["name"]),
            "veth": names.interface_name(settings["veth_prefix"], vpc["name"], subnet["name"]),
        }
    units = ["%s-app-%s-%s.service" % (settings["unit_prefix"], vpc["name"], app["name"]) for app in vpc["apps"]]
    return bridge, subnets, units


def _check_names(vpcs, settings):
    problems = []
    owners = {}
    for vpc in vpcs:
        bridge, subnets, _units = _resource_names(vpc, settings)
        for kind, name in [("interface", bridge)] + [("interface", s["veth"]) for s in subnets.values()] \
                + [("namespace", s["namespace"]) for s in subnets.values()]:
            if kind == "namespace" and not names.is_namespace_name(name):
                problems.append("VPC %r: namespace name %r is not valid" % (vpc["name"], name))
            if (kind, name) in owners and owners[(kind, name)] != vpc["name"]:
                problems.append("VPC %r: %s name %s is also VPC %r's" % (vpc["name"], kind, name, owners[(kind, name)]))
            elif (kind, name) in owners:
                problems.append("VPC %r: %s name %s is used twice" % (vpc["name"], kind, name))
            owners[(kind, name)] = vpc["name"]
    if problems:
        raise VpcPlanError(problems)


def _check_settings(settings):
    problems = []
    for key in ("bridge_prefix", "veth_prefix"):
        if not fullmatch(re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,7}"), settings[key]):
            problems.append("setting %s %r: 1 to 8 letters, digits, '_', '-', starting with a letter" % (key, settings[key]))
    if not fullmatch(re.compile(r"[A-Za-z0-9_-]{0,32}"), settings["namespace_prefix"]):
        problems.append("setting namespace_prefix %r: at most 32 letters, digits, '_', '-'" % settings["namespace_prefix"])
    if not fullmatch(re.compile(r"[A-Z][A-Z0-9_]{0,11}"), settings["chain_prefix"]):
        problems.append("setting chain_prefix %r: 1 to 12 capitals, digits or '_'" % settings["chain_prefix"])
    if not fullmatch(re.compile(r"[a-z][a-z0-9-]{0,31}"), settings["unit_prefix"]):
        problems.append("setting unit_prefix %r: lower-case letters, digits and '-'" % settings["unit_prefix"])
    for key in ("subnet_interface",):
        if not names.is_interface_name(settings[key]):
            problems.append("setting %s %r is not an interface name" % (key, settings[key]))
    if settings["uplink"] and not names.is_interface_name(settings["uplink"]):
        problems.append("setting uplink %r is not an interface name" % settings["uplink"])
    if problems:
        raise VpcPlanError(problems)


# -- rules ---------------------------------------------------------------------------------------

def _ports_match(ports):
    low, high = ports
    return str(low) if low == high else "%d:%d" % (low, high)


def _policy_rules(policy, direction, interface_match):
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


def _host_rules(present, bridges, settings, remote=(), transit=()):
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
        for peer in _peers_of(vpc, present):
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


def _peers_of(vpc, present):
    """Names of the VPCs peered with vpc: a peering written on either side counts for both."""
    peers = set(vpc["peerings"])
    peers.update(other["name"] for other in present if vpc["name"] in other["peerings"])
    return sorted(peer for peer in peers if peer != vpc["name"])


# -- expectations for the connectivity check ------------------------------------------------------

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


def _checks(present, namespaces):
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
            elif other_vpc["name"] in _peers_of(vpc, present):
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
            reachable = other_vpc is vpc or other_vpc["name"] in _peers_of(vpc, present)
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


# -- the plan ------------------------------------------------------------------------------------

def _resources(vpcs, settings):
    namespaces, links, units = [], [], []
    for vpc in vpcs:
        bridge, subnets, vpc_units = _resource_names(vpc, settings)
        links.append(bridge)
        for subnet in vpc["subnets"]:
            namespaces.append(subnets[subnet["name"]]["namespace"])
            links.append(subnets[subnet["name"]]["veth"])
        units += vpc_units
    return {"namespaces": namespaces, "links": links, "units": units}


RESOURCE_KINDS = ("namespaces", "links", "units", "chains")


def chain_key(chain):
    """How the registry names a policy chain inside a namespace."""
    return "%s:%s:%s" % (chain["namespace"], chain["table"], chain["chain"])


def _previous_resources(previous):
    resources = (previous or {}).get("resources") or {}
    return dict((key, [item for item in resources.get(key) or [] if isinstance(item, str)]) for key in RESOURCE_KINDS)


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


def _fleet_checks(checks, namespaces, start):
    """The fleet's matrix rows of this host, numbered after its own checks."""
    rows = []
    for position, check in enumerate(checks):
        check_id = "f%s%d" % (check["kind"], start + position)
        rows.append({"id": check_id, "kind": check["kind"], "from": check["from"],
                     "namespace": namespaces.get(check["from"]), "to": check["to"], "address": check["address"],
                     "port": check["port"], "expect": check["expect"], "why": check["why"],
                     "line": "%s %s" % (check_id, "ok" if check["expect"] else "no")})
    return rows


def build_vpc_plan(vpcs, previous=None, state="present", host_networks=None, host="this host", fleet=None, mesh=None,
                   **overrides):
    """The whole plan for one host; raises VpcPlanError before anything is decided on bad input.

    vpcs: the declarative list; previous: the registry the role wrote last time (or None);
    state: absent removes every VPC (listed or registered); host_networks: the host's own addresses and routes
    as read before any change (the host_networks module's addresses and routes), none of which a VPC may cover.
    fleet: this host's part of the fleet plan (_netns_fleet), whose vpcs replace vpcs; mesh: this server's view
    of the mesh plan, whose interfaces carry the fleet's remote subnets.
    """
    settings = dict(DEFAULTS)
    for key, value in overrides.items():
        if key not in settings:
            raise VpcPlanError(["unknown setting %r" % key])
        settings[key] = value if value is not None else DEFAULTS[key]
    _check_settings(settings)
    if state not in ("present", "absent"):
        raise VpcPlanError(["state %r is not present or absent" % (state,)])
    if fleet is not None:
        vpcs = fleet["vpcs"]
    elif isinstance(vpcs, list) and any(isinstance(vpc, dict) and isinstance(vpc.get("subnets"), list) and any(
            isinstance(subnet, dict) and "server" in subnet for subnet in vpc["subnets"]) for vpc in vpcs):
        raise VpcPlanError(["VPC %r: its subnets name servers, so it spans the servers of the mesh: site.yml builds"
                            " it (with the mesh), not a play of this role alone" % next(
                                vpc.get("name") for vpc in vpcs if isinstance(vpc, dict) and any(
                                    isinstance(subnet, dict) and "server" in subnet
                                    for subnet in vpc.get("subnets") or []))])
    normal = validate_vpcs(vpcs)
    _check_names(normal, settings)
    present = [vpc for vpc in normal if vpc["state"] == "present"] if state == "present" else []
    remote = _remote(fleet, mesh, present)
    if any(subnet["public"] for vpc in present for subnet in vpc["subnets"]) and not settings["uplink"]:
        raise VpcPlanError(["VPC %r: public subnets need the host's uplink interface (none was given or found)"
                            % next(vpc["name"] for vpc in present if any(s["public"] for s in vpc["subnets"]))])

    wanted = _resources(present, settings)
    listed = _resources(normal, settings)
    before = _previous_resources(previous)
    if host_networks:
        mesh_links = [interface["name"] for interface in (mesh or {}).get("interfaces") or []]
        if mesh:
            # The host's mesh interfaces that the mesh will remove (a pair a relay now carries) route prefixes too.
            live = [a["interface"] for a in host_networks.get("addresses") or []] + [
                r["dev"] for r in host_networks.get("routes") or [] if r["dev"]]
            pattern = re.compile(re.escape(mesh["iface_prefix"]) + "[0-9]+")
            mesh_links += [link for link in live if fullmatch(pattern, link)]
        carried = [{"name": item["vpc"], "cidr": item["cidr"], "label": "VPC %r subnet %r (on server %r, routed here)"
                    % (item["vpc"], item["subnet"], item["server"])} for item in remote]
        overlaps = host_overlaps(present + carried, host_networks,
                                 wanted["links"] + listed["links"] + before["links"] + mesh_links, host)
        if overlaps:
            raise VpcPlanError(overlaps)
    remove = {}
    for key in ("namespaces", "links", "units"):
        candidates = before[key] + [item for item in listed[key] if item not in before[key]]
        remove[key] = [item for item in candidates if item not in wanted[key]]

    bridges, subnet_links, veths, namespaces, namespace_chains, apps = [], [], [], [], [], []
    bridge_names = {}
    for vpc in present:
        bridge, subnet_names, units = _resource_names(vpc, settings)
        bridge_names[vpc["name"]] = bridge
        bridges.append({"vpc": vpc["name"], "name": bridge,
                        "addresses": ["%s/%d" % (s["gateway"], s["prefixlen"]) for s in vpc["subnets"]]})
        peer_cidrs = [next(v["cidr"] for v in present if v["name"] == peer) for peer in _peers_of(vpc, present)]
        for subnet in vpc["subnets"]:
            where = subnet_names[subnet["name"]]
            namespaces.append(where["namespace"])
            veths.append({"vpc": vpc["name"], "subnet": subnet["name"], "name": where["veth"], "master": bridge,
                          "peer": {"name": settings["subnet_interface"], "namespace": where["namespace"]}})
            if subnet["public"]:
                routes = [{"dst": "default", "via": subnet["gateway"]}]
            else:
                remote_peers = [item["vpc_cidr"] for item in remote
                                if vpc["name"] in item["for"] and item["vpc"] != vpc["name"]]
                cidrs = [vpc["cidr"]] + peer_cidrs + sorted(set(c for c in remote_peers if c not in peer_cidrs))
                routes = [{"dst": cidr, "via": subnet["gateway"]} for cidr in cidrs if cidr != subnet["cidr"]]
            subnet_links.append({"vpc": vpc["name"], "subnet": subnet["name"], "name": settings["subnet_interface"],
                                 "namespace": where["namespace"], "address": subnet["address"],
                                 "addresses": ["%s/%d" % (subnet["address"], subnet["prefixlen"])], "routes": routes})
            policy = vpc["policies"].get(subnet["name"])
            for direction, chain, hook, match in (("ingress", "INPUT", "INPUT", "-i"), ("egress", "OUTPUT", "OUTPUT", "-o")):
                item = {
                    "vpc": vpc["name"], "subnet": subnet["name"], "namespace": where["namespace"], "table": "filter",
                    "chain": "%s-%s" % (settings["chain_prefix"], chain), "jump_from": [hook],
                    "state": "present" if policy else "absent",
                    "rules": _policy_rules(policy, direction, match) if policy else [],
                }
                # A subnet without a policy has no chain: only one the registry knows of is removed.
                if policy or chain_key(item) in before["chains"]:
                    namespace_chains.append(item)
        for app, unit in zip(vpc["apps"], units):
            apps.append(dict(app, vpc=vpc["name"], unit=unit, namespace=subnet_names[app["subnet"]]["namespace"],
                             address=next(s["address"] for s in vpc["subnets"] if s["name"] == app["subnet"])))

    host_chains = _host_rules(present, bridge_names, settings, remote, (mesh or {}).get("transit") or [])
    for chain in host_chains:
        chain["state"] = "present" if chain["rules"] else "absent"

    wanted["chains"] = [chain_key(chain) for chain in namespace_chains if chain["state"] == "present"]
    fleet_names = set((fleet or {}).get("fleet_vpcs") or [])
    hosts_files = [{"vpc": link["vpc"], "subnet": link["subnet"], "namespace": link["namespace"],
                    "content": _hosts_file(fleet["names"].get(link["vpc"]) or [])}
                   for link in subnet_links if link["vpc"] in fleet_names]
    namespace_of = dict(("%s/%s" % (link["vpc"], link["subnet"]), link["namespace"]) for link in subnet_links)
    local_checks = _checks([vpc for vpc in present if vpc["name"] not in fleet_names], namespace_of)
    registry_union = dict((key, before[key] + [item for item in wanted[key] if item not in before[key]])
                          for key in RESOURCE_KINDS)
    return {
        "settings": settings,
        "vpcs": present,
        "removed_vpcs": [vpc["name"] for vpc in normal if vpc not in present],
        "namespaces": namespaces,
        "bridges": bridges,
        "veths": veths,
        "subnet_links": subnet_links,
        "host_chains": host_chains,
        "namespace_chains": namespace_chains,
        "apps": apps,
        "remove": remove,
        "resources": wanted,
        "resources_during_change": registry_union,
        "forwarding": bool(present),
        "empty": not present,
        "checks": local_checks + _fleet_checks((fleet or {}).get("checks") or [] if present else [], namespace_of,
                                               len(local_checks)),
        "remote": remote,
        "hosts_files": hosts_files,
    }
