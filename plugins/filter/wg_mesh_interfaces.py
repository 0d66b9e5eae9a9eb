# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: wg_mesh_interfaces
short_description: Turn a server's interfaces of a mesh plan into the interfaces option of fakevpc.vpc.wg_interfaces
version_added: 0.1.0
description:
  - Joins the interfaces of one server of P(fakevpc.vpc.wg_mesh_plan#filter) with its private key, the public
    keys returned by M(fakevpc.vpc.wg_keys) and the pair's preshared keys, into the
    O(fakevpc.vpc.wg_interfaces#module:interfaces) option of M(fakevpc.vpc.wg_interfaces).
  - Each peer of an interface gets its public key and the pair's preshared key; its C(endpoint), C(allowed_ips) and
    C(persistent_keepalive) are the plan's.
options:
  _input:
    description: The C(interfaces) of one server of the plan.
    type: list
    elements: dict
    required: true
  private_key:
    description: The server's private key (every interface of a server has the same).
    type: str
    required: true
  public_keys:
    description: The C(public_keys) returned by M(fakevpc.vpc.wg_keys).
    type: dict
    required: true
  preshared_keys:
    description: The preshared key of the server with each other server, by inventory host name.
    type: dict
    required: true
  mtu:
    description: The MTU of every interface; 0 keeps each interface's live MTU.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Configure every interface of the plan on this server
  fakevpc.vpc.wg_interfaces:
    interfaces: >-
      {{ plan.servers[inventory_hostname].interfaces
         | fakevpc.vpc.wg_mesh_interfaces(lookup('ansible.builtin.file', keys.private_key_files[inventory_hostname]),
                                          keys.public_keys, preshared_keys) }}
  vars:
    psk_files: "{{ keys.preshared_key_files[inventory_hostname] }}"
    preshared_keys: "{{ dict(psk_files | zip(query('ansible.builtin.file', *psk_files.values()))) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: One dict per interface with C(name), C(private_key), C(listen_port), C(addresses), C(mtu), C(routes),
    C(forwarding) and C(peers).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError


def wg_mesh_interfaces(interfaces, private_key, public_keys, preshared_keys, mtu=0):
    """Return wg_interfaces interfaces for one server's interfaces of the plan."""
    result = []
    for interface in interfaces:
        hosts = [peer["host"] for peer in interface["peers"]]
        for keys, what in ((preshared_keys, "preshared key"), (public_keys, "public key")):
            missing = [host for host in hosts if host not in keys]
            if missing:
                raise AnsibleFilterError("wg_mesh_interfaces: %s: no %s for %s" % (interface["name"], what, ", ".join(missing)))
        result.append({
            "name": interface["name"],
            "private_key": private_key.strip(),
            "listen_port": interface.get("listen_port") or None,
            "addresses": [interface["address"]] + interface["extra_addresses"],
            "mtu": mtu or None,
            "routes": interface["routes"],
            "forwarding": interface["forwarding"],
            "peers": [{
                "public_key": public_keys[peer["host"]],
                "preshared_key": preshared_keys[peer["host"]].strip(),
                "endpoint": peer["endpoint"],
                "allowed_ips": peer["allowed_ips"],
                "persistent_keepalive": peer["persistent_keepalive"],
            } for peer in interface["peers"]],
        })
    return result


class FilterModule:
    """The interfaces filter."""

    def filters(self):
        return {"wg_mesh_interfaces": wg_mesh_interfaces}
