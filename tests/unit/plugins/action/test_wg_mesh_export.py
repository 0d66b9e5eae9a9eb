# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_mesh_export: the files of the external peers, from real key files (plain and vault-encrypted) in a temp dir."""

from __future__ import annotations

import json
import os
import stat

from ansible.parsing.vault import VaultLib, VaultSecret
from ansible_collections.fakevpc.vpc.plugins.action.wg_keys import VaultKeys
from ansible_collections.fakevpc.vpc.plugins.module_utils import _mesh_export, _mesh_rotation, _wg_keys
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import build_mesh_plan

PLAN = build_mesh_plan(
    [{"host": "db-east", "index": 1, "endpoint": "203.0.113.1"},
     {"host": "office", "index": 2, "dialable": False}],
    external_peers=[{"name": "laptop", "index": 3, "aliases": ["me"]}])


def keys(tmp_path):
    key_dir = tmp_path / "keys"
    key_dir.mkdir(mode=0o700)
    holders = PLAN["key_holders"]
    for holder in holders:
        (key_dir / ("%s.key" % holder)).write_text(_wg_keys.generate_private_key() + "\n")
        (key_dir / ("%s.key" % holder)).chmod(0o600)
    for position, first in enumerate(sorted(holders)):
        for second in sorted(holders)[position + 1:]:
            (key_dir / ("%s+%s.psk" % (first, second))).write_text(_wg_keys.generate_preshared_key() + "\n")
            (key_dir / ("%s+%s.psk" % (first, second))).chmod(0o600)
    return key_dir


def args(tmp_path, key_dir, peers):
    return {"path": str(tmp_path / "export"), "key_dir": str(key_dir), "peers": peers}


def run_export(arguments, check_mode=False, diff=False, codec=_mesh_export.PlainKeys):
    """(result, failed), as the action returns them."""
    result = _mesh_export.run(arguments, check_mode, diff, codec)
    return result, bool(result.get("failed"))


def test_writes_one_wg_quick_file_and_hosts_lines_per_external_peer_then_removes_them(tmp_path):
    key_dir = keys(tmp_path)
    peers = list(PLAN["external_peers"].values())
    checked = run_export(args(tmp_path, key_dir, peers), check_mode=True, diff=True)[0]
    assert checked["changed"] and not (tmp_path / "export").exists()
    result, failed = run_export(args(tmp_path, key_dir, peers), diff=True)
    assert not failed and result["changed"]
    conf = tmp_path / "export" / "laptop.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600 and stat.S_IMODE((tmp_path / "export").stat().st_mode) == 0o700
    text = conf.read_text()
    private = (key_dir / "external-laptop.key").read_text().strip()
    db_public = _wg_keys.public_key((key_dir / "db-east.key").read_text())
    assert "PrivateKey = %s\n" % private in text and "Address = 192.168.1.3/24, 192.168.2.3/24, 192.168.3.1/24\n" in text
    assert "Table = off\n" in text and "ListenPort" not in text
    # one peer: db-east, which also carries office (it cannot be dialled, nor can the laptop)
    assert text.count("[Peer]") == 1 and "PublicKey = %s\n" % db_public in text
    assert "Endpoint = 203.0.113.1:51820\nAllowedIPs = 192.168.1.1/32, 192.168.2.1/32\nPersistentKeepalive = 25\n" in text
    assert (tmp_path / "export" / "laptop.hosts").read_text() == (
        "192.168.1.1 db-east db-east.vpcdomain\n192.168.2.1 office office.vpcdomain\n"
        "127.0.0.1 laptop laptop.vpcdomain me me.vpcdomain\n")
    assert private not in json.dumps(result)
    again = run_export(args(tmp_path, key_dir, peers))[0]
    assert not again["changed"]
    (tmp_path / "export" / "notes.txt").write_text("mine\n")
    gone = run_export(args(tmp_path, key_dir, []))[0]
    assert gone["changed"] and sorted(os.listdir(tmp_path / "export")) == ["notes.txt"]


def test_a_key_that_is_a_symlink_is_refused(tmp_path):
    key_dir = keys(tmp_path)
    target = tmp_path / "elsewhere.key"
    os.replace(key_dir / "external-laptop.key", target)
    os.symlink(target, key_dir / "external-laptop.key")
    result, failed = run_export(args(tmp_path, key_dir, list(PLAN["external_peers"].values())))
    assert failed and "is a symlink" in result["msg"] and "never followed" in result["msg"]
    assert not (tmp_path / "export" / "laptop.conf").exists()


def test_vault_encrypted_keys_are_decrypted_in_memory(tmp_path):
    key_dir = keys(tmp_path)
    vault = VaultLib([("mesh", VaultSecret(b"a test vault password"))])
    for name in os.listdir(key_dir):
        plain = (key_dir / name).read_bytes()
        (key_dir / name).write_bytes(vault.encrypt(plain, vault.secrets[0][1], vault_id="mesh"))
    peers = list(PLAN["external_peers"].values())
    refused, failed = run_export(args(tmp_path, key_dir, peers))
    assert failed and "external-laptop.key is not a WireGuard key" in refused["msg"]
    result, failed = run_export(args(tmp_path, key_dir, peers), codec=VaultKeys(vault))
    assert not failed and result["changed"]
    private = vault.decrypt((key_dir / "external-laptop.key").read_bytes()).decode().strip()
    assert "PrivateKey = %s\n" % private in (tmp_path / "export" / "laptop.conf").read_text()
    assert sorted(os.listdir(tmp_path)) == ["export", "keys"]  # nothing decrypted written beside them


def test_a_key_open_to_others_is_refused(tmp_path):
    key_dir = keys(tmp_path)
    (key_dir / "db-east.key").chmod(0o644)
    result, failed = run_export(args(tmp_path, key_dir, list(PLAN["external_peers"].values())))
    assert failed and "db-east.key: the key file has mode 0644" in result["msg"]
    assert not (tmp_path / "export").exists()


def test_a_staged_rotation_exports_the_staged_keys(tmp_path):
    key_dir = keys(tmp_path)
    peers = list(PLAN["external_peers"].values())
    run_export(args(tmp_path, key_dir, peers))
    conf = tmp_path / "export" / "laptop.conf"
    before = conf.read_text()
    old_public = _wg_keys.public_key((key_dir / "db-east.key").read_text())
    staged = _mesh_rotation.run({"path": str(key_dir), "hosts": PLAN["key_holders"], "state": "staged",
                                 "external": ["external-laptop"], "rotate": ["db-east"]}, False, False,
                                lambda params: _mesh_export.PlainKeys)
    assert staged["changed"], staged
    result, failed = run_export(args(tmp_path, key_dir, peers))
    assert not failed and result["written"] == [str(conf)]
    new_public = _wg_keys.public_key((key_dir / "db-east.key.next").read_text())
    assert old_public in before and new_public in conf.read_text() and old_public not in conf.read_text()
    new_psk = (key_dir / "db-east+external-laptop.psk.next").read_text().strip()
    assert "PresharedKey = %s\n" % new_psk in conf.read_text()
