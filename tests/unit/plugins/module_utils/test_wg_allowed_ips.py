# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_wg_allowed_ips: allowed IPs added to a live peer without replacing its list, as wireguard-go's UAPI request and
the kernel's generic netlink message (decoded here field by field), and the UAPI exchange over a real socket."""

from __future__ import annotations

import base64
import os
import socket
import struct
import threading

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils import _wg_allowed_ips as wai

PEER = "f1K41Ot08U5qRgb2zOS7XOnSEeRgEePnTvaefHmY1gQ="
WGPEER_F_REPLACE_ALLOWEDIPS = 1 << 1


def decode(data):
    """[(type without the nested flag, nested?, payload)] of a run of netlink attributes."""
    found = []
    while data:
        length, kind = struct.unpack("=HH", data[:4])
        found.append((kind & ~wai.NLA_F_NESTED, bool(kind & wai.NLA_F_NESTED), data[4:length]))
        data = data[(length + 3) & ~3:]
    return found


def test_the_uapi_request_adds_without_replacing_and_only_to_an_existing_peer():
    assert wai.uapi_request(PEER, ["192.168.2.3/32", "10.1.0.0/24"]) == (
        "set=1\npublic_key=%s\nupdate_only=true\nallowed_ip=192.168.2.3/32\nallowed_ip=10.1.0.0/24\n\n"
        % base64.b64decode(PEER).hex())


def test_the_netlink_message_sets_the_peer_with_no_replace_flag():
    message = wai.set_device_message(0x1b, 7, "wgvpc0", PEER, ["192.168.2.3/32", "fd00::/64"])
    length, family, flags, seq, pid = struct.unpack("=IHHII", message[:16])
    assert (length, family, flags, seq, pid) == (len(message), 0x1b, wai.NLM_F_REQUEST | wai.NLM_F_ACK, 7, 0)
    assert struct.unpack("=BBH", message[16:20]) == (wai.WG_CMD_SET_DEVICE, 1, 0)
    (ifname_type, _ifname_nested, ifname), (peers_type, peers_nested, peers) = decode(message[20:])
    assert (ifname_type, ifname) == (wai.WGDEVICE_A_IFNAME, b"wgvpc0\0")
    assert (peers_type, peers_nested) == (wai.WGDEVICE_A_PEERS, True)
    ((_index, _nested, peer),) = decode(peers)
    key, peer_flags, allowed = decode(peer)
    assert key == (wai.WGPEER_A_PUBLIC_KEY, False, base64.b64decode(PEER))
    assert peer_flags[:2] == (wai.WGPEER_A_FLAGS, False)
    assert struct.unpack("=I", peer_flags[2])[0] == wai.WGPEER_F_UPDATE_ONLY
    assert not struct.unpack("=I", peer_flags[2])[0] & WGPEER_F_REPLACE_ALLOWEDIPS
    assert allowed[:2] == (wai.WGPEER_A_ALLOWEDIPS, True)
    networks = []
    for _index, nested, entry in decode(allowed[2]):
        assert nested
        fields = {kind: payload for kind, _nested, payload in decode(entry)}
        family = struct.unpack("=H", fields[wai.WGALLOWEDIP_A_FAMILY])[0]
        networks.append((family, socket.inet_ntop(family, fields[wai.WGALLOWEDIP_A_IPADDR]),
                         fields[wai.WGALLOWEDIP_A_CIDR_MASK][0]))
    assert networks == [(socket.AF_INET, "192.168.2.3", 32), (socket.AF_INET6, "fd00::", 64)]


class Daemon:
    """A unix socket where wireguard-go's would be: reads one request, answers as told."""

    def __init__(self, directory, answer):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(os.path.join(directory, "wgvpc0.sock"))
        self.server.listen(1)
        self.request = b""
        self.thread = threading.Thread(target=self.serve, args=(answer,))
        self.thread.start()

    def serve(self, answer):
        connection, _address = self.server.accept()
        with connection:
            while not self.request.endswith(b"\n\n"):
                self.request += connection.recv(4096)
            connection.sendall(answer)
        self.server.close()


def test_wireguard_go_gets_the_request_on_its_socket(tmp_path):
    daemon = Daemon(str(tmp_path), b"errno=0\n\n")
    wai.add_allowed_ips("wgvpc0", "userspace", PEER, ["192.168.2.3/32"], str(tmp_path))
    daemon.thread.join(5)
    assert daemon.request.decode() == wai.uapi_request(PEER, ["192.168.2.3/32"])


def test_an_error_of_wireguard_go_is_raised(tmp_path):
    daemon = Daemon(str(tmp_path), b"errno=22\n\n")
    with pytest.raises(OSError, match="wireguard-go answered 'errno=22'"):
        wai.add_allowed_ips("wgvpc0", "userspace", PEER, ["192.168.2.3/32"], str(tmp_path))
    daemon.thread.join(5)
