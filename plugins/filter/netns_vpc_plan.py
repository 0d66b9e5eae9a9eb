# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: netns_vpc_plan
short_description: Validate a list of VPCs and plan their namespaces, links, firewall and apps on one host
version_added: 0.1.0
description:
  - Checks the whole declarative list of VPCs first and fails, naming the VPC, on overlapping CIDRs, a subnet
    outside its VPC, a CIDR over the host's own networks (with O(host_networks)) or over 0.0.0.0/8, loopback,
    link-local, multicast or reserved addresses, control characters in any string, a command or user that
    cannot go into a systemd unit, an unknown or absent peering target, a malformed policy or rule, a port forward or an
    app in a missing subnet, a host port forwarded twice (also once on any address and once on
    one address), unknown keys, and interface names that would collide.
  - Then returns everything the C(fakevpc.vpc.netns_vpc) role applies - namespaces, bridges with gateway
    addresses, veth pairs, addresses and routes of each subnet, the host's chains and each subnet's policy
    chain, app units - the resources to remove (listed as absent or only in O(previous)), the boot script
    and the expected connectivity matrix (the probes of the check playbook).
  - Interface names longer than 15 characters are shortened with a hash of the full name.
options:
  _input:
    description:
      - The VPCs. Each has C(name), C(cidr), optional C(state) (V(present) or V(absent)), C(subnets) (C(name),
        C(cidr), C(type) V(public) or V(private), optional C(gateway) and C(address)), C(peerings) (VPC names),
        C(policies) (C(subnet) by name or CIDR, C(ingress) and C(egress) rules with C(port), C(protocol),
        C(source) or C(destination), C(action) V(allow), V(deny) or V(drop); C(ingress_default) and
        C(egress_default)), C(port_forwards) (C(host_port), C(subnet), C(port), C(protocol), C(host_ip)) and
        C(apps) (C(name), C(subnet), C(command), C(port), C(user)).
    type: list
    elements: dict
    required: true
  previous:
    description: The registry the role wrote on the host last time (what exists there), or an empty dict.
    type: dict
    default: {}
  state:
    description: V(absent) removes every VPC, listed or registered.
    type: str
    default: present
  uplink:
    description: The host's interface to the outside, for the NAT of public subnets.
    type: str
    default: ""
  host_networks:
    description:
      - The host's own addresses and routes as the P(fakevpc.vpc.host_networks#module) module read them before
        any change (its C(addresses) and C(routes)). A present VPC whose CIDR overlaps one of them (except the
        default route and the role's own links) is refused, naming the VPC, the host, the interface and the route.
      - Its C(live) (read with O(previous) as its C(registry)) decides RV(_value.calls).
    type: dict
  manage_forwarding:
    description: Whether the role turns IPv4 forwarding on for the VPCs (it then takes part in RV(_value.calls)).
    type: bool
    default: true
    version_added: 0.3.0
  host:
    description: The host's inventory name, for the messages.
    type: str
    default: this host
  backend:
    description: The iptables the boot script and the chains' call run (V(auto), V(nft) or V(legacy)).
    type: str
    default: auto
  bridge_prefix:
    description: Prefix of the bridge names.
    type: str
    default: br-
  veth_prefix:
    description: Prefix of the host ends of the veth pairs.
    type: str
    default: v-
  namespace_prefix:
    description: Prefix of the namespace names, C(<prefix><vpc>-<subnet>).
    type: str
    default: ns-
  chain_prefix:
    description: Prefix of the iptables chains.
    type: str
    default: NVPC
  unit_prefix:
    description: Prefix of the systemd units.
    type: str
    default: netns-vpc
  subnet_interface:
    description: Name of the veth end inside each subnet's namespace.
    type: str
    default: eth0
  fleet:
    description:
      - This host's part of the fleet plan, C(hosts[inventory_hostname]) of P(fakevpc.vpc.netns_vpc_fleet#filter).
        Its C(vpcs) replace O(_input). Without it, a VPC whose subnets name a C(server) is refused.
      - Its remote subnets are routed through the mesh and opened, by exact prefixes, in the host's firewall; the
        namespaces of its VPCs get hosts files with their apps' names.
    type: dict
    version_added: 0.3.0
  mesh:
    description: This server's view of the mesh plan (P(fakevpc.vpc.wg_mesh_plan#filter)'s C(servers[inventory_hostname])),
      whose interfaces carry the fleet's remote subnets.
    type: dict
    version_added: 0.3.0
"""

EXAMPLES = r"""
- name: Plan the VPCs of this host
  ansible.builtin.set_fact:
    netns_vpc__plan: >-
      {{ netns_vpc_vpcs | fakevpc.vpc.netns_vpc_plan(previous=netns_vpc__registry, uplink='eth0') }}

# With [{name: demo, cidr: 10.0.0.0/16, subnets: [{name: web, cidr: 10.0.1.0/24, type: public}]}]:
# bridges == [{vpc: demo, name: br-demo, addresses: [10.0.1.1/24]}]
# subnet_links[0] == {name: eth0, namespace: ns-demo-web, addresses: [10.0.1.2/24],
#                     routes: [{dst: default, via: 10.0.1.1}], ...}
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    vpcs:
      description: The normalised VPCs that are to be present.
      type: list
    namespaces:
      description: The namespaces to be present.
      type: list
    bridges:
      description: Per VPC, C(name) and C(addresses) of its bridge.
      type: list
    veths:
      description: Host ends of the veth pairs, with C(master) and C(peer) (C(name), C(namespace)).
      type: list
    subnet_links:
      description: The namespace end of each subnet, with C(addresses) and C(routes).
      type: list
    host_chains:
      description: The host's chains (C(table), C(chain), C(jump_from), C(rules), C(state)).
      type: list
    namespace_chains:
      description: The policy chains inside the namespaces (as C(host_chains), plus C(namespace)).
      type: list
    apps:
      description: Apps with their C(unit) and C(namespace).
      type: list
    remove:
      description: C(namespaces), C(links) (on the host) and C(units) to remove.
      type: dict
    resources:
      description: What exists once the plan is applied, for the registry.
      type: dict
    resources_during_change:
      description: What may exist while the plan is applied (registry written before any change).
      type: dict
    record_after:
      description: Whether the registry is written again after the change (the run builds or removes something),
        or the host's settings put back (no VPC is left of those the registry knew).
      type: bool
      version_added: 0.3.0
    calls:
      description:
        - Which module calls the role makes, each V(false) when what O(host_networks) read proves it would change
          nothing - C(host_settings) (P(fakevpc.vpc.netns_host_settings#module) before the change, recording the
          registry and turning forwarding on), C(namespaces) (P(fakevpc.vpc.netns#module), creating them),
          C(chains) (P(fakevpc.vpc.netns_iptables#module)) and C(links) (P(fakevpc.vpc.netns_link#module)).
        - C(chains) and C(links) are V(false) only when the registry records the call with this run's options
          (RV(_value.call_options)) and the read found that call would change nothing (its C(live.current)).
        - Without a read, every one is V(true) (C(namespaces) and C(links) when there are some).
      type: dict
      version_added: 0.3.0
    call_options:
      description:
        - The options of the chains' and the links' calls (C(chains), C(links)), which the role records in the
          registry for the next read to prove current (P(fakevpc.vpc.host_networks#module)'s C(live.current)).
      type: dict
      version_added: 0.3.0
    recorded_calls:
      description:
        - What the registry records of the calls (the O(fakevpc.vpc.netns_host_settings#module:calls) of
          P(fakevpc.vpc.netns_host_settings#module)) - RV(_value.call_options), or with no VPC left, what the registry
          recorded (it is removed after the change).
      type: raw
      version_added: 0.3.0
    boot_script:
      description: The shell script that rebuilds the VPCs at boot; empty when none is present.
      type: str
    remote:
      description: The subnets of VPCs spanning servers that live elsewhere and that this host routes, each with
        C(vpc), C(subnet), C(cidr), C(server), C(for) (the local VPCs that reach it) and C(carrier) (the mesh interface).
      type: list
      version_added: 0.3.0
    hosts_files:
      description: Per namespace of a VPC spanning servers, C(namespace) and the C(content) of its hosts file.
      type: list
      version_added: 0.3.0
    checks:
      description:
        - The connectivity matrix, as probes C(id), C(kind) (C(ping), C(internet), C(tcp), C(forward)), C(from),
          C(namespace) (null for the host), C(to), C(address) (null for the internet, or for a forward to the
          uplink's address), C(port), C(expect), C(why) and C(line), what the probe prints when as expected.
      type: list
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_boot import render_boot_script
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_plan import VpcPlanError, build_vpc_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_rules import IPTABLES_TOOLS


def netns_vpc_plan(vpcs, previous=None, state="present", uplink="", backend="auto", host_networks=None,
                   host="this host", fleet=None, mesh=None, manage_forwarding=True, **settings):
    if backend not in IPTABLES_TOOLS:
        raise AnsibleFilterError("netns_vpc_plan: backend %r is not auto, nft or legacy" % (backend,))
    try:
        plan = build_vpc_plan(vpcs, previous=previous or {}, state=state, uplink=uplink or "",
                              host_networks=host_networks, host=host, fleet=fleet, mesh=mesh,
                              manage_forwarding=manage_forwarding, backend=backend, **settings)
    except VpcPlanError as error:
        raise AnsibleFilterError("netns_vpc: invalid VPCs, nothing was changed:\n%s" % error)
    plan["boot_script"] = render_boot_script(plan, backend)
    return plan


class FilterModule:
    def filters(self):
        return {"netns_vpc_plan": netns_vpc_plan}
