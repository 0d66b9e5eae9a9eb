# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The address plan of the pairwise WireGuard mesh, as pure data (no I/O).

This is a private module of the fakevpc.vpc collection (the leading underscore says
so): its interface may change without notice; do not import it from elsewhere.

For servers A < B (A and B are their stable indices, never their order in a list)
the pair uses the subnet 192.168.(offset+A-1).0/24 where A is .1 and B is .B.
Every server A has one "server" interface (address .1 of its own subnet, one peer
per higher-index server) and one "client" interface per lower-index server L
(address 192.168.(offset+L-1).A, one peer: L at its endpoint).
"""

from __future__ import annotations

import ipaddress
import re
import socket

from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import as_int, control_characters, fullmatch, int_in_range

DEFAULT_OFFSET = 1
DEFAULT_DOMAIN = "vpcdomain"
DEFAULT_PORT = 51820
DEFAULT_KEEPALIVE = 25
DEFAULT_IFACE_PREFIX = "wgvpc"
MAX_INDEX = 254
IFNAMSIZ = 15
MAX_DNS_NAME = 253
# 0 keeps WireGuard's default (1420). Below 1280 a link cannot carry IPv6 (RFC 8200); 65535 is the largest IP
# packet (a 16-bit length), and the most wireguard-go's device takes.
MIN_MTU = 1280
MAX_MTU = 65535
IMPLEMENTATIONS = ("auto", "kernel", "userspace")
STATES = ("present", "absent")
# Settings of the whole mesh: every host must hold the same value as the host the plan was computed on.
MESH_SETTINGS = ("iface_ip_offset", "domain", "keepalive", "iface_prefix")

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_HOSTNAME_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_DIGITS = re.compile(r"[0-9]+")
_IFACE_PREFIX = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]*")
# A package name as apt, dnf and zypper know them: no blank, no option, no shell character.
_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:~-]*")
# Addresses no other server can dial: "this network" (0.0.0.0/8, which holds 0.0.0.0) and the limited broadcast.
_UNDIALLABLE_V4 = (ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("255.255.255.255/32"))


class MeshPlanError(ValueError):
    """An invalid input, naming the host (None for mesh-wide settings) and the field."""

    def __init__(self, host, field, problem):
        self.host = host
        self.field = field
        self.problem = problem
        where = "host %r: " % host if host is not None else ""
        super().__init__("%s%s: %s" % (where, field, problem))


def _looks_like_an_ipv4_address(name):
    """True for a name the resolver would read as an IPv4 address (inet_aton: 10.213.0.010 is octal, 1.2.3 is
    1.2.0.3, 0x7f000001 is 127.0.0.1), or whose last label is all digits (no top-level domain is)."""
    if _DIGITS.fullmatch(name.rstrip(".").rsplit(".", 1)[-1]):
        return True
    try:
        socket.inet_aton(name)
    except (OSError, ValueError):
        return False
    return True


def _dns_name_problem(name):
    """Why name is not a DNS name (labels of letters, digits and '-', at most 253 characters), or None."""
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    if not name or len(name.rstrip(".")) > MAX_DNS_NAME or not all(fullmatch(_HOSTNAME_LABEL, label) for label in labels):
        return "must be an IPv4 address, an IPv6 address or a DNS name (labels of letters, digits and '-'), got %r" % (name,)
    if _looks_like_an_ipv4_address(name):
        return ("%r is neither an IPv4 address in dotted decimal (four numbers from 0 to 255, no leading zero) nor a "
                "DNS name (a resolver reads it as an address, or its last label is all digits)" % (name,))
    if labels[-1].lower() == "localhost":
        return "%r is this server itself (localhost): the other servers cannot reach it there" % (name,)
    return None


def _address_problem(address):
    """Why an IP address cannot be dialled by the other servers, or None."""
    mapped = getattr(address, "ipv4_mapped", None)
    checked = mapped or address
    if address.version == 6 and address.scope_id:
        return "%s has a zone (%%%s): each server names its own interfaces" % (address, address.scope_id)
    if checked.is_unspecified or (checked.version == 4 and any(checked in net for net in _UNDIALLABLE_V4)):
        return "%s is not an address a server can be dialled at" % address
    if checked.is_loopback:
        return "%s is a loopback address: the other servers cannot reach this server there" % address
    if checked.is_multicast:
        return "%s is a multicast address: WireGuard needs one server's own address" % address
    return None


def parse_endpoint(endpoint):
    """Return (key, problem): the endpoint's identity (a canonical address, or a lowercase DNS name without its final
    dot: two endpoints with one key are the same server) and None, or (None, why it cannot be an endpoint)."""
    if not isinstance(endpoint, str) or not endpoint:
        return None, "must be an IPv4 address, an IPv6 address or a DNS name, got %r" % (endpoint,)
    if control_characters(endpoint):
        return None, "must hold no control character, got %r" % (endpoint,)
    try:
        address = ipaddress.ip_address(endpoint)
    except ValueError:
        problem = _dns_name_problem(endpoint)
        return (None, problem) if problem else (endpoint.rstrip(".").lower(), None)
    problem = _address_problem(address)
    return (None, problem) if problem else (str(address), None)


def format_endpoint(address, port):
    """Return WireGuard's 'host:port' form, bracketing IPv6 literals."""
    try:
        if ipaddress.ip_address(address).version == 6:
            return "[%s]:%d" % (address, port)
    except ValueError:
        pass
    return "%s:%d" % (address, port)


def _domain_problem(domain):
    if not isinstance(domain, str) or not all(fullmatch(_LABEL, label) for label in domain.split(".")):
        return "must be a DNS domain of lowercase labels (letters, digits, '-'; 1 to 63 each), got %r" % (domain,)
    if len(domain) > MAX_DNS_NAME - 2:
        return "is %d characters long: a name <name>.<domain> would exceed %d" % (len(domain), MAX_DNS_NAME)
    if _DIGITS.fullmatch(domain.rsplit(".", 1)[-1]):
        return "%r ends in an all-digit label: names in it would read as addresses" % (domain,)
    if domain.rsplit(".", 1)[-1] == "localhost":
        return "%r is under localhost, which every resolver keeps for this server itself" % (domain,)
    return None


def _offset_problem(offset):
    return None if int_in_range(offset, 0, 255) else "must be an integer from 0 to 255, got %r" % (offset,)


def _keepalive_problem(keepalive):
    if keepalive is None or int_in_range(keepalive, 0, 65535):
        return None
    return "must be an integer from 0 to 65535, got %r" % (keepalive,)


def _iface_prefix_problem(iface_prefix):
    if not fullmatch(_IFACE_PREFIX, iface_prefix):
        return "must start with a letter and hold only letters, digits, '_' and '-', got %r" % (iface_prefix,)
    if len(iface_prefix) + len(str(MAX_INDEX)) > IFNAMSIZ:
        return "%r is too long: interface names such as %s%d would exceed %d characters" % (
            iface_prefix, iface_prefix, MAX_INDEX, IFNAMSIZ)
    return None


# The checks of the mesh-wide settings, in the order they are checked.
_SETTING_PROBLEMS = (
    ("iface_ip_offset", _offset_problem),
    ("domain", _domain_problem),
    ("keepalive", _keepalive_problem),
    ("iface_prefix", _iface_prefix_problem),
)


def _check_settings(offset, domain, keepalive, iface_prefix):
    values = {"iface_ip_offset": offset, "domain": domain, "keepalive": keepalive, "iface_prefix": iface_prefix}
    for field, problem_of in _SETTING_PROBLEMS:
        problem = problem_of(values[field])
        if problem:
            raise MeshPlanError(None, field, problem)


def _name_problem(name, domain):
    if not fullmatch(_LABEL, name):
        return "must be one DNS label (lowercase letters, digits, '-'), got %r" % (name,)
    if _DIGITS.fullmatch(name):
        return "%r is all digits: the resolver would read it as an address" % (name,)
    if name == "localhost":
        return "'localhost' is every server's name for itself"
    if len(name) + 1 + len(domain) > MAX_DNS_NAME:
        return "%s.%s is %d characters long, past the %d of a DNS name" % (name, domain, len(name) + 1 + len(domain), MAX_DNS_NAME)
    return None


def _normalise_server(server, offset, domain):
    """Check one server's own fields; return (host, index, name, endpoint_address, endpoint_key, port)."""
    host = server.get("host")
    if not isinstance(host, str) or not host:
        raise MeshPlanError(None, "host", "every server needs an inventory name, got %r" % (host,))
    index = server.get("index")
    if index is None:
        raise MeshPlanError(host, "index", "is missing: give every server a stable index from 1 to %d" % MAX_INDEX)
    if not int_in_range(index, 1, MAX_INDEX):
        raise MeshPlanError(host, "index", "must be an integer from 1 to %d, got %r" % (MAX_INDEX, index))
    if offset + index - 1 > 255:
        raise MeshPlanError(
            host, "index",
            "%d with iface_ip_offset %d needs the subnet 192.168.%d.0/24, past 192.168.255.0/24" % (index, offset, offset + index - 1))
    port = server.get("port", DEFAULT_PORT)
    if port is None:
        port = DEFAULT_PORT
    if not int_in_range(port, 1, 65535):
        raise MeshPlanError(host, "port", "must be a UDP port from 1 to 65535, got %r" % (port,))
    name = server.get("name") or "server%d" % index
    if _name_problem(name, domain):
        raise MeshPlanError(host, "name", _name_problem(name, domain))
    endpoint, key = server.get("endpoint"), None
    if endpoint is not None:
        key, problem = parse_endpoint(endpoint)
        if problem:
            raise MeshPlanError(host, "endpoint", problem)
    return host, index, name, endpoint, key, port


def subnet_third_octet(offset, lower_index):
    """Third octet of the /24 shared by server lower_index and every higher server."""
    return offset + lower_index - 1


def pair_addresses(offset, index_a, index_b):
    """Return (address of A, address of B) on the link between servers A and B."""
    low, high = sorted((index_a, index_b))
    octet = subnet_third_octet(offset, low)
    low_address, high_address = "192.168.%d.1" % octet, "192.168.%d.%d" % (octet, high)
    return (low_address, high_address) if index_a < index_b else (high_address, low_address)


def server_interface_name(iface_prefix):
    return "%s0" % iface_prefix


def client_interface_name(iface_prefix, lower_index):
    return "%s%d" % (iface_prefix, lower_index)


def build_mesh_plan(servers, iface_ip_offset=DEFAULT_OFFSET, domain=DEFAULT_DOMAIN,
                    keepalive=DEFAULT_KEEPALIVE, iface_prefix=DEFAULT_IFACE_PREFIX):
    """Validate the servers and return the plan.

    servers: iterable of dicts with keys host, index, endpoint, port (default 51820)
    and name (default 'server<index>').

    Returns {'servers': {host: view}} where a view holds index, name, fqdn, interfaces,
    hosts_entries and service_addresses. Raises MeshPlanError on any invalid input.
    """
    _check_settings(iface_ip_offset, domain, keepalive, iface_prefix)
    normalised = [_normalise_server(server, iface_ip_offset, domain) for server in servers]

    by_index, by_host, by_name, by_endpoint = {}, {}, {}, {}
    for host, index, name, endpoint, endpoint_key, port in normalised:
        if host in by_host:
            raise MeshPlanError(host, "host", "is listed twice")
        by_host[host] = index
        if index in by_index:
            raise MeshPlanError(host, "index", "%d is already the index of host %r" % (index, by_index[index][0]))
        by_index[index] = (host, name, endpoint, port)
        if name in by_name:
            raise MeshPlanError(host, "name", "%r is already the name of host %r" % (name, by_name[name]))
        by_name[name] = host
        if endpoint is not None:
            if (endpoint_key, port) in by_endpoint:
                raise MeshPlanError(
                    host, "endpoint",
                    "%s port %d is already the endpoint of host %r" % (endpoint, port, by_endpoint[(endpoint_key, port)]))
            by_endpoint[(endpoint_key, port)] = host

    indices = sorted(by_index)
    highest = indices[-1] if indices else 0
    for index in indices:
        host, _name, endpoint, _port = by_index[index]
        if endpoint is None and index != highest:
            raise MeshPlanError(
                host, "endpoint",
                "is missing: servers with a higher index (%s) connect to this server at its endpoint"
                % ", ".join(by_index[i][0] for i in indices if i > index))

    # Each server's endpoint is formatted once: every higher server's client interface dials it.
    endpoints = dict((index, format_endpoint(by_index[index][2], by_index[index][3]))
                     for index in indices if by_index[index][2] is not None)
    plan = {}
    for index in indices:
        plan[by_index[index][0]] = _server_view(index, by_index, endpoints, indices, iface_ip_offset, domain, keepalive,
                                                iface_prefix)
    settings = {"iface_ip_offset": iface_ip_offset, "domain": domain, "keepalive": keepalive, "iface_prefix": iface_prefix}
    return {"servers": plan, "settings": settings}


def _server_view(own, by_index, endpoints, indices, offset, domain, keepalive, iface_prefix):
    host, name, _endpoint, port = by_index[own]
    own_octet = subnet_third_octet(offset, own)
    server_peers = []
    interfaces = [{
        "name": server_interface_name(iface_prefix),
        "role": "server",
        "address": "192.168.%d.1/24" % own_octet,
        "listen_port": port,
        "peers": server_peers,
    }]
    hosts_entries = []
    service_addresses = ["192.168.%d.1" % own_octet]
    for other in indices:
        other_host, other_name, _other_endpoint, _other_port = by_index[other]
        if other == own:
            hosts_entries.append({"address": "127.0.0.1", "names": [name, "%s.%s" % (name, domain)]})
            continue
        own_address, other_address = pair_addresses(offset, own, other)
        hosts_entries.append({"address": other_address, "names": [other_name, "%s.%s" % (other_name, domain)]})
        if other > own:
            server_peers.append({
                "host": other_host,
                "index": other,
                "allowed_ips": ["%s/32" % other_address],
                "endpoint": None,
                "persistent_keepalive": None,
            })
            continue
        service_addresses.append(own_address)
        interfaces.append({
            "name": client_interface_name(iface_prefix, other),
            "role": "client",
            "address": "%s/24" % own_address,
            "listen_port": None,
            "peers": [{
                "host": other_host,
                "index": other,
                "allowed_ips": ["%s/32" % other_address],
                "endpoint": endpoints[other],
                "persistent_keepalive": keepalive or None,
            }],
        })
    return {
        "index": own,
        "name": name,
        "fqdn": "%s.%s" % (name, domain),
        "interfaces": interfaces,
        "hosts_entries": hosts_entries,
        "hosts_lines": ["%s %s" % (entry["address"], " ".join(entry["names"])) for entry in hosts_entries],
        "service_addresses": service_addresses,
    }


def _path_problem(value, absolute=True, empty=False):
    if value == "" and empty:
        return None
    if not isinstance(value, str) or not value:
        return "must be a path, got %r" % (value,)
    if control_characters(value):
        return "must hold no control character, got %r" % (value,)
    if absolute and not value.startswith("/"):
        return "must be an absolute path on the server, got %r" % (value,)
    return None


def _packages_problem(packages):
    if isinstance(packages, str):
        packages = packages.split(",")  # as the argument spec's type list reads a string
    if not isinstance(packages, list) or not all(fullmatch(_PACKAGE, package) for package in packages):
        return "must be a list of package names (letters, digits and . _ + : ~ -, not starting with '-'), got %r" % (packages,)
    return None


def _integer_problem(value, low, high, what="an integer"):
    if not int_in_range(as_int(value), low, high):
        return "must be %s from %d to %d (ASCII digits), got %r" % (what, low, high, value)
    return None


def _mtu_problem(mtu):
    mtu = as_int(mtu)
    if int_in_range(mtu, 0, 0) or int_in_range(mtu, MIN_MTU, MAX_MTU):
        return None
    return "must be 0 (WireGuard's default, 1420) or an MTU from %d to %d, got %r" % (MIN_MTU, MAX_MTU, mtu)


def _choice_problem(value, choices):
    if value in choices:
        return None
    return "must be one of %s, got %r" % (", ".join(choices), value)


# The checks of one host's role options, by field; integers may arrive as strings of ASCII digits (-e).
_OPTION_PROBLEMS = {
    "iface_ip_offset": lambda value: _offset_problem(as_int(value)),
    "domain": _domain_problem,
    "keepalive": lambda value: _keepalive_problem(as_int(value)),
    "iface_prefix": _iface_prefix_problem,
    "mtu": _mtu_problem,
    "state": lambda value: _choice_problem(value, STATES),
    "implementation": lambda value: _choice_problem(value, IMPLEMENTATIONS),
    "upgrade_reboot_timeout": lambda value: _integer_problem(value, 1, 86400, "a number of seconds"),
    "key_dir": lambda value: _path_problem(value, absolute=False),
    "config_dir": _path_problem,
    "hosts_file": _path_problem,
    "cloud_init_templates_dir": lambda value: _path_problem(value, empty=True),
    "packages": _packages_problem,
}
OPTION_FIELDS = tuple(_OPTION_PROBLEMS)


def host_option_problems(options, settings=None):
    """The problems of one host's role options, as (field, problem) pairs in the order of OPTION_FIELDS.

    options: field -> value, for any of OPTION_FIELDS. settings: the mesh-wide settings of the plan
    (build_mesh_plan(...)['settings']): a host whose valid mesh-wide setting differs from them has a problem too,
    since every server must compute the same addresses, names and interface names.
    """
    problems = []
    for field in OPTION_FIELDS:
        if field not in options:
            continue
        value = options[field]
        problem = _OPTION_PROBLEMS[field](value)
        if problem is None and settings is not None and field in MESH_SETTINGS:
            normalised = value if field in ("domain", "iface_prefix") else as_int(value)
            if normalised != settings[field]:
                problem = "%r differs from the %r the mesh plan was computed with: set it once for the whole group" % (
                    value, settings[field])
        if problem:
            problems.append((field, problem))
    return problems
