#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: wg_keys
short_description: Keep the WireGuard keys of a mesh in a directory on the controller
version_added: 0.1.0
description:
  - Creates one X25519 key pair per host and one preshared key per pair of hosts in O(path),
    and returns the public keys.
  - Existing keys are never regenerated or rewritten, so rerunning it, or adding a host, leaves every
    existing key byte-identical and every tunnel up.
  - "Run it on the controller (C(delegate_to: localhost), C(run_once: true)); it needs the Python
    C(cryptography) library there, never the C(wg) tool."
  - Files are C(<path>/<host>.key) (private key, base64) and C(<path>/<a>+<b>.psk) with C(a) < C(b)
    (preshared key, base64), mode C(0600), in a C(0700) directory.
  - "Private material is never returned: read it with P(ansible.builtin.file#lookup) in a task with C(no_log: true)."
requirements:
  - cryptography
options:
  path:
    description: The key directory. Created with mode C(0700) if missing; its mode is corrected if not C(0700).
    type: path
    required: true
  hosts:
    description:
      - The hosts of the mesh (inventory hostnames). Letters, digits, C(.), C(_) and C(-) only.
      - Keys of hosts no longer listed are left in place.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff lists the key files that would be created, never their content.
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Keep the mesh keys on the controller
  fakevpc.vpc.wg_keys:
    path: "{{ playbook_dir }}/.wg_keys"
    hosts: "{{ groups['vpc'] }}"
  delegate_to: localhost
  run_once: true
  register: wg_mesh__keys

- name: Use a private key (never logged)
  fakevpc.vpc.wg_interface:
    name: wgvpc0
    private_key: "{{ lookup('ansible.builtin.file', wg_mesh__keys.private_key_files[inventory_hostname]) }}"
  no_log: true
"""

RETURN = r"""
public_keys:
  description: Public key of every listed host whose private key exists (in check mode, not of those that would be created).
  returned: always
  type: dict
  sample: {server1: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="}
private_key_files:
  description: Path of every listed host's private key file.
  returned: always
  type: dict
  sample: {server1: /home/me/vpc/.wg_keys/server1.key}
preshared_key_files:
  description: Path of the preshared key file of every pair, under both hosts of the pair.
  returned: always
  type: dict
  sample: {server1: {server2: /home/me/vpc/.wg_keys/server1+server2.psk}, server2: {server1: /home/me/vpc/.wg_keys/server1+server2.psk}}
created:
  description: The key files this run created (or would create, in check mode).
  returned: always
  type: list
  elements: str
"""

import itertools
import os
import re
import stat

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.fakevpc.vpc.plugins.module_utils import _wg_keys

HOST_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_key_path(path, host):
    return os.path.join(path, "%s.key" % host)


def preshared_key_path(path, host_a, host_b):
    first, second = sorted((host_a, host_b))
    return os.path.join(path, "%s+%s.psk" % (first, second))


def write_new_key(file_path, key):
    """Create file_path holding key, mode 0600; never replace a file that appeared meanwhile."""
    temporary = "%s.%d.tmp" % (file_path, os.getpid())
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, file_path)
    finally:
        os.unlink(temporary)


class KeyDirectory:
    """Reads the key directory, works out what is missing, and creates only that."""

    def __init__(self, module):
        self.module = module
        self.path = module.params["path"]
        self.hosts = sorted(set(module.params["hosts"]))
        self.changed = False
        self.created = []

    def _fail_on_bad_hosts(self):
        bad = [host for host in self.hosts if not HOST_NAME.match(host)]
        if bad:
            self.module.fail_json(msg="hosts: names may hold only letters, digits, '.', '_' and '-': %s" % ", ".join(bad))

    def _ensure_mode(self, file_path, mode):
        if stat.S_IMODE(os.stat(file_path).st_mode) != mode:
            self.changed = True
            if not self.module.check_mode:
                os.chmod(file_path, mode)

    def _read_key(self, file_path):
        with open(file_path) as handle:
            key = handle.read()
        if _wg_keys.decode_key(key) is None:
            self.module.fail_json(msg="%s is not a WireGuard key (base64 of 32 bytes); fix or remove it" % file_path)
        return key.strip()

    def _ensure_key(self, file_path, generate):
        """Return the key in file_path, creating it first when missing (None in check mode)."""
        if os.path.exists(file_path):
            self._ensure_mode(file_path, FILE_MODE)
            return self._read_key(file_path)
        self.changed = True
        self.created.append(file_path)
        if self.module.check_mode:
            return None
        key = generate()
        write_new_key(file_path, key)
        return key

    def apply(self):
        self._fail_on_bad_hosts()
        if os.path.isdir(self.path):
            self._ensure_mode(self.path, DIRECTORY_MODE)
        elif os.path.exists(self.path):
            self.module.fail_json(msg="path: %s exists and is not a directory" % self.path)
        else:
            self.changed = True
            if not self.module.check_mode:
                os.makedirs(self.path, DIRECTORY_MODE)
                os.chmod(self.path, DIRECTORY_MODE)
        directory_exists = os.path.isdir(self.path)

        public_keys, private_key_files = {}, {}
        for host in self.hosts:
            file_path = private_key_path(self.path, host)
            private_key_files[host] = file_path
            if not directory_exists:
                self.created.append(file_path)
                continue
            private_key = self._ensure_key(file_path, _wg_keys.generate_private_key)
            if private_key is not None:
                public_keys[host] = _wg_keys.public_key(private_key)

        preshared_key_files = dict((host, {}) for host in self.hosts)
        for host_a, host_b in itertools.combinations(self.hosts, 2):
            file_path = preshared_key_path(self.path, host_a, host_b)
            preshared_key_files[host_a][host_b] = preshared_key_files[host_b][host_a] = file_path
            if not directory_exists:
                self.created.append(file_path)
                continue
            self._ensure_key(file_path, _wg_keys.generate_preshared_key)

        result = dict(
            changed=self.changed or bool(self.created),
            public_keys=public_keys,
            private_key_files=private_key_files,
            preshared_key_files=preshared_key_files,
            created=self.created,
        )
        if self.module._diff:
            result["diff"] = dict(
                before="",
                after="".join("created %s\n" % file_path for file_path in self.created),
                after_header="%s (key files, content not shown)" % self.path,
            )
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            hosts=dict(type="list", elements="str", required=True),
        ),
        supports_check_mode=True,
    )
    if _wg_keys.X25519PrivateKey is None:
        module.fail_json(msg=missing_required_lib("cryptography"))
    module.exit_json(**KeyDirectory(module).apply())


if __name__ == "__main__":
    main()
