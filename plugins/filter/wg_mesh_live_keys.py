# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: wg_mesh_live_keys
short_description: The keys the servers run, per server, from the readings of fakevpc.vpc.wg_keys_info
version_added: 0.3.0
description:
  - Joins what M(fakevpc.vpc.wg_keys_info) read on the hosts of the play (each host's registered result) and on the
    servers outside the play (the results of a loop delegated to each of them) into the O(fakevpc.vpc.wg_keys#module:live)
    and O(fakevpc.vpc.wg_keys#module:live_secrets) options of M(fakevpc.vpc.wg_keys).
  - A server read both ways counts as read outside the play.
options:
  _input:
    description: The hosts of the play (C(ansible_play_hosts)).
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  register:
    description: The name each host of the play registered the result of M(fakevpc.vpc.wg_keys_info) as.
    type: str
    required: true
  outside:
    description: The C(results) of the loop that read the servers outside the play, each with its C(item) (the server).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Keep the mesh keys on the controller
  fakevpc.vpc.wg_keys:
    path: "{{ key_dir }}"
    hosts: "{{ groups['vpc'] }}"
    live: "{{ readings.live }}"
    live_secrets: "{{ readings.secrets }}"
    adopt: true
  vars:
    readings: "{{ ansible_play_hosts | fakevpc.vpc.wg_mesh_live_keys(hostvars, 'live_keys', outside_keys.results | default([])) }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
_value:
  description:
    - C(live), the RV(fakevpc.vpc.wg_keys_info#module:live) of every server read, and C(secrets), its
      RV(fakevpc.vpc.wg_keys_info#module:secrets) (empty where the secrets were not read), by inventory hostname.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_keys import live_keys


def wg_mesh_live_keys(play_hosts, hostvars, register, outside=()):
    readings = []
    for host in play_hosts:
        if register not in hostvars[host]:
            raise AnsibleFilterError("wg_mesh_live_keys: %s has no %s (the result of wg_keys_info)" % (host, register))
        readings.append((host, hostvars[host][register]))
    readings += [(result["item"], result) for result in outside]
    try:
        return live_keys(readings)
    except ValueError as error:
        raise AnsibleFilterError("wg_mesh_live_keys: %s" % error)


class FilterModule:
    """The filter of the live keys of the mesh."""

    def filters(self):
        return {"wg_mesh_live_keys": wg_mesh_live_keys}
