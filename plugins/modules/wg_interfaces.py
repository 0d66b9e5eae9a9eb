#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: wg_interfaces
short_description: Manage every WireGuard interface of a host in one call, and remove the ones no longer wanted
version_added: 0.1.0
description:
  - For each interface of O(interfaces), reads the live interface (C(wg show IFACE dump), C(ip -j address),
    C(ip -j link)), compares it with the wanted one and changes only what differs; then removes the WireGuard
    interfaces whose name matches O(prune_pattern) and that are not listed.
  - A peer is added, updated or removed with C(wg set), so the sessions of the other peers are never
    interrupted; an interface is never restarted to change a peer, a key, a port or an address.
  - A live peer that keeps some of its allowed IPs gets the new ones in place, through kernel WireGuard's netlink or
    C(wireguard-go)'s control socket, so traffic to the addresses it already carried is never dropped
    (C(wg set ... allowed-ips) replaces the whole list, and the peer carries nothing while it is swapped).
    Allowed IPs that a live peer loses while it keeps others are given to a throwaway peer, which is then
    removed; an allowed IP belongs to one peer of an interface, so they leave without the others ever leaving.
  - A live peer that this end now dials and that dialled it until now (it gets a persistent keepalive it did not
    have, and an endpoint other than the one it came from) is removed and added back, since who dials whom changed
    and the far end answers on another interface, which knows nothing of this end's session; kept, that session
    would stall the pair until WireGuard gives up on it (15 s and more).
  - Uses kernel WireGuard where the kernel has it and C(wireguard-go) where it does not (O(implementation)).
  - "Persistence: with O(persist) it writes a C(wg-quick) file C(<config_dir>/<name>.conf) (mode C(0600)) per
    interface, with the private key in its C([Interface]) section (never loaded only through a C(PostUp) hook) and
    C(Table = off) (routes come from the addresses' prefixes, as when applied live), and, where systemd is running,
    enables C(wg-quick@<name>.service) so the interface comes back at boot. A new interface, where systemd runs the
    host and with O(implementation=auto), is brought up by starting its unit (which is then active, and takes the
    interface down at shutdown); otherwise it is created live and its unit only enabled, to take over at the next
    boot. An existing interface is always changed live, never restarted."
  - "An interface some of whose peers have no endpoint (they dial it) gets two hooks in its C(wg-quick) file:
    C(wg-quick down) (at shutdown too) keeps the endpoints it learned from them in C(<config_dir>/<name>.endpoints),
    and C(wg-quick up) gives each of those peers its endpoint back and starts a handshake at once. Without them a
    server that listens for its peers cannot send to them after a reboot (C(Destination address required)) until
    each renews its session, up to about two minutes later. Only C(wg-quick down) keeps them: an interface created
    live (see above; or by a version of this module before 0.3.0) keeps nothing at its first reboot, and from then on
    its unit runs it. After a crash the endpoints kept at the last shutdown are used; an endpoint that no longer
    answers is replaced by the next one the peer comes from."
  - An interface is removed by stopping its unit if it is active and deleting the interface (which also ends its
    C(wireguard-go) process), disabling the unit and removing its files.
  - One call instead of one per interface, which matters on slow hosts (a mesh of N servers has N-1 interfaces on each).
  - Unlisted interfaces are removed first, so a port or an address they held is free for the listed ones.
  - The peers change before the private key (a new private key ends the sessions and starts the handshakes, which
    then use the peers' new preshared keys), and a peer listed under a new key with no endpoint of its own keeps
    the endpoint of the removed peer with the same allowed IPs (a rotated key of the far end), so this end can start
    the handshake at once.
requirements:
  - C(wg) (wireguard-tools) and C(ip) (iproute2) on the target.
  - C(wireguard-go) and C(setsid) (util-linux) on the target when the kernel has no WireGuard.
options:
  interfaces:
    description: Every wanted interface.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The interface name, 1 to 15 letters, digits, C(.), C(_) or C(-) (not C(.) or C(..)).
        type: str
        required: true
      private_key:
        description:
          - The interface's private key (base64, as C(wg genkey) prints).
          - Passed to C(wg) on standard input, never on a command line; never shown in output or diff.
        type: str
        required: true
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
  prune_pattern:
    description:
      - A regular expression matched against the whole name. A WireGuard interface (live, or as a C(wg-quick) file in
        O(config_dir)) whose name matches and is not in O(interfaces) is removed (see the description).
      - When omitted, no interface is removed.
    type: str
  implementation:
    description:
      - How to create a missing interface. V(kernel) uses C(ip link add type wireguard), V(userspace) starts
        C(wireguard-go), V(auto) tries the kernel first and falls back to C(wireguard-go).
      - C(wireguard-go) runs in a session of its own (C(setsid), from util-linux), so that no signal to the
        process group of the Ansible run that started it stops it.
      - A new C(wireguard-go) interface counts as created once its daemon answers on its UAPI socket
        (C(/var/run/wireguard/<name>.sock)). If it does not, the module fails and names the limit that most
        often stops it, C(fs.inotify.max_user_instances), since every C(wireguard-go) takes one inotify instance.
      - An existing interface is never recreated; RV(interfaces) tells which implementation each one is.
    type: str
    choices: [auto, kernel, userspace]
    default: auto
  persist:
    description: Write each interface's C(wg-quick) file and enable its unit so it returns at boot.
    type: bool
    default: true
  config_dir:
    description:
      - Where the C(wg-quick) files live (and the endpoints an interface learned, see the description).
      - With O(persist), it goes into the C(wg-quick) files' hooks, so it may hold no control character, C(#) or C(%).
    type: path
    default: /etc/wireguard
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  diff_mode:
    details: One diff per interface that changes or goes, in C(wg-quick) form, keys hidden.
notes:
  - Interface addresses get their connected routes from the kernel; the module adds only the routes of O(interfaces[].routes).
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Configure both mesh interfaces of server 2, and remove any other wgvpcN
  fakevpc.vpc.wg_interfaces:
    prune_pattern: "wgvpc[0-9]+"
    interfaces:
      - name: wgvpc1
        private_key: "{{ lookup('ansible.builtin.file', '/srv/keys/server2.key') }}"
        addresses: [192.168.1.2/24]
        peers:
          - public_key: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
            endpoint: 203.0.113.1:51821
            allowed_ips: [192.168.1.1/32]
            persistent_keepalive: 25
      - name: wgvpc3
        private_key: "{{ lookup('ansible.builtin.file', '/srv/keys/server2.key') }}"
        listen_port: 51823
        addresses: [192.168.2.1/24]
        peers:
          - public_key: hxo5Srz2pFi0Z1kyJdVYZ5eaWAq0jvTE0Sv0OgwG2Ac=
            allowed_ips: [192.168.2.3/32]
  no_log: true
"""

RETURN = r"""
interfaces:
  description:
    - For each listed interface, whether it changed, C(implementation) (C(kernel), or C(userspace) for C(wireguard-go)),
      and the public keys of the peers added (C(peers_added)), changed in place (C(peers_updated)) and removed
      (C(peers_removed)).
  returned: always
  type: dict
  sample:
    wgvpc1: {changed: false, implementation: kernel, peers_added: [], peers_updated: [], peers_removed: []}
removed:
  description: The interfaces removed because they matched O(prune_pattern) and were not listed.
  returned: always
  type: list
  elements: str
  sample: [wgvpc4]
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fakevpc.vpc.plugins.module_utils._command import CommandRunner
from ansible_collections.fakevpc.vpc.plugins.module_utils._wireguard import endpoints_directory_problem
from ansible_collections.fakevpc.vpc.plugins.module_utils._wg_interface import (
    PEER_OPTIONS,
    ROUTE_OPTIONS,
    WireGuardInterface,
    check_name,
)


def existing_names(runner, config_dir):
    """The WireGuard interfaces of the host: live ones and those with a wg-quick file."""
    names = set()
    # Without the tools (check mode before they are installed) there is no live interface to remove.
    if runner.binary("wg", required=False):
        _rc, stdout, _stderr = runner.run("wg", "show", "interfaces")
        names.update(stdout.split())
    if os.path.isdir(config_dir):
        names.update(entry[:-len(".conf")] for entry in os.listdir(config_dir) if entry.endswith(".conf"))
    return names


def main():
    module = AnsibleModule(
        argument_spec=dict(
            interfaces=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                private_key=dict(type="str", required=True, no_log=True),
                listen_port=dict(type="int"),
                addresses=dict(type="list", elements="str", default=[]),
                mtu=dict(type="int"),
                routes=dict(type="list", elements="dict", default=[], options=ROUTE_OPTIONS),
                forwarding=dict(type="bool", default=False),
                peers=dict(type="list", elements="dict", default=[], options=PEER_OPTIONS),
            )),
            prune_pattern=dict(type="str"),
            implementation=dict(type="str", choices=["auto", "kernel", "userspace"], default="auto"),
            persist=dict(type="bool", default=True),
            config_dir=dict(type="path", default="/etc/wireguard"),
        ),
        supports_check_mode=True,
    )
    common = {key: module.params[key] for key in ("implementation", "persist", "config_dir")}
    if common["persist"] and endpoints_directory_problem(common["config_dir"]):
        module.fail_json(msg="config_dir: %s, got %r" % (endpoints_directory_problem(common["config_dir"]),
                                                         common["config_dir"]))
    wanted = []
    for position, options in enumerate(module.params["interfaces"]):
        where = "interfaces[%d]" % position
        check_name(module, options["name"], where + ".name")
        if options["name"] in [params["name"] for params in wanted]:
            module.fail_json(msg="%s.name: %s is listed twice" % (where, options["name"]))
        wanted.append(dict(options, **common))
    prune = None
    if module.params["prune_pattern"] is not None:
        try:
            prune = re.compile(module.params["prune_pattern"])
        except re.error as error:
            module.fail_json(msg="prune_pattern: %s" % error)

    runner = CommandRunner(module)
    # Every interface's options are checked before any interface changes.
    interfaces = [WireGuardInterface(module, runner, params, where="interfaces[%d]." % position)
                  for position, params in enumerate(wanted)]
    for interface in interfaces:
        interface.validate()
    changed, diffs, result = False, [], {"interfaces": {}, "removed": []}
    if prune is not None:
        names = set(params["name"] for params in wanted)
        for name in sorted(existing_names(runner, common["config_dir"])):
            if name in names or not prune.fullmatch(name):
                continue
            interface = WireGuardInterface(module, runner, dict(common, name=name))
            interface.absent()
            if interface.changed:
                changed = True
                result["removed"].append(name)
                diffs.append(interface.result.get("diff"))
    for params, interface in zip(wanted, interfaces):
        interface.present()
        changed = changed or interface.changed
        diff = interface.result.pop("diff", None)
        if interface.changed:
            diffs.append(diff)
        result["interfaces"][params["name"]] = dict(interface.result, changed=interface.changed)
    if module._diff:
        result["diff"] = [diff for diff in diffs if diff]
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
