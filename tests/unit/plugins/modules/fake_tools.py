# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The command-line tools as the module tests see them: run_command answered from a table, every call recorded."""

from __future__ import annotations

import os

from ansible.module_utils import basic

C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class FakeTools:
    """Stands for run_command: answers each command from a table, with (rc, stdout, stderr) or a list of those given
    in turn ((0, "", "") for a command not in the table), and records every call with its standard input.

    A command is the argument list as a tuple, the binaries get_bin_path gave (/usr/bin/NAME) written NAME: the
    tool run only, with only_tool, else every argument (the tools `ip netns exec` runs). reads: commands, or their
    first words, that only read; mutating() is every command but those.
    """

    def __init__(self, answers, reads=(), only_tool=False):
        self.answers = answers
        self.reads = [tuple(read) for read in reads]
        self.only_tool = only_tool
        self.calls = []

    def __call__(self, args, data=None, environ_update=None, **kwargs):
        assert environ_update == C_LOCALE
        if self.only_tool:
            command = (os.path.basename(args[0]),) + tuple(args[1:])
        else:
            command = tuple(os.path.basename(arg) if arg.startswith("/usr/bin/") else arg for arg in args)
        self.calls.append((command, data))
        answer = self.answers.get(command, (0, "", ""))
        return answer.pop(0) if isinstance(answer, list) else answer

    @property
    def commands(self):
        return [command for command, _data in self.calls]

    def mutating(self):
        return [command for command in self.commands if not any(command[:len(read)] == read for read in self.reads)]


def install(monkeypatch, fake, missing=()):
    """Make fake the run_command of every AnsibleModule, and every tool but those of missing be in /usr/bin."""
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, args, **kwargs: fake(args, **kwargs))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, required=False: None if name in missing else "/usr/bin/" + name)
    return fake
