# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""batch: each call run as its module would run it (options checked by its own spec, check mode, diff), in order;
the first failure stops the batch and is named."""

from __future__ import annotations

import json

import pytest

from ansible_collections.fakevpc.vpc.plugins.modules import batch

from fake_tools import FakeTools, install

LIST = ("ip", "-j", "netns", "list")
LO = ("ip", "-n", "ns-a", "-j", "link", "show", "dev", "lo")
LO_UP = (0, json.dumps([{"ifname": "lo", "flags": ["LOOPBACK", "UP"]}]), "")


@pytest.fixture
def tools(monkeypatch):
    def install_tools(answers, missing=()):
        return install(monkeypatch, FakeTools(answers, reads=(LIST, LO)), missing=missing)
    return install_tools


def netns(**options):
    return {"module": "fakevpc.vpc.netns", "options": options}


def test_the_calls_run_in_order_and_each_returns_what_its_module_would(run_module, tools, tmp_path):
    fake = tools({LIST: [(0, "[]", ""), (0, json.dumps([{"name": "ns-a"}]), "")],
                  LO: LO_UP})
    result, failed = run_module(batch, {"calls": [
        netns(names=["ns-a"]),
        {"module": "fakevpc.vpc.systemd_units", "options": {"unit_dir": str(tmp_path), "systemctl": False, "units": [
            {"name": "a.service", "content": "[Service]\nExecStart=/bin/true\n"}]}},
        netns(names=["ns-a"]),
    ]}, diff=True)
    assert not failed and result["changed"]
    assert [(call["module"], call["changed"]) for call in result["calls"]] == [
        ("fakevpc.vpc.netns", True), ("fakevpc.vpc.systemd_units", True), ("fakevpc.vpc.netns", False)]
    assert fake.mutating() == [("ip", "netns", "add", "ns-a"), ("ip", "-n", "ns-a", "link", "set", "dev", "lo", "up")]
    assert (tmp_path / "a.service").read_text() == "[Service]\nExecStart=/bin/true\n"
    assert result["calls"][1]["written"] == [str(tmp_path / "a.service")]
    # one diff per call that gives one, in order, none left inside the calls' results
    assert [entry["after"] for entry in result["diff"]] == [
        "ns-a\n", "[Service]\nExecStart=/bin/true\n", "ns-a\n"]
    assert not any("diff" in call for call in result["calls"])


def test_check_mode_reaches_every_call_and_changes_nothing(run_module, tools, tmp_path):
    fake = tools({LIST: (0, "[]", "")})
    result, failed = run_module(batch, {"calls": [
        netns(names=["ns-a"]),
        {"module": "fakevpc.vpc.systemd_units", "options": {"unit_dir": str(tmp_path), "systemctl": False, "units": [
            {"name": "a.service", "content": "[Service]\n"}]}},
    ]}, check_mode=True)
    assert not failed and result["changed"]
    assert [call["changed"] for call in result["calls"]] == [True, True]
    assert fake.mutating() == [] and list(tmp_path.iterdir()) == []
    assert "diff" not in result


def test_the_first_failed_call_stops_the_batch_and_is_named_with_what_ran_before(run_module, tools):
    fake = tools({LIST: (0, "[]", ""), ("ip", "netns", "add", "ns-b"): (1, "", "mount failed")})
    result, failed = run_module(batch, {"calls": [netns(names=["ns-a"]), netns(names=["ns-b"]), netns(names=["ns-c"])]})
    assert failed and result["changed"]
    assert result["msg"] == "calls[1] (fakevpc.vpc.netns): /usr/bin/ip netns add ns-b failed: mount failed"
    assert result["rc"] == 1 and result["stderr"] == "mount failed"
    assert [call["module"] for call in result["calls"]] == ["fakevpc.vpc.netns"]
    assert ("ip", "netns", "add", "ns-c") not in fake.commands


@pytest.mark.parametrize("call, message", [
    (netns(name="ns-a", names=["ns-b"]), "calls[0] (fakevpc.vpc.netns): parameters are mutually exclusive: name|names"),
    (netns(), "calls[0] (fakevpc.vpc.netns): one of the following is required: name, names"),
    (netns(names=["ns-a"], shell="rm -rf /"), "calls[0] (fakevpc.vpc.netns): Unsupported parameters: shell"),
    (netns(names=["ns/a"]), "calls[0] (fakevpc.vpc.netns): names[0]: 'ns/a' is not a namespace name"),
    ({"module": "fakevpc.vpc.netns_link", "options": {"links": [{"name": "br-a", "mtu": "9x"}]}},
     "calls[0] (fakevpc.vpc.netns_link): links[0] (br-a): "),
])
def test_options_are_checked_by_the_called_modules_own_spec_before_it_runs(run_module, tools, call, message):
    fake = tools({LIST: (0, "[]", "")})
    result, failed = run_module(batch, {"calls": [call]})
    assert failed and not result["changed"] and result["msg"].startswith(message), result["msg"]
    assert fake.mutating() == []


def test_only_the_collections_host_modules_can_be_called(run_module, tools):
    tools({})
    result, failed = run_module(batch, {"calls": [{"module": "ansible.builtin.command", "options": {"cmd": "id"}}]})
    assert failed and "value of module must be one of" in result["msg"]


def test_a_missing_tool_fails_the_call_not_the_process(run_module, tools):
    tools({}, missing=("ip",))
    result, failed = run_module(batch, {"calls": [netns(names=["ns-a"])]})
    assert failed and result["msg"] == "calls[0] (fakevpc.vpc.netns): Failed to find required executable 'ip'"
