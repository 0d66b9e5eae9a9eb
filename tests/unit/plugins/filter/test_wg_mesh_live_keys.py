# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_live_keys import FilterModule, wg_mesh_live_keys

LIVE_A = {"interfaces": ["wgvpc0"], "public_keys": ["PA"], "preshared_peers": ["PB"]}
LIVE_B = {"interfaces": [], "public_keys": [], "preshared_peers": []}
LIVE_C = {"interfaces": ["wgvpc1"], "public_keys": ["PC"], "preshared_peers": []}
HOSTVARS = {
    "a": {"reg": {"changed": False, "live": LIVE_A, "secrets": {"private_keys": {"PA": "SA"}, "preshared_keys": {}}}},
    "b": {"reg": {"changed": False, "live": LIVE_B}},
    "c": {"other": 1},
}


def test_joins_the_play_hosts_and_the_servers_read_outside_it():
    assert FilterModule().filters()["wg_mesh_live_keys"] is wg_mesh_live_keys
    outside = [{"item": "c", "live": LIVE_C, "changed": False}]
    assert wg_mesh_live_keys(["a", "b"], HOSTVARS, "reg", outside) == {
        "live": {"a": LIVE_A, "b": LIVE_B, "c": LIVE_C},
        "secrets": {"a": {"private_keys": {"PA": "SA"}, "preshared_keys": {}}, "b": {}, "c": {}},
    }


def test_a_server_read_outside_the_play_too_counts_as_read_outside():
    outside = [{"item": "b", "live": LIVE_C, "secrets": {"private_keys": {}, "preshared_keys": {}}}]
    readings = wg_mesh_live_keys(["b"], HOSTVARS, "reg", outside)
    assert readings["live"] == {"b": LIVE_C} and readings["secrets"] == {"b": {"private_keys": {}, "preshared_keys": {}}}
    assert wg_mesh_live_keys(["a"], HOSTVARS, "reg") == {"live": {"a": LIVE_A}, "secrets": {"a": HOSTVARS["a"]["reg"]["secrets"]}}


@pytest.mark.parametrize("play_hosts, outside, message", [
    (["c"], [], "c has no reg"),
    (["a"], [{"item": "d", "skipped": True}], "d: no keys read"),
])
def test_a_host_with_no_reading_is_named(play_hosts, outside, message):
    with pytest.raises(AnsibleFilterError, match=message):
        wg_mesh_live_keys(play_hosts, HOSTVARS, "reg", outside)
