# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The wg_keys action's vault codec, with a real VaultLib, on a real temporary directory."""

from __future__ import annotations

import os

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret, is_encrypted
from ansible_collections.fakevpc.vpc.plugins.action.wg_keys import VaultKeys
from ansible_collections.fakevpc.vpc.plugins.module_utils import _mesh_keys, _wg_keys

PASSWORD = b"a test vault password"


def run(key_dir, hosts, vault, vault_id=None, check_mode=False):
    return _mesh_keys.run({"path": str(key_dir), "hosts": hosts, "vault_id": vault_id}, check_mode, False,
                          lambda params: VaultKeys(vault, params["vault_id"]))


def encrypt_in_place(key_dir, vault, vault_id):
    """What `ansible-vault encrypt --vault-id ID@...` does to every key file."""
    plain = {}
    for name in os.listdir(key_dir):
        path = key_dir / name
        plain[name] = path.read_bytes()
        path.write_bytes(vault.encrypt(plain[name], vault.secrets[0][1], vault_id=vault_id))
    return plain


@pytest.mark.parametrize("vault_id, header", [("test", b"$ANSIBLE_VAULT;1.2;AES256;test\n"),
                                              (None, b"$ANSIBLE_VAULT;1.1;AES256\n")])
def test_an_encrypted_directory_is_read_in_memory_and_grows_encrypted(tmp_path, vault_id, header):
    vault = VaultLib([("test", VaultSecret(PASSWORD))])
    key_dir = tmp_path / "keys"
    first = run(key_dir, ["s1", "s2"], VaultLib())
    plain = encrypt_in_place(key_dir, vault, vault_id)
    again = run(key_dir, ["s1", "s2"], vault)
    assert not again.get("failed") and not again["changed"] and again["public_keys"] == first["public_keys"]
    grown = run(key_dir, ["s1", "s2", "s3"], vault)
    assert not grown.get("failed") and len(grown["created"]) == 3
    for name in ("s3.key", "s1+s3.psk", "s2+s3.psk"):
        data = (key_dir / name).read_bytes()
        assert is_encrypted(data) and data.startswith(header)
        assert _wg_keys.decode_key(vault.decrypt(data).decode()) is not None
    assert grown["public_keys"]["s3"] == _wg_keys.public_key(vault.decrypt((key_dir / "s3.key").read_bytes()).decode())
    assert all(vault.decrypt((key_dir / name).read_bytes()) == data for name, data in plain.items())
    assert not any(name.endswith(".tmp") for name in os.listdir(key_dir))


def test_a_configured_vault_id_encrypts_the_first_keys(tmp_path):
    vault = VaultLib([("other", VaultSecret(b"x")), ("mesh", VaultSecret(PASSWORD))])
    result = run(tmp_path / "keys", ["s1", "s2"], vault, vault_id="mesh")
    assert not result.get("failed") and len(result["created"]) == 3
    for name in os.listdir(tmp_path / "keys"):
        assert (tmp_path / "keys" / name).read_bytes().startswith(b"$ANSIBLE_VAULT;1.2;AES256;mesh\n")


def test_without_the_vault_secret_the_run_is_refused_naming_the_file(tmp_path):
    vault = VaultLib([("test", VaultSecret(PASSWORD))])
    key_dir = tmp_path / "keys"
    run(key_dir, ["s1"], VaultLib())
    encrypt_in_place(key_dir, vault, "test")
    result = run(key_dir, ["s1", "s2"], VaultLib([("test", VaultSecret(b"wrong"))]))
    assert result["failed"] and "%s: cannot decrypt it with the vault secrets of this run" % (key_dir / "s1.key") in result["msg"]
    assert sorted(os.listdir(key_dir)) == ["s1.key"]
    result = run(tmp_path / "other", ["s1"], vault, vault_id="missing")
    assert result["failed"] and "with vault id 'missing', but this run has no such vault secret" in result["msg"]
    assert os.listdir(tmp_path / "other") == []


def test_check_mode_decrypts_and_writes_nothing(tmp_path):
    vault = VaultLib([("test", VaultSecret(PASSWORD))])
    key_dir = tmp_path / "keys"
    run(key_dir, ["s1"], VaultLib())
    encrypt_in_place(key_dir, vault, "test")
    result = run(key_dir, ["s1", "s2"], vault, check_mode=True)
    assert result["changed"] and sorted(os.listdir(key_dir)) == ["s1.key"] and list(result["public_keys"]) == ["s1"]
