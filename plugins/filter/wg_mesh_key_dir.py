# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: wg_mesh_key_dir
short_description: The one key directory of a mesh, the same for every host of its group
version_added: 0.2.0
description:
  - Resolves C(wg_mesh_key_dir) for every host of the group, as the role does (the host's own value, else the role's
    default C(<inventory dir>/wg_keys) with the host's own inventory directory), and returns the directory when all
    agree.
  - Fails naming two hosts and their two directories when they do not (two inventory sources given with two C(-i),
    each with its own C(wg_keys)); the keys would otherwise be looked for, and created, in whichever directory the
    first host of the run resolves, and new keys break every tunnel.
extends_documentation_fragment:
  - fakevpc.vpc.hostvars
  - fakevpc.vpc.hostvars.host
options:
  host:
    description: The host evaluating the filter (C(inventory_hostname)), whose resolved O(key_dir) is used for it.
  key_dir:
    description: The value of C(wg_mesh_key_dir) for O(host), role default and play variables included.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Decide the key directory of the mesh once
  ansible.builtin.set_fact:
    wg_mesh__key_dir: "{{ hostvars | fakevpc.vpc.wg_mesh_key_dir(groups['vpc'], inventory_hostname, wg_mesh_key_dir) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: The key directory, as given (user home expanded, normalised).
  type: str
"""

import os

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._key_store import KeyDirectoryError
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_keys import mesh_key_dir

DEFAULT_NAME = "wg_keys"


def resolved_key_dir(host_vars):
    """wg_mesh_key_dir as the role resolves it for a host whose hostvars are host_vars (None when it cannot)."""
    if host_vars.get("wg_mesh_key_dir"):
        return host_vars["wg_mesh_key_dir"]
    inventory_dir = host_vars.get("inventory_dir")
    return os.path.join(inventory_dir, DEFAULT_NAME) if inventory_dir else None


def wg_mesh_key_dir(hostvars, hosts, host, key_dir):
    key_dirs = dict((name, key_dir if name == host else resolved_key_dir(hostvars[name])) for name in hosts)
    try:
        return mesh_key_dir(key_dirs)
    except KeyDirectoryError as error:
        raise AnsibleFilterError(str(error))


class FilterModule:
    """The key directory filter."""

    def filters(self):
        return {"wg_mesh_key_dir": wg_mesh_key_dir}
