# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: wg_mesh_peers
short_description: Turn the peers of a mesh plan interface into fakevpc.vpc.wg_interface peers
version_added: 0.1.0
description:
  - Joins the peers of one interface of P(fakevpc.vpc.wg_mesh_plan#filter) with the public keys returned
    by M(fakevpc.vpc.wg_keys) and the preshared keys read from its files, into the O(fakevpc.vpc.wg_interface#module:peers)
    option of M(fakevpc.vpc.wg_interface).
options:
  _input:
    description: The C(peers) of one interface of the plan.
    type: list
    elements: dict
    required: true
  public_keys:
    description: The C(public_keys) returned by M(fakevpc.vpc.wg_keys).
    type: dict
    required: true
  preshared_keys:
    description: The preshared key of each peer, in the order of the peers.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Configure one interface of the plan
  fakevpc.vpc.wg_interface:
    name: "{{ item.name }}"
    private_key: "{{ lookup('ansible.builtin.file', keys.private_key_files[inventory_hostname]) }}"
    addresses: ["{{ item.address }}"]
    peers: "{{ item.peers | fakevpc.vpc.wg_mesh_peers(keys.public_keys, query('ansible.builtin.file', *psk_files)) }}"
  vars:
    psk_files: "{{ item.peers | map(attribute='host') | map('extract', keys.preshared_key_files[inventory_hostname]) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: One dict per peer with C(public_key), C(preshared_key), C(endpoint), C(allowed_ips) and C(persistent_keepalive).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError


def wg_mesh_peers(peers, public_keys, preshared_keys):
    """Return wg_interface peers for the plan's peers."""
    peers = list(peers)
    preshared_keys = list(preshared_keys)
    if len(preshared_keys) != len(peers):
        raise AnsibleFilterError("wg_mesh_peers: %d peers but %d preshared keys" % (len(peers), len(preshared_keys)))
    missing = [peer["host"] for peer in peers if peer["host"] not in public_keys]
    if missing:
        raise AnsibleFilterError("wg_mesh_peers: no public key for %s" % ", ".join(missing))
    return [{
        "public_key": public_keys[peer["host"]],
        "preshared_key": preshared_key.strip(),
        "endpoint": peer["endpoint"],
        "allowed_ips": peer["allowed_ips"],
        "persistent_keepalive": peer["persistent_keepalive"],
    } for peer, preshared_key in zip(peers, preshared_keys)]


class FilterModule:
    """The peers filter."""

    def filters(self):
        return {"wg_mesh_peers": wg_mesh_peers}
