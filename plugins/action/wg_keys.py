# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The wg_keys action: the mesh's key directory, on the controller, with the run's vault secrets.

Key files may be vault-encrypted: they are decrypted in memory with the loader's vault secrets (--vault-id,
--ask-vault-pass, a password file), and new keys are encrypted before they are written, so nothing decrypted ever
touches the controller's disk.
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.parsing.vault import is_encrypted, match_encrypt_secret, parse_vaulttext_envelope
from ansible.plugins.action import ActionBase
from ansible_collections.fakevpc.vpc.plugins.module_utils import _mesh_keys, _wg_keys
from ansible_collections.fakevpc.vpc.plugins.module_utils._key_store import KeyDirectoryError


class VaultKeys:
    """Key files in plain text or vault-encrypted: decrypted in memory; new ones encrypted when vault_id is set or
    an encrypted key has been read (with that key's vault id)."""

    def __init__(self, vault, vault_id=None):
        self.vault = vault
        self.vault_id = vault_id
        self.encrypted = False

    def decode(self, data, file_path):
        if not is_encrypted(data):
            return _mesh_keys.PlainKeys.decode(data, file_path)
        try:
            plaintext = self.vault.decrypt(data)
        except AnsibleError as error:
            raise KeyDirectoryError(
                "%s: cannot decrypt it with the vault secrets of this run (give them with --vault-id,"
                " --ask-vault-pass or a vault password file): %s" % (file_path, error))
        if not self.encrypted:
            self.encrypted = True
            if self.vault_id is None:
                _ciphertext, version, _cipher, vault_id = parse_vaulttext_envelope(data)
                # A 1.1 envelope names no vault id: new keys then go with the run's first secret, in a 1.1 one too.
                self.vault_id = vault_id if version == b"1.2" else None
        return _mesh_keys.PlainKeys.decode(plaintext, file_path)

    def encode(self, key):
        plaintext = _mesh_keys.PlainKeys.encode(key)
        if not self.encrypted and self.vault_id is None:
            return plaintext
        try:
            vault_id, secret = match_encrypt_secret(self.vault.secrets, encrypt_vault_id=self.vault_id)
        except (AnsibleError, TypeError):
            raise KeyDirectoryError(
                "new keys are to be vault-encrypted%s, but this run has no such vault secret: give it with --vault-id"
                % (" with vault id %r" % self.vault_id if self.vault_id else ""))
        return self.vault.encrypt(plaintext, secret, vault_id=vault_id if self.vault_id else None)


class KeyDirectoryAction(ActionBase):
    """An action on the controller, whatever the task's host, that reads (and writes) the key directory with the run's
    vault secrets; a subclass names itself and runs its plan in run_keys()."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    plugin_name = None

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if _wg_keys.X25519PrivateKey is None:
            result.update(failed=True, msg="%s needs the Python library cryptography on the controller" % self.plugin_name)
            return result
        vault = self._loader._vault  # pylint: disable=protected-access  # the run's vault secrets: no public API
        result.update(self.run_keys(dict(self._task.args), self._task.check_mode, self._task.diff, vault))
        return result

    def run_keys(self, args, check_mode, diff, vault):
        raise NotImplementedError


class ActionModule(KeyDirectoryAction):
    """Runs wg_keys on the controller."""

    plugin_name = "wg_keys"

    def run_keys(self, args, check_mode, diff, vault):
        return _mesh_keys.run(args, check_mode, diff, lambda params: VaultKeys(vault, params["vault_id"]))
