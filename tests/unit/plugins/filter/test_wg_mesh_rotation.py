# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_mesh_rotation: the servers a rotation request names, the same for every host of the group."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_rotation import wg_mesh_rotation

SERVERS = ["s1", "s2", "s3"]


def test_every_host_giving_the_same_request_gives_its_servers():
    hostvars = {"s1": {"wg_mesh_rotate": "s2"}, "s2": {"wg_mesh_rotate": ["s2"]}, "s3": {"wg_mesh_rotate": "s2"}}
    assert wg_mesh_rotation(hostvars, SERVERS, "s1", "s2", SERVERS) == ["s2"]
    assert wg_mesh_rotation({"s1": {}, "s2": {}}, ["s1", "s2"], "s1", [], SERVERS) == []
    everyone = dict((host, {"wg_mesh_rotate": "all"}) for host in SERVERS)
    assert wg_mesh_rotation(everyone, SERVERS, "s2", "all", SERVERS) == SERVERS


def test_a_bad_name_is_refused_naming_the_host_and_the_variable():
    hostvars = dict((host, {"wg_mesh_rotate": "s9"}) for host in SERVERS)
    with pytest.raises(AnsibleFilterError) as caught:
        wg_mesh_rotation(hostvars, SERVERS, "s2", "s9", SERVERS)
    assert str(caught.value).startswith("host 's2': variable wg_mesh_rotate: 's9': not a server of the mesh")


def test_hosts_asking_for_different_rotations_are_refused_naming_two():
    hostvars = {"s1": {"wg_mesh_rotate": "s2"}, "s2": {}, "s3": {"wg_mesh_rotate": "s2"}}
    with pytest.raises(AnsibleFilterError, match="host 's1' asks for \\['s2'\\] and host 's2' for none"):
        wg_mesh_rotation(hostvars, SERVERS, "s1", "s2", SERVERS)
