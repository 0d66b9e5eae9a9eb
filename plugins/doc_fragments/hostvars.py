# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The options of the filters that read the inventory of the whole mesh: C(hostvars) and the mesh's hosts; a
    filter may describe O(hosts) its own way."""

    DOCUMENTATION = r"""
options:
  _input:
    description: The C(hostvars) of the play.
    type: dict
    required: true
  hosts:
    description:
      - The inventory hostnames of the mesh, usually C(groups['vpc']). Never C(ansible_play_hosts), or a C(--limit)
        run would see a smaller mesh.
    type: list
    elements: str
    required: true
"""

    # For the filters that give each host its own answer.
    HOST = r"""
options:
  host:
    description: The host evaluating the filter (C(inventory_hostname)).
    type: str
    required: true
"""
