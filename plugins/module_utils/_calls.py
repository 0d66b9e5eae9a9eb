# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A module of this collection run as its own module (run_as_module), or called from another module's process
(call): the calls of a batch (the batch module), or a check of whether a call would change anything (would_change).

A private module of the fakevpc.vpc collection: its interface may change without notice.

A Callee is what a module is apart from its documentation: its argument spec and run(module), which reads, compares,
acts and ends with module.exit_json or module.fail_json, as any module's main does. A called module gets a
CallModule for its module: the options of the call, validated against its own spec; the caller's check and diff
modes (check mode and no diff for a check); the caller's tools; exit_json and fail_json end the call, not the process.
"""

from __future__ import annotations

from collections import namedtuple

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

Callee = namedtuple("Callee", "argument_spec required_one_of mutually_exclusive run")


def run_as_module(callee):
    """The main() of callee's own module: its arguments, then run. Exits."""
    callee.run(AnsibleModule(argument_spec=callee.argument_spec, required_one_of=callee.required_one_of,
                             mutually_exclusive=callee.mutually_exclusive, supports_check_mode=True))


class CallFailed(Exception):
    """The call failed (or its options are not the callee's): msg says why, details are the rest of its result."""

    def __init__(self, msg, details=None):
        super().__init__(msg)
        self.msg = msg
        self.details = details or {}


class _Exited(Exception):
    def __init__(self, result):
        super().__init__("exited")
        self.result = result


class CallModule:
    """A module as a callee called from another module's process sees it: the options of the call, the caller's modes
    (check mode without diff or warnings for a check), everything else the caller's own (run_command, atomic_move,
    its temporary directory)."""

    def __init__(self, module, callee, params, check_only=False):
        self._caller = module
        checked = ArgumentSpecValidator(callee.argument_spec, mutually_exclusive=callee.mutually_exclusive,
                                        required_one_of=callee.required_one_of).validate(params)
        if checked.error_messages:
            raise CallFailed("; ".join("Unsupported parameters: %s" % error if isinstance(error, UnsupportedError)
                                       else str(error) for error in checked.errors))
        self.params = checked.validated_parameters
        self.check_mode = check_only or module.check_mode
        self._diff = module._diff and not check_only
        self._check_only = check_only

    def __getattr__(self, name):
        return getattr(self._caller, name)

    def exit_json(self, **result):
        raise _Exited(result)

    def fail_json(self, msg, **details):
        raise CallFailed(msg, details)

    def warn(self, warning):
        """A check keeps its warnings: they are the call's own to give when it runs."""
        if not self._check_only:
            self._caller.warn(warning)

    def get_bin_path(self, name, required=False):
        path = self._caller.get_bin_path(name, required=False)
        if path is None and required:
            raise CallFailed("Failed to find required executable %r" % name)
        return path


def call(module, callee, params, check_only=False):
    """The result of callee run with the options params from module's process (in check mode without diff when
    check_only); raises CallFailed when it fails."""
    try:
        callee.run(CallModule(module, callee, params, check_only))
    except _Exited as exited:
        return exited.result
    raise CallFailed("the call ended without a result")


def would_change(module, callee, params):
    """Whether a call of callee with params would change anything now, or fail: its own reads and comparisons, in check
    mode, from module's process."""
    try:
        return bool(call(module, callee, params, check_only=True).get("changed"))
    except CallFailed:
        return True
