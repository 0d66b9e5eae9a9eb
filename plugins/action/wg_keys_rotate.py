# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The wg_keys_rotate action: a key rotation in the mesh's key directory, on the controller, with the run's vault
secrets (new keys encrypted as wg_keys encrypts them)."""

from __future__ import annotations

from ansible_collections.fakevpc.vpc.plugins.action.wg_keys import KeyDirectoryAction, VaultKeys
from ansible_collections.fakevpc.vpc.plugins.module_utils import _mesh_rotation


class ActionModule(KeyDirectoryAction):
    """Runs wg_keys_rotate on the controller."""

    plugin_name = "wg_keys_rotate"

    def run_keys(self, args, check_mode, diff, vault):
        return _mesh_rotation.run(args, check_mode, diff, lambda params: VaultKeys(vault, params["vault_id"]))
