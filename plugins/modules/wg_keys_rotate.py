#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: wg_keys_rotate
short_description: Stage and complete a key rotation in the key directory of a mesh, on the controller
version_added: 0.3.0
description:
  - The key directory's side of a key rotation (the C(rotate) entry point of the C(fakevpc.vpc.wg_mesh) role, the
    C(fakevpc.vpc.rotate_keys) playbook). The servers are converged in between, with the keys that
    M(fakevpc.vpc.wg_keys) returns while a rotation is staged.
  - O(state=staged) creates the new private key of every server of O(rotate) and a new preshared key for every pair
    with one of them, each as C(<file>.next) next to the old one (created only, mode C(0600), vault-encrypted as
    M(fakevpc.vpc.wg_keys) encrypts new keys), then the marker file C(rotation.staged) naming the servers. From then
    on M(fakevpc.vpc.wg_keys) returns the staged keys as the wanted ones. When a rotation is already staged (a run
    that failed), nothing new is staged (the staged keys are the state) and the rerun completes that rotation; a
    request naming other servers is then refused. Staged files left by a staging that stopped before its marker were
    never used; those the request needs are kept, the others removed.
  - O(state=complete) replaces every old key file with its staged one (preshared keys first, private keys last) and
    then removes the marker, only once every server of the mesh has been read (O(live)), every rotated server runs
    its new public key and no server peers with an old one; otherwise it fails naming the servers, and changes
    nothing. Without a staged rotation it does nothing. In check mode, where no server was converged, it reports the
    change it would make once they run the new keys (and why they do not yet, in RV(pending)).
  - "It runs on the controller, as an action plugin (use C(run_once: true)); it needs the Python C(cryptography)
    library there. Keys are never returned, shown in a diff or passed in a command line."
requirements:
  - cryptography (on the controller)
options:
  path:
    description: The key directory (see M(fakevpc.vpc.wg_keys)); it must exist and be private.
    type: path
    required: true
  hosts:
    description: The key holders of the mesh (inventory hostnames, and C(external-<name>) for its external peers).
    type: list
    elements: str
    required: true
  external:
    description: The holders among O(hosts) that Ansible never touches (external peers); they cannot be rotated and
      are not read.
    type: list
    elements: str
    default: []
  state:
    description: V(staged) stages the rotation of O(rotate); V(complete) completes the staged one.
    type: str
    choices: [staged, complete]
    required: true
  rotate:
    description:
      - With O(state=staged), the servers to rotate. Empty is refused unless a rotation is staged (then it is
        completed).
    type: list
    elements: str
    default: []
  live:
    description:
      - With O(state=complete), what every server runs, per inventory hostname, the
        RV(fakevpc.vpc.wg_keys_info#module:live) of M(fakevpc.vpc.wg_keys_info).
    type: dict
    default: {}
  vault_id:
    description: As O(fakevpc.vpc.wg_keys#module:vault_id).
    type: str
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  diff_mode:
    details: The diff lists the key files staged or replaced, never their content.
seealso:
  - module: fakevpc.vpc.wg_keys
  - module: fakevpc.vpc.wg_keys_info
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Stage new keys for server2
  fakevpc.vpc.wg_keys_rotate:
    path: "{{ inventory_dir }}/wg_keys"
    hosts: "{{ groups['vpc'] }}"
    state: staged
    rotate: [server2]
  delegate_to: localhost
  run_once: true

- name: Remove the old keys once no server runs them
  fakevpc.vpc.wg_keys_rotate:
    path: "{{ inventory_dir }}/wg_keys"
    hosts: "{{ groups['vpc'] }}"
    state: complete
    live: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['live_keys', 'live']))) }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
rotating:
  description: With O(state=staged), the servers of the staged rotation (the request's, or the one found staged).
  returned: when O(state=staged)
  type: list
  elements: str
resumed:
  description: With O(state=staged), whether a rotation was found staged (nothing new staged).
  returned: when O(state=staged)
  type: bool
staged:
  description: With O(state=staged), the staged key files this run created (or would create).
  returned: when O(state=staged)
  type: list
  elements: str
removed:
  description: With O(state=staged), the staged files of an earlier request that never got its marker, removed.
  returned: when O(state=staged)
  type: list
  elements: str
rotated:
  description: With O(state=complete), the servers whose rotation this run completed.
  returned: when O(state=complete)
  type: list
  elements: str
replaced:
  description: With O(state=complete), the key files replaced by their staged ones, in that order.
  returned: when O(state=complete)
  type: list
  elements: str
pending:
  description: In check mode with O(state=complete), why the servers do not run the new keys yet.
  returned: in check mode, when they do not
  type: list
  elements: str
"""
