# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A key rotation in the mesh's key directory, on the controller: stage the new keys, then complete it.

A private module of the fakevpc.vpc collection: its interface may change without notice. Used by the wg_keys_rotate
action plugin. The decisions (which files, which order, when complete) are _key_rotation's; this module reads the key
directory through the store and codec wg_keys uses (no symlink followed, vault-encrypted keys decrypted in memory,
new ones encrypted like the others) and writes only through KeyStore.create (0600, create-only) and KeyStore.replace.
"""

from __future__ import annotations

import itertools

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.fakevpc.vpc.plugins.module_utils import _key_rotation, _wg_keys
from ansible_collections.fakevpc.vpc.plugins.module_utils._key_rotation import RotationError, staged_name
from ansible_collections.fakevpc.vpc.plugins.module_utils._key_store import KeyDirectoryError, KeyStore
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_keys import (
    HOST_NAME,
    KEY_DIRECTORY_SPEC,
    preshared_key_name,
    private_key_name,
    read_key,
    read_rotation,
)

# The options of the wg_keys_rotate module (documented there), checked by its action plugin.
ARGUMENT_SPEC = dict(
    KEY_DIRECTORY_SPEC,
    state=dict(type="str", choices=["staged", "complete"], required=True),
    rotate=dict(type="list", elements="str", default=[]),
    live=dict(type="dict", default={}),
)


class KeyRotation:
    """The rotation of one key directory: stage() the new keys of a request, complete() it once nothing runs the
    old ones."""

    def __init__(self, path, hosts, codec, check_mode=False, external=None):
        bad = [host for host in hosts if not HOST_NAME.fullmatch(host)]
        if bad:
            raise KeyDirectoryError("hosts: names may hold only letters, digits, '.', '_' and '-': %s" % ", ".join(bad))
        self.store = KeyStore(path)
        self.hosts = sorted(set(hosts))
        self.external = set(external or [])
        self.codec = codec
        self.check_mode = check_mode

    def _read_every_key(self):
        """Read (and so check) every key file of the mesh, as wg_keys does: an encrypted one makes new keys encrypted."""
        names = [private_key_name(host) for host in self.hosts]
        names += [preshared_key_name(host_a, host_b) for host_a, host_b in itertools.combinations(self.hosts, 2)]
        return dict((name, read_key(self.store, self.codec, name)) for name in names)

    def stage(self, rotate):
        """Create the new keys of the servers rotate (resuming a staging that stopped half-way), then the marker; a
        rotation already staged is left to complete, and a request for other servers is then refused."""
        with self.store:
            if not self.store.open(create=False):
                raise KeyDirectoryError("%s: no key directory, so no key to rotate: run the site playbook first"
                                        % self.store.path)
            keys = self._read_every_key()
            rotating, staged = read_rotation(self.store, self.codec, self.hosts)
            if rotating:
                others = sorted(set(rotate) - set(rotating))
                if others:
                    raise KeyDirectoryError(
                        "variable wg_mesh_rotate: a rotation of %s is staged in %s and not complete: complete it first"
                        " (rerun with -e wg_mesh_rotate=%s), then rotate %s"
                        % (", ".join(rotating), self.store.path, ",".join(rotating), ", ".join(others)))
                return dict(changed=False, rotating=rotating, staged=[], removed=[], resumed=True)
            if not rotate:
                raise KeyDirectoryError("variable wg_mesh_rotate: names no server, and no rotation is staged in %s:"
                                        " give the servers to rotate (a name, a list, or all)" % self.store.path)
            bad = sorted(host for host in rotate if host not in self.hosts or host in self.external)
            if bad:
                raise KeyDirectoryError("variable wg_mesh_rotate: %s: not a server of the mesh" % ", ".join(bad))
            missing = [host for host in rotate if keys[private_key_name(host)] is None]
            if missing:
                raise KeyDirectoryError("%s: no key of %s to rotate: run the site playbook first"
                                        % (self.store.path, ", ".join(missing)))
            files = _key_rotation.rotation_files(rotate, self.hosts)
            strays = _key_rotation.stray_staged(self.store.names(), files)
            new = [name for name in files
                   if read_key(self.store, self.codec, staged_name(name)) is None]
            if not self.check_mode:
                for stray in strays:  # staged by a request that stopped before its marker: never used
                    self.store.remove(stray)
                for name in new:
                    generate = _wg_keys.generate_private_key if name.endswith(".key") else _wg_keys.generate_preshared_key
                    self.store.create(staged_name(name), self.codec.encode(generate()))
                self.store.create(_key_rotation.MARKER, _key_rotation.render_marker(rotate))
            return dict(changed=True, rotating=sorted(rotate), resumed=False,
                        staged=[self.store.file_path(staged_name(name)) for name in new],
                        removed=[self.store.file_path(name) for name in strays])

    def complete(self, live):
        """Replace each old key with its staged one once no server runs an old key or peers with one (live:
        {host: wg_keys_info's live} of every server of the mesh); then remove the marker."""
        with self.store:
            if not self.store.open(create=False):
                return dict(changed=False, rotated=[], replaced=[])
            rotating, staged = read_rotation(self.store, self.codec, self.hosts)
            if not rotating:
                return dict(changed=False, rotated=[], replaced=[])
            current = dict((name, read_key(self.store, self.codec, name)) for name in
                           _key_rotation.rotation_files(rotating, self.hosts))
            new_public, old_public = {}, {}
            for host in rotating:
                name = private_key_name(host)
                new_public[host] = _wg_keys.public_key(staged.get(name) or current[name])
                if name in staged and current[name] is not None:
                    old_public[host] = _wg_keys.public_key(current[name])
            servers = [host for host in self.hosts if host not in self.external]
            problems = _key_rotation.completion_problems(rotating, new_public, old_public, live, servers)
            if problems and self.check_mode:
                # Check mode changed no server: the rotation would complete once the converge ran.
                return dict(changed=True, rotated=rotating, replaced=[], pending=problems)
            if problems:
                raise KeyDirectoryError(
                    "the rotation of %s is not complete: %s. The new keys stay staged in %s and the old ones in place;"
                    " rerun the rotation once every server is reachable" % (", ".join(rotating), "; ".join(problems),
                                                                            self.store.path))
            order = [name for name in _key_rotation.rotation_files(rotating, self.hosts) if name in staged]
            if not self.check_mode:
                for name in order:
                    self.store.replace(staged_name(name), name)
                self.store.remove(_key_rotation.MARKER)
            return dict(changed=True, rotated=rotating, replaced=[self.store.file_path(name) for name in order])


def run(args, check_mode, diff, codec_for):
    """What the wg_keys_rotate action returns for the task arguments args; codec_for(params) gives the file codec."""
    validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(args)
    if validation.error_messages:
        return dict(failed=True, msg="; ".join(validation.error_messages))
    params = validation.validated_parameters
    try:
        rotation = KeyRotation(params["path"], params["hosts"], codec_for(params), check_mode=check_mode,
                               external=params["external"])
        if params["state"] == "staged":
            result = rotation.stage(params["rotate"])
        else:
            result = rotation.complete(params["live"])
    except (KeyDirectoryError, RotationError, OSError) as error:
        return dict(failed=True, msg=str(error))
    if diff and result["changed"]:
        if params["state"] == "staged":
            after = "".join("removed %s (staged, never used)\n" % path for path in result["removed"])
            after += "".join("created %s\n" % path for path in result["staged"])
            after += "staged the rotation of %s\n" % ", ".join(result["rotating"])
        else:
            after = "".join("replaced %s with %s\n" % (path, staged_name(path)) for path in result["replaced"])
            after += "completed the rotation of %s\n" % ", ".join(result["rotated"])
        result["diff"] = dict(before="", after=after, after_header="%s (key files, content not shown)" % params["path"])
    return result
