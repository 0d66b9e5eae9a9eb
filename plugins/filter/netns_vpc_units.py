# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: netns_vpc_units
short_description: The systemd units of a host's namespace VPCs (apps and boot unit), quoted by systemd's rules
version_added: 0.2.0
description:
  - Renders, in Python, the unit of every app of a P(fakevpc.vpc.netns_vpc_plan#filter) plan and the boot unit.
    Every string is quoted by systemd's own rules (command lines word by word, C(%) as C(%%), C($) as C($$)) or
    refused (control characters, an executable starting with a systemd prefix such as C(+), a C(user) that is
    not a POSIX user name).
options:
  _input:
    description: The plan, the result of P(fakevpc.vpc.netns_vpc_plan#filter).
    type: dict
    required: true
  persist:
    description: Whether the boot unit exists (the apps then require it).
    type: bool
    required: true
  unit_prefix:
    description: The prefix of the units (C(netns_vpc_unit_prefix)); the boot unit is C(<prefix>.service).
    type: str
    required: true
  boot_script:
    description: The absolute path of the boot script (C(netns_vpc_boot_script)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Render the units
  ansible.builtin.set_fact:
    units: "{{ plan | fakevpc.vpc.netns_vpc_units(true, 'netns-vpc', '/usr/local/sbin/netns-vpc-up') }}"
"""

RETURN = r"""
_value:
  description:
    - "C(units): the units as O(fakevpc.vpc.systemd_units#module:units) takes them - the boot unit
      C(<unit_prefix>.service) with the boot script as its file (mode C(0755)) when O(persist) and the plan has VPCs,
      then one unit per app."
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_units import host_units
from ansible_collections.fakevpc.vpc.plugins.module_utils._systemd import UnitError


def netns_vpc_units(plan, persist, unit_prefix, boot_script):
    """Return the units of the host's VPCs."""
    try:
        return host_units(plan, persist, unit_prefix, boot_script)
    except UnitError as error:
        raise AnsibleFilterError("netns_vpc_units: a unit cannot be written: %s" % error)


class FilterModule:
    """The units of the namespace VPCs."""

    def filters(self):
        return {"netns_vpc_units": netns_vpc_units}
