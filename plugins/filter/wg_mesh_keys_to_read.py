# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: wg_mesh_keys_to_read
short_description: The servers outside this run whose live keys must be read before a key is created for them
version_added: 0.2.0
description:
  - M(fakevpc.vpc.wg_keys) creates a key only for a server known to run none. The servers of the play are read
    anyway; a server outside it (a C(--limit) run) is read only when the key directory has no private key file for
    it yet, so a C(--limit) run that adds a server gets the new server's key, and never contacts the servers
    outside the limit that already have theirs (they may be down).
  - A file that is a symlink, or cannot be trusted, counts as present (never followed here); M(fakevpc.vpc.wg_keys)
    refuses it with its reason.
options:
  _input:
    description: The key directory of the mesh.
    type: path
    required: true
  servers:
    description: The inventory hostnames of the servers of the plan (not the external peers, which are never read).
    type: list
    elements: str
    required: true
  play_hosts:
    description: The hosts of the play (C(ansible_play_hosts)), whose keys are read anyway.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Read the keys of new servers outside the limit
  fakevpc.vpc.wg_keys_info:
    pattern: "wgvpc[0-9]+"
  delegate_to: "{{ item }}"
  run_once: true
  loop: "{{ wg_mesh__key_dir | fakevpc.vpc.wg_mesh_keys_to_read(wg_mesh__plan.servers | list, ansible_play_hosts) }}"
"""

RETURN = r"""
_value:
  description: The servers to read, in the order of O(servers).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._key_store import KeyDirectoryError
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_keys import missing_private_keys


def wg_mesh_keys_to_read(key_dir, servers, play_hosts):
    try:
        return missing_private_keys(key_dir, [host for host in servers if host not in play_hosts])
    except KeyDirectoryError as error:
        raise AnsibleFilterError("wg_mesh_keys_to_read: %s" % error)


class FilterModule:
    """The filter of the servers to read outside the play."""

    def filters(self):
        return {"wg_mesh_keys_to_read": wg_mesh_keys_to_read}
