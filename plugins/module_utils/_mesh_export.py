# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The external peers' wg-quick files and hosts lines, written on the controller from the mesh's key directory.

A private module of the fakevpc.vpc collection: its interface may change without notice.

The keys are read through the same store as wg_keys' (_key_store.KeyStore: no symlink followed, the directory and
files the user's own and private) and decoded by the same codec (the wg_keys action's: vault-encrypted files are
decrypted in memory), so the export trusts exactly the key files wg_keys trusts. While a key rotation is staged, the
wanted key of a file is its staged one, as for wg_keys.
"""

from __future__ import annotations

import os
import stat

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.fakevpc.vpc.plugins.module_utils import _key_rotation, _wg_keys, _wireguard
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import make_directories, replace_file
from ansible_collections.fakevpc.vpc.plugins.module_utils._key_store import KeyDirectoryError, KeyStore
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_keys import PlainKeys, preshared_key_name, private_key_name

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
SUFFIXES = (".conf", ".hosts")

# The options of the wg_mesh_export module (documented there), checked by its action plugin.
ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    key_dir=dict(type="path", required=True),
    peers=dict(type="list", elements="dict", default=[]),
    mtu=dict(type="int", default=0),
)


class ExportError(Exception):
    """An input or a file that cannot be exported; the message says which."""


class _Keys:
    """The wanted keys of an open KeyStore, by file name, decoded and checked; None for a missing file."""

    def __init__(self, store, codec):
        self.store = store
        self.codec = codec
        self.cache = {}
        self.rotation = store.descriptor is not None and store.read(_key_rotation.MARKER) is not None

    def get(self, name):
        if name not in self.cache:
            data = self.store.read(name) if self.store.descriptor is not None else None
            if self.rotation:
                data = self.store.read(_key_rotation.staged_name(name)) or data
            key = None
            if data is not None:
                key = self.codec.decode(data, self.store.file_path(name)).strip()
                if _wg_keys.decode_key(key) is None:
                    raise KeyDirectoryError("%s is not a WireGuard key (base64 of 32 bytes); fix or remove it"
                                            % self.store.file_path(name))
            self.cache[name] = key
        return self.cache[name]


def _peer_state(keys, view, mtu):
    """The wg-quick state of one external peer, or None when one of its keys is missing (check mode only)."""
    if len(view.get("interfaces") or []) != 1:
        raise ExportError("peers: %r: an external peer has exactly one interface" % (view.get("name"),))
    interface = view["interfaces"][0]
    holder = view["host"]
    names = [private_key_name(holder)]
    for peer in interface["peers"]:
        names += [private_key_name(peer["host"]), preshared_key_name(holder, peer["host"])]
    missing = [name for name in names if keys.get(name) is None]
    if missing:
        return missing
    peers = {}
    for peer in interface["peers"]:
        peers[_wg_keys.public_key(keys.get(private_key_name(peer["host"])))] = {
            "preshared_key": keys.get(preshared_key_name(holder, peer["host"])),
            "endpoint": peer["endpoint"],
            "allowed_ips": _wireguard.normalise_networks(peer["allowed_ips"]),
            "persistent_keepalive": peer["persistent_keepalive"],
        }
    return {
        "private_key": keys.get(private_key_name(holder)),
        "listen_port": interface["listen_port"],
        "addresses": _wireguard.normalise_addresses([interface["address"]] + interface["extra_addresses"]),
        "mtu": mtu or None,
        "routes": _wireguard.normalise_routes(interface["routes"]),
        "peers": peers,
    }


def _current(path):
    try:
        with open(path) as handle:
            return handle.read(), stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None, None


def export(params, check_mode, codec):
    """Write the files; returns the result (changed, written, removed, diff)."""
    path = params["path"]
    wanted = {}
    with KeyStore(params["key_dir"]) as store:
        store.open(create=False)
        keys = _Keys(store, codec)
        for view in params["peers"]:
            state = _peer_state(keys, view, params["mtu"])
            if isinstance(state, list):
                if not check_mode:
                    raise ExportError("%s: missing: run fakevpc.vpc.wg_keys with the plan's key_holders first"
                                      % ", ".join(store.file_path(name) for name in state))
                state = None  # check mode before the keys exist: the file would be written
            wanted[view["name"] + ".conf"] = state
            wanted[view["name"] + ".hosts"] = "".join(line + "\n" for line in view["hosts_lines"])
    result, diffs = {"changed": False, "written": [], "removed": []}, []
    for name in sorted(wanted):
        file_path = os.path.join(path, name)
        state = wanted[name]
        text = _wireguard.render_config(state) if name.endswith(".conf") and state else state
        before, mode = _current(file_path)
        if before == text and mode == FILE_MODE:
            continue
        result["changed"] = True
        result["written"].append(file_path)
        if name.endswith(".conf"):
            shown = _wireguard.render_config(state, redact=True, before=state) if state else "(keys not created yet)\n"
            diffs.append({"before_header": file_path, "after_header": file_path,
                          "before": "(content not shown)\n" if before else "", "after": shown})
        else:
            diffs.append({"before_header": file_path, "after_header": file_path, "before": before or "", "after": text})
        if check_mode:
            continue
        make_directories(path, DIRECTORY_MODE)
        replace_file(file_path, text, FILE_MODE)
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            if name.endswith(SUFFIXES) and name not in wanted and os.path.isfile(os.path.join(path, name)):
                result["changed"] = True
                result["removed"].append(os.path.join(path, name))
                diffs.append({"before_header": os.path.join(path, name), "before": "(content not shown)\n", "after": ""})
                if not check_mode:
                    os.unlink(os.path.join(path, name))
    result["diff"] = diffs
    return result


def run(args, check_mode, diff, codec=PlainKeys):
    """What the wg_mesh_export action returns for the task arguments args; codec decodes the key files."""
    validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(args)
    if validation.error_messages:
        return dict(failed=True, msg="; ".join(validation.error_messages))
    try:
        result = export(validation.validated_parameters, check_mode, codec)
    except (ExportError, KeyDirectoryError, OSError) as error:
        return dict(failed=True, msg=str(error))
    if not diff:
        del result["diff"]
    return result
