# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The base of the modules that manage a thing: compare live with wanted state, then act, or in check mode only report.

A private module of the fakevpc.vpc collection: its interface may change without notice.

A subclass reads one kind of thing (a namespace, a link, a chain, a WireGuard interface, the host's settings) and
implements present() and absent(), of which bring_about() runs the one its O(state) asks for; act() is the one place
where check mode skips a change, and add_diff() the one shape of their diffs.
"""

from __future__ import annotations


class State:
    def __init__(self, module, runner, result, params=None):
        """params: the options of the thing (the module's own when None); result: what the module returns of it."""
        self.module = module
        self.runner = runner
        self.params = module.params if params is None else params
        self.changed = False
        self.result = result

    def act(self, tool, *args, **kwargs):
        """Run a command that changes something, except in check mode; either way the module reports a change."""
        self.changed = True
        if not self.module.check_mode:
            self.runner.run(tool, *args, **kwargs)

    def add_diff(self, subject, before, after):
        if self.module._diff:
            self.result["diff"] = {"before_header": "%s (live)" % subject, "after_header": "%s (wanted)" % subject,
                                   "before": before, "after": after}

    def bring_about(self):
        """Bring about the state the thing's O(state) asks for: absent() for V(absent), present() for any other."""
        if self.params["state"] == "absent":
            self.absent()
        else:
            self.present()

    def run_and_exit(self):
        """Apply, and exit with the result."""
        self.bring_about()
        self.module.exit_json(changed=self.changed, **self.result)

    def present(self):
        raise NotImplementedError

    def absent(self):
        raise NotImplementedError
