# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The wg_mesh_export action: the external peers' files, on the controller, from the key directory as wg_keys reads it
(no symlink followed, vault-encrypted keys decrypted in memory with the run's vault secrets)."""

from __future__ import annotations

from ansible_collections.fakevpc.vpc.plugins.action.wg_keys import KeyDirectoryAction, VaultKeys
from ansible_collections.fakevpc.vpc.plugins.module_utils import _mesh_export


class ActionModule(KeyDirectoryAction):
    """Runs wg_mesh_export on the controller."""

    plugin_name = "wg_mesh_export"

    def run_keys(self, args, check_mode, diff, vault):
        return _mesh_export.run(args, check_mode, diff, VaultKeys(vault))
