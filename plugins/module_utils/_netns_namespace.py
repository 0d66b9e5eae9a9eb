# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The netns module: named network namespaces, each with its loopback and its own files, made or removed in one call.

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

from ansible_collections.fakevpc.vpc.plugins.module_utils._calls import Callee, run_as_module
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


def run(module):
    """Make or remove the module's namespace (name), or each of a batch (names). Exits."""
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


NAMESPACES_CALLEE = Callee(
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
    run=run,
)


def main():
    """The netns module."""
    run_as_module(NAMESPACES_CALLEE)
