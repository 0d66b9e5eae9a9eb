# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_interfaces import FilterModule, wg_mesh_interfaces

PEER_B = {"host": "b", "index": 2, "allowed_ips": ["192.168.1.2/32"], "endpoint": None, "persistent_keepalive": None}
PEER_C = {"host": "c", "index": 3, "allowed_ips": ["192.168.2.1/32"], "endpoint": "198.51.100.3:51823",
          "persistent_keepalive": 25}
INTERFACES = [
    {"name": "wgvpc0", "address": "192.168.1.1/24", "listen_port": 51821, "peers": [PEER_B],
     "extra_addresses": [], "routes": [], "forwarding": True},
    {"name": "wgvpc3", "address": "192.168.2.1/24", "listen_port": None, "peers": [PEER_C],
     "extra_addresses": ["192.168.7.3/32"], "routes": [{"to": "192.168.7.1/32", "src": "192.168.7.3"}], "forwarding": False},
]


def test_every_interface_gets_the_key_its_address_and_its_peers():
    assert FilterModule().filters()["wg_mesh_interfaces"] is wg_mesh_interfaces
    result = wg_mesh_interfaces(INTERFACES, "PRIV\n", {"b": "PB", "c": "PC"}, {"b": "SB\n", "c": "SC", "d": "SD"}, mtu=1380)
    assert result == [
        {"name": "wgvpc0", "private_key": "PRIV", "listen_port": 51821, "addresses": ["192.168.1.1/24"], "mtu": 1380,
         "routes": [], "forwarding": True,
         "peers": [{"public_key": "PB", "preshared_key": "SB", "endpoint": None, "allowed_ips": ["192.168.1.2/32"],
                    "persistent_keepalive": None}]},
        {"name": "wgvpc3", "private_key": "PRIV", "listen_port": None, "addresses": ["192.168.2.1/24", "192.168.7.3/32"],
         "mtu": 1380, "routes": [{"to": "192.168.7.1/32", "src": "192.168.7.3"}], "forwarding": False,
         "peers": [{"public_key": "PC", "preshared_key": "SC", "endpoint": "198.51.100.3:51823",
                    "allowed_ips": ["192.168.2.1/32"], "persistent_keepalive": 25}]},
    ]
    assert [interface["mtu"] for interface in wg_mesh_interfaces(INTERFACES, "K", {"b": "PB", "c": "PC"},
                                                                 {"b": "S", "c": "S"})] == [None, None]


def test_a_missing_preshared_key_names_the_interface_and_the_host():
    with pytest.raises(AnsibleFilterError, match="wgvpc3: no preshared key for c"):
        wg_mesh_interfaces(INTERFACES, "K", {"b": "PB", "c": "PC"}, {"b": "SB"})


def test_a_missing_public_key_names_the_interface_and_the_host():
    with pytest.raises(AnsibleFilterError, match="wgvpc3: no public key for c"):
        wg_mesh_interfaces(INTERFACES, "K", {"b": "PB"}, {"b": "SB", "c": "SC"})
