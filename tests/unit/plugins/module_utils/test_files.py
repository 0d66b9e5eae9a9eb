# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The file writer: content, mode and owner of the new file, the old one replaced whole (through a module's
atomic_move, or os.replace on the controller), no temporary file left; keys created only, never replaced."""

from __future__ import annotations

import os
import stat

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import create_file, make_directories, replace_file


@pytest.fixture
def module(module_args):
    """A real AnsibleModule, for its atomic_move."""
    with module_args({}):
        return AnsibleModule(argument_spec={})


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


@pytest.mark.parametrize("old_mode", [None, 0o644, 0o600])
def test_through_atomic_move_the_file_gets_the_mode_and_is_never_more_open_than_it(module, tmp_path, monkeypatch, old_mode):
    path = tmp_path / "wgvpc0.conf"
    if old_mode is not None:
        path.write_text("old\n")
        path.chmod(old_mode)
    modes = []
    real_move = module.atomic_move

    def move(src, dest, **kwargs):
        real_move(src, dest, **kwargs)
        modes.append(stat.S_IMODE(os.stat(dest).st_mode))  # the mode the new content had when it took the name
    monkeypatch.setattr(module, "atomic_move", move)
    replace_file(str(path), "PrivateKey = secret\n", 0o600, module=module)
    assert path.read_text() == "PrivateKey = secret\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and modes == [0o600]
    assert os.listdir(tmp_path) == ["wgvpc0.conf"]


def test_through_atomic_move_a_wider_mode_is_set_after_the_move(module, tmp_path):
    path = tmp_path / "app.service"
    replace_file(str(path), "[Unit]\n", 0o644, module=module)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    replace_file(str(path), "[Unit]\nDescription=x\n", 0o640, module=module)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "[Unit]\nDescription=x\n"


def test_without_a_mode_the_file_keeps_its_own(module, tmp_path):
    path = tmp_path / "hosts"
    path.write_text("127.0.0.1 localhost\n")
    path.chmod(0o604)
    replace_file(str(path), "127.0.0.1 localhost\n192.168.1.1 server1\n", mode=None, module=module)
    assert stat.S_IMODE(path.stat().st_mode) == 0o604 and path.read_text().endswith("server1\n")


def test_a_key_is_created_0600_and_never_replaced(tmp_path):
    directory = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        create_file(directory, "server1.key", b"key one\n")
        with pytest.raises(FileExistsError):
            create_file(directory, "server1.key", b"key two\n")
    finally:
        os.close(directory)
    key = tmp_path / "server1.key"
    assert key.read_bytes() == b"key one\n" and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["server1.key"]


def test_missing_directories_get_exactly_the_mode_whatever_the_umask(tmp_path):
    umask = os.umask(0o077)
    try:
        make_directories(str(tmp_path / "a" / "b"), 0o755)
    finally:
        os.umask(umask)
    assert [stat.S_IMODE((tmp_path / part).stat().st_mode) for part in ("a", "a/b")] == [0o755, 0o755]
    make_directories(str(tmp_path / "a"), 0o700)  # an existing one is left as it is
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o755
