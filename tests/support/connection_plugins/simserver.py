# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: simserver
short_description: Run tasks inside a simulated server (Linux namespaces) through nsenter
description:
  - Test-only connection used by the integration tests of C(fakevpc.vpc).
  - Runs every command with C(nsenter) in the mount, UTS, network and PID namespaces of
    an anchor process, the PID 1 of a simulated server created by C(tests/support/simnet.py).
  - Files are copied in and out by commands run inside the server, so paths that are bind mounts
    of that server (for example C(/etc/wireguard)) are honoured.
  - The controller must run as root. C(become) is not supported; every command runs as root, or every command as
    O(simserver_user).
author: fakevpc developers
options:
  simserver_pid:
    description: PID, as seen by the controller, of the anchor process of the simulated server.
    type: int
    required: true
    vars:
      - name: ansible_simserver_pid
  simserver_user:
    description:
      - A user of the machine to run every command as (C(setpriv), with that user's groups and a fresh environment),
        as a login without C(become) on a real server would; by default root.
      - Commands then need a Python the user can run and no remote temporary directory (use pipelining).
    type: str
    vars:
      - name: ansible_simserver_user
  nsenter_path:
    description: Path of the C(nsenter) program on the controller.
    type: str
    default: nsenter
    vars:
      - name: ansible_simserver_nsenter
extends_documentation_fragment:
  - connection_pipelining
notes:
  - The remote user is ignored; commands run as the user of the controller (root), or as O(simserver_user).
"""

import getpass
import os
import pwd
import shutil
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()


class Connection(ConnectionBase):
    """Commands run in the namespaces of a simulated server."""

    transport = 'simserver'
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pid = None
        self._nsenter = None
        self._user = []

    def _connect(self):
        if not self._connected:
            pid = self.get_option('simserver_pid')
            if not os.path.exists('/proc/%d/ns/net' % pid):
                raise AnsibleConnectionFailure('simulated server anchor PID %d does not exist' % pid)
            nsenter = shutil.which(self.get_option('nsenter_path'))
            if nsenter is None:
                raise AnsibleConnectionFailure('nsenter not found')
            self._pid = pid
            self._nsenter = nsenter
            user = self.get_option('simserver_user')
            if user:
                try:
                    entry = pwd.getpwnam(user)
                except KeyError:
                    raise AnsibleConnectionFailure('simserver_user %r is not a user of this machine' % user)
                self._user = ['setpriv', '--reuid=%d' % entry.pw_uid, '--regid=%d' % entry.pw_gid, '--init-groups',
                              '--reset-env', '--']
                self._play_context.remote_user = user
            else:
                try:
                    self._play_context.remote_user = getpass.getuser()
                except KeyError:
                    self._play_context.remote_user = ''
            display.vvv('ESTABLISH SIMSERVER CONNECTION TO PID %d' % pid, host=self._play_context.remote_addr)
            self._connected = True
        return self

    def _argv(self, argv):
        return [self._nsenter, '--target=%d' % self._pid, '--mount', '--uts', '--net', '--pid', '--'] + self._user + list(argv)

    def _run(self, argv, in_data=None):
        self._connect()
        full = [to_bytes(a, errors='surrogate_or_strict') for a in self._argv(argv)]
        display.vvv('EXEC %s' % to_text(b' '.join(full)), host=self._play_context.remote_addr)
        proc = subprocess.Popen(full, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = proc.communicate(in_data)
        return proc.returncode, stdout, stderr

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if isinstance(cmd, (list, tuple)):
            argv = list(cmd)
        else:
            argv = ['/bin/sh', '-c', cmd]
        return self._run(argv, in_data=in_data)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv('PUT %s TO %s' % (in_path, out_path), host=self._play_context.remote_addr)
        try:
            with open(to_bytes(in_path, errors='surrogate_or_strict'), 'rb') as f:
                data = f.read()
        except IOError as e:
            raise AnsibleFileNotFound('file or module does not exist: %s (%s)' % (in_path, e))
        rc, dummy, err = self._run(['/bin/sh', '-c', 'cat > "$1"', 'sh', out_path], in_data=data)
        if rc != 0:
            raise AnsibleError('failed to transfer file to %s: %s' % (out_path, to_text(err)))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv('FETCH %s TO %s' % (in_path, out_path), host=self._play_context.remote_addr)
        rc, out, err = self._run(['cat', in_path])
        if rc != 0:
            raise AnsibleError('failed to fetch %s: %s' % (in_path, to_text(err)))
        with open(to_bytes(out_path, errors='surrogate_or_strict'), 'wb') as f:
            f.write(out)

    def close(self):
        self._connected = False
