# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: netns_vpc_fleet
short_description: Place the VPCs that span the servers of the mesh, and validate them across the fleet
version_added: 0.3.0
description:
  - Reads C(netns_vpc_vpcs) of every host of the group. A VPC in which a subnet names a C(server) (an inventory
    hostname of the mesh) spans servers; it is declared once, for the group, and each of its subnets lives on
    its server (a subnet with no server lives on the host whose variables declare it). Other VPCs are each host's
    own, as with the single-host form.
  - Fails, naming the VPC, the subnet, the host and the variable, on a VPC spanning servers declared differently
    by two hosts, a subnet on a server that is not in the mesh, overlapping VPCs (also with any host's own VPCs),
    a VPC over the mesh's own C(192.168) ranges, a peering with an unknown or absent VPC or between a VPC spanning
    servers and a host's own one.
  - Two servers of a VPC whose pair a relay carries (neither can be dialled) reach each other's subnets through
    the relay, as their own addresses do.
  - Returns, per host, the VPCs the single-host plan builds there and the remote subnets it routes; the prefixes
    each pair's tunnel carries (for P(fakevpc.vpc.wg_mesh_plan#filter)); the names of the apps; and the fleet's
    subnet x subnet matrix, each row on the server of its source subnet.
extends_documentation_fragment:
  - fakevpc.vpc.hostvars
options:
  iface_ip_offset:
    description: The mesh's C(wg_mesh_iface_ip_offset), for its own C(192.168) ranges.
    type: int
    default: 1
  external_peers:
    description: The mesh's C(wg_mesh_external_peers), whose indices have ranges too.
    type: list
    elements: dict
    default: []
  domain:
    description: The domain of the apps' names, C(<app>.<vpc>.<domain>).
    type: str
    default: vpcdomain
"""

EXAMPLES = r"""
- name: Place the VPCs spanning servers
  ansible.builtin.set_fact:
    netns_vpc__fleet: "{{ hostvars | fakevpc.vpc.netns_vpc_fleet(groups['vpc'], iface_ip_offset=wg_mesh_iface_ip_offset) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: The fleet plan.
  type: dict
  contains:
    vpcs:
      description: The normalised VPCs that span servers.
      type: list
    placement:
      description: The server of each subnet, by C(<vpc>/<subnet>).
      type: dict
    hosts:
      description:
        - Per inventory hostname, C(vpcs) (the list P(fakevpc.vpc.netns_vpc_plan#filter) builds there),
          C(fleet_vpcs) (the names of those that span servers), C(remote) (subnets elsewhere that it routes, with
          C(vpc), C(vpc_cidr), C(subnet), C(cidr), C(server) and C(for), the local VPCs allowed to reach them),
          C(names) (per VPC, pairs of an app's name and address) and C(checks) (the matrix rows from its subnets).
      type: dict
    carried:
      description: Per ordered pair, C(host), C(peer) and the C(prefixes) behind C(peer) that the pair's tunnel
        carries; the O(fakevpc.vpc.wg_mesh_plan#filter:carried_prefixes) of the mesh plan.
      type: list
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_fleet import build_fleet_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_plan import VpcPlanError
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import as_int


def netns_vpc_fleet(hostvars, hosts, iface_ip_offset=1, external_peers=None, domain="vpcdomain"):
    """The fleet plan of the group's hosts, read from hostvars."""
    missing = [host for host in hosts if host not in hostvars]
    if missing:
        raise AnsibleFilterError("netns_vpc_fleet: host %r: not in the inventory" % missing[0])
    members = [host for host in hosts if hostvars[host].get("wg_mesh_state", "present") == "present"]
    indices = dict((host, as_int(hostvars[host].get("wg_mesh_index"))) for host in members)
    for position, peer in enumerate(external_peers or []):
        if isinstance(peer, dict):
            indices["external peer %d" % position] = as_int(peer.get("index"))
    try:
        return build_fleet_plan(
            dict((host, hostvars[host].get("netns_vpc_vpcs")) for host in hosts), list(hosts), members,
            indices=indices, iface_ip_offset=as_int(iface_ip_offset),
            domain=domain)
    except VpcPlanError as error:
        raise AnsibleFilterError("netns_vpc_fleet: invalid VPCs, nothing was changed:\n%s" % error)


class FilterModule:
    """The fleet plan filter."""

    def filters(self):
        return {"netns_vpc_fleet": netns_vpc_fleet}
