#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netns_host_settings
short_description: Remember the host settings the namespace VPCs change, keep their registry, and put the settings back
version_added: 0.3.0
description:
  - The settings of the host that building VPCs of network namespaces changes are remembered once, before the first
    change, in a registry file (JSON) - IPv4 forwarding (C(net.ipv4.ip_forward)), whether C(/run/netns) is a mount
    point (C(ip netns add) bind-mounts it on itself, and the mount outlives the namespaces), and the iptables tables
    that exist (C(iptables-save)). Later runs keep what the first one remembered.
  - The registry also holds O(resources), what the role has built or is about to build, so that a run that fails
    half-way still knows what to remove next time.
  - With O(state=absent) the remembered settings are put back (forwarding as it was; C(/run/netns) unmounted when it
    was no mount point before and no namespace is left in it) and the registry is deleted, with its directory when
    nothing else is in it.
  - It reads first and compares; nothing is reported as changed unless something was, or in check mode would be, done.
requirements:
  - C(sysctl), C(findmnt) and C(iptables-save) (of O(backend)) on the target; C(umount) with O(state=absent).
options:
  path:
    description: The registry file. Its directory is created (mode C(0755)) when the registry is first written.
    type: path
    required: true
  state:
    description:
      - V(recorded) remembers the settings (unless the registry already does) and writes the registry with
        O(resources); nothing else changes. Run it before any change. Nothing is written when O(resources) is empty
        and there is no registry yet (nothing was built, nothing will be).
      - V(present) does the same, then turns IPv4 forwarding on when O(forwarding) is set.
      - V(absent) puts back what the registry remembered and deletes the registry; without a registry, nothing.
    type: str
    choices: [recorded, present, absent]
    default: present
  resources:
    description: What to record as built (the role's namespaces, links, units and chains, by kind); none when unset.
    type: dict
  calls:
    description:
      - The options of the calls to record along (the C(fakevpc.vpc.netns_vpc) role's chains and links, as its plan's
        C(recorded_calls)), for P(fakevpc.vpc.host_networks#module) to prove them current on the next run; none
        when unset.
    type: dict
  forwarding:
    description: With O(state=present), turn IPv4 forwarding on (the VPCs route between their bridges and the uplink).
    type: bool
    default: false
  manage_forwarding:
    description: Whether to change IPv4 forwarding at all (on with O(forwarding), back with O(state=absent)).
    type: bool
    default: true
  backend:
    description: Which iptables-save lists the tables - C(iptables-save) (V(auto)), C(iptables-nft-save) or C(iptables-legacy-save).
    type: str
    choices: [auto, nft, legacy]
    default: auto
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  diff_mode:
    details: The registry and the host's settings, before and after.
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Remember the host's settings and what this run may build, before any change
  fakevpc.vpc.netns_host_settings:
    path: /var/lib/netns_vpc/registry.json
    state: recorded
    resources: {namespaces: [ns-my-vpc-public], links: [br-my-vpc, v-my-vpc-public], units: [], chains: []}
  register: settings

- name: Put the host's settings back once no VPC is left
  fakevpc.vpc.netns_host_settings:
    path: /var/lib/netns_vpc/registry.json
    state: absent
"""

RETURN = r"""
before:
  description: The settings the host had before the first run (remembered, or read now when nothing was remembered).
  returned: always
  type: dict
  contains:
    ip_forward:
      description: C(net.ipv4.ip_forward), C(0) or C(1).
      type: str
    netns_mount:
      description: Whether C(/run/netns) was a mount point.
      type: bool
    tables:
      description: The iptables tables that existed.
      type: list
      elements: str
actions:
  description: What the module did (or in check mode would do), in order, in words.
  returned: always
  type: list
  elements: str
  sample: ["remember the host's settings", "write the registry", "turn IPv4 forwarding on"]
commands:
  description: The commands that changed (or in check mode would change) something, in order.
  returned: always
  type: list
  elements: str
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule
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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["recorded", "present", "absent"], default="present"),
            resources=dict(type="dict"),
            calls=dict(type="dict"),
            forwarding=dict(type="bool", default=False),
            manage_forwarding=dict(type="bool", default=True),
            backend=dict(type="str", choices=["auto", "nft", "legacy"], default="auto"),
        ),
        supports_check_mode=True,
    )
    HostSettings(module, CommandRunner(module)).run_and_exit()


if __name__ == "__main__":
    main()
