# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_mesh_key_dir: one key directory per mesh, decided once for the group."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_key_dir import wg_mesh_key_dir


def test_every_host_resolving_one_directory_gives_it():
    hostvars = {"s1": {"inventory_dir": "/inv"}, "s2": {"inventory_dir": "/inv/"},
                "s3": {"inventory_dir": "/other", "wg_mesh_key_dir": "/inv/wg_keys"}}
    assert wg_mesh_key_dir(hostvars, ["s1", "s2", "s3"], "s1", "/inv/wg_keys") == "/inv/wg_keys"


def test_two_inventory_sources_fail_naming_two_hosts_and_their_directories():
    hostvars = {"s1": {"inventory_dir": "/a"}, "s2": {"inventory_dir": "/a"}, "s3": {"inventory_dir": "/b"}}
    for host in ("s1", "s3"):
        with pytest.raises(AnsibleFilterError) as caught:
            wg_mesh_key_dir(hostvars, ["s3", "s2", "s1"], host, "/%s/wg_keys" % hostvars[host]["inventory_dir"][1])
        assert "host 's1' resolves it to /a/wg_keys and host 's3' to /b/wg_keys" in str(caught.value)


def test_the_evaluating_host_uses_its_own_resolved_value():
    hostvars = {"s1": {"inventory_dir": "/a"}, "s2": {"inventory_dir": "/a"}}
    with pytest.raises(AnsibleFilterError, match="host 's1' resolves it to /play/keys and host 's2' to /a/wg_keys"):
        wg_mesh_key_dir(hostvars, ["s1", "s2"], "s1", "/play/keys")


def test_a_host_without_inventory_directory_must_set_it():
    with pytest.raises(AnsibleFilterError, match="host 's2': variable wg_mesh_key_dir: is not set"):
        wg_mesh_key_dir({"s1": {"inventory_dir": "/a"}, "s2": {"inventory_dir": None}}, ["s1", "s2"], "s1", "/a/wg_keys")
