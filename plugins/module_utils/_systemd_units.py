# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The systemd_units module: a set of systemd units and their files, managed exclusively in one call.

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

import os
import re

from ansible.module_utils.common.text.converters import to_text
from ansible_collections.fakevpc.vpc.plugins.module_utils import _unit_files as unit_files
from ansible_collections.fakevpc.vpc.plugins.module_utils._calls import Callee, run_as_module
from ansible_collections.fakevpc.vpc.plugins.module_utils._command import CommandRunner
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import make_directories, replace_file

DIRECTORY_MODE = 0o755
RESULT_LISTS = ("written", "removed", "pruned", "enabled", "started", "restarted", "reloaded")


class SystemdUnits:
    """Read every file and the units' state, compare with the wanted ones, act on the difference only (the reading
    and the comparison are _unit_files', shared with the read that can prove a call unneeded)."""

    def __init__(self, module, runner):
        self.module = module
        self.runner = runner
        self.params = module.params
        self.unit_dir = os.path.normpath(module.params["unit_dir"])
        self.owner = (os.geteuid(), os.getegid())
        self.result = dict((name, []) for name in RESULT_LISTS)
        self.diff = []

    # -- wanted state -------------------------------------------------------------------------
    def wanted_files(self):
        """Every file to write, as dicts (path, content bytes, mode, unit), unit files first for each unit."""
        try:
            return unit_files.wanted_files(self.params["units"], self.unit_dir)
        except unit_files.UnitFilesError as error:
            self.module.fail_json(msg=str(error))

    def files_to_remove(self, wanted_paths):
        paths = []
        for position, path in enumerate(self.params["remove_files"]):
            where = "remove_files[%d]" % position
            try:
                path = unit_files.absolute_path(path, where)
            except unit_files.UnitFilesError as error:
                self.module.fail_json(msg=str(error))
            if path in wanted_paths:
                self.module.fail_json(msg="%s: %s is also a file to write" % (where, path))
            if os.path.lexists(path):
                paths.append(path)
        return paths

    def units_to_prune(self, wanted_units):
        patterns = self.params["prune_patterns"]
        try:
            unit_files.check_prune_patterns(patterns)
        except unit_files.UnitFilesError as error:
            self.module.fail_json(msg=str(error))
        return unit_files.prunable(unit_files.unit_file_names(self.unit_dir), patterns, wanted_units)

    # -- files --------------------------------------------------------------------------------
    def read_file(self, path):
        """The file at path as a dict (content bytes, mode, owner), or None when it does not exist."""
        try:
            return unit_files.read_file(path)
        except OSError as error:
            self.module.fail_json(msg="cannot read %s: %s" % (path, error))

    def in_unit_dir(self, path):
        return path.startswith(self.unit_dir + os.sep)

    def add_diff(self, path, live, wanted):
        if not self.module._diff:
            return
        self.diff.append({
            "before_header": "%s (%s)" % (path, "mode %04o" % live["mode"] if live else "absent"),
            "after_header": "%s (%s)" % (path, "mode %04o" % wanted["mode"] if wanted else "absent"),
            "before": to_text(live["content"], errors="surrogate_or_replace") if live else "",
            "after": to_text(wanted["content"]) if wanted else "",
        })

    def write_file(self, wanted):
        path = wanted["path"]
        try:
            make_directories(os.path.dirname(path), DIRECTORY_MODE)
            replace_file(path, wanted["content"], wanted["mode"], self.owner, module=self.module)
        except OSError as error:
            self.module.fail_json(msg="cannot write %s: %s" % (path, error), **self.result)

    def remove_file(self, path):
        try:
            os.unlink(path)
        except OSError as error:
            self.module.fail_json(msg="cannot remove %s: %s" % (path, error), **self.result)

    # -- systemctl ----------------------------------------------------------------------------
    def systemctl(self, verb, units, *options):
        """`systemctl VERB OPTIONS UNITS...`, once for all units (not in check mode).

        A failure names the units systemctl complains about (all of them when it names none) and, when the
        verb runs them, where their logs are.
        """
        if not units or self.module.check_mode or not self.params["systemctl"]:
            return
        rc, stdout, stderr = self.runner.run("systemctl", verb, *(options + tuple(units)), check_rc=False)
        if rc != 0:
            failed = [unit for unit in units
                      if re.search("(?<!%s)%s" % (unit_files.UNIT_NAME_CHARACTER, re.escape(unit)), stderr)] or units
            msg = "systemctl %s failed for %s: %s" % (verb, ", ".join(failed), (stderr or stdout).strip())
            if verb != "enable":
                msg += "; see journalctl -u %s" % " -u ".join(failed)
            self.module.fail_json(msg=msg, rc=rc, stdout=stdout, stderr=stderr, changed=True, **self.result)

    def unit_states(self, names):
        """{name: {"ActiveState": ..., "UnitFileState": ...}} from one `systemctl show`, in the order of names."""
        try:
            return unit_files.unit_states(self.runner.run, names)
        except ValueError as error:
            self.module.fail_json(msg=str(error))

    # -- entry point --------------------------------------------------------------------------
    def apply(self):
        on_change = dict((unit["name"], unit["on_change"]) for unit in self.params["units"])
        if len(on_change) != len(self.params["units"]):
            self.module.fail_json(msg="units: a unit name is listed twice")
        wanted_files = self.wanted_files()
        stale = []
        for wanted in wanted_files:
            live = self.read_file(wanted["path"])
            if not unit_files.is_current(unit_files.digest(live), wanted, self.owner):
                stale.append(wanted)
                self.add_diff(wanted["path"], live, wanted)
        pruned = self.units_to_prune(on_change)
        pruned_paths = [os.path.join(self.unit_dir, name) for name in pruned]
        removed_paths = pruned_paths + self.files_to_remove(set(wanted["path"] for wanted in wanted_files))
        for path in removed_paths:
            self.add_diff(path, self.read_file(path), None)
        # The units' state is read before any change, as in check mode: what to enable and start follows from it.
        states = self.unit_states(list(on_change)) if on_change and self.params["systemctl"] else {}

        for wanted in stale:
            if not self.module.check_mode:
                self.write_file(wanted)
            self.result["written"].append(wanted["path"])
        self.result["pruned"] = pruned
        self.systemctl("disable", pruned, "--now", "--no-reload")
        for path in removed_paths:
            if not self.module.check_mode:
                self.remove_file(path)
            self.result["removed"].append(path)
        rewritten = set(wanted["unit"] for wanted in stale if wanted["path"] == os.path.join(self.unit_dir, wanted["unit"]))
        self.plan_states(states, on_change, set(wanted["unit"] for wanted in stale), rewritten)
        # One daemon-reload for the unit files written and removed and the units enabled and disabled above; a unit
        # enabled alone reloads by itself.
        reload = bool(pruned) or any(self.in_unit_dir(path) for path in self.result["written"] + removed_paths)
        self.systemctl("enable", self.result["enabled"], *(["--no-reload"] if reload else []))
        if reload and not self.module.check_mode and self.params["systemctl"]:
            self.runner.run("systemctl", "daemon-reload")
        for verb, listed in (("start", "started"), ("restart", "restarted"), ("reload", "reloaded")):
            self.systemctl(verb, self.result[listed])
        return any(self.result.values())

    def plan_states(self, states, on_change, changed_units, rewritten):
        """Which units to enable, start, restart or reload, from their state before this call. The enablement of a
        unit whose unit file this call rewrites is known only from its links (enabled); any other state of it
        (static, indirect...) came from the old file."""
        for name, state in states.items():
            if unit_files.needs_enable(state) or (
                    name in rewritten and state.get("UnitFileState") not in unit_files.LINKED):
                self.result["enabled"].append(name)
            if unit_files.needs_start(state):
                self.result["started"].append(name)
            elif name in changed_units:
                self.result[on_change[name] + "ed"].append(name)


def run(module):
    """Bring the units and their files about. Exits."""
    units = SystemdUnits(module, CommandRunner(module))
    changed = units.apply()
    if module._diff:
        units.result["diff"] = units.diff
    module.exit_json(changed=changed, **units.result)


SYSTEMD_UNITS_CALLEE = Callee(
    argument_spec=dict(
        units=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            content=dict(type="str", required=True),
            on_change=dict(type="str", choices=["restart", "reload"], default="restart"),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", required=True),
                mode=dict(type="raw", default="0644"),
            )),
        )),
        prune_patterns=dict(type="list", elements="str", default=[]),
        remove_files=dict(type="list", elements="path", default=[]),
        unit_dir=dict(type="path", default="/etc/systemd/system"),
        systemctl=dict(type="bool", default=True),
    ),
    required_one_of=[],
    mutually_exclusive=[],
    run=run,
)


def main():
    """The systemd_units module."""
    run_as_module(SYSTEMD_UNITS_CALLEE)
