#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: wg_keys_info
short_description: Read the keys the WireGuard interfaces of a host run
version_added: 0.2.0
description:
  - Reads, with C(wg show NAME dump), the live WireGuard interfaces whose name matches O(pattern), and returns the
    public keys they run and the peers they share a preshared key with. Changes nothing.
  - With O(secrets=true) it also returns their private keys and preshared keys, so that a lost key directory can be
    rebuilt from the servers (M(fakevpc.vpc.wg_keys) O(fakevpc.vpc.wg_keys#module:adopt)). Private material travels
    only in the result; run such a task with C(no_log) true.
  - Without the C(wg) tool (a server not yet set up) there is no interface, and nothing to read.
requirements:
  - C(wg) (wireguard-tools) on the target, when it runs WireGuard interfaces.
options:
  pattern:
    description: A regular expression matched against the whole interface name.
    type: str
    required: true
  secrets:
    description: Also return the private and preshared keys (in RV(secrets)).
    type: bool
    default: false
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  check_mode:
    details: It only reads.
  diff_mode:
    support: none
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Read the public keys the mesh interfaces of this server run
  fakevpc.vpc.wg_keys_info:
    pattern: "wgvpc[0-9]+"
  register: live

- name: Read the private and preshared keys too (never logged)
  fakevpc.vpc.wg_keys_info:
    pattern: "wgvpc[0-9]+"
    secrets: true
  no_log: true
  register: live_with_secrets
"""

RETURN = r"""
live:
  description:
    - C(interfaces), the matching live interfaces; C(public_keys), the distinct public keys they run (one on a mesh
      server); C(preshared_peers), the public keys of the peers they share a preshared key with.
  returned: always
  type: dict
  sample: {interfaces: [wgvpc0, wgvpc1], public_keys: ["xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="],
           preshared_peers: ["hxo5Srz2pFi0Z1kyJdVYZ5eaWAq0jvTE0Sv0OgwG2Ac="]}
secrets:
  description:
    - With O(secrets=true) only. C(private_keys), each live private key by its public key; C(preshared_keys), each
      preshared key by the public key of its peer.
  returned: when O(secrets=true)
  type: dict
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fakevpc.vpc.plugins.module_utils import _wireguard
from ansible_collections.fakevpc.vpc.plugins.module_utils._command import CommandRunner


def read_keys(runner, pattern):
    """(live, secrets) of the live interfaces whose name matches pattern, as RETURN describes them."""
    live = {"interfaces": [], "public_keys": [], "preshared_peers": []}
    secrets = {"private_keys": {}, "preshared_keys": {}}
    if not runner.binary("wg", required=False):
        return live, secrets
    _rc, stdout, _stderr = runner.run("wg", "show", "interfaces")
    for name in sorted(name for name in stdout.split() if pattern.fullmatch(name)):
        rc, dump, _stderr = runner.run("wg", "show", name, "dump", check_rc=False)
        if rc != 0:  # gone since it was listed
            continue
        state = _wireguard.parse_dump(dump)
        live["interfaces"].append(name)
        if state["public_key"] is not None:
            secrets["private_keys"][state["public_key"]] = state["private_key"]
        for peer_key, peer in state["peers"].items():
            if peer["preshared_key"] is not None:
                secrets["preshared_keys"][peer_key] = peer["preshared_key"]
    live["public_keys"] = sorted(secrets["private_keys"])
    live["preshared_peers"] = sorted(secrets["preshared_keys"])
    return live, secrets


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pattern=dict(type="str", required=True),
            secrets=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        pattern = re.compile(module.params["pattern"])
    except re.error as error:
        module.fail_json(msg="pattern: %s" % error)
    live, secrets = read_keys(CommandRunner(module), pattern)
    result = dict(changed=False, live=live)
    if module.params["secrets"]:
        result["secrets"] = secrets
    module.exit_json(**result)


if __name__ == "__main__":
    main()
