#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: wg_mesh_export
short_description: Write the wg-quick file and hosts snippet of every external peer of the mesh, on the controller
version_added: 0.2.0
description:
  - For each external peer of P(fakevpc.vpc.wg_mesh_plan#filter) (a machine Ansible never touches, such as a laptop
    or a CI runner), writes C(<path>/<name>.conf), a C(wg-quick) file of one interface with every server it has a tunnel to
    as a peer, and C(<path>/<name>.hosts), the lines to add to its hosts file. Both mode C(0600) in a C(0700)
    directory, since the C(.conf) file holds the peer's private key. Copy them to the machine and run C(wg-quick up).
  - The keys are read from O(key_dir), as M(fakevpc.vpc.wg_keys) keeps them (the peer's key holder is
    C(external-<name>)); a key file that is a symbolic link is refused. Nothing secret is returned or shown in a diff.
  - C(.conf) and C(.hosts) files in O(path) of peers no longer listed are removed, so removing an external peer
    from the inventory removes its files too.
  - "Run it on the controller (C(delegate_to: localhost), C(run_once: true)); it needs the Python C(cryptography)
    library there."
requirements:
  - cryptography
options:
  path:
    description: The directory of the exported files; created (mode C(0700)) when there is a file to write.
    type: path
    required: true
  key_dir:
    description: The key directory of M(fakevpc.vpc.wg_keys).
    type: path
    required: true
  peers:
    description:
      - The views of the external peers, C(wg_mesh_plan(...).external_peers.values()), each with C(name), C(host)
        (its key holder), C(interfaces) (one) and C(hosts_lines).
    type: list
    elements: dict
    default: []
  mtu:
    description: The MTU of every exported interface; 0 leaves it to C(wg-quick).
    type: int
    default: 0
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The files that change, keys replaced by C((hidden)).
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Write the files of the external peers
  fakevpc.vpc.wg_mesh_export:
    path: "{{ inventory_dir }}/wg_external_peers"
    key_dir: "{{ inventory_dir }}/wg_keys"
    peers: "{{ plan.external_peers.values() | list }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
written:
  description: The files written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
removed:
  description: The files of peers no longer listed, removed (or that would be).
  returned: always
  type: list
  elements: str
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.fakevpc.vpc.plugins.module_utils import _wg_keys, _wireguard
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import replace_file

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
SUFFIXES = (".conf", ".hosts")


class MissingKey(Exception):
    pass


def read_key(module, path):
    """The key in path (never through a symbolic link); MissingKey when there is no such file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise MissingKey(path)
    except OSError as error:
        module.fail_json(msg="%s: cannot read the key (a symbolic link is refused): %s" % (path, error.strerror))
    with os.fdopen(descriptor) as handle:
        key = handle.read().strip()
    if _wg_keys.decode_key(key) is None:
        module.fail_json(msg="%s is not a WireGuard key (base64 of 32 bytes)" % path)
    return key


def peer_state(module, key_dir, view, mtu):
    """The wg-quick state of one external peer, its keys read from key_dir."""
    if len(view.get("interfaces") or []) != 1:
        module.fail_json(msg="peers: %r: an external peer has exactly one interface" % view.get("name"))
    interface = view["interfaces"][0]
    holder = view["host"]
    peers = {}
    for peer in interface["peers"]:
        first, second = sorted((holder, peer["host"]))
        peers[_wg_keys.public_key(read_key(module, os.path.join(key_dir, "%s.key" % peer["host"])))] = {
            "preshared_key": read_key(module, os.path.join(key_dir, "%s+%s.psk" % (first, second))),
            "endpoint": peer["endpoint"],
            "allowed_ips": _wireguard.normalise_networks(peer["allowed_ips"]),
            "persistent_keepalive": peer["persistent_keepalive"],
        }
    return {
        "private_key": read_key(module, os.path.join(key_dir, "%s.key" % holder)),
        "listen_port": interface["listen_port"],
        "addresses": _wireguard.normalise_addresses([interface["address"]] + interface["extra_addresses"]),
        "mtu": mtu or None,
        "routes": _wireguard.normalise_routes(interface["routes"]),
        "peers": peers,
    }


def current(path):
    try:
        with open(path) as handle:
            return handle.read(), stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None, None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            key_dir=dict(type="path", required=True),
            peers=dict(type="list", elements="dict", default=[]),
            mtu=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    if _wg_keys.X25519PrivateKey is None:
        module.fail_json(msg=missing_required_lib("cryptography"))
    path, changed = module.params["path"], False
    result = {"written": [], "removed": []}
    diffs = []
    wanted = {}
    for view in module.params["peers"]:
        try:
            state = peer_state(module, module.params["key_dir"], view, module.params["mtu"])
        except MissingKey as missing:
            if not module.check_mode:
                module.fail_json(msg="%s is missing: run fakevpc.vpc.wg_keys with the plan's key_holders first" % missing)
            state = None  # check mode before the keys exist: the file would be written
        wanted[view["name"] + ".conf"] = state
        wanted[view["name"] + ".hosts"] = "".join(line + "\n" for line in view["hosts_lines"])
    for name in sorted(wanted):
        file_path = os.path.join(path, name)
        state = wanted[name]
        text = _wireguard.render_config(state) if name.endswith(".conf") and state else state
        before, mode = current(file_path)
        if before == text and mode == FILE_MODE:
            continue
        changed = True
        result["written"].append(file_path)
        if name.endswith(".conf"):
            shown = (_wireguard.render_config(state, redact=True, before=state) if state else "(keys not created yet)\n")
            diffs.append({"before_header": file_path, "after_header": file_path,
                          "before": "(content not shown)\n" if before else "", "after": shown})
        else:
            diffs.append({"before_header": file_path, "after_header": file_path, "before": before or "", "after": text})
        if module.check_mode:
            continue
        if not os.path.isdir(path):
            os.makedirs(path, DIRECTORY_MODE)
            os.chmod(path, DIRECTORY_MODE)
        replace_file(file_path, text, FILE_MODE)
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            if name.endswith(SUFFIXES) and name not in wanted and os.path.isfile(os.path.join(path, name)):
                changed = True
                result["removed"].append(os.path.join(path, name))
                diffs.append({"before_header": os.path.join(path, name), "before": "(content not shown)\n", "after": ""})
                if not module.check_mode:
                    os.unlink(os.path.join(path, name))
    if module._diff:
        result["diff"] = diffs
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
