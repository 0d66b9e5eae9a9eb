#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: wg_mesh_export
short_description: Write the wg-quick file and hosts snippet of every external peer of the mesh, on the controller
version_added: 0.2.0
description:
  - For each external peer of P(fakevpc.vpc.wg_mesh_plan#filter) (a machine Ansible never touches, such as a laptop
    or a CI runner), writes C(<path>/<name>.conf), a C(wg-quick) file of one interface with every server it has a tunnel to
    as a peer, and C(<path>/<name>.hosts), the lines to add to its hosts file. Both mode C(0600) in a C(0700)
    directory, since the C(.conf) file holds the peer's private key. Copy them to the machine and run C(wg-quick up).
  - The keys are read from O(key_dir) as M(fakevpc.vpc.wg_keys) reads them, by an action plugin on the controller
    (the peer's key holder is C(external-<name>)); no symbolic link is followed, the directory and files must be the
    user's own and private, and vault-encrypted keys are decrypted in memory with the run's vault secrets. Nothing
    secret is returned or shown in a diff.
  - C(.conf) and C(.hosts) files in O(path) of peers no longer listed are removed, so removing an external peer
    from the inventory removes its files too.
  - "It always runs on the controller (use C(run_once: true)); it needs the Python C(cryptography) library there."
requirements:
  - cryptography
options:
  path:
    description: The directory of the exported files; created (mode C(0700)) when there is a file to write.
    type: path
    required: true
  key_dir:
    description: The key directory of M(fakevpc.vpc.wg_keys).
    type: path
    required: true
  peers:
    description:
      - The views of the external peers, C(wg_mesh_plan(...).external_peers.values()), each with C(name), C(host)
        (its key holder), C(interfaces) (one) and C(hosts_lines).
    type: list
    elements: dict
    default: []
  mtu:
    description: The MTU of every exported interface; 0 leaves it to C(wg-quick).
    type: int
    default: 0
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  diff_mode:
    details: The files that change, keys replaced by C((hidden)).
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Write the files of the external peers
  fakevpc.vpc.wg_mesh_export:
    path: "{{ inventory_dir }}/wg_external_peers"
    key_dir: "{{ inventory_dir }}/wg_keys"
    peers: "{{ plan.external_peers.values() | list }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
written:
  description: The files written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
removed:
  description: The files of peers no longer listed, removed (or that would be).
  returned: always
  type: list
  elements: str
"""
