# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: wg_mesh_rotation
short_description: The servers whose keys a rotation request (wg_mesh_rotate) names, the same for every host
version_added: 0.3.0
description:
  - Reads C(wg_mesh_rotate) of every host of the mesh group (O(request) for O(host), C(hostvars) for the others) and
    returns the sorted servers it names, once every host agrees.
  - A request is a server's inventory hostname, several separated by commas, a list of them, or C(all) (every server
    of the mesh); none (empty, or not set) is an empty list.
  - Fails naming the variable and the value for a name that is not a server of the mesh (an external peer, a server
    leaving it, an unknown or misspelt host), and naming two hosts when they ask for different rotations.
extends_documentation_fragment:
  - fakevpc.vpc.hostvars
  - fakevpc.vpc.hostvars.host
options:
  request:
    description: The value of C(wg_mesh_rotate) for O(host).
    type: raw
    required: true
  servers:
    description: The servers of the mesh, the keys of C(servers) in P(fakevpc.vpc.wg_mesh_plan#filter).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Decide the servers whose keys rotate
  ansible.builtin.set_fact:
    wg_mesh__rotate: >-
      {{ hostvars | fakevpc.vpc.wg_mesh_rotation(groups['vpc'], inventory_hostname, wg_mesh_rotate,
                                                 wg_mesh__plan.servers | list) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The servers to rotate, sorted; empty for none.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._key_rotation import RotationError, rotation_request, same_request


def wg_mesh_rotation(hostvars, hosts, host, request, servers):
    requests = {}
    for name in sorted(hosts, key=lambda name: name != host):  # this host's own value first
        try:
            requests[name] = rotation_request(request if name == host else hostvars[name].get("wg_mesh_rotate"), servers)
        except RotationError as error:
            raise AnsibleFilterError("host %r: %s" % (name, error))
    try:
        return same_request(requests)
    except RotationError as error:
        raise AnsibleFilterError(str(error))


class FilterModule:
    """The rotation request filter."""

    def filters(self):
        return {"wg_mesh_rotation": wg_mesh_rotation}
