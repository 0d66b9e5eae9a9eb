# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""replace_file: content, mode and owner of the new file, the old one replaced whole, no temporary file left."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._files import replace_file


def test_a_new_file_is_0600_by_default_and_holds_the_text(tmp_path):
    path = tmp_path / "wgvpc0.conf"
    replace_file(str(path), "PrivateKey = secret\n")
    assert path.read_text() == "PrivateKey = secret\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["wgvpc0.conf"]


def test_an_existing_file_is_replaced_by_another_inode_with_the_given_mode(tmp_path):
    path = tmp_path / "app.service"
    path.write_bytes(b"old\n")
    path.chmod(0o600)
    before = path.stat().st_ino
    with open(path, "rb") as reader:
        replace_file(str(path), b"[Unit]\n", 0o644)
        assert reader.read() == b"old\n"  # an open reader keeps the whole old file
    assert path.read_bytes() == b"[Unit]\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.stat().st_ino != before


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_the_owner_is_set_before_the_rename(tmp_path):
    path = tmp_path / "unit.service"
    replace_file(str(path), "x", 0o644, owner=(65534, 65534))
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)


def test_a_failed_rename_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "inside").write_text("keeps the directory non-empty")
    with pytest.raises(OSError):
        replace_file(str(target), "text")
    assert sorted(os.listdir(tmp_path)) == ["busy"]
    assert (target / "inside").read_text() == "keeps the directory non-empty"
