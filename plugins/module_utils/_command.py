# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One small runner for the command-line tools our modules drive (ip, wg, systemctl...).

A private module of the fakevpc.vpc collection: its interface may change without notice.
Commands are argument lists (never a shell string), run with a fixed C locale; secrets
travel on standard input, never on the command line, so a failure message can show the
command as it is.
"""

from __future__ import annotations

C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class CommandRunner:
    """Runs tools by name, resolving each binary once with get_bin_path."""

    def __init__(self, module):
        self.module = module
        self._binaries = {}

    def binary(self, name, required=True):
        if name not in self._binaries:
            self._binaries[name] = self.module.get_bin_path(name, required=required)
        return self._binaries[name]

    def run(self, tool, *args, **kwargs):
        """Run tool with args; fail the module on a non-zero exit unless check_rc=False.

        data: text for standard input (keys go here).
        netns: name of a network namespace (``ip netns``) to run the tool in, through
        ``ip netns exec NAME``. Returns (rc, stdout, stderr).
        """
        data = kwargs.pop("data", None)
        check_rc = kwargs.pop("check_rc", True)
        netns = kwargs.pop("netns", None)
        command = [self.binary(tool)] + [str(arg) for arg in args]
        if netns:
            command = [self.binary("ip"), "netns", "exec", netns] + command
        rc, stdout, stderr = self.module.run_command(command, data=data, environ_update=C_LOCALE)
        if check_rc and rc != 0:
            self.module.fail_json(
                msg="%s failed: %s" % (" ".join(command), (stderr or stdout).strip()),
                cmd=command, rc=rc, stdout=stdout, stderr=stderr)
        return rc, stdout, stderr
