#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netns
short_description: Create or delete named network namespaces, matched by their exact names
version_added: 0.1.0
description:
  - Creates the named network namespace (C(ip netns add)) when it is missing and brings its loopback up;
    deletes it with O(state=absent). With O(names), every namespace of the list, in one call.
  - The namespace is found by its exact name in C(ip -j netns list), never by a substring, so C(web) and
    C(web2) are different namespaces. Nothing is reported as changed unless something was, or in check mode
    would be, done.
  - A namespace in which processes still run is not deleted, since the namespace would live on with them,
    and so would its interfaces. The module fails and lists their PIDs, unless O(kill_processes) is set.
    Processes are found by the namespace they are in (C(ip netns pids)), never by their name.
  - The kernel tears a deleted namespace down after C(ip netns delete) returns, and with it the host's ends of its
    veth pairs. The module returns once those ends are gone (at most 30 seconds), so that what comes next (the
    same veth made again, a listing of the host's links) never finds them.
requirements:
  - C(ip) (iproute2) on the target.
options:
  name:
    description: The namespace name, as in C(ip netns list). One of O(name) and O(names) is required.
    type: str
  names:
    description:
      - Several namespaces in one call (a host's whole list), each with the other options of the task, in order.
    type: list
    elements: str
    version_added: 0.3.0
  state:
    description: Whether the namespace should exist.
    type: str
    choices: [present, absent]
    default: present
  loopback:
    description: Keep the namespace's C(lo) interface up (a new namespace has it down).
    type: bool
    default: true
  kill_processes:
    description:
      - With O(state=absent), end the processes that run in the namespace (C(SIGTERM), then C(SIGKILL) after
        O(kill_timeout) seconds) before deleting it. Only those processes, found by namespace.
    type: bool
    default: false
  kill_timeout:
    description: Seconds to wait after C(SIGTERM) before C(SIGKILL).
    type: int
    default: 5
  etc_dir:
    description:
      - The directory of the namespaces' own files (C(ip netns exec NAME) bind-mounts the files of
        C(<etc_dir>/NAME/) over those of C(/etc)), normally C(/etc/netns).
      - With O(state=absent), C(<etc_dir>/NAME) goes with the namespace. Unset leaves those files alone.
    type: path
    version_added: 0.3.0
  hosts_files:
    description:
      - With O(state=present), the content of C(<etc_dir>/NAME/hosts) of some of the namespaces, by name, written
        whole when it differs (mode C(0644), its directory C(0755) created when missing); in place when a rename
        cannot replace it (bind-mounted by C(ip netns exec)). The files of namespaces not named here are left alone.
      - Requires O(etc_dir). A content with a control character other than newline and tab is refused.
    type: dict
    default: {}
    version_added: 0.3.0
extends_documentation_fragment:
  - fakevpc.vpc.attributes
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Create the namespace of a subnet
  fakevpc.vpc.netns:
    name: ns-my-vpc-public

- name: Create the namespaces of every subnet in one call
  fakevpc.vpc.netns:
    names: [ns-my-vpc-public, ns-my-vpc-private]

- name: Create a namespace with its own hosts file (/etc/hosts inside ip netns exec)
  fakevpc.vpc.netns:
    name: ns-my-vpc-app
    etc_dir: /etc/netns
    hosts_files:
      ns-my-vpc-app: "10.10.1.10 db\n"

- name: Delete it, ending whatever still runs inside
  fakevpc.vpc.netns:
    name: ns-my-vpc-public
    state: absent
    kill_processes: true
"""

RETURN = r"""
existed:
  description: Whether the namespace existed before the module ran.
  returned: with O(name)
  type: bool
processes:
  description: PIDs of the processes found in the namespace when it was (or would be) deleted.
  returned: with O(name)
  type: list
  elements: int
namespaces:
  description: With O(names), the result of each namespace in order (RV(existed), RV(processes), RV(commands)).
  returned: with O(names)
  type: list
  elements: dict
  version_added: 0.3.0
commands:
  description: The commands that changed (or in check mode would change) something.
  returned: always
  type: list
  elements: str
"""

import json
import os
import shutil
import signal
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fakevpc.vpc.plugins.module_utils._command import CommandRunner
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import make_directories, read_text, replace_file
from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_live import loopback_up, netns_ids
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_state import run_batch
from ansible_collections.fakevpc.vpc.plugins.module_utils._state import State
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import control_characters


class Namespace(State):
    def __init__(self, module, runner, name):
        super().__init__(module, runner, {"existed": False, "processes": [], "commands": []})
        self.run = runner.run
        self.name = name

    def act_ip(self, *args):
        self.result["commands"].append(" ".join(["ip"] + list(args)))
        self.act("ip", *args)

    def exists(self):
        """Whether the namespace is listed; its id on the host (None when it has none) is kept in self.nsid."""
        listing = netns_ids(self.run)
        self.nsid = listing.get(self.name)
        return self.name in listing

    def host_links(self):
        """The host's links: {(ifindex, name): the id of the namespace of their other end (a veth pair's), or None}."""
        _rc, stdout, _stderr = self.run("ip", "-j", "link", "show")
        links = json.loads(stdout) if stdout.strip() else []
        return dict(((link["ifindex"], link["ifname"]), link.get("link_netnsid")) for link in links)

    def wait_until_torn_down(self, attached):
        """Wait until the kernel has torn the deleted namespace down: none of the links attached to it is left."""
        deadline = time.monotonic() + 30
        left = attached & set(self.host_links())
        while left:
            if time.monotonic() > deadline:
                self.module.fail_json(msg="namespace %s was deleted, but after 30 s its links %s are still on the host"
                                      % (self.name, ", ".join(sorted(name for _index, name in left))))
            time.sleep(0.05)
            left &= set(self.host_links())

    def processes(self):
        _rc, stdout, _stderr = self.run("ip", "netns", "pids", self.name)
        return sorted(int(pid) for pid in stdout.split())

    def present(self):
        existed = self.result["existed"] = self.exists()
        if not existed:
            self.act_ip("netns", "add", self.name)
        if self.module.params["loopback"] and (not existed or not loopback_up(self.run, self.name)):
            self.act_ip("-n", self.name, "link", "set", "dev", "lo", "up")
        before, after = self.listed(existed), self.listed(True)
        content = self.module.params["hosts_files"].get(self.name)
        if content is not None:
            path = os.path.join(self.module.params["etc_dir"], self.name, "hosts")
            live = self.write_hosts_file(path, content)
            before, after = before + self.file_lines(path, live), after + self.file_lines(path, content)
        self.add_diff("ip netns", before, after)

    def write_hosts_file(self, path, content):
        """Write the namespace's hosts file when its content differs; returns the live content (None: no file)."""
        live = read_text(path)
        if live != content:
            self.changed = True
            self.result["commands"].append("write %s" % path)
            if not self.module.check_mode:
                make_directories(os.path.dirname(path), 0o755)
                replace_file(path, content, mode=0o644, module=self.module, unsafe_writes=True)
        return live

    @staticmethod
    def file_lines(path, content):
        """A file's part of the diff: its path, then its lines (nothing when there is no file)."""
        return "" if content is None else "%s:\n%s" % (path, content)

    def absent(self):
        existed = self.result["existed"] = self.exists()
        if existed:
            pids = self.result["processes"] = self.processes()
            if pids and not self.module.params["kill_processes"]:
                self.module.fail_json(
                    msg="namespace %s still has processes %s: stop them first (their services), or set kill_processes"
                    % (self.name, ", ".join("%d (%s)" % (pid, self.command_name(pid)) for pid in pids)),
                    processes=pids)
            if pids:
                self.changed = True
                self.result["commands"].append("kill %s" % " ".join(str(pid) for pid in pids))
                if not self.module.check_mode:
                    self.end_processes(pids)
            attached = set() if self.nsid is None else \
                set(link for link, nsid in self.host_links().items() if nsid == self.nsid)
            self.act_ip("netns", "delete", self.name)
            if attached and not self.module.check_mode:
                self.wait_until_torn_down(attached)
        self.remove_files()
        self.add_diff("ip netns", self.listed(existed), self.listed(False))

    def remove_files(self):
        """Delete <etc_dir>/<name>, the namespace's own files, when asked to and it is there."""
        if not self.module.params["etc_dir"]:
            return
        path = os.path.join(self.module.params["etc_dir"], self.name)
        if not os.path.lexists(path):
            return
        self.changed = True
        self.result["commands"].append("rm -r %s" % path)
        if not self.module.check_mode:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)

    @staticmethod
    def command_name(pid):
        try:
            with open("/proc/%d/comm" % pid) as handle:
                return handle.read().strip()
        except OSError:
            return "?"

    def end_processes(self, pids):
        """SIGTERM the namespace's own processes, SIGKILL those still there after kill_timeout."""
        for pid in pids:
            self.signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.module.params["kill_timeout"]
        while time.monotonic() < deadline and self.processes():
            time.sleep(0.1)
        for pid in self.processes():
            self.signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while self.processes():
            if time.monotonic() > deadline:
                self.module.fail_json(msg="namespace %s: processes %s did not end" % (self.name, self.processes()))
            time.sleep(0.1)

    @staticmethod
    def signal(pid, number):
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass

    def listed(self, exists):
        """The namespace's line in the diff of ip netns."""
        return "%s\n" % self.name if exists else ""


def hosts_files_problem(files, listed, state, etc_dir):
    """What is wrong with the hosts_files option (None when nothing): only namespaces of the task, only to create,
    text with no control character but newlines and tabs."""
    if not files:
        return None
    if state != "present":
        return "only with state=present"
    if not etc_dir:
        return "requires etc_dir"
    for name, content in files.items():
        if name not in listed:
            return "%r is not a namespace of this task" % (name,)
        if not isinstance(content, str):
            return "the file of %s is not text" % name
        bad = control_characters(content.replace("\n", "").replace("\t", ""))
        if bad:
            return "the file of %s holds control characters %s" % (name, ", ".join(bad))
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            names=dict(type="list", elements="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            loopback=dict(type="bool", default=True),
            kill_processes=dict(type="bool", default=False),
            kill_timeout=dict(type="int", default=5),
            etc_dir=dict(type="path"),
            hosts_files=dict(type="dict", default={}),
        ),
        required_one_of=[("name", "names")],
        mutually_exclusive=[("name", "names")],
        supports_check_mode=True,
    )
    batch = module.params["names"]
    listed = [module.params["name"]] if batch is None else batch
    for option, name in [("name", module.params["name"])] if batch is None else \
            [("names[%d]" % position, name) for position, name in enumerate(batch)]:
        if not names.is_namespace_name(name):
            module.fail_json(msg="%s: %r is not a namespace name (letters, digits, '_', '.', '-'; at most 128)"
                             % (option, name))
    problem = hosts_files_problem(module.params["hosts_files"], listed, module.params["state"], module.params["etc_dir"])
    if problem:
        module.fail_json(msg="hosts_files: %s" % problem)
    runner = CommandRunner(module)
    if batch is None:
        Namespace(module, runner, module.params["name"]).run_and_exit()
    run_batch(module, [Namespace(module, runner, name) for name in batch], "namespaces")


if __name__ == "__main__":
    main()
