#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: wg_keys
short_description: Keep the WireGuard keys of a mesh in a directory on the controller
version_added: 0.1.0
description:
  - Creates one X25519 key pair per host and one preshared key per pair of hosts in O(path),
    and returns the public keys.
  - Existing keys are never regenerated or rewritten, so rerunning it, or adding a host, leaves every
    existing key byte-identical and every tunnel up.
  - "It runs on the controller, as an action plugin (use C(run_once: true)); it needs the Python C(cryptography)
    library there, never the C(wg) tool."
  - Key files may be encrypted with ansible-vault, with the vault secrets of the run (C(--vault-id),
    C(--ask-vault-pass), a vault password file); they are decrypted in memory only. New keys are written encrypted
    when O(vault_id) is set, or when the directory already holds an encrypted key (with that key's vault id).
    Nothing decrypted is ever written to the controller's disk.
  - Files are C(<path>/<host>.key) (private key, base64) and C(<path>/<a>+<b>.psk) with C(a) < C(b)
    (preshared key, base64), mode C(0600), in a C(0700) directory.
  - The directory is trusted only when it is private. A symlink (the directory, or any key file in it, even a
    dangling one) is never followed; a directory or a key file owned by another user, or open to the group or to
    others (a C(0644) key, a C(0777) directory), is refused, naming the file and the command that fixes it
    (C(chmod 0600 FILE)); nothing is repaired silently, since such a key may already be known to someone else.
  - Keys are created only, never replaced (a new file with C(O_CREAT|O_EXCL), mode C(0600), linked to its name).
  - "Private material is never returned: read it with P(ansible.builtin.file#lookup) in a task with C(no_log: true)."
  - While a key rotation is staged (M(fakevpc.vpc.wg_keys_rotate), the marker file C(rotation.staged)), the wanted key of
    a rotated file is its staged C(<file>.next), so RV(public_keys), RV(private_key_files) and RV(preshared_key_files)
    give the staged ones, and a rotating server may run its old key or its new one.
requirements:
  - cryptography (on the controller)
options:
  path:
    description:
      - The key directory. Created with mode C(0700) if missing.
      - It must not be a symlink, and must be owned by the user running the module with no permission for the group
        or others.
    type: path
    required: true
  hosts:
    description:
      - The hosts of the mesh (inventory hostnames). Letters, digits, C(.), C(_) and C(-) only.
      - Keys of hosts no longer listed are left in place.
    type: list
    elements: str
    required: true
  live:
    description:
      - What the servers run, per inventory hostname, the RV(fakevpc.vpc.wg_keys_info#module:live) of
        M(fakevpc.vpc.wg_keys_info) (C(public_keys) and C(preshared_peers)).
      - When given, no key is ever created for a server that already runs one. A server that runs mesh interfaces with
        a key the directory does not have (the directory was deleted, or O(path) points elsewhere), or a pair that
        shares a preshared key the directory does not have, is refused, naming the server and O(path), unless
        O(adopt=true); a server whose key file holds another key than it runs is always refused. A missing key of a
        host not listed here (outside a C(--limit)) is refused too, but for a preshared key with a host whose key
        this run creates (nobody shares one with it yet); the role reads the servers outside a C(--limit) that have
        no key file yet (P(fakevpc.vpc.wg_mesh_keys_to_read#filter)).
      - When omitted, nothing is compared with the servers.
    type: dict
  live_secrets:
    description:
      - Per inventory hostname, the RV(fakevpc.vpc.wg_keys_info#module:secrets) of M(fakevpc.vpc.wg_keys_info) (read
        with O(fakevpc.vpc.wg_keys_info#module:secrets=true)), the keys that O(adopt) writes back. Never shown.
    type: dict
  adopt:
    description:
      - Write the keys the servers run (O(live_secrets)) into O(path) where their files are missing, instead of
        refusing; a lost key directory is rebuilt from the servers, with no tunnel touched. Files are created only,
        mode C(0600), never replaced.
    type: bool
    default: false
  vault_id:
    description:
      - Write new keys vault-encrypted with the secret of this vault id (given to the run with C(--vault-id ID@SOURCE)).
      - When omitted, new keys are encrypted only when the directory already holds an encrypted key, with that key's
        vault id.
    type: str
  external:
    description:
      - The holders among O(hosts) that Ansible never touches (external peers of the mesh, C(external-<name>)); no live
        keys are read or expected for them, and a missing key of theirs is created.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  diff_mode:
    details: The diff lists the key files that would be created, never their content.
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Keep the mesh keys on the controller
  fakevpc.vpc.wg_keys:
    path: "{{ playbook_dir }}/.wg_keys"
    hosts: "{{ groups['vpc'] }}"
  delegate_to: localhost
  run_once: true
  register: wg_mesh__keys

- name: Use a private key (never logged)
  fakevpc.vpc.wg_interfaces:
    interfaces:
      - name: wgvpc0
        private_key: "{{ lookup('ansible.builtin.file', wg_mesh__keys.private_key_files[inventory_hostname]) }}"
  no_log: true
"""

RETURN = r"""
public_keys:
  description: Public key of every listed host whose private key exists (in check mode, not of those that would be created).
  returned: always
  type: dict
  sample: {server1: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="}
private_key_files:
  description: Path of every listed host's private key file.
  returned: always
  type: dict
  sample: {server1: /home/me/vpc/.wg_keys/server1.key}
preshared_key_files:
  description: Path of the preshared key file of every pair, under both hosts of the pair.
  returned: always
  type: dict
  sample: {server1: {server2: /home/me/vpc/.wg_keys/server1+server2.psk}, server2: {server1: /home/me/vpc/.wg_keys/server1+server2.psk}}
created:
  description: The key files this run created (or would create, in check mode).
  returned: always
  type: list
  elements: str
adopted:
  description: The key files among RV(created) that hold a key read back from the servers (O(adopt)).
  returned: always
  type: list
  elements: str
rotating:
  description: The servers of the key rotation staged in O(path) (see M(fakevpc.vpc.wg_keys_rotate)); empty when none.
  returned: always
  type: list
  elements: str
  version_added: 0.3.0
"""
