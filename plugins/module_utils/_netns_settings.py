# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The netns_host_settings module: the host settings the namespace VPCs change, remembered in their registry and put back.

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.fakevpc.vpc.plugins.module_utils._calls import Callee, run_as_module
from ansible_collections.fakevpc.vpc.plugins.module_utils._command import CommandRunner
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import make_directories, read_json_object, replace_file
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_live import (
    BEFORE_KEYS,
    ip_forward,
    registry_content,
    remembered,
)
from ansible_collections.fakevpc.vpc.plugins.module_utils._state import State

NETNS_DIR = "/run/netns"
SAVE_COMMANDS = {"auto": "iptables-save", "nft": "iptables-nft-save", "legacy": "iptables-legacy-save"}


class HostSettings(State):
    def __init__(self, module, runner):
        super().__init__(module, runner, {"before": {}, "actions": [], "commands": []})
        self.path = module.params["path"]

    # -- reading ------------------------------------------------------------------------------
    def read_registry(self):
        """The registry as written last time, or None when there is none."""
        try:
            return read_json_object(self.path)
        except ValueError as error:
            self.module.fail_json(msg="%s is not the registry's JSON: %s" % (self.path, error))

    def netns_mounted(self):
        rc, _stdout, stderr = self.runner.run("findmnt", "--noheadings", "--output", "TARGET", "--mountpoint", NETNS_DIR,
                                              check_rc=False)
        if rc > 1:
            self.module.fail_json(msg="findmnt failed: %s" % stderr.strip(), rc=rc, stderr=stderr)
        return rc == 0

    def tables(self):
        _rc, stdout, _stderr = self.runner.run(SAVE_COMMANDS[self.params["backend"]])
        return re.findall(r"(?m)^\*(\w+)", stdout)

    def remembered(self, registry):
        """What the host had before the first run: the registry's, else read now."""
        before = remembered(registry)
        readers = {"ip_forward": ip_forward, "tables": self.tables, "netns_mount": self.netns_mounted}
        return dict((setting, before[setting] if setting in before else read()) for setting, read in readers.items())

    # -- acting -------------------------------------------------------------------------------
    def do(self, action, *command):
        self.result["actions"].append(action)
        if command:
            self.result["commands"].append(" ".join(command))
            self.act(*command)
        else:
            self.changed = True

    def set_forwarding(self, value, why):
        self.do(why, "sysctl", "-q", "-w", "net.ipv4.ip_forward=%s" % value)

    def write_registry(self, content):
        self.do("write the registry %s" % self.path)
        if not self.module.check_mode:
            make_directories(os.path.dirname(self.path), 0o755)
            replace_file(self.path, json.dumps(content, indent=4, sort_keys=True) + "\n", mode=0o644, module=self.module)

    # -- entry points -------------------------------------------------------------------------
    def record(self, registry):
        before = self.result["before"] = self.remembered(registry)
        resources = self.params["resources"] or {}
        if registry is None and not any(resources.values()):
            return registry
        content = registry_content(resources, before, self.params["calls"])
        if len(remembered(registry)) < len(BEFORE_KEYS):
            self.result["actions"].append("remember the host's settings")
        if content != registry:
            self.write_registry(content)
        return content

    def present(self):
        registry = self.read_registry()
        written = self.record(registry)
        if self.params["state"] == "present" and self.params["forwarding"] and self.params["manage_forwarding"] \
                and ip_forward() != "1":
            self.set_forwarding(1, "turn IPv4 forwarding on")
        self.add_diff(self.path, self.describe(registry), self.describe(written))

    def absent(self):
        registry = self.read_registry()
        if registry is None:
            self.result["before"] = self.remembered(None)
            self.add_diff(self.path, "", "")
            return
        before = self.result["before"] = self.remembered(registry)
        if self.params["manage_forwarding"] and ip_forward() != before["ip_forward"]:
            self.set_forwarding(before["ip_forward"], "put IPv4 forwarding back to %s" % before["ip_forward"])
        if not before["netns_mount"] and self.netns_mounted() and not os.listdir(NETNS_DIR):
            self.do("unmount %s, which was no mount point before" % NETNS_DIR, "umount", NETNS_DIR)
        self.do("remove the registry %s" % self.path)
        if not self.module.check_mode:
            os.unlink(self.path)
            directory = os.path.dirname(self.path)
            if not os.listdir(directory):
                os.rmdir(directory)
        self.add_diff(self.path, self.describe(registry), "")

    @staticmethod
    def describe(registry):
        return "" if registry is None else json.dumps(registry, indent=4, sort_keys=True) + "\n"


HOST_SETTINGS_CALLEE = Callee(
    argument_spec=dict(
        path=dict(type="path", required=True),
        state=dict(type="str", choices=["recorded", "present", "absent"], default="present"),
        resources=dict(type="dict"),
        calls=dict(type="dict"),
        forwarding=dict(type="bool", default=False),
        manage_forwarding=dict(type="bool", default=True),
        backend=dict(type="str", choices=["auto", "nft", "legacy"], default="auto"),
    ),
    required_one_of=[],
    mutually_exclusive=[],
    run=lambda module: HostSettings(module, CommandRunner(module)).run_and_exit(),
)


def main():
    """The netns_host_settings module."""
    run_as_module(HOST_SETTINGS_CALLEE)
