# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_mesh_keys_to_read: the servers outside the play with no key file yet, on a real temporary directory."""

from __future__ import annotations

import os

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_keys_to_read import wg_mesh_keys_to_read


def test_only_servers_outside_the_play_without_a_key_file_are_read(tmp_path):
    key_dir = tmp_path / "keys"
    key_dir.mkdir(mode=0o700)
    for name in ("s1.key", "s2.key", "s1+s2.psk"):
        (key_dir / name).write_text("x\n")
    os.symlink(tmp_path / "elsewhere", key_dir / "s5.key")  # dangling, never followed: present, for wg_keys to refuse
    servers = ["s1", "s2", "s3", "s4", "s5"]
    assert wg_mesh_keys_to_read(str(key_dir), servers, ["s1"]) == ["s3", "s4"]
    assert wg_mesh_keys_to_read(str(key_dir), servers, ["s1", "s3"]) == ["s4"]
    assert wg_mesh_keys_to_read(str(key_dir), servers, servers) == []


def test_a_missing_key_directory_means_every_server_outside_the_play(tmp_path):
    assert wg_mesh_keys_to_read(str(tmp_path / "none"), ["s1", "s2", "s3"], ["s2"]) == ["s1", "s3"]


def test_an_unsafe_name_is_refused(tmp_path):
    with pytest.raises(AnsibleFilterError, match="names may hold only"):
        wg_mesh_keys_to_read(str(tmp_path), ["s1", "../s2"], [])
