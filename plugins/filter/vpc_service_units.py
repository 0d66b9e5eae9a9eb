# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: vpc_service_units
short_description: The systemd units of one server's VPC-only services, quoted by systemd's rules
version_added: 0.2.0
description:
  - Renders the units of a server's view of P(fakevpc.vpc.vpc_service_plan#filter) - one per app, one per socat
    forward, and the iptables mode's unit - in Python, so that every string written into a unit is quoted by
    systemd's own rules (command lines word by word, C(%) as C(%%), C($) as C($$)) or refused (control
    characters, an executable starting with a systemd prefix such as C(+)).
  - The iptables mode's unit runs a script rendered with it, which loads the C(FAKEVPC-SVC) chain with the rules
    tagged as M(fakevpc.vpc.netns_iptables) tags them (one C(iptables-restore --noflush)), jumps to it from
    C(PREROUTING) (mesh interfaces only) and C(OUTPUT) (C(lo)), and sets C(route_localnet) on the mesh interfaces;
    its stop removes all of that again.
options:
  _input:
    description: A server's view, an item of the C(servers) of P(fakevpc.vpc.vpc_service_plan#filter).
    type: dict
    required: true
  interfaces:
    description: The names of the server's WireGuard interfaces (the iptables unit starts after their C(wg-quick@) units).
    type: list
    elements: str
    required: true
  iface_prefix:
    description: The prefix of the mesh interfaces (C(wg_mesh_iface_prefix)), checked as the mesh checks it.
    type: str
    default: wgvpc
"""

EXAMPLES = r"""
- name: Render the units of this server
  ansible.builtin.set_fact:
    units: "{{ view | fakevpc.vpc.vpc_service_units(['wgvpc0', 'wgvpc1'], iface_prefix='wgvpc') }}"
"""

RETURN = r"""
_value:
  description:
    - "C(units): the units as O(fakevpc.vpc.systemd_units#module:units) takes them: the apps', the socat
      forwards', then C(fakevpc-vpc-services.service) with its script when a service of this server uses the
      iptables mode (it reloads when its script changes); C(remove_files): the script's path when none does
      (for O(fakevpc.vpc.systemd_units#module:remove_files))."
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._systemd import UnitError
from ansible_collections.fakevpc.vpc.plugins.module_utils._vpc_services import server_units


def vpc_service_units(view, interfaces, iface_prefix="wgvpc"):
    """Return the units of one server's services."""
    try:
        return server_units(view, interfaces, iface_prefix)
    except UnitError as error:
        raise AnsibleFilterError("vpc_service_units: a unit cannot be written: %s" % error)


class FilterModule:
    """The units of the VPC-only services."""

    def filters(self):
        return {"vpc_service_units": vpc_service_units}
