#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netns_link
short_description: Manage network links (bridges, veth pairs, dummies) on the host or in network namespaces
version_added: 0.1.0
description:
  - Reads the live link (C(ip -j -d address), C(ip -j route)), compares it with the wanted one and changes only
    what differs - its existence, master bridge, MTU, addresses, up/down state, IPv4 routes through it and its
    C(rp_filter) setting. A call reads the links and the routes of each namespace once (again after a change).
  - A veth pair is created from one end, with the other end (O(peer)) put straight into its namespace; a task
    for the other end then manages that end's addresses and routes (without O(peer)).
  - With O(namespace), the link is looked for, and changed, inside that named network namespace (C(ip -n)).
  - Options left unset are not managed. O(addresses) and O(routes), when set, are the complete lists.
  - With O(links), a host's whole set of links in one call, in order (a bridge before its ports, a veth pair before
    its ends' addresses).
requirements:
  - C(ip) (iproute2) on the target; C(sysctl) with O(rp_filter).
options:
  name:
    description:
      - The interface name, 1 to 15 letters, digits, C(.), C(_) or C(-) (not C(.) or C(..)).
      - One of O(name) and O(links) is required.
    type: str
  links:
    description:
      - Several links in one call, in order, each a mapping of the options of one link (O(name), O(namespace),
        O(state), O(kind), O(peer), O(master), O(up), O(mtu), O(addresses), O(routes), O(rp_filter)), with the
        same defaults. The other options of the task are then not given.
    type: list
    elements: dict
    version_added: 0.3.0
  state:
    description: V(absent) deletes the link (a veth pair goes as a whole).
    type: str
    choices: [present, absent]
    default: present
  kind:
    description:
      - The kind of link. Needed to create it; an existing link of another kind is an error.
      - A V(veth) end without O(peer) is never created by this module (it is created with its pair from the end
        that has O(peer)); in check mode it is then reported as to be created.
    type: str
    choices: [bridge, veth, dummy]
  peer:
    description: The other end of a new veth pair. Only used to create the pair.
    type: dict
    suboptions:
      name:
        description: Name of the other end.
        type: str
        required: true
      namespace:
        description: Named network namespace the other end is put in; the same as O(namespace) when omitted.
        type: str
  master:
    description: The bridge this link is a port of. Unset leaves the master alone; an empty string removes it.
    type: str
  up:
    description: Whether the link should be up.
    type: bool
    default: true
  mtu:
    description: The MTU. Unset leaves it alone.
    type: int
  addresses:
    description:
      - Every address of the link with its prefix (C(10.0.1.1/24)); others are removed. Link-local IPv6
        addresses are left alone. Unset leaves the addresses alone.
    type: list
    elements: str
  routes:
    description:
      - Every IPv4 route through this link except the kernel's connected routes; others are removed.
        Unset leaves the routes alone.
    type: list
    elements: dict
    suboptions:
      dst:
        description: Destination network, or V(default).
        type: str
        required: true
      via:
        description: Gateway address; omitted for a route straight onto the link.
        type: str
      metric:
        description: Route metric.
        type: int
        default: 0
  rp_filter:
    description:
      - The link's C(net.ipv4.conf.<name>.rp_filter) (0 off, 1 strict, 2 loose). The kernel uses the larger of
        this and C(net.ipv4.conf.all.rp_filter). Unset leaves it alone. The setting goes with the link.
    type: int
    choices: [0, 1, 2]
extends_documentation_fragment:
  - fakevpc.vpc.attributes
  - fakevpc.vpc.namespace
attributes:
  diff_mode:
    details: The managed properties of the link, before and after.
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Make the VPC bridge with the gateway addresses of its subnets
  fakevpc.vpc.netns_link:
    name: br-my-vpc
    kind: bridge
    addresses: [10.0.1.1/24, 10.0.2.1/24]
    rp_filter: 1

- name: Wire the subnet's namespace to the bridge with a veth pair
  fakevpc.vpc.netns_link:
    name: v-my-vpc-public
    kind: veth
    peer:
      name: eth0
      namespace: ns-my-vpc-public
    master: br-my-vpc

- name: The same three links in one call
  fakevpc.vpc.netns_link:
    links:
      - {name: br-my-vpc, kind: bridge, addresses: [10.0.1.1/24], rp_filter: 1}
      - {name: v-my-vpc-public, kind: veth, peer: {name: eth0, namespace: ns-my-vpc-public}, master: br-my-vpc}
      - {name: eth0, namespace: ns-my-vpc-public, kind: veth, addresses: [10.0.1.2/24], routes: [{dst: default, via: 10.0.1.1}]}

- name: Address the namespace's end and route through the gateway
  fakevpc.vpc.netns_link:
    name: eth0
    namespace: ns-my-vpc-public
    kind: veth
    addresses: [10.0.1.2/24]
    routes:
      - dst: default
        via: 10.0.1.1
"""

RETURN = r"""
existed:
  description: Whether the link existed before the module ran.
  returned: with O(name)
  type: bool
kind:
  description: The kind of the link (C(bridge), C(veth), C(dummy)...), null when it is absent.
  returned: with O(name)
  type: str
  sample: veth
links:
  description: With O(links), the result of each link in order (RV(existed), RV(kind), RV(commands)).
  returned: with O(links)
  type: list
  elements: dict
  version_added: 0.3.0
commands:
  description: The commands that changed (or in check mode would change) something, in order.
  returned: always
  type: list
  elements: str
  sample: ["ip link add v-my-vpc-public type veth peer name eth0 netns ns-my-vpc-public"]
"""

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_link import main

if __name__ == "__main__":
    main()
