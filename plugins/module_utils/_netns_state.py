# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The base of the netns modules: a State whose module's O(state) says which of present() and absent() to run.

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.fakevpc.vpc.plugins.module_utils._state import State

# What ip (and so ip netns exec) prints when the named namespace does not exist.
MISSING_NAMESPACE = "Cannot open network namespace"


class NetnsState(State):
    def run_and_exit(self):
        """Bring about the state the module's O(state) asks for, and exit with the result."""
        if self.params["state"] == "present":
            self.present()
        else:
            self.absent()
        self.module.exit_json(changed=self.changed, **self.result)
