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

DEFAULT_OFFSET = 1
DEFAULT_DOMAIN = "vpcdomain"
DEFAULT_PORT = 51820
DEFAULT_KEEPALIVE = 25
DEFAULT_IFACE_PREFIX = "wgvpc"
MAX_INDEX = 254
IFNAMSIZ = 15

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HOSTNAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_IFACE_PREFIX = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]*$")


class MeshPlanError(ValueError):
    """An invalid input, naming the host (None for mesh-wide settings) and the field."""

    def __init__(self, host, field, problem):
        self.host = host
        self.field = field
        self.problem = problem
        where = "host %r: " % host if host is not None else ""
        super().__init__("%s%s: %s" % (where, field, problem))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_hostname(name):
    if not name or len(name) > 253:
        return False
    return all(_HOSTNAME.match(label) for label in name.rstrip(".").split("."))


def _endpoint_problem(address):
    """Return why address cannot be an endpoint, or None when it can."""
    if not isinstance(address, str):
        return "must be an IP address or a host name, got %r" % (address,)
    try:
        if ipaddress.ip_address(address).is_loopback:
            return "%s is a loopback address: the other servers cannot reach this server there" % address
        return None
    except ValueError:
        if address == "localhost" or not _valid_hostname(address):
            return "must be an IP address or a host name the other servers can reach, got %r" % (address,)
        return None


def format_endpoint(address, port):
    """Return WireGuard's 'host:port' form, bracketing IPv6 literals."""
    try:
        if ipaddress.ip_address(address).version == 6:
            return "[%s]:%d" % (address, port)
    except ValueError:
        pass
    return "%s:%d" % (address, port)


def _check_settings(offset, domain, keepalive, iface_prefix):
    if not _is_int(offset) or not 0 <= offset <= 255:
        raise MeshPlanError(None, "iface_ip_offset", "must be an integer from 0 to 255, got %r" % (offset,))
    if not isinstance(domain, str) or not domain or not all(_LABEL.match(label) for label in domain.split(".")):
        raise MeshPlanError(None, "domain", "must be a DNS domain of lowercase labels, got %r" % (domain,))
    if keepalive is not None and (not _is_int(keepalive) or not 0 <= keepalive <= 65535):
        raise MeshPlanError(None, "keepalive", "must be an integer from 0 to 65535, got %r" % (keepalive,))
    if not isinstance(iface_prefix, str) or not _IFACE_PREFIX.match(iface_prefix):
        raise MeshPlanError(None, "iface_prefix", "must start with a letter and hold only letters, digits, '_' and '-', got %r" % (iface_prefix,))
    if len(iface_prefix) + len(str(MAX_INDEX)) > IFNAMSIZ:
        raise MeshPlanError(
            None, "iface_prefix",
            "%r is too long: interface names such as %s%d would exceed %d characters" % (iface_prefix, iface_prefix, MAX_INDEX, IFNAMSIZ))


def _normalise_server(server, offset):
    """Check one server's own fields; return (host, index, name, endpoint_address, port)."""
    host = server.get("host")
    if not isinstance(host, str) or not host:
        raise MeshPlanError(None, "host", "every server needs an inventory name, got %r" % (host,))
    index = server.get("index")
    if index is None:
        raise MeshPlanError(host, "index", "is missing: give every server a stable index from 1 to %d" % MAX_INDEX)
    if not _is_int(index) or not 1 <= index <= MAX_INDEX:
        raise MeshPlanError(host, "index", "must be an integer from 1 to %d, got %r" % (MAX_INDEX, index))
    if offset + index - 1 > 255:
        raise MeshPlanError(
            host, "index",
            "%d with iface_ip_offset %d needs the subnet 192.168.%d.0/24, past 192.168.255.0/24" % (index, offset, offset + index - 1))
    port = server.get("port", DEFAULT_PORT)
    if port is None:
        port = DEFAULT_PORT
    if not _is_int(port) or not 1 <= port <= 65535:
        raise MeshPlanError(host, "port", "must be a UDP port from 1 to 65535, got %r" % (port,))
    name = server.get("name") or "server%d" % index
    if not isinstance(name, str) or not _LABEL.match(name):
        raise MeshPlanError(host, "name", "must be one DNS label (lowercase letters, digits, '-'), got %r" % (name,))
    endpoint = server.get("endpoint")
    if endpoint is not None and _endpoint_problem(endpoint):
        raise MeshPlanError(host, "endpoint", _endpoint_problem(endpoint))
    return host, index, name, endpoint, port


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
    normalised = [_normalise_server(server, iface_ip_offset) for server in servers]

    by_index, by_host, by_name, by_endpoint = {}, {}, {}, {}
    for host, index, name, endpoint, port in normalised:
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
            if (endpoint, port) in by_endpoint:
                raise MeshPlanError(
                    host, "endpoint",
                    "%s port %d is already the endpoint of host %r" % (endpoint, port, by_endpoint[(endpoint, port)]))
            by_endpoint[(endpoint, port)] = host

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
    return {"servers": plan}


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
