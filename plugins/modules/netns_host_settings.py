#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netns_host_settings
short_description: Remember the host settings the namespace VPCs change, keep their registry, and put the settings back
version_added: 0.3.0
description:
  - The settings of the host that building VPCs of network namespaces changes are remembered once, before the first
    change, in a registry file (JSON) - IPv4 forwarding (C(net.ipv4.ip_forward)), whether C(/run/netns) is a mount
    point (C(ip netns add) bind-mounts it on itself, and the mount outlives the namespaces), and the iptables tables
    that exist (C(iptables-save)). Later runs keep what the first one remembered.
  - The registry also holds O(resources), what the role has built or is about to build, so that a run that fails
    half-way still knows what to remove next time.
  - With O(state=absent) the remembered settings are put back (forwarding as it was; C(/run/netns) unmounted when it
    was no mount point before and no namespace is left in it) and the registry is deleted, with its directory when
    nothing else is in it.
  - It reads first and compares; nothing is reported as changed unless something was, or in check mode would be, done.
requirements:
  - C(sysctl), C(findmnt) and C(iptables-save) (of O(backend)) on the target; C(umount) with O(state=absent).
options:
  path:
    description: The registry file. Its directory is created (mode C(0755)) when the registry is first written.
    type: path
    required: true
  state:
    description:
      - V(recorded) remembers the settings (unless the registry already does) and writes the registry with
        O(resources); nothing else changes. Run it before any change. Nothing is written when O(resources) is empty
        and there is no registry yet (nothing was built, nothing will be).
      - V(present) does the same, then turns IPv4 forwarding on when O(forwarding) is set.
      - V(absent) puts back what the registry remembered and deletes the registry; without a registry, nothing.
    type: str
    choices: [recorded, present, absent]
    default: present
  resources:
    description: What to record as built (the role's namespaces, links, units and chains, by kind); none when unset.
    type: dict
  calls:
    description:
      - The options of the calls to record along (the C(fakevpc.vpc.netns_vpc) role's chains and links, as its plan's
        C(recorded_calls)), for P(fakevpc.vpc.host_networks#module) to prove them current on the next run; none
        when unset.
    type: dict
  forwarding:
    description: With O(state=present), turn IPv4 forwarding on (the VPCs route between their bridges and the uplink).
    type: bool
    default: false
  manage_forwarding:
    description: Whether to change IPv4 forwarding at all (on with O(forwarding), back with O(state=absent)).
    type: bool
    default: true
  backend:
    description: Which iptables-save lists the tables - C(iptables-save) (V(auto)), C(iptables-nft-save) or C(iptables-legacy-save).
    type: str
    choices: [auto, nft, legacy]
    default: auto
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  diff_mode:
    details: The registry and the host's settings, before and after.
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Remember the host's settings and what this run may build, before any change
  fakevpc.vpc.netns_host_settings:
    path: /var/lib/netns_vpc/registry.json
    state: recorded
    resources: {namespaces: [ns-my-vpc-public], links: [br-my-vpc, v-my-vpc-public], units: [], chains: []}
  register: settings

- name: Put the host's settings back once no VPC is left
  fakevpc.vpc.netns_host_settings:
    path: /var/lib/netns_vpc/registry.json
    state: absent
"""

RETURN = r"""
before:
  description: The settings the host had before the first run (remembered, or read now when nothing was remembered).
  returned: always
  type: dict
  contains:
    ip_forward:
      description: C(net.ipv4.ip_forward), C(0) or C(1).
      type: str
    netns_mount:
      description: Whether C(/run/netns) was a mount point.
      type: bool
    tables:
      description: The iptables tables that existed.
      type: list
      elements: str
actions:
  description: What the module did (or in check mode would do), in order, in words.
  returned: always
  type: list
  elements: str
  sample: ["remember the host's settings", "write the registry", "turn IPv4 forwarding on"]
commands:
  description: The commands that changed (or in check mode would change) something, in order.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_settings import main

if __name__ == "__main__":
    main()
