# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Add networks to a live WireGuard peer's allowed IPs, keeping the ones it has.

A private module of the fakevpc.vpc collection: its interface may change without notice.

`wg set IF peer KEY allowed-ips LIST` always replaces the peer's list (wireguard-tools before 1.0.20250521 has
no incremental form, and `wg addconf` replaces a peer's list too): the kernel, or wireguard-go, removes every
allowed IP of the peer and then inserts the new ones, and a packet sent or received in between, to or from an
address the peer carried all along, is dropped. A relay gains prefixes on tunnels that carry traffic whenever
a server joins, so those are added in place, through the interface's own control channel: generic netlink
for kernel WireGuard (WG_CMD_SET_DEVICE without WGPEER_F_REPLACE_ALLOWEDIPS), the UAPI socket for
wireguard-go (set=1 without replace_allowed_ips). Removing one needs no such channel: an allowed IP belongs to
one peer of an interface, so giving it to a throwaway peer takes it from the other (_wireguard.allowed_ips_to_drop).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
import struct

# linux/netlink.h, linux/genetlink.h, linux/wireguard.h
NETLINK_GENERIC = 16
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLA_F_NESTED = 0x8000
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
WG_GENL_NAME = "wireguard"
WG_GENL_VERSION = 1
WG_CMD_SET_DEVICE = 1
WGDEVICE_A_IFNAME = 2
WGDEVICE_A_PEERS = 8
WGPEER_A_PUBLIC_KEY = 1
WGPEER_A_FLAGS = 3
WGPEER_F_UPDATE_ONLY = 1 << 2
WGPEER_A_ALLOWEDIPS = 9
WGALLOWEDIP_A_FAMILY = 1
WGALLOWEDIP_A_IPADDR = 2
WGALLOWEDIP_A_CIDR_MASK = 3


def uapi_request(public_key, networks):
    """wireguard-go's `set` request adding networks to the peer public_key (base64), if it exists."""
    lines = ["set=1", "public_key=%s" % base64.b64decode(public_key).hex(), "update_only=true"]
    lines += ["allowed_ip=%s" % ipaddress.ip_network(network) for network in networks]
    return "\n".join(lines) + "\n\n"


def _attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _nested(kind, attributes):
    return _attribute(kind | NLA_F_NESTED, b"".join(attributes))


def _message(family, flags, seq, command, attributes):
    body = struct.pack("=BBH", command, WG_GENL_VERSION, 0) + attributes
    return struct.pack("=IHHII", 16 + len(body), family, flags, seq, 0) + body


def set_device_message(family, seq, interface, public_key, networks):
    """The WG_CMD_SET_DEVICE message adding networks to the peer public_key (base64) of interface, if it exists."""
    allowed = []
    for index, network in enumerate(ipaddress.ip_network(network) for network in networks):
        allowed.append(_nested(index, [
            _attribute(WGALLOWEDIP_A_FAMILY, struct.pack("=H", socket.AF_INET if network.version == 4 else socket.AF_INET6)),
            _attribute(WGALLOWEDIP_A_IPADDR, network.network_address.packed),
            _attribute(WGALLOWEDIP_A_CIDR_MASK, struct.pack("=B", network.prefixlen)),
        ]))
    peer = _nested(0, [
        _attribute(WGPEER_A_PUBLIC_KEY, base64.b64decode(public_key)),
        _attribute(WGPEER_A_FLAGS, struct.pack("=I", WGPEER_F_UPDATE_ONLY)),
        _nested(WGPEER_A_ALLOWEDIPS, allowed),
    ])
    attributes = _attribute(WGDEVICE_A_IFNAME, interface.encode() + b"\0") + _nested(WGDEVICE_A_PEERS, [peer])
    return _message(family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE, attributes)


def _attributes(data):
    """{type: payload} of a run of netlink attributes."""
    found = {}
    while len(data) >= 4:
        length, kind = struct.unpack("=HH", data[:4])
        if length < 4:
            break
        found[kind & ~NLA_F_NESTED] = data[4:length]
        data = data[(length + 3) & ~3:]
    return found


def _exchange(sock, message):
    """Send one request and return its reply (the netlink error of an ack is raised as OSError unless 0)."""
    sock.send(message)
    reply = sock.recv(65536)
    _length, kind = struct.unpack("=IH", reply[:6])
    if kind == NLMSG_ERROR:
        error = -struct.unpack("=i", reply[16:20])[0]
        if error:
            raise OSError(error, os.strerror(error))
    return reply


def _add_kernel(interface, public_key, networks):
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC) as sock:
        sock.bind((0, 0))
        name = _attribute(CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME.encode() + b"\0")
        reply = _exchange(sock, _message(GENL_ID_CTRL, NLM_F_REQUEST, 1, CTRL_CMD_GETFAMILY, name))
        family = struct.unpack("=H", _attributes(reply[20:])[CTRL_ATTR_FAMILY_ID][:2])[0]
        _exchange(sock, set_device_message(family, 2, interface, public_key, networks))


def _add_userspace(interface, public_key, networks, uapi_dir):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(os.path.join(uapi_dir, "%s.sock" % interface))
        sock.sendall(uapi_request(public_key, networks).encode())
        reply = b""
        while not reply.endswith(b"\n\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    if reply.decode(errors="replace").strip() != "errno=0":
        raise OSError("wireguard-go answered %r" % reply.decode(errors="replace").strip())


def add_allowed_ips(interface, implementation, public_key, networks, uapi_dir):
    """Add networks to the allowed IPs of the existing peer public_key (base64) of interface, whose implementation
    is 'kernel' or 'userspace' (wireguard-go, its socket in uapi_dir), keeping the ones it has. Raises OSError."""
    if implementation == "kernel":
        _add_kernel(interface, public_key, networks)
    else:
        _add_userspace(interface, public_key, networks, uapi_dir)
