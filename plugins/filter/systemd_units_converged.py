# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_units_converged
short_description: Whether a systemd_units call would change nothing on a host read before
version_added: 0.3.0
description:
  - Compares the options of a P(fakevpc.vpc.systemd_units#module) call with what
    P(fakevpc.vpc.host_networks#module) read of the host (its RV(fakevpc.vpc.host_networks#module:live.units)), by the
    module's own comparison - every file with its content, mode and owner (the user the read ran as), no unit file
    left to prune, no file left to remove, and, with O(systemctl), every unit enabled and running.
  - False whenever the read did not see all the call would look at (another directory, a unit its patterns do not
    match, a prune pattern it was not given, a file it did not read), or when there was no read.
options:
  _input:
    description: The units, as O(fakevpc.vpc.systemd_units#module:units) takes them.
    type: list
    elements: dict
    required: true
  live:
    description: RV(fakevpc.vpc.host_networks#module:live.units), or null (no read).
    type: dict
    required: true
  unit_dir:
    description: As O(fakevpc.vpc.systemd_units#module:unit_dir).
    type: str
    default: /etc/systemd/system
  prune_patterns:
    description: As O(fakevpc.vpc.systemd_units#module:prune_patterns).
    type: list
    elements: str
    default: []
  remove_files:
    description: As O(fakevpc.vpc.systemd_units#module:remove_files).
    type: list
    elements: str
    default: []
  systemctl:
    description: As O(fakevpc.vpc.systemd_units#module:systemctl).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Read the host, with the unit files of the app
  fakevpc.vpc.host_networks:
    registry: /var/lib/myapp/registry.json
    unit_dir: /etc/systemd/system
    unit_patterns: [myapp-*.service]
  register: host

- name: Write and start the app's units, unless the read proves it would change nothing
  fakevpc.vpc.systemd_units:
    units: "{{ units }}"
    prune_patterns: [myapp-*.service]
  when: not units | fakevpc.vpc.systemd_units_converged(host.live.units, prune_patterns=['myapp-*.service'])
"""

RETURN = r"""
_value:
  description: True when the call would change nothing.
  type: bool
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.fakevpc.vpc.plugins.module_utils._unit_files import UnitFilesError, converged


def systemd_units_converged(units, live, unit_dir="/etc/systemd/system", prune_patterns=(), remove_files=(), systemctl=True):
    """Return whether systemd_units would change nothing on the host read as live."""
    try:
        return converged(live, units, unit_dir, prune_patterns, remove_files, boolean(systemctl))
    except UnitFilesError as error:
        raise AnsibleFilterError("systemd_units_converged: %s" % error)


class FilterModule:
    """Whether a systemd_units call is needed."""

    def filters(self):
        return {"systemd_units_converged": systemd_units_converged}
