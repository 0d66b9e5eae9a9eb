# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The address plan of the pairwise WireGuard mesh, as pure data (no I/O).

This is a private module of the fakevpc.vpc collection (the leading underscore says
so): its interface may change without notice; do not import it from elsewhere.

For servers A < B (A and B are their stable indices, never their order in a list)
the pair uses the subnet 192.168.(offset+A-1).0/24 where A is .1 and B is .B.
Who listens in a pair: A when it can be dialled, else B when it can; else neither,
and a relay carries the pair. The addresses never depend on it.

Every server A has one "server" interface <prefix>0 on its one WireGuard port
(address .1 of its own subnet). It holds every pair A has with a higher server B
(A listens, or A cannot be dialled and dials B from it), and every pair with a
lower server L that cannot be dialled (L dials A's port; the interface gets A's
pair address 192.168.(offset+L-1).A/24 as a second address). A pair with a lower
server L that listens has a "client" interface <prefix>L (address
192.168.(offset+L-1).A/24, one peer: L at its endpoint), as it always had: a server
behind NAT or a lab VM has one forwarded port, so every pair it accepts must
arrive on that one interface, and the layout of a mesh of dialable servers does not
move when one of them stops being dialable.

A pair neither side can dial rides on both sides' tunnels to the relay (the
dialable server named by `relay`, by default the dialable one with the lowest
index): "extra prefixes carried by a pair's tunnel", one general mechanism. Each
end gets the other's pair address as an extra allowed IP of its relay peer and a
route to it through that interface, from its own pair address (added to the
interface as a /32 when it lives on another one, so every interface can come up
alone at boot); the relay gets each end's pair address on that end's peer, a
route to it, and forwards on those interfaces.

The same mechanism carries the prefixes of networks that live behind a server (the subnets of VPCs
spanning servers, `carried_prefixes`): each is an extra allowed IP of that server's peer on the other side
of the pair, routed through that pair's interface (no source: forwarded packets keep their own), and the
interface forwards. A relayed pair carries them over both ends' tunnels to the relay, which forwards them
between those tunnels (its view lists them as ``transit``, for its firewall).

External peers (machines Ansible never touches) take part as members with one
interface holding every pair; two external peers have no tunnel between them.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_names import IFNAMSIZ
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import as_bool, as_int, control_characters, fullmatch, int_in_range

DEFAULT_OFFSET = 1
DEFAULT_DOMAIN = "vpcdomain"
DEFAULT_PORT = 51820
DEFAULT_KEEPALIVE = 25
DEFAULT_IFACE_PREFIX = "wgvpc"
MAX_INDEX = 254

MAX_DNS_NAME = 253
# 0 keeps WireGuard's default (1420). Below 1280 a link cannot carry IPv6 (RFC 8200); 65535 is the largest IP
# packet (a 16-bit length), and the most wireguard-go's device takes.
MIN_MTU = 1280
MAX_MTU = 65535
IMPLEMENTATIONS = ("auto", "kernel", "userspace")
STATES = ("present", "absent")
# Settings of the whole mesh: every host must hold the same value as the host the plan was computed on.
MESH_SETTINGS = ("iface_ip_offset", "domain", "keepalive", "iface_prefix", "relay", "external_peers")

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_HOSTNAME_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_DIGITS = re.compile(r"[0-9]+")
_IFACE_PREFIX = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]*")
_HOSTNAME_FULL = re.compile(r"(?=.{1,253}\Z)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
# A package name as apt, dnf and zypper know them: no blank, no option, no shell character.
_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:~-]*")
# Addresses no other server can dial: "this network" (0.0.0.0/8, which holds 0.0.0.0) and the limited broadcast.
_UNDIALLABLE_V4 = (ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("255.255.255.255/32"))

# Names the hosts block never gives to a server: the hosts file's own.
RESERVED_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")
# The key holder (wg_keys host) of an external peer.
EXTERNAL_HOLDER = "external-%s"


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


def iface_prefix_problem(iface_prefix):
    """Why iface_prefix cannot name the mesh's interfaces, or None."""
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
    ("iface_prefix", iface_prefix_problem),
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
    name = server.get("name") or default_name(host, index)
    if _name_problem(name, domain):
        raise MeshPlanError(host, "name", _name_problem(name, domain))
    endpoint, key = server.get("endpoint"), None
    if endpoint is not None:
        key, problem = parse_endpoint(endpoint)
        if problem:
            raise MeshPlanError(host, "endpoint", problem)
    return host, index, name, endpoint, key, port


def default_name(host, index):
    """A server's name when wg_mesh_name is not set, from its inventory hostname.

    An IP address gives 'server<index>'; a host name (one label or an FQDN) gives its first label, lowercased
    (names in the hosts file are case-insensitive); anything else must be named with wg_mesh_name.
    """
    try:
        ipaddress.ip_address(host)
        return "server%d" % index
    except ValueError:
        pass
    if fullmatch(_HOSTNAME_FULL, host):
        return host.split(".")[0].lower()
    raise MeshPlanError(
        host, "name",
        "is missing and the inventory hostname %r is neither a DNS name nor an IP address: name the server"
        " with one DNS label (lowercase letters, digits, '-')" % (host,))


def _aliases_problem(aliases, domain):
    """Why aliases is not a list of names (each as a server's name: one label, not all digits, not localhost)."""
    if not isinstance(aliases, list):
        return "must be a list of DNS labels, got %r" % (aliases,)
    for alias in aliases:
        problem = _name_problem(alias, domain)
        if problem:
            return "%r: %s" % (alias, problem) if isinstance(alias, str) and not control_characters(alias) else problem
    return None


def _dialable_problem(dialable):
    if dialable is None or isinstance(dialable, bool):
        return None
    return "must be true or false, got %r" % (dialable,)


def _normalise_extras(server, host, domain):
    """The fields added for real fleets: (aliases, dialable)."""
    aliases = server.get("aliases")
    if aliases is None:
        aliases = []
    if _aliases_problem(aliases, domain):
        raise MeshPlanError(host, "aliases", _aliases_problem(aliases, domain))
    dialable = server.get("dialable", True)
    if _dialable_problem(dialable):
        raise MeshPlanError(host, "dialable", _dialable_problem(dialable))
    return list(aliases), dialable is not False


def _normalise_external(position, peer, offset, domain):
    """One entry of external_peers, checked; returns a member dict. Errors name the entry."""
    def fail(problem):
        label = peer.get("name") if isinstance(peer, dict) and isinstance(peer.get("name"), str) else None
        where = "entry %d%s: " % (position, " (%s)" % label if label and not control_characters(label) else "")
        raise MeshPlanError(None, "external_peers", where + problem)

    if not isinstance(peer, dict):
        fail("must be a dict with name, index and optionally endpoint, port and aliases, got %r" % (peer,))
    unknown = sorted(set(peer) - {"name", "index", "endpoint", "port", "aliases"})
    if unknown:
        fail("unknown keys %s" % ", ".join(repr(key) for key in unknown))
    name = peer.get("name")
    if not fullmatch(_LABEL, name) or len(name) > IFNAMSIZ:
        fail("name: must be one DNS label of at most %d characters (the wg-quick file is <name>.conf and"
             " names the interface), got %r" % (IFNAMSIZ, name))
    if _name_problem(name, domain):
        fail("name: " + _name_problem(name, domain))
    index = as_int(peer.get("index"))
    if not int_in_range(index, 1, MAX_INDEX):
        fail("index: must be an integer from 1 to %d, got %r" % (MAX_INDEX, peer.get("index")))
    if offset + index - 1 > 255:
        fail("index: %d with iface_ip_offset %d needs the subnet 192.168.%d.0/24, past 192.168.255.0/24"
             % (index, offset, offset + index - 1))
    port = as_int(peer.get("port", DEFAULT_PORT))
    if not int_in_range(port, 1, 65535):
        fail("port: must be a UDP port from 1 to 65535, got %r" % (peer.get("port"),))
    endpoint, key = peer.get("endpoint"), None
    if endpoint is not None:
        key, problem = parse_endpoint(endpoint)
        if problem:
            fail("endpoint: " + problem)
    aliases = peer.get("aliases")
    if aliases is None:
        aliases = []
    if _aliases_problem(aliases, domain):
        fail("aliases: " + _aliases_problem(aliases, domain))
    return {"host": EXTERNAL_HOLDER % name, "index": index, "name": name, "aliases": list(aliases),
            "endpoint": endpoint, "endpoint_key": key, "port": port, "dialable": endpoint is not None,
            "external": True}


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


def _members(servers, external_peers, offset, domain):
    """Every validated member (servers and external peers) by index; raises MeshPlanError."""
    by_index, by_host, names, by_endpoint = {}, {}, {}, {}
    members = []
    for server in servers:
        host, index, name, endpoint, endpoint_key, port = _normalise_server(server, offset, domain)
        aliases, dialable = _normalise_extras(server, host, domain)
        members.append({"host": host, "index": index, "name": name, "aliases": aliases, "dialable": dialable,
                        "endpoint": endpoint if dialable else None, "endpoint_key": endpoint_key if dialable else None,
                        "port": port, "external": False})
    if not isinstance(external_peers, list):
        raise MeshPlanError(None, "external_peers", "must be a list, got %r" % (external_peers,))
    members += [_normalise_external(position, peer, offset, domain) for position, peer in enumerate(external_peers)]
    for member in members:
        host, index = member["host"], member["index"]
        if host in by_host:
            if member["external"]:
                raise MeshPlanError(None, "external_peers", "%r: its key holder %r is already an inventory host"
                                    " or another external peer" % (member["name"], host))
            raise MeshPlanError(host, "host", "is listed twice")
        by_host[host] = member
        if index in by_index:
            _refuse(member, "index", "%d is already the index of host %r" % (index, by_index[index]["host"]))
        by_index[index] = member
        for field, label in [("name", member["name"])] + [("aliases", alias) for alias in member["aliases"]]:
            if label in RESERVED_NAMES:
                _refuse(member, field, "%r is reserved" % label)
            if label in names:
                _refuse(member, field, "%r is already the name of host %r" % (label, names[label]))
            names[label] = host
        if member["endpoint"] is not None:
            # Two spellings of one address, or names differing only in case, are one endpoint.
            key = (member["endpoint_key"], member["port"])
            if key in by_endpoint:
                _refuse(member, "endpoint", "%s port %d is already the endpoint of host %r"
                        % (member["endpoint"], member["port"], by_endpoint[key]))
            by_endpoint[key] = host
    return by_index


def _refuse(member, field, problem):
    if member["external"]:
        raise MeshPlanError(None, "external_peers", "%r: %s: %s" % (member["name"], field, problem))
    raise MeshPlanError(member["host"], field, problem)


def _pairs(by_index, relay):
    """{(low index, high index): (listener index or None, relay index or None)} for every pair with a tunnel
    or a relay: the lower side listens when it can be dialled, else the higher; else the relay carries it."""
    indices = sorted(by_index)
    relay_index = _relay_index(by_index, relay)
    pairs = {}
    for low in indices:
        for high in (i for i in indices if i > low):
            a, b = by_index[low], by_index[high]
            if a["external"] and b["external"]:
                continue
            if a["dialable"] or b["dialable"]:
                pairs[(low, high)] = (low if a["dialable"] else high, None)
                continue
            if relay_index is None:
                server = b if a["external"] else a
                raise MeshPlanError(
                    server["host"], "dialable",
                    "neither %r nor %r can be dialled and no server can relay between them: make one of them"
                    " dialable, or another server (wg_mesh_dialable: true, with an endpoint)" % (a["host"], b["host"]))
            pairs[(low, high)] = (None, relay_index)
    return pairs


def _relay_index(by_index, relay):
    """The relay of every pair that no side can dial: the named server, or the dialable server with the lowest index."""
    dialable = [index for index in sorted(by_index) if by_index[index]["dialable"] and not by_index[index]["external"]]
    if relay is None:
        return dialable[0] if dialable else None
    for index in dialable:
        if by_index[index]["host"] == relay:
            return index
    raise MeshPlanError(None, "relay", "must be the inventory hostname of a server of the mesh that can be dialled,"
                        " got %r" % (relay,))


def _endpoints(by_index, pairs):
    """Each listener's formatted endpoint; a listener someone dials needs one."""
    endpoints = {}
    for (low, high), (listener, _relay) in sorted(pairs.items()):
        if listener is None:
            continue  # carried by the relay, over its own pairs with both ends
        member = by_index[listener]
        if member["endpoint"] is None:
            raise MeshPlanError(
                member["host"], "endpoint",
                "is missing: %r dials this server; set it, or say the server cannot be dialled (wg_mesh_dialable:"
                " false)" % by_index[high if listener == low else low]["host"])
        endpoints[listener] = format_endpoint(member["endpoint"], member["port"])
    return endpoints


def build_mesh_plan(servers, iface_ip_offset=DEFAULT_OFFSET, domain=DEFAULT_DOMAIN,
                    keepalive=DEFAULT_KEEPALIVE, iface_prefix=DEFAULT_IFACE_PREFIX, relay=None, external_peers=None,
                    carried_prefixes=None):
    """Validate the servers and return the plan.

    servers: iterable of dicts with keys host, index, endpoint, port (default 51820), name (default: see
    default_name), aliases (a list of labels) and dialable (default true: the others may connect to it).
    relay: the inventory hostname of the server that carries the pairs no side can dial (default: the dialable
    server with the lowest index). external_peers: dicts with name, index, and optionally endpoint, port, aliases.
    carried_prefixes: dicts with host, peer (inventory hostnames) and prefixes (IPv4 networks behind peer) that
    host's tunnel to peer carries.

    Returns {'servers': {host: view}, 'external_peers': {name: view}, 'relayed': [...], 'key_holders': [...]}
    where a server's view holds index, name, fqdn, interfaces, hosts_entries, hosts_lines, service_addresses,
    relayed (other host: relay host), transit (the carried prefixes it forwards as a relay) and iface_prefix (its
    interfaces are named after it: any interface of the host named <iface_prefix><digits> is the mesh's). Raises MeshPlanError on any invalid input.
    """
    _check_settings(iface_ip_offset, domain, keepalive, iface_prefix)
    by_index = _members(list(servers), [] if external_peers is None else external_peers, iface_ip_offset, domain)
    pairs = _pairs(by_index, relay)
    endpoints = _endpoints(by_index, pairs)
    settings = {"offset": iface_ip_offset, "domain": domain, "keepalive": keepalive or None, "prefix": iface_prefix}
    links = _links(by_index, pairs, endpoints, settings)
    _carry_relayed_pairs(by_index, pairs, links, settings)
    _carry_prefixes(by_index, pairs, links, [] if carried_prefixes is None else carried_prefixes)
    plan, external = {}, {}
    for index in sorted(by_index):
        member = by_index[index]
        view = _view(member, by_index, pairs, links, settings)
        if member["external"]:
            external[member["name"]] = dict(view, host=member["host"])
        else:
            plan[member["host"]] = view
    relayed = [{"hosts": [by_index[low]["host"], by_index[high]["host"]], "relay": by_index[relay_index]["host"]}
               for (low, high), (_listener, relay_index) in sorted(pairs.items()) if relay_index is not None]
    mesh_settings = {"iface_ip_offset": iface_ip_offset, "domain": domain, "keepalive": keepalive,
                     "iface_prefix": iface_prefix, "relay": relay or "", "external_peers": external_peers or []}
    return {"servers": plan, "external_peers": external, "relayed": relayed,
            "key_holders": [by_index[index]["host"] for index in sorted(by_index)], "settings": mesh_settings}


def _interface(interfaces, name, role, address, listen_port):
    if name not in interfaces:
        interfaces[name] = {"name": name, "role": role, "address": address, "extra_addresses": [],
                            "listen_port": listen_port, "forwarding": False, "routes": [], "peers": []}
    return interfaces[name]


def _links(by_index, pairs, endpoints, settings):
    """Every member's interfaces ({member index: {name: interface}}) and, per pair end, the interface and peer
    that carry the pair ({(own index, other index): (interface, peer)}), before relays are added."""
    interfaces = dict((index, {}) for index in by_index)
    carriers = {}
    for index, member in by_index.items():
        octet = subnet_third_octet(settings["offset"], index)
        # An external peer has one interface: every pair lands on it (the controller writes it as one wg-quick file).
        _interface(interfaces[index], member["name"] if member["external"] else server_interface_name(settings["prefix"]),
                   "server", "192.168.%d.1/24" % octet,
                   None if member["external"] and not member["dialable"] else member["port"])
    for (low, high), (listener, relay) in sorted(pairs.items()):
        if listener is None:
            continue
        for own, other in ((low, high), (high, low)):
            own_address, other_address = pair_addresses(settings["offset"], own, other)
            first = next(iter(interfaces[own].values()))
            if own > other and listener == other and not by_index[own]["external"]:
                # The lower side listens: this side dials it from a client interface of its own, as always.
                interface = _interface(interfaces[own], client_interface_name(settings["prefix"], other), "client",
                                       "%s/24" % own_address, None)
            else:
                # Everything else rides on the first interface: it listens (or dials a higher server that listens,
                # or, for a lower side that cannot be dialled, accepts the dialling higher side on its one port).
                interface = first
                if own > other:
                    first["extra_addresses"].append("%s/24" % own_address)
            dials = listener == other
            peer = {"host": by_index[other]["host"], "index": other, "allowed_ips": ["%s/32" % other_address],
                    "endpoint": endpoints[other] if dials else None,
                    "persistent_keepalive": settings["keepalive"] if dials else None}
            interface["peers"].append(peer)
            carriers[(own, other)] = (interface, peer)
    for index in interfaces:
        interfaces[index] = [interfaces[index][name] for name in sorted(
            interfaces[index], key=lambda name: (interfaces[index][name]["role"] == "client", _suffix(name)))]
    return {"interfaces": interfaces, "carriers": carriers, "transit": {}}


def _suffix(name):
    digits = name[len(name.rstrip("0123456789")):]
    return int(digits) if digits else 0


def _carry_relayed_pairs(by_index, pairs, links, settings):
    """A pair no side can dial rides on both sides' tunnels to the relay: each end gets the other's pair address
    as an extra prefix of its relay peer (allowed IP, and a route from its own pair address); the relay gets
    both ends' pair addresses on their peers and forwards between those interfaces."""
    carriers = links["carriers"]
    for (low, high), (_listener, relay) in sorted(pairs.items()):
        if relay is None:
            continue
        low_address, high_address = pair_addresses(settings["offset"], low, high)
        for own, other, own_address, other_address in ((low, high, low_address, high_address),
                                                       (high, low, high_address, low_address)):
            interface, peer = carriers[(own, relay)]
            _add_prefix(interface, peer, "%s/32" % other_address, own_address, by_index[own]["external"])
            relay_interface, relay_peer = carriers[(relay, own)]
            _add_prefix(relay_interface, relay_peer, "%s/32" % own_address, None, False)
            relay_interface["forwarding"] = True


def _carry_prefixes(by_index, pairs, links, carried):
    """Networks behind a server (VPC subnets), carried by the pair's own tunnel: an allowed IP of the peer that
    holds them, a route through the interface, and forwarding on it (what arrives there goes to the network
    behind this side). A pair that a relay carries carries them over both its tunnels to the relay, and the
    relay's view lists them as ``transit`` (prefix, the interface they come in on and the one they leave by).
    Raises MeshPlanError for a host outside the mesh, a server and itself, or a bad prefix."""
    index_of = dict((member["host"], index) for index, member in by_index.items() if not member["external"])
    for position, entry in enumerate(carried):
        if not isinstance(entry, dict) or sorted(entry) != ["host", "peer", "prefixes"]:
            raise MeshPlanError(None, "carried_prefixes", "entry %d: must be a dict with host, peer and prefixes, got %r"
                                % (position, entry))
        ends = [entry["host"], entry["peer"]]
        for end in ends:
            if end not in index_of:
                raise MeshPlanError(None, "carried_prefixes", "entry %d: %r is not a server of the mesh" % (position, end))
        own, other = index_of[ends[0]], index_of[ends[1]]
        if own == other:
            raise MeshPlanError(ends[0], "carried_prefixes", "%r has no tunnel of its own with %r (it is itself): it cannot"
                                " carry %s" % (ends[0], ends[1], entry["prefixes"]))
        listener, relay = pairs[(min(own, other), max(own, other))]
        hops = [(own, other)] if listener is not None else [(own, relay), (relay, other)]
        for prefix in entry["prefixes"] or []:
            try:
                network = ipaddress.IPv4Network(prefix) if isinstance(prefix, str) and "/" in prefix else None
            except ValueError:
                network = None
            if network is None:
                raise MeshPlanError(ends[0], "carried_prefixes", "%r is not an IPv4 network with its prefix length"
                                    % (prefix,))
            for near, far in hops:
                interface, peer = links["carriers"][(near, far)]
                _add_prefix(interface, peer, str(network), None, False)
                interface["forwarding"] = True
            if listener is None:
                transit = {"prefix": str(network), "in": links["carriers"][(relay, own)][0]["name"],
                           "out": links["carriers"][(relay, other)][0]["name"]}
                if transit not in links["transit"].setdefault(relay, []):
                    links["transit"][relay].append(transit)


def _add_prefix(interface, peer, prefix, source, external):
    """Carry prefix over the peer of interface: an allowed IP, and a route (from source, when given) unless one
    of the interface's own subnets routes it there already, from the right address."""
    if prefix in peer["allowed_ips"]:
        return
    peer["allowed_ips"].append(prefix)
    own = [interface["address"]] + interface["extra_addresses"]
    if source is not None and not any(item.split("/")[0] == source for item in own):
        # An external peer's one interface holds the subnet of each of its pairs. On a server, the route's source
        # is added to the same interface, so that each interface comes up alone at boot.
        interface["extra_addresses"].append("%s/%d" % (source, 24 if external else 32))
        own.append(interface["extra_addresses"][-1])
    if any(ipaddress.ip_network(prefix).subnet_of(ipaddress.ip_interface(item).network) for item in own):
        return  # the connected route of the pair's subnet, whose address on this interface is the source
    route = {"to": prefix}
    if source is not None:
        route["src"] = source
    interface["routes"].append(route)


def _names(member, domain):
    names = []
    for label in [member["name"]] + member["aliases"]:
        names += [label, "%s.%s" % (label, domain)]
    return names


def _view(member, by_index, pairs, links, settings):
    own = member["index"]
    hosts_entries, service_addresses, relayed = [], ["192.168.%d.1" % subnet_third_octet(settings["offset"], own)], {}
    for other in sorted(by_index):
        other_member = by_index[other]
        if other == own:
            hosts_entries.append({"address": "127.0.0.1", "names": _names(member, settings["domain"])})
            continue
        key = (min(own, other), max(own, other))
        if key not in pairs:
            continue  # two external peers: no tunnel between them
        own_address, other_address = pair_addresses(settings["offset"], own, other)
        hosts_entries.append({"address": other_address, "names": _names(other_member, settings["domain"])})
        if other < own:
            service_addresses.append(own_address)
        if pairs[key][1] is not None:
            relayed[other_member["host"]] = by_index[pairs[key][1]]["host"]
    interfaces = links["interfaces"][own]
    return {
        "index": own,
        "name": member["name"],
        "aliases": member["aliases"],
        "fqdn": "%s.%s" % (member["name"], settings["domain"]),
        "interfaces": interfaces,
        "hosts_entries": hosts_entries,
        "hosts_lines": ["%s %s" % (entry["address"], " ".join(entry["names"])) for entry in hosts_entries],
        "service_addresses": service_addresses,
        "relayed": relayed,
        "transit": links["transit"].get(own, []),
        "iface_prefix": settings["prefix"],
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


def _relay_problem(relay):
    if relay is None or relay == "":
        return None
    if not isinstance(relay, str) or control_characters(relay):
        return "must be the inventory hostname of a dialable server of the mesh (no control character), got %r" % (relay,)
    return None


def _external_peers_problem(peers):
    """The entries' own rules (names, indices, endpoints, ports, aliases); their clashes with the servers are the
    plan's to find."""
    if not isinstance(peers, list):
        return "must be a list of dicts (name, index, endpoint, port, aliases), got %r" % (peers,)
    try:
        for position, peer in enumerate(peers):
            _normalise_external(position, peer, 0, DEFAULT_DOMAIN)
    except MeshPlanError as error:
        return error.problem
    return None


def _choice_problem(value, choices):
    if value in choices:
        return None
    return "must be one of %s, got %r" % (", ".join(choices), value)


# The checks of one host's role options, by field; integers may arrive as strings of ASCII digits (-e).
_OPTION_PROBLEMS = {
    "iface_ip_offset": lambda value: _offset_problem(as_int(value)),
    "domain": _domain_problem,
    "keepalive": lambda value: _keepalive_problem(as_int(value)),
    "iface_prefix": iface_prefix_problem,
    "mtu": _mtu_problem,
    "state": lambda value: _choice_problem(value, STATES),
    "implementation": lambda value: _choice_problem(value, IMPLEMENTATIONS),
    "upgrade_reboot_timeout": lambda value: _integer_problem(value, 1, 86400, "a number of seconds"),
    "key_dir": lambda value: _path_problem(value, absolute=False),
    "external_peers_dir": lambda value: _path_problem(value, absolute=False),
    "config_dir": _path_problem,
    "hosts_file": _path_problem,
    "cloud_init_templates_dir": lambda value: _path_problem(value, empty=True),
    "packages": _packages_problem,
    "relay": _relay_problem,
    "external_peers": _external_peers_problem,
    "dialable": lambda value: _dialable_problem(as_bool(value)),
    "aliases": lambda value: _aliases_problem(value, DEFAULT_DOMAIN),
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
        if problem is None and field == "aliases" and settings is not None:
            problem = _aliases_problem(value, settings["domain"])  # <alias>.<domain> must fit a DNS name
        if problem is None and settings is not None and field in MESH_SETTINGS:
            normalised = as_int(value) if field in ("iface_ip_offset", "keepalive") else value
            if field == "relay" and value is None:
                normalised = ""
            if normalised != settings[field]:
                problem = "%r differs from the %r the mesh plan was computed with: set it once for the whole group" % (
                    value, settings[field])
        if problem:
            problems.append((field, problem))
    return problems
