# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: netns_vpc_calls
short_description: The module calls that build or remove a host's namespace VPCs, in order, for one batch
version_added: 0.3.0
description:
  - From a P(fakevpc.vpc.netns_vpc_plan#filter) plan, its units (P(fakevpc.vpc.netns_vpc_units#filter)) and the read
    before them (P(fakevpc.vpc.host_networks#module)), the calls of the C(fakevpc.vpc.netns_vpc) role as
    O(fakevpc.vpc.batch#module:calls) takes them, in order - remember the host's settings and record what the run may
    build (P(fakevpc.vpc.netns_host_settings#module)), stop the apps that go (P(fakevpc.vpc.systemd_units#module)),
    remove and make the namespaces (P(fakevpc.vpc.netns#module)), keep the chains
    (P(fakevpc.vpc.netns_iptables#module)), the links (P(fakevpc.vpc.netns_link#module)), record what was built or put
    the host's settings back, then write and run the boot unit and the apps' units.
  - A call the read proves unneeded is left out (the plan's C(calls); the units by
    P(fakevpc.vpc.systemd_units#module)'s own comparison) - a rerun that would change nothing gets no call.
options:
  _input:
    description: The plan, the result of P(fakevpc.vpc.netns_vpc_plan#filter).
    type: dict
    required: true
  units:
    description: The units, the C(units) of P(fakevpc.vpc.netns_vpc_units#filter).
    type: list
    elements: dict
    required: true
  host_networks:
    description: The result of the P(fakevpc.vpc.host_networks#module) read before the plan, with the registry and the units.
    type: dict
    required: true
  registry:
    description: The registry file (C(<netns_vpc_state_dir>/registry.json)).
    type: str
    required: true
  etc_dir:
    description: The namespaces' own files (C(netns_vpc_netns_etc_dir)).
    type: str
    required: true
  kill_processes:
    description: Whether a namespace that goes may have its processes killed (C(netns_vpc_kill_strays)).
    type: bool
    required: true
  unit_dir:
    description: The directory of the unit files (C(netns_vpc_unit_dir)).
    type: str
    required: true
  unit_prefix:
    description: The prefix of the units (C(netns_vpc_unit_prefix)).
    type: str
    required: true
  boot_script:
    description: The boot script (C(netns_vpc_boot_script)), removed when nothing is to persist.
    type: str
    required: true
  persist:
    description: Whether the VPCs are kept across reboots (C(netns_vpc_persist)).
    type: bool
    required: true
  systemctl:
    description: Whether systemd runs the host (O(fakevpc.vpc.systemd_units#module:systemctl)).
    type: bool
    required: true
  manage_forwarding:
    description: Whether the role changes IPv4 forwarding (C(netns_vpc_manage_forwarding)).
    type: bool
    required: true
"""

EXAMPLES = r"""
- name: Build the VPCs, or remove them, and keep them across reboots
  fakevpc.vpc.batch:
    calls: >-
      {{ plan | fakevpc.vpc.netns_vpc_calls(units.units, host, registry='/var/lib/netns_vpc/registry.json',
           etc_dir='/etc/netns', kill_processes=false, unit_dir='/etc/systemd/system', unit_prefix='netns-vpc',
           boot_script='/usr/local/sbin/netns-vpc-up', persist=true, systemctl=true, manage_forwarding=true) }}
"""

RETURN = r"""
_value:
  description: The calls, each a C(module) (a fully qualified name) and its C(options); empty when none is needed.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_batch import role_calls
from ansible_collections.fakevpc.vpc.plugins.module_utils._unit_files import UnitFilesError


def netns_vpc_calls(plan, units, host_networks, registry, etc_dir, kill_processes, unit_dir, unit_prefix, boot_script,
                    persist, systemctl, manage_forwarding):
    """Return the role's calls for the host."""
    try:
        return role_calls(plan, units, host_networks, registry, etc_dir, boolean(kill_processes), unit_dir, unit_prefix,
                          boot_script, boolean(persist), boolean(systemctl), boolean(manage_forwarding))
    except UnitFilesError as error:
        raise AnsibleFilterError("netns_vpc_calls: %s" % error)


class FilterModule:
    """The calls of the namespace VPCs."""

    def filters(self):
        return {"netns_vpc_calls": netns_vpc_calls}
