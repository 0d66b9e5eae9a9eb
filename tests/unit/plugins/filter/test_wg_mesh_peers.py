# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_peers import FilterModule, wg_mesh_peers

PEERS = [
    {"host": "b", "index": 2, "allowed_ips": ["192.168.1.2/32"], "endpoint": None, "persistent_keepalive": None},
    {"host": "c", "index": 3, "allowed_ips": ["192.168.1.3/32"], "endpoint": "198.51.100.3:51823", "persistent_keepalive": 25},
]


def test_joins_plan_keys_and_preshared_keys_in_order():
    assert FilterModule().filters()["wg_mesh_peers"] is wg_mesh_peers
    assert wg_mesh_peers(PEERS, {"b": "PB", "c": "PC", "d": "PD"}, ["SB\n", "SC"]) == [
        {"public_key": "PB", "preshared_key": "SB", "endpoint": None, "allowed_ips": ["192.168.1.2/32"],
         "persistent_keepalive": None},
        {"public_key": "PC", "preshared_key": "SC", "endpoint": "198.51.100.3:51823", "allowed_ips": ["192.168.1.3/32"],
         "persistent_keepalive": 25},
    ]


@pytest.mark.parametrize("public_keys, preshared_keys, message", [
    ({"b": "PB"}, ["SB", "SC"], "no public key for c"),
    ({"b": "PB", "c": "PC"}, ["SB"], "2 peers but 1 preshared keys"),
])
def test_mismatches_fail(public_keys, preshared_keys, message):
    with pytest.raises(AnsibleFilterError, match=message):
        wg_mesh_peers(PEERS, public_keys, preshared_keys)
