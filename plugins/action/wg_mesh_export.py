# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The wg_mesh_export action: the external peers' files, on the controller, from the key directory as wg_keys reads it
(no symlink followed, vault-encrypted keys decrypted in memory with the run's vault secrets)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.fakevpc.vpc.plugins.action.wg_keys import VaultKeys
from ansible_collections.fakevpc.vpc.plugins.module_utils import _mesh_export, _wg_keys


class ActionModule(ActionBase):
    """Runs wg_mesh_export on the controller, whatever the task's host."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if _wg_keys.X25519PrivateKey is None:
            result.update(failed=True, msg="wg_mesh_export needs the Python library cryptography on the controller")
            return result
        vault = self._loader._vault  # pylint: disable=protected-access  # the run's vault secrets: no public API
        result.update(_mesh_export.run(dict(self._task.args), self._task.check_mode, self._task.diff,
                                       VaultKeys(vault)))
        return result
