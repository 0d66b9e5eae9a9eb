# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure helpers of the WireGuard interface module: parse live state, compare, render.

A private module of the fakevpc.vpc collection: its interface may change without notice.
An interface's state is a dict: private_key, listen_port, addresses (sorted CIDR strings),
mtu, and peers, an ordered dict of public key -> {preshared_key, endpoint, allowed_ips,
persistent_keepalive}. None means "not set" (or, in a wanted state, "not managed").
"""

from __future__ import annotations

import ipaddress
import shlex

from ansible_collections.fakevpc.vpc.plugins.module_utils import _wg_keys
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import as_int, int_in_range

NONE = "(none)"
HIDDEN = "(hidden)"
HIDDEN_CHANGED = "(hidden, changes)"
CONFIG_HEADER = "# Managed by fakevpc.vpc (wg_interfaces): local changes are overwritten.\n"


def normalise_networks(networks):
    """Sorted, canonical CIDR strings ('10.0.0.1/32'); raises ValueError on a bad one."""
    return sorted(str(ipaddress.ip_network(network, strict=False)) for network in networks)


def normalise_addresses(addresses):
    """Sorted, canonical interface addresses ('192.168.1.1/24'); raises ValueError on a bad one."""
    return sorted(str(ipaddress.ip_interface(address)) for address in addresses)


def clamped_private_key(key):
    """The key as WireGuard stores it (Curve25519 clamping), so `wg show` compares equal."""
    raw = _wg_keys.decode_key(key)
    if raw is None:
        raise ValueError("not a WireGuard key (base64 of 32 bytes)")
    return _wg_keys.encode_key(_wg_keys.clamp_private_key(raw))


def _optional(field):
    return None if field == NONE else field


def parse_dump(text):
    """Parse `wg show IFACE dump`: one interface line, then one line per peer."""
    lines = [line.split("\t") for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty output")
    private_key, public_key, listen_port = lines[0][:3]
    peers = {}
    for fields in lines[1:]:
        peer_key, preshared_key, endpoint, allowed_ips = fields[:4]
        keepalive = fields[7]
        peers[peer_key] = {
            "preshared_key": _optional(preshared_key),
            "endpoint": _optional(endpoint),
            "allowed_ips": normalise_networks(allowed_ips.split(",")) if allowed_ips != NONE else [],
            "persistent_keepalive": None if keepalive == "off" else int(keepalive),
            "latest_handshake": int(fields[4]),
        }
    return {
        "private_key": _optional(private_key),
        "public_key": _optional(public_key),
        "listen_port": int(listen_port) or None,
        "peers": peers,
    }


def parse_ip_addresses(ip_json):
    """Global addresses of the first link in `ip -j address show dev IFACE` (already decoded)."""
    if not ip_json:
        return []
    return normalise_addresses(
        "%s/%s" % (info["local"], info["prefixlen"])
        for info in ip_json[0].get("addr_info", []) if info.get("scope") != "link")


def normalise_routes(routes):
    """Sorted routes {'to': canonical network, 'src': address or None}; raises ValueError on a bad one."""
    result = []
    for route in routes:
        to = str(ipaddress.ip_network(route["to"], strict=False))
        src = str(ipaddress.ip_address(route["src"])) if route.get("src") else None
        entry = {"to": to, "src": src}
        if entry in result:
            raise ValueError("%s is listed twice" % to)
        result.append(entry)
    return sorted(result, key=lambda entry: (entry["to"], entry["src"] or ""))


def parse_ip_routes(ip_json):
    """The routes of `ip -j route show dev IFACE` (decoded) that are not the kernel's own, as normalise_routes gives."""
    return normalise_routes(
        {"to": "0.0.0.0/0" if route["dst"] == "default" else route["dst"], "src": route.get("prefsrc")}
        for route in ip_json if route.get("protocol") != "kernel" and route.get("type", "unicast") == "unicast")


def split_endpoint(endpoint):
    """'host:port' or '[v6]:port' -> (host, port); raises ValueError."""
    host, separator, port = endpoint.rpartition(":")
    port = as_int(port)  # ASCII digits only: '٣' is not 3
    if not separator or not host or not int_in_range(port, 1, 65535):
        raise ValueError("expected host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError("bracket an IPv6 address: [address]:port")
    return host, port


def peer_update(live, wanted, endpoint_is_current):
    """The `wg set ... peer KEY` arguments (and stdin data) that turn live into wanted, and the allowed IPs to add
    in place.

    live is None for a new peer. endpoint_is_current(wanted_endpoint, live_endpoint) says whether the
    live endpoint already is the wanted one (it resolves names). Returns (args, data, added): empty args and
    added, no change. When a live peer keeps some of its allowed IPs, the new ones are in added, not in args:
    `allowed-ips` replaces the whole list, and the peer carries nothing while it is swapped (see _wg_allowed_ips);
    the ones it loses go first, by allowed_ips_to_drop.
    """
    existing = live is not None
    live = live or {"preshared_key": None, "endpoint": None, "allowed_ips": [], "persistent_keepalive": None}
    args, data, added = [], None, []
    if wanted["preshared_key"] != live["preshared_key"]:
        if wanted["preshared_key"] is None:
            args += ["preshared-key", "/dev/null"]
        else:
            args += ["preshared-key", "/dev/stdin"]
            data = wanted["preshared_key"]
    if wanted["endpoint"] is not None and not endpoint_is_current(wanted["endpoint"], live["endpoint"]):
        args += ["endpoint", wanted["endpoint"]]
    if (wanted["persistent_keepalive"] or None) != live["persistent_keepalive"]:
        args += ["persistent-keepalive", wanted["persistent_keepalive"] or "off"]
    if existing and keeps_allowed_ips(live, wanted):
        added = [network for network in wanted["allowed_ips"] if network not in live["allowed_ips"]]
    elif wanted["allowed_ips"] != live["allowed_ips"]:
        args += ["allowed-ips", ",".join(wanted["allowed_ips"])]
    return args, data, added


def keeps_allowed_ips(live, wanted):
    """True when a live peer keeps at least one of its allowed IPs: its list then changes in place, never replaced."""
    return any(network in wanted["allowed_ips"] for network in live["allowed_ips"])


def allowed_ips_to_drop(live, wanted):
    """The allowed IPs a live peer loses while it keeps others. They are taken from it by giving them to a
    throwaway peer, then removing that peer: an allowed IP belongs to one peer of an interface, so it moves
    without the peer's other ones ever leaving (`allowed-ips` would empty its list for a moment, and a packet to
    an address it carries all along would be dropped); what goes to the throwaway peer goes nowhere."""
    if live is None or not keeps_allowed_ips(live, wanted):
        return []
    return [network for network in live["allowed_ips"] if network not in wanted["allowed_ips"]]


def dials_a_peer_that_dialled(live, wanted, endpoint_is_current):
    """True when this end starts dialing a live peer that dialled it until now: it gets a persistent keepalive it
    did not have, and an endpoint other than the one the peer came from. Who dials whom changed, so the far end
    now answers on another interface, which knows nothing of this end's session: that session must go (the peer
    removed and added back), or this end keeps sending on it until WireGuard gives up on it (15 s and more)."""
    return (live is not None and wanted["persistent_keepalive"] and not live["persistent_keepalive"]
            and wanted["endpoint"] is not None and live["endpoint"] is not None
            and not endpoint_is_current(wanted["endpoint"], live["endpoint"]))


def inherited_endpoint(removed, wanted):
    """The live endpoint a new peer wanted with no endpoint of its own takes over: that of the removed peer (removed:
    {public key: live peer}) with the same allowed IPs (the same peer under a new key), or None."""
    if wanted["endpoint"] is not None or not wanted["allowed_ips"]:
        return None
    for peer in removed.values():
        if peer["endpoint"] is not None and peer["allowed_ips"] == wanted["allowed_ips"]:
            return peer["endpoint"]
    return None


def _key_line(name, value, redact, before_value):
    if value is None:
        return ""
    if redact:
        value = HIDDEN if value == before_value else HIDDEN_CHANGED
    return "%s = %s\n" % (name, value)


# The wg-quick lines of a state's (or a peer's) plain fields, in this order, each only when set: (name, key, how the
# value is written).
INTERFACE_FIELDS = (("ListenPort", "listen_port", str), ("Address", "addresses", ", ".join), ("MTU", "mtu", str))
PEER_FIELDS = (("Endpoint", "endpoint", str), ("AllowedIPs", "allowed_ips", ", ".join),
               ("PersistentKeepalive", "persistent_keepalive", str))


def _field_lines(values, fields):
    return "".join("%s = %s\n" % (name, write(values[key])) for name, key, write in fields if values.get(key))


def endpoints_directory_problem(directory):
    """Why a directory cannot go into a wg-quick hook (which wg-quick reads up to a '#' and evaluates with bash after
    replacing '%i'), or None."""
    if any(ord(character) < 32 or ord(character) == 127 for character in directory):
        return "a control character cannot go into a wg-quick file"
    if "#" in directory or "%" in directory:
        return "'#' and '%' cannot go into a wg-quick hook"
    return None


def endpoint_hooks(directory):
    """The wg-quick hooks of an interface some of whose peers dial it with no endpoint of their own: wg-quick down
    (at shutdown too) keeps the endpoints it learned in <directory>/<interface>.endpoints; wg-quick up gives each such
    peer its endpoint back and starts a handshake at once (a peer with a persistent keepalive retries its handshake
    within 5 s; for one without, turning it on sends one, and it is turned off again). Without them a rebooted server
    cannot send to those peers ("Destination address required") until each renews its session, up to about two
    minutes later. A hook never fails wg-quick."""
    saved = "%s/%%i.endpoints" % shlex.quote(directory)
    return [
        "PreDown = umask 077; wg show %%i endpoints > %s || true" % saved,
        "PostUp = test -s %s && wg show %%i endpoints"
        " | awk 'NR == FNR {saved[$1] = $2; next} $2 == \"(none)\" && saved[$1] ~ /:/ {print $1, saved[$1]}'"
        " %s -"
        " | while read -r key endpoint; do"
        " if wg show %%i persistent-keepalive | grep -q \"^$key[[:space:]]off\\$\"; then"
        " wg set %%i peer \"$key\" endpoint \"$endpoint\" persistent-keepalive 25;"
        " wg set %%i peer \"$key\" persistent-keepalive off;"
        " else wg set %%i peer \"$key\" endpoint \"$endpoint\"; fi;"
        " done || true" % (saved, saved),
    ]


def render_config(state, redact=False, before=None, endpoints_directory=None):
    """The wg-quick configuration of a state. With redact, keys are replaced by markers that
    say whether they differ from those of before (another state). With endpoints_directory, an interface some of
    whose peers have no endpoint gets the hooks that give those peers their endpoints back at boot (endpoint_hooks)."""
    before = before or {"private_key": None, "peers": {}}
    text = CONFIG_HEADER + "[Interface]\n"
    text += _key_line("PrivateKey", state.get("private_key"), redact, before.get("private_key"))
    text += _field_lines(state, INTERFACE_FIELDS) + "Table = off\n"
    # wg-quick adds the routes and sets forwarding after the addresses: each interface needs nothing of another.
    for route in state.get("routes") or []:
        text += "PostUp = ip route replace %s dev %%i%s\n" % (route["to"], " src %s" % route["src"] if route["src"] else "")
    if state.get("forwarding"):
        text += "PostUp = sysctl -q -w net/ipv4/conf/%i/forwarding=1\n"
    if endpoints_directory and any(not peer.get("endpoint") for peer in state.get("peers", {}).values()):
        text += "".join(hook + "\n" for hook in endpoint_hooks(endpoints_directory))
    for public_key, peer in state.get("peers", {}).items():
        before_peer = before["peers"].get(public_key) or {}
        text += "\n[Peer]\nPublicKey = %s\n" % public_key
        text += _key_line("PresharedKey", peer.get("preshared_key"), redact, before_peer.get("preshared_key"))
        text += _field_lines(peer, PEER_FIELDS)
    return text
