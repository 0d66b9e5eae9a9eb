# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns_host_settings: the host's settings remembered once, the registry written only when it differs, put back exactly."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_live, _netns_settings
from ansible_collections.fakevpc.vpc.plugins.modules import netns_host_settings

from fake_tools import FakeTools, install

FINDMNT = ("findmnt", "--noheadings", "--output", "TARGET", "--mountpoint")
SAVE = ("iptables-save",)
SAVED = (0, "# Generated\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n*raw\nCOMMIT\n", "")
RESOURCES = {"namespaces": ["ns-a-web"], "links": ["br-a", "v-a-web"], "units": [], "chains": []}


@pytest.fixture
def host(monkeypatch, tmp_path):
    """A host of files: ip_forward, /run/netns and the registry's directory under tmp_path; tools(answers) fakes the
    commands, findmnt answering for the netns directory."""
    forward = tmp_path / "ip_forward"
    forward.write_text("0\n")
    netns_dir = tmp_path / "netns"
    netns_dir.mkdir()
    monkeypatch.setattr(_netns_live, "IP_FORWARD", str(forward))
    monkeypatch.setattr(_netns_settings, "NETNS_DIR", str(netns_dir))

    class Host:
        registry = tmp_path / "state" / "registry.json"
        netns = netns_dir
        forwarding = forward

        @staticmethod
        def tools(mounted=False, extra=None):
            answers = {FINDMNT + (str(netns_dir),): (0 if mounted else 1, str(netns_dir) if mounted else "", ""),
                       SAVE: SAVED}
            answers.update(extra or {})
            return install(monkeypatch, FakeTools(answers, reads=(FINDMNT, SAVE), only_tool=True))

        def registry_content(self):
            return json.loads(self.registry.read_text())

    return Host()


def args(host, **extra):
    return dict({"path": str(host.registry)}, **extra)


def test_the_first_record_remembers_the_settings_and_writes_the_registry(run_module, host):
    fake = host.tools()
    result, failed = run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES), diff=True)
    assert not failed and result["changed"]
    assert result["before"] == {"ip_forward": "0", "tables": ["filter", "raw"], "netns_mount": False}
    assert result["actions"] == ["remember the host's settings", "write the registry %s" % host.registry]
    assert fake.mutating() == []
    assert host.registry_content() == {"version": 1, "resources": RESOURCES, "ip_forward_before": "0",
                                       "tables_before": ["filter", "raw"], "netns_mount_before": False}
    assert oct(os.stat(host.registry).st_mode & 0o777) == "0o644"
    assert result["diff"]["before"] == "" and '"br-a"' in result["diff"]["after"]


def test_a_later_record_keeps_what_the_first_run_remembered_and_changes_nothing(run_module, host):
    host.tools()
    run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES))
    host.forwarding.write_text("1\n")
    fake = host.tools(mounted=True, extra={SAVE: (0, "*filter\nCOMMIT\n*nat\nCOMMIT\n", "")})
    result, failed = run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES))
    assert not failed and not result["changed"] and result["actions"] == []
    assert result["before"] == {"ip_forward": "0", "tables": ["filter", "raw"], "netns_mount": False}
    assert fake.commands == []  # everything came from the registry


def test_the_calls_are_recorded_along_and_the_registry_written_again_only_when_they_differ(run_module, host):
    calls = {"links": {"links": [{"name": "br-a", "kind": "bridge", "addresses": ["10.9.1.1/24"]}]}}
    host.tools()
    result, failed = run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES, calls=calls))
    assert not failed and result["changed"] and host.registry_content()["calls"] == calls
    result, failed = run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES, calls=calls))
    assert not failed and not result["changed"]
    other = {"links": {"links": [dict(calls["links"]["links"][0], addresses=["10.9.2.1/24"])]}}
    result, failed = run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES, calls=other))
    assert not failed and result["changed"] and host.registry_content()["calls"] == other
    result, failed = run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES))
    assert not failed and result["changed"] and "calls" not in host.registry_content()


def test_nothing_is_written_when_nothing_was_built_and_nothing_will_be(run_module, host):
    host.tools()
    result, failed = run_module(netns_host_settings, args(host, state="recorded",
                                                          resources={"namespaces": [], "links": []}))
    assert not failed and not result["changed"] and not host.registry.exists()
    assert result["before"]["tables"] == ["filter", "raw"]


def test_present_turns_forwarding_on_once(run_module, host):
    fake = host.tools()
    result, failed = run_module(netns_host_settings, args(host, resources=RESOURCES, forwarding=True))
    assert not failed and result["changed"]
    assert fake.mutating() == [("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")]
    assert result["actions"][-1] == "turn IPv4 forwarding on"
    host.forwarding.write_text("1\n")
    fake = host.tools()
    result, failed = run_module(netns_host_settings, args(host, resources=RESOURCES, forwarding=True))
    assert not failed and not result["changed"] and fake.mutating() == []


def test_forwarding_is_left_alone_when_not_managed(run_module, host):
    fake = host.tools()
    result, failed = run_module(netns_host_settings, args(host, resources=RESOURCES, forwarding=True,
                                                          manage_forwarding=False))
    assert not failed and fake.mutating() == []


def test_check_mode_reports_and_writes_nothing(run_module, host):
    fake = host.tools()
    result, failed = run_module(netns_host_settings, args(host, resources=RESOURCES, forwarding=True), check_mode=True)
    assert not failed and result["changed"]
    assert result["commands"] == ["sysctl -q -w net.ipv4.ip_forward=1"]
    assert fake.mutating() == [] and not host.registry.exists()


def test_absent_puts_everything_back_and_forgets_the_registry(run_module, host):
    host.tools()
    run_module(netns_host_settings, args(host, resources=RESOURCES, forwarding=True))
    host.forwarding.write_text("1\n")
    fake = host.tools(mounted=True)
    result, failed = run_module(netns_host_settings, args(host, state="absent"), diff=True)
    assert not failed and result["changed"]
    assert fake.mutating() == [("sysctl", "-q", "-w", "net.ipv4.ip_forward=0"), ("umount", str(host.netns))]
    assert not host.registry.exists() and not host.registry.parent.exists()
    assert result["diff"]["after"] == "" and '"ns-a-web"' in result["diff"]["before"]


def test_absent_leaves_a_mount_that_was_there_before_or_still_holds_a_namespace(run_module, host):
    host.tools(mounted=True)
    run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES))
    fake = host.tools(mounted=True)
    run_module(netns_host_settings, args(host, state="absent"))
    assert fake.mutating() == []
    host.tools()
    run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES))
    (host.netns / "someone-elses").write_text("")
    fake = host.tools(mounted=True)
    result, failed = run_module(netns_host_settings, args(host, state="absent"))
    assert not failed and fake.mutating() == [] and not host.registry.exists()


def test_absent_keeps_a_directory_holding_other_files(run_module, host):
    host.tools()
    run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES))
    (host.registry.parent / "notes").write_text("mine")
    host.tools()
    result, failed = run_module(netns_host_settings, args(host, state="absent"))
    assert not failed and result["changed"] and (host.registry.parent / "notes").exists()


def test_absent_without_a_registry_does_nothing(run_module, host):
    host.forwarding.write_text("1\n")
    fake = host.tools(mounted=True)
    result, failed = run_module(netns_host_settings, args(host, state="absent"))
    assert not failed and not result["changed"] and fake.mutating() == []


def test_a_registry_that_is_no_json_is_an_error(run_module, host):
    host.registry.parent.mkdir()
    host.registry.write_text("{nope")
    host.tools()
    result, failed = run_module(netns_host_settings, args(host, state="recorded", resources=RESOURCES))
    assert failed and "registry" in result["msg"]
