# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_keys on a real temporary directory: creation, modes, never regenerating, check mode."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils import _wg_keys
from ansible_collections.fakevpc.vpc.plugins.modules import wg_keys


def snapshot(path):
    return {name: open(os.path.join(path, name), "rb").read() for name in sorted(os.listdir(path))}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_creates_keys_with_safe_modes(run_module, tmp_path):
    key_dir = str(tmp_path / "keys")
    result, failed = run_module(wg_keys, {"path": key_dir, "hosts": ["s2", "s1", "s3"]})
    assert not failed and result["changed"]
    assert sorted(os.listdir(key_dir)) == sorted(["s1+s2.psk", "s1+s3.psk", "s2+s3.psk", "s1.key", "s2.key", "s3.key"])
    assert mode(key_dir) == 0o700
    assert all(mode(os.path.join(key_dir, name)) == 0o600 for name in os.listdir(key_dir))
    assert result["preshared_key_files"]["s3"]["s1"] == os.path.join(key_dir, "s1+s3.psk")
    assert result["private_key_files"]["s2"] == os.path.join(key_dir, "s2.key")
    for host in ("s1", "s2", "s3"):
        private = open(os.path.join(key_dir, host + ".key")).read()
        assert _wg_keys.decode_key(private) is not None
        assert result["public_keys"][host] == _wg_keys.public_key(private)
        assert private.strip() not in repr(result)


def test_rerun_and_added_host_leave_existing_keys_byte_identical(run_module, tmp_path):
    key_dir = str(tmp_path / "keys")
    first = run_module(wg_keys, {"path": key_dir, "hosts": ["s1", "s2"]})[0]
    before = snapshot(key_dir)
    again = run_module(wg_keys, {"path": key_dir, "hosts": ["s1", "s2"]})[0]
    assert not again["changed"] and again["created"] == []
    assert again["public_keys"] == first["public_keys"]
    grown = run_module(wg_keys, {"path": key_dir, "hosts": ["s1", "s2", "s3"]})[0]
    assert grown["changed"]
    assert sorted(os.path.basename(p) for p in grown["created"]) == ["s1+s3.psk", "s2+s3.psk", "s3.key"]
    after = snapshot(key_dir)
    assert {name: after[name] for name in before} == before


def test_check_mode_creates_nothing_and_diff_lists_files(run_module, tmp_path):
    key_dir = str(tmp_path / "keys")
    result = run_module(wg_keys, {"path": key_dir, "hosts": ["s1", "s2"]}, check_mode=True, diff=True)[0]
    assert result["changed"] and not os.path.exists(key_dir)
    assert result["diff"]["after"].count("created ") == 3
    run_module(wg_keys, {"path": key_dir, "hosts": ["s1"]})
    before = snapshot(key_dir)
    result = run_module(wg_keys, {"path": key_dir, "hosts": ["s1", "s2"]}, check_mode=True)[0]
    assert result["changed"] and snapshot(key_dir) == before
    assert list(result["public_keys"]) == ["s1"]


def test_wrong_modes_are_corrected(run_module, tmp_path):
    key_dir = str(tmp_path / "keys")
    run_module(wg_keys, {"path": key_dir, "hosts": ["s1"]})
    os.chmod(key_dir, 0o755)
    os.chmod(os.path.join(key_dir, "s1.key"), 0o644)
    result = run_module(wg_keys, {"path": key_dir, "hosts": ["s1"]})[0]
    assert result["changed"] and result["created"] == []
    assert mode(key_dir) == 0o700 and mode(os.path.join(key_dir, "s1.key")) == 0o600


def test_a_damaged_key_file_fails_and_is_not_replaced(run_module, tmp_path):
    key_dir = tmp_path / "keys"
    key_dir.mkdir(mode=0o700)
    (key_dir / "s1.key").write_text("not a key\n")
    (key_dir / "s1.key").chmod(0o600)
    result, failed = run_module(wg_keys, {"path": str(key_dir), "hosts": ["s1"]})
    assert failed and "s1.key is not a WireGuard key" in result["msg"]
    assert (key_dir / "s1.key").read_text() == "not a key\n"


@pytest.mark.parametrize("hosts", [["a/b"], ["../x"], ["a+b"], [".hidden"]])
def test_unsafe_host_names_fail(run_module, tmp_path, hosts):
    result, failed = run_module(wg_keys, {"path": str(tmp_path), "hosts": hosts})
    assert failed and "hosts:" in result["msg"]


@pytest.mark.skipif(shutil.which("wg") is None, reason="wg (wireguard-tools) is not installed")
def test_keys_are_what_wg_pubkey_derives():
    for _attempt in range(5):
        private = _wg_keys.generate_private_key()
        derived = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True, check=True).stdout
        assert derived.strip() == _wg_keys.public_key(private)
        assert _wg_keys.clamp_private_key(_wg_keys.decode_key(private)) == _wg_keys.decode_key(private)
    assert _wg_keys.decode_key(_wg_keys.generate_preshared_key()) is not None
