# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The keys of a mesh in its key directory: read what exists, create only what is missing.

A private module of the fakevpc.vpc collection: its interface may change without notice. Used by the wg_keys action
plugin, on the controller. Files are <host>.key (private key) and <a>+<b>.psk with a < b (preshared key), base64 and a
newline, or that text vault-encrypted (the action plugin's codec). While a key rotation is staged (_key_rotation), the
wanted key of a file is its staged .next one.
"""

from __future__ import annotations

import itertools
import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible_collections.fakevpc.vpc.plugins.module_utils import _key_rotation, _wg_keys
from ansible_collections.fakevpc.vpc.plugins.module_utils._key_rotation import (
    HOST_NAME,
    RotationError,
    preshared_key_name,
    private_key_name,
)
from ansible_collections.fakevpc.vpc.plugins.module_utils._key_store import KeyDirectoryError, KeyStore

# The options of every module of the key directory (wg_keys, wg_keys_rotate; documented in each).
KEY_DIRECTORY_SPEC = dict(
    path=dict(type="path", required=True),
    hosts=dict(type="list", elements="str", required=True),
    external=dict(type="list", elements="str", default=[]),
    vault_id=dict(type="str"),
)
# The options of the wg_keys module, checked by its action plugin.
ARGUMENT_SPEC = dict(
    KEY_DIRECTORY_SPEC,
    live=dict(type="dict"),
    live_secrets=dict(type="dict", no_log=True),
    adopt=dict(type="bool", default=False),
)


class PlainKeys:
    """Key files as `wg genkey` writes them: the base64 key and a newline."""

    @staticmethod
    def decode(data, file_path):
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            raise KeyDirectoryError("%s is not a WireGuard key (base64 of 32 bytes); fix or remove it" % file_path)

    @staticmethod
    def encode(key):
        return (key + "\n").encode("ascii")


def read_key(store, codec, name):
    """The key in file name of the open store (stripped), or None when there is no such file."""
    data = store.read(name)
    if data is None:
        return None
    file_path = store.file_path(name)
    key = codec.decode(data, file_path)
    if _wg_keys.decode_key(key) is None:
        raise KeyDirectoryError("%s is not a WireGuard key (base64 of 32 bytes); fix or remove it" % file_path)
    return key.strip()


def read_rotation(store, codec, holders):
    """(rotating servers, {file name: its staged key}) of the rotation staged in the open store; ([], {}) when none."""
    data = store.read(_key_rotation.MARKER)
    if data is None:
        return [], {}
    try:
        rotating = _key_rotation.parse_marker(data, store.file_path(_key_rotation.MARKER))
    except RotationError as error:
        raise KeyDirectoryError(str(error))
    staged = {}
    for name in _key_rotation.rotation_files(rotating, holders):
        key = read_key(store, codec, _key_rotation.staged_name(name))
        if key is not None:
            staged[name] = key
    return rotating, staged


class MeshKeys:
    """The key directory of one mesh: apply() returns the public keys and paths, creating missing keys."""

    def __init__(self, path, hosts, check_mode=False, codec=PlainKeys, live=None, live_secrets=None, adopt=False,
                 external=None):
        """live: {host: {public_keys, preshared_peers}} of the hosts whose live keys were read (wg_keys_info), or None
        to check nothing; live_secrets: {host: {private_keys, preshared_keys}}, read back when adopt is true;
        external: the holders of hosts that Ansible never touches (external peers): never read, a missing key of
        theirs is created (its files are the user's to copy)."""
        bad = [host for host in hosts if not HOST_NAME.fullmatch(host)]
        if bad:
            raise KeyDirectoryError("hosts: names may hold only letters, digits, '.', '_' and '-': %s" % ", ".join(bad))
        self.external = set(external or [])
        stray = sorted(self.external - set(hosts))
        if stray:
            raise KeyDirectoryError("external: %s: not among the hosts" % ", ".join(stray))
        self.store = KeyStore(path)
        self.hosts = sorted(set(hosts))
        self.check_mode = check_mode
        self.codec = codec
        self.created = []
        self.adopted = []
        self.rotating = []
        self.live = live
        self.live_secrets = live_secrets or {}
        self.adopt = adopt

    def _read_key(self, name):
        return read_key(self.store, self.codec, name)

    def apply(self):
        """Read every key first (any untrusted file refuses the run before anything is created), then create the
        missing ones."""
        names = [(private_key_name(host), _wg_keys.generate_private_key) for host in self.hosts]
        names += [(preshared_key_name(host_a, host_b), _wg_keys.generate_preshared_key)
                  for host_a, host_b in itertools.combinations(self.hosts, 2)]
        keys, staged = {}, {}
        with self.store:
            if self.store.open(create=False):
                keys = dict((name, self._read_key(name)) for name, _generate in names)
                self.rotating, staged = read_rotation(self.store, self.codec, self.hosts)
            adopted = self._reconcile(keys, staged) if self.live is not None else {}
            missing = [(name, generate) for name, generate in names if keys.get(name) is None]
            self.created = [self.store.file_path(name) for name, _generate in missing]
            self.adopted = [self.store.file_path(name) for name, _generate in missing if name in adopted]
            if missing and not self.check_mode:
                if self.store.descriptor is None:
                    self.store.open(create=True)
                for name, generate in missing:
                    keys[name] = adopted[name] if name in adopted else generate()
                    self.store.create(name, self.codec.encode(keys[name]))
        keys.update(staged)  # a rotation staged: its new keys are the wanted ones
        public_keys = dict((host, _wg_keys.public_key(keys[private_key_name(host)]))
                           for host in self.hosts if keys.get(private_key_name(host)) is not None)
        preshared_key_files = dict((host, {}) for host in self.hosts)
        for host_a, host_b in itertools.combinations(self.hosts, 2):
            file_path = self._wanted_path(preshared_key_name(host_a, host_b), staged)
            preshared_key_files[host_a][host_b] = preshared_key_files[host_b][host_a] = file_path
        return dict(
            changed=bool(self.created),
            public_keys=public_keys,
            private_key_files=dict((host, self._wanted_path(private_key_name(host), staged)) for host in self.hosts),
            preshared_key_files=preshared_key_files,
            created=self.created,
            adopted=self.adopted,
            rotating=self.rotating,
        )

    def _wanted_path(self, name, staged):
        return self.store.file_path(_key_rotation.staged_name(name) if name in staged else name)

    # -- what the servers run -----------------------------------------------------------------
    def _not_read(self, host, what):
        return KeyDirectoryError(
            "host %r: %s is not in %s and the keys the server runs were not read (is it outside this run's --limit?):"
            " a key is created only for a server known to run none; run without --limit" % (host, what, self.store.path))

    def _reconcile(self, keys, staged):
        """Compare the key files with the keys the servers run: refuse a server that runs a key the directory does
        not have, unless adopting; return {file name: key read back from the servers} (adopt only). A server whose
        rotation is staged may run its old key or its new one (staged: {file name: new key})."""
        adopted, public = {}, {}
        new = set()  # the hosts whose private key this run creates: nobody can share a preshared key with them yet
        for host in self.hosts:
            name = private_key_name(host)
            if host in self.external:
                if keys.get(name) is not None:
                    public[host] = _wg_keys.public_key(keys[name])
                else:
                    new.add(host)
                continue  # never read: a missing key is new
            running = self.live.get(host)
            live_keys = list(running["public_keys"]) if running else []
            if keys.get(name) is not None:
                public[host] = _wg_keys.public_key(keys[name])
                known = set([public[host]])
                if name in staged:
                    public[host] = _wg_keys.public_key(staged[name])
                    known.add(public[host])
                if live_keys and not set(live_keys) <= known:
                    raise KeyDirectoryError(
                        "host %r runs its mesh interfaces with the public key %s, not the one of %s (%s): this key"
                        " directory is not the one the mesh was built with; set wg_mesh_key_dir to that one (a new key"
                        " would break every tunnel of the server)"
                        % (host, ", ".join(live_keys), self.store.file_path(name), ", ".join(sorted(known))))
                continue
            if running is None:
                raise self._not_read(host, name)
            if not live_keys:
                new.add(host)
                continue  # a server that runs no mesh interface yet: a new key
            if not self.adopt:
                raise KeyDirectoryError(
                    "host %r already runs mesh interfaces with a key (public key %s) that the key directory %s does"
                    " not have (was it deleted, or does wg_mesh_key_dir point elsewhere?): refused, since a new key"
                    " would break every tunnel of the server. Set wg_mesh_key_dir to the directory the mesh was built"
                    " with, or set wg_mesh_adopt_keys: true to read the keys back from the servers"
                    % (host, ", ".join(live_keys), self.store.path))
            if host not in self.live_secrets:
                raise KeyDirectoryError(
                    "host %r: cannot adopt its key: it was not read back from the server (set wg_mesh_adopt_keys for"
                    " the whole group, or with -e)" % host)
            private_keys = self.live_secrets[host].get("private_keys", {})
            if len(live_keys) != 1 or live_keys[0] not in private_keys:
                raise KeyDirectoryError(
                    "host %r: cannot adopt its key: its mesh interfaces run %d different public keys (%s)"
                    % (host, len(live_keys), ", ".join(live_keys)))
            private_key = private_keys[live_keys[0]]
            if _wg_keys.decode_key(private_key) is None or _wg_keys.public_key(private_key) != live_keys[0]:
                raise KeyDirectoryError("host %r: cannot adopt its key: the private key read back does not match its"
                                        " public key %s" % (host, live_keys[0]))
            adopted[name] = private_key
            public[host] = live_keys[0]
        for host_a, host_b in itertools.combinations(self.hosts, 2):
            name = preshared_key_name(host_a, host_b)
            if keys.get(name) is not None or new & {host_a, host_b}:
                continue  # present, or new: one end gets its first key in this run
            for host in (host_a, host_b):
                if host not in self.live and host not in self.external:
                    raise self._not_read(host, name)
            ends = [(host, peer) for host, peer in ((host_a, host_b), (host_b, host_a))
                    if host not in self.external and public.get(peer) in self.live[host]["preshared_peers"]]
            if not ends:
                continue  # a pair with no tunnel yet: a new preshared key
            if not self.adopt:
                raise KeyDirectoryError(
                    "hosts %r and %r already share a preshared key on their tunnel that the key directory %s does not"
                    " have (%s is missing): refused, since a new one would break their tunnel. Set wg_mesh_key_dir to"
                    " the directory the mesh was built with, or set wg_mesh_adopt_keys: true to read the keys back"
                    " from the servers" % (host_a, host_b, self.store.path, name))
            values = set(self.live_secrets.get(host, {}).get("preshared_keys", {}).get(public[peer])
                         for host, peer in ends)
            if len(values) != 1 or None in values:
                raise KeyDirectoryError("hosts %r and %r: cannot adopt their preshared key: the two ends run different"
                                        " ones" % (host_a, host_b))
            adopted[name] = values.pop()
        return adopted


def live_keys(readings):
    """{"live": {host: live}, "secrets": {host: secrets}} of the (host, result of wg_keys_info) pairs of readings, a
    later reading of a host replacing an earlier one; secrets are {} where they were not read. Raises ValueError
    naming a host whose result holds no reading."""
    live, secrets = {}, {}
    for host, result in readings:
        if not isinstance(result, dict) or "live" not in result:
            raise ValueError("%s: no keys read (the task that reads them was skipped or failed?)" % host)
        live[host] = result["live"]
        secrets[host] = result.get("secrets", {})
    return {"live": live, "secrets": secrets}


def missing_private_keys(path, hosts):
    """The hosts whose private key file is not in the key directory path (all of them when it does not exist).

    Only names are looked at (lstat, never following a symlink): a symlink or a file that cannot be trusted counts as
    present, for wg_keys to refuse with its reason."""
    missing = []
    for host in hosts:
        if not HOST_NAME.fullmatch(host):
            raise KeyDirectoryError("hosts: names may hold only letters, digits, '.', '_' and '-': %s" % host)
        try:
            os.lstat(os.path.join(path, private_key_name(host)))
        except FileNotFoundError:
            missing.append(host)
        except NotADirectoryError:
            missing.append(host)  # the key directory is a file: wg_keys refuses it
    return missing


def mesh_key_dir(key_dirs):
    """The one key directory of a mesh, from {host: its key directory (None: cannot be decided)}.

    Raises KeyDirectoryError naming two hosts and their two directories when the hosts disagree (two inventory
    sources each giving its own <inventory dir>/wg_keys), or naming the host that has none."""
    normalised = {}
    for host in sorted(key_dirs):
        if not key_dirs[host]:
            raise KeyDirectoryError(
                "host %r: variable wg_mesh_key_dir: is not set and cannot default to <inventory dir>/wg_keys (its"
                " inventory source is not a file in a directory): set it for the whole group" % host)
        normalised[host] = os.path.normpath(os.path.expanduser(key_dirs[host]))
    by_dir = {}
    for host, directory in normalised.items():
        by_dir.setdefault(directory, host)
    if len(by_dir) > 1:
        (dir_a, host_a), (dir_b, host_b) = sorted(by_dir.items(), key=lambda item: item[1])[:2]
        raise KeyDirectoryError(
            "variable wg_mesh_key_dir: one mesh has one key directory, but host %r resolves it to %s and host %r to %s"
            " (two inventory sources, each with its own <inventory dir>/wg_keys?): set wg_mesh_key_dir once for the"
            " whole group (group_vars of the group, or -e), or no key would be found and new ones would break every"
            " tunnel" % (host_a, dir_a, host_b, dir_b))
    return next(iter(by_dir), None)


def run(args, check_mode, diff, codec_for):
    """What the wg_keys action returns for the task arguments args; codec_for(params) gives the file codec."""
    validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(args)
    if validation.error_messages:
        # A message never holds a key: no_log values are masked as a module's would be.
        return dict(failed=True, msg=remove_values("; ".join(validation.error_messages), validation._no_log_values))
    params = validation.validated_parameters
    try:
        result = MeshKeys(params["path"], params["hosts"], check_mode=check_mode, codec=codec_for(params),
                          live=params["live"], live_secrets=params["live_secrets"], adopt=params["adopt"],
                          external=params["external"]).apply()
    except (KeyDirectoryError, OSError) as error:
        return dict(failed=True, msg=str(error))
    if diff:
        result["diff"] = dict(
            before="",
            after="".join("created %s\n" % file_path for file_path in result["created"]),
            after_header="%s (key files, content not shown)" % params["path"],
        )
    return result
