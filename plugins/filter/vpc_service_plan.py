# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: vpc_service_plan
short_description: Validate VPC-only services and list the forwards each server needs
version_added: 0.1.0
description:
  - A VPC-only service listens on C(127.0.0.1) of the servers that run it. Each of them forwards the
    service's port from every one of its mesh addresses to C(127.0.0.1), by C(socat) (one systemd unit per
    address) or by iptables DNAT (rules in the C(FAKEVPC-SVC) chain of the nat table).
  - Fails naming the service on a bad name, port, protocol, mode or state, an unknown server, two services on
    the same port of a server, or a UDP service on a server's WireGuard port.
options:
  _input:
    description: The services, each with C(name), C(port), C(servers) (inventory hostnames), and optional
      C(protocol) (V(tcp) or V(udp)), C(mode) (V(socat) or V(iptables)), C(state) (V(present) or V(absent))
      and C(command) (a program to run as the service, bound to C(127.0.0.1)).
    type: list
    elements: dict
    required: true
  mesh_plan:
    description: The result of P(fakevpc.vpc.wg_mesh_plan#filter).
    type: dict
    required: true
  default_mode:
    description: The mode of services that do not set one.
    type: str
    default: socat
    choices: [socat, iptables]
"""

EXAMPLES = r"""
- name: Plan the services
  ansible.builtin.set_fact:
    services_plan: "{{ services | fakevpc.vpc.vpc_service_plan(mesh_plan) }}"
  vars:
    services:
      - name: myecho
        port: 8888
        servers: [server2]
        command: socat TCP-LISTEN:8888,bind=127.0.0.1,reuseaddr,fork EXEC:cat
    mesh_plan: "{{ hostvars | fakevpc.vpc.wg_mesh_plan(groups['vpc']) }}"
"""

RETURN = r"""
_value:
  description:
    - "A dict C({'servers': {inventory_hostname: view}}); a view holds C(socat_units) (each with C(name), C(address),
      C(protocol), C(port), C(service)), C(iptables_rules) (rules of the C(FAKEVPC-SVC) chain), C(apps) (C(name),
      C(unit), C(command), C(port)) and C(services), the names of the services it runs."
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._vpc_services import ServicePlanError, build_service_plan


def vpc_service_plan(services, mesh_plan, default_mode="socat"):
    """Return the validated forwards of every server."""
    try:
        return build_service_plan(services, mesh_plan, default_mode=default_mode)
    except ServicePlanError as error:
        raise AnsibleFilterError("vpc_service_plan: variable vpc_service_services: %s" % error)


class FilterModule:
    """The VPC-only services filter."""

    def filters(self):
        return {"vpc_service_plan": vpc_service_plan}
