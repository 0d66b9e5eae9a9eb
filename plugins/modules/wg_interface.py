#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: wg_interface
short_description: Manage one WireGuard interface without ever interrupting its other peers
version_added: 0.1.0
description:
  - Reads the live interface (C(wg show IFACE dump), C(ip -j address), C(ip -j link)), compares it with the
    wanted one and changes only what differs.
  - A peer is added, updated or removed with C(wg set), so the sessions of the other peers are never
    interrupted; the interface is never restarted to change a peer, a key, a port or an address.
  - A live peer that only gains allowed IPs gets them in place, through kernel WireGuard's netlink or
    C(wireguard-go)'s control socket, so traffic to the addresses it already carried is never dropped
    (C(wg set ... allowed-ips) replaces the whole list, and the peer carries nothing while it is swapped).
  - Uses kernel WireGuard where the kernel has it and C(wireguard-go) where it does not (O(implementation)).
  - "Persistence: with O(persist) it writes a C(wg-quick) file C(<config_dir>/<name>.conf) (mode C(0600)) with the
    private key in its C([Interface]) section (never loaded only through a C(PostUp) hook) and C(Table = off)
    (routes come from the addresses' prefixes, as when applied live), and, where systemd is running, enables
    C(wg-quick@<name>.service) so the interface comes back at boot. The unit is only enabled, not started:
    the live interface is configured directly, and the unit takes over at the next boot."
  - O(state=absent) stops the unit if it is active and deletes the interface (which also ends its C(wireguard-go) process), disables the unit and
    removes the file.
requirements:
  - C(wg) (wireguard-tools) and C(ip) (iproute2) on the target.
  - C(wireguard-go) and C(setsid) (util-linux) on the target when the kernel has no WireGuard.
options:
  name:
    description: The interface name, at most 15 characters.
    type: str
    required: true
  state:
    description: Whether the interface should exist.
    type: str
    choices: [present, absent]
    default: present
  private_key:
    description:
      - The interface's private key (base64, as C(wg genkey) prints). Required with O(state=present).
      - Passed to C(wg) on standard input, never on a command line; never shown in output or diff.
    type: str
  listen_port:
    description: UDP port to listen on, 1 to 65535. When omitted, the live port (random when the interface was created) is kept.
    type: int
  addresses:
    description: Every address of the interface, with its prefix; others are removed.
    type: list
    elements: str
    default: []
  mtu:
    description: The MTU, 1280 to 65535. When omitted (or 0), the live MTU is kept.
    type: int
  routes:
    description:
      - Every route through the interface besides the kernel's own (those of its addresses' prefixes); others
        are removed. Use it for the extra prefixes a peer carries (listed in its C(allowed_ips) too);
        C(wg-quick)'s C(Table = auto) is never used.
      - Persisted as C(PostUp = ip route replace ...) lines of the C(wg-quick) file, after its C(Address) lines.
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
    suboptions:
      to:
        description: The destination network (an address alone is a C(/32)).
        type: str
        required: true
      src:
        description: The source address of the route; give one of this interface's own addresses.
        type: str
  forwarding:
    description:
      - V(true) lets the host forward what arrives on this interface (C(net.ipv4.conf.<name>.forwarding=1), only
        this interface, since IPv4 forwarding is decided by the receiving interface). Persisted as a C(PostUp) line.
      - V(false) or omitted sets it as a new interface gets it, C(net.ipv4.conf.default.forwarding), so that an
            interface that stops forwarding is as if it had never forwarded.
    type: bool
    default: false
    version_added: 0.2.0
  peers:
    description: Every peer of the interface; peers not listed are removed.
    type: list
    elements: dict
    default: []
    suboptions:
      public_key:
        description: The peer's public key.
        type: str
        required: true
      preshared_key:
        description: The pair's preshared key; never shown in output or diff.
        type: str
      endpoint:
        description:
          - Where to reach the peer, C(host:port) or C([IPv6]:port). When omitted, the peer's roaming
            endpoint (learnt from its packets) is left alone.
        type: str
      allowed_ips:
        description: Networks routed to this peer.
        type: list
        elements: str
        default: []
      persistent_keepalive:
        description: Keepalive interval in seconds, at most 65535; 0 or omitted turns it off.
        type: int
  implementation:
    description:
      - How to create a missing interface. V(kernel) uses C(ip link add type wireguard), V(userspace) starts
        C(wireguard-go), V(auto) tries the kernel first and falls back to C(wireguard-go).
      - C(wireguard-go) runs in a session of its own (C(setsid), from util-linux), so that no signal to the
        process group of the Ansible run that started it stops it.
      - A new C(wireguard-go) interface counts as created once its daemon answers on its UAPI socket
        (C(/var/run/wireguard/<name>.sock)). If it does not, the module fails and names the limit that most
        often stops it, C(fs.inotify.max_user_instances), since every C(wireguard-go) takes one inotify instance.
      - An existing interface is never recreated; RV(implementation) tells which one it is.
    type: str
    choices: [auto, kernel, userspace]
    default: auto
  persist:
    description: Write the C(wg-quick) file and enable its unit (see the description) so the interface returns at boot.
    type: bool
    default: true
  config_dir:
    description: Where the C(wg-quick) file lives.
    type: path
    default: /etc/wireguard
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff is the C(wg-quick) form of the interface before and after, with keys replaced by C((hidden)) or C((hidden, changes)).
notes:
  - Interface addresses get their connected routes from the kernel; the module adds only the routes of O(routes).
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Configure the server interface of the mesh
  fakevpc.vpc.wg_interface:
    name: wgvpc0
    private_key: "{{ lookup('ansible.builtin.file', '/srv/keys/server1.key') }}"
    listen_port: 51821
    addresses: [192.168.1.1/24]
    peers:
      - public_key: hxo5Srz2pFi0Z1kyJdVYZ5eaWAq0jvTE0Sv0OgwG2Ac=
        preshared_key: "{{ lookup('ansible.builtin.file', '/srv/keys/server1+server2.psk') }}"
        allowed_ips: [192.168.1.2/32]
  no_log: true

- name: Configure a client interface that dials server 1
  fakevpc.vpc.wg_interface:
    name: wgvpc1
    private_key: "{{ lookup('ansible.builtin.file', '/srv/keys/server2.key') }}"
    addresses: [192.168.1.2/24]
    peers:
      - public_key: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
        endpoint: 203.0.113.1:51821
        allowed_ips: [192.168.1.1/32]
        persistent_keepalive: 25
  no_log: true

- name: Remove an interface and its boot configuration
  fakevpc.vpc.wg_interface:
    name: wgvpc3
    state: absent
"""

RETURN = r"""
implementation:
  description: C(kernel) or C(userspace) (C(wireguard-go)); null when the interface is absent.
  returned: always
  type: str
  sample: kernel
peers_added:
  description: Public keys of the peers added.
  returned: always
  type: list
  elements: str
peers_updated:
  description: Public keys of the peers changed in place.
  returned: always
  type: list
  elements: str
peers_removed:
  description: Public keys of the peers removed.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fakevpc.vpc.plugins.module_utils._command import CommandRunner
from ansible_collections.fakevpc.vpc.plugins.module_utils._wg_interface import (
    PEER_OPTIONS,
    ROUTE_OPTIONS,
    WireGuardInterface,
    check_name,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            private_key=dict(type="str", no_log=True),
            listen_port=dict(type="int"),
            addresses=dict(type="list", elements="str", default=[]),
            mtu=dict(type="int"),
            routes=dict(type="list", elements="dict", default=[], options=ROUTE_OPTIONS),
            forwarding=dict(type="bool", default=False),
            peers=dict(type="list", elements="dict", default=[], options=PEER_OPTIONS),
            implementation=dict(type="str", choices=["auto", "kernel", "userspace"], default="auto"),
            persist=dict(type="bool", default=True),
            config_dir=dict(type="path", default="/etc/wireguard"),
        ),
        required_if=[("state", "present", ["private_key"])],
        supports_check_mode=True,
    )
    check_name(module, module.params["name"])
    interface = WireGuardInterface(module, CommandRunner(module), module.params)
    if module.params["state"] == "present":
        interface.present()
    else:
        interface.absent()
    module.exit_json(changed=interface.changed, **interface.result)


if __name__ == "__main__":
    main()
