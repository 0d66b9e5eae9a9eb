# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns: exact-name matching, the commands it runs, check mode, processes left in a namespace."""

from __future__ import annotations

import json

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_namespace
from ansible_collections.fakevpc.vpc.plugins.modules import netns

from fake_tools import FakeTools, install

LIST = ("ip", "-j", "netns", "list")
LO = ("ip", "-n", "web", "-j", "link", "show", "dev", "lo")
PIDS = ("ip", "netns", "pids", "web")
LINKS = ("ip", "-j", "link", "show")
LO_UP = json.dumps([{"ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"]}])
LO_DOWN = json.dumps([{"ifname": "lo", "flags": ["LOOPBACK"]}])


@pytest.fixture
def tools(monkeypatch):
    return lambda answers: install(monkeypatch, FakeTools(answers, reads=(LIST, LO, PIDS, LINKS)))


def listing(*names):
    return (0, json.dumps([{"name": name} for name in names]), "")


def test_creates_a_missing_namespace_and_brings_loopback_up(run_module, tools):
    fake = tools({LIST: listing("web2", "xweb")})
    result, failed = run_module(netns, {"name": "web"}, diff=True)
    assert not failed and result["changed"] and not result["existed"]
    assert fake.mutating() == [("ip", "netns", "add", "web"), ("ip", "-n", "web", "link", "set", "dev", "lo", "up")]
    assert result["diff"]["before"] == "" and result["diff"]["after"] == "web\n"


def test_an_existing_namespace_is_left_alone(run_module, tools):
    fake = tools({LIST: listing("web", "web2"), LO: (0, LO_UP, "")})
    result, failed = run_module(netns, {"name": "web"})
    assert not failed and not result["changed"] and result["existed"]
    assert fake.mutating() == []


def test_an_empty_listing_is_no_namespace(run_module, tools):
    fake = tools({LIST: (0, "", "")})
    result, failed = run_module(netns, {"name": "web"})
    assert not failed and result["changed"]
    assert fake.mutating()[0] == ("ip", "netns", "add", "web")


def test_loopback_down_in_an_existing_namespace_is_brought_up(run_module, tools):
    fake = tools({LIST: listing("web"), LO: (0, LO_DOWN, "")})
    result, failed = run_module(netns, {"name": "web"})
    assert not failed and result["changed"]
    assert fake.mutating() == [("ip", "-n", "web", "link", "set", "dev", "lo", "up")]


def test_loopback_is_not_managed_when_not_asked(run_module, tools):
    fake = tools({LIST: listing("web")})
    result, failed = run_module(netns, {"name": "web", "loopback": False})
    assert not failed and not result["changed"]
    assert fake.commands == [LIST]


def test_check_mode_reports_without_changing(run_module, tools):
    fake = tools({LIST: listing("webserver")})
    result, failed = run_module(netns, {"name": "web"}, check_mode=True)
    assert not failed and result["changed"]
    assert result["commands"] == ["ip netns add web", "ip -n web link set dev lo up"]
    assert fake.mutating() == []


def test_absent_deletes_an_idle_namespace(run_module, tools):
    fake = tools({LIST: listing("web"), PIDS: (0, "", "")})
    result, failed = run_module(netns, {"name": "web", "state": "absent"}, diff=True)
    assert not failed and result["changed"]
    assert fake.mutating() == [("ip", "netns", "delete", "web")]
    assert result["diff"]["before"] == "web\n" and result["diff"]["after"] == ""


def links(*attached):
    """ip -j link show: lo, eth0, and links whose other end is in the namespace of id 3 (name, ifindex)."""
    found = [{"ifindex": 1, "ifname": "lo"}, {"ifindex": 2, "ifname": "eth0"}, {"ifindex": 7, "ifname": "v-x", "link_netnsid": 5}]
    return (0, json.dumps(found + [{"ifindex": index, "ifname": name, "link_netnsid": 3} for name, index in attached]), "")


def test_absent_returns_once_the_host_ends_of_the_namespaces_veth_pairs_are_gone(run_module, tools, monkeypatch):
    monkeypatch.setattr(_netns_namespace.time, "sleep", lambda seconds: None)
    torn_down = links()
    fake = tools({LIST: (0, json.dumps([{"name": "web", "id": 3}]), ""), PIDS: (0, "", ""),
                  LINKS: [links(("v-web", 8), ("v-web2", 9)), links(("v-web", 8), ("v-web2", 9)), links(("v-web2", 9)), torn_down]})
    result, failed = run_module(netns, {"name": "web", "state": "absent"})
    assert not failed and result["changed"]
    assert fake.commands == [LIST, PIDS, LINKS, ("ip", "netns", "delete", "web"), LINKS, LINKS, LINKS]


def test_absent_fails_naming_the_links_the_kernel_left_after_30_seconds(run_module, tools, monkeypatch):
    clock = iter(range(0, 100, 10))
    monkeypatch.setattr(_netns_namespace.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(_netns_namespace.time, "monotonic", lambda: next(clock))
    fake = tools({LIST: (0, json.dumps([{"name": "web", "id": 3}]), ""), PIDS: (0, "", ""), LINKS: links(("v-web", 8))})
    result, failed = run_module(netns, {"name": "web", "state": "absent"})
    assert failed and result["msg"] == "namespace web was deleted, but after 30 s its links v-web are still on the host"
    assert fake.mutating() == [("ip", "netns", "delete", "web")]


def test_absent_does_nothing_when_only_a_longer_name_exists(run_module, tools):
    fake = tools({LIST: listing("web2", "myweb")})
    result, failed = run_module(netns, {"name": "web", "state": "absent"})
    assert not failed and not result["changed"]
    assert fake.mutating() == []


def test_absent_refuses_while_processes_run_inside(run_module, tools):
    fake = tools({LIST: listing("web"), PIDS: (0, "4242\n4343\n", "")})
    result, failed = run_module(netns, {"name": "web", "state": "absent"})
    assert failed and "4242" in result["msg"] and "4343" in result["msg"]
    assert result["processes"] == [4242, 4343]
    assert fake.mutating() == []


def test_absent_with_kill_processes_ends_exactly_those_pids(run_module, tools, monkeypatch):
    killed = []
    monkeypatch.setattr(_netns_namespace.os, "kill", lambda pid, sig: killed.append((pid, sig)))
    fake = tools({LIST: listing("web"), PIDS: [(0, "4242\n", "")] + [(0, "", "")] * 3})
    result, failed = run_module(netns, {"name": "web", "state": "absent", "kill_processes": True})
    assert not failed and result["changed"]
    assert killed == [(4242, _netns_namespace.signal.SIGTERM)]
    assert fake.mutating() == [("ip", "netns", "delete", "web")]


def test_absent_in_check_mode_kills_nothing(run_module, tools, monkeypatch):
    monkeypatch.setattr(_netns_namespace.os, "kill", lambda pid, sig: pytest.fail("killed in check mode"))
    fake = tools({LIST: listing("web"), PIDS: (0, "4242\n", "")})
    result, failed = run_module(netns, {"name": "web", "state": "absent", "kill_processes": True}, check_mode=True)
    assert not failed and result["changed"]
    assert result["commands"] == ["kill 4242", "ip netns delete web"]
    assert fake.mutating() == []


@pytest.mark.parametrize("name", ["", "a/b", "..", "bad name", "x" * 129])
def test_bad_names_are_refused(run_module, tools, name):
    fake = tools({})
    result, failed = run_module(netns, {"name": name})
    assert failed and "name" in result["msg"]
    assert fake.commands == []


def test_names_handles_a_whole_list_in_one_call(run_module, tools):
    fake = tools({LIST: listing("web"), LO: (0, LO_UP, "")})
    result, failed = run_module(netns, {"names": ["web", "db"]}, diff=True)
    assert not failed and result["changed"]
    assert [item["existed"] for item in result["namespaces"]] == [True, False]
    assert fake.mutating() == [("ip", "netns", "add", "db"), ("ip", "-n", "db", "link", "set", "dev", "lo", "up")]
    assert result["commands"] == ["ip netns add db", "ip -n db link set dev lo up"]
    assert result["diff"]["before"] == "web\n" and result["diff"]["after"] == "web\ndb\n"


def test_names_absent_in_check_mode_changes_nothing(run_module, tools):
    fake = tools({LIST: listing("web"), PIDS: (0, "", "")})
    result, failed = run_module(netns, {"names": ["web", "db"], "state": "absent"}, check_mode=True)
    assert not failed and result["changed"] and result["commands"] == ["ip netns delete web"]
    assert fake.mutating() == []


@pytest.mark.parametrize("args, message", [
    ({"names": ["web", "no/slash"]}, "names[1]: 'no/slash' is not a namespace name"),
    ({"name": "web", "names": ["db"]}, "mutually exclusive"),
    ({}, "one of the following is required"),
])
def test_bad_names_fail_before_any_change(run_module, tools, args, message):
    fake = tools({LIST: listing()})
    result, failed = run_module(netns, args)
    assert failed and message in result["msg"] and fake.commands == []


def test_absent_with_etc_dir_removes_the_namespaces_own_files(run_module, tools, tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "hosts").write_text("10.0.1.2 app\n")
    (tmp_path / "db").write_text("not a directory\n")
    fake = tools({LIST: listing("web"), PIDS: (0, "", "")})
    result, failed = run_module(netns, {"names": ["web", "db", "gone"], "state": "absent", "etc_dir": str(tmp_path)},
                                check_mode=True)
    assert not failed and result["changed"] and (tmp_path / "web" / "hosts").exists()
    assert result["commands"] == ["ip netns delete web", "rm -r %s/web" % tmp_path, "rm -r %s/db" % tmp_path]
    result, failed = run_module(netns, {"names": ["web", "db", "gone"], "state": "absent", "etc_dir": str(tmp_path)})
    assert not failed and result["changed"] and list(tmp_path.iterdir()) == []
    assert fake.mutating() == [("ip", "netns", "delete", "web")]  # the check-mode run deleted nothing


def test_hosts_files_are_written_when_they_differ_and_only_then(run_module, monkeypatch, tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "hosts").write_text("10.0.1.2 old\n")
    db_lo = ("ip", "-n", "db", "-j", "link", "show", "dev", "lo")
    fake = install(monkeypatch, FakeTools({LIST: listing("web", "db"), LO: (0, LO_UP, ""), db_lo: (0, LO_UP, "")},
                                          reads=(LIST, LO, db_lo)))
    args = {"names": ["web", "db"], "etc_dir": str(tmp_path), "hosts_files": {"web": "10.0.1.2 app\n", "db": "10.0.2.2 db\n"}}
    result, failed = run_module(netns, args, check_mode=True, diff=True)
    assert not failed and result["changed"] and (tmp_path / "web" / "hosts").read_text() == "10.0.1.2 old\n"
    assert not (tmp_path / "db").exists()
    assert result["commands"] == ["write %s/web/hosts" % tmp_path, "write %s/db/hosts" % tmp_path]
    assert result["diff"]["before"] == "web\n%s/web/hosts:\n10.0.1.2 old\ndb\n" % tmp_path
    assert result["diff"]["after"] == "web\n%s/web/hosts:\n10.0.1.2 app\ndb\n%s/db/hosts:\n10.0.2.2 db\n" % (tmp_path, tmp_path)
    result, failed = run_module(netns, args)
    assert not failed and result["changed"] and fake.mutating() == []
    assert (tmp_path / "web" / "hosts").read_text() == "10.0.1.2 app\n"
    assert (tmp_path / "db" / "hosts").read_text() == "10.0.2.2 db\n"
    assert oct((tmp_path / "db").stat().st_mode & 0o777) == "0o755"
    assert oct((tmp_path / "db" / "hosts").stat().st_mode & 0o777) == "0o644"
    result, failed = run_module(netns, args)
    assert not failed and not result["changed"] and result["commands"] == []


@pytest.mark.parametrize("args, message", [
    ({"name": "web", "hosts_files": {"web": "x\n"}}, "hosts_files: requires etc_dir"),
    ({"name": "web", "etc_dir": "/etc/netns", "hosts_files": {"db": "x\n"}}, "hosts_files: 'db' is not a namespace of this task"),
    ({"name": "web", "state": "absent", "etc_dir": "/etc/netns", "hosts_files": {"web": "x\n"}}, "hosts_files: only with state=present"),
    ({"name": "web", "etc_dir": "/etc/netns", "hosts_files": {"web": "x\0"}},
     "hosts_files: the file of web holds control characters '\\x00'"),
    ({"name": "web", "etc_dir": "/etc/netns", "hosts_files": {"web": "10.0.1.2 db\r\n10.0.1.3\x1b[2J\n"}},
     "hosts_files: the file of web holds control characters '\\r', '\\x1b'"),
    ({"name": "web", "etc_dir": "/etc/netns", "hosts_files": {"web": ["x"]}}, "hosts_files: the file of web is not text"),
])
def test_bad_hosts_files_fail_before_any_change(run_module, tools, args, message):
    fake = tools({})
    result, failed = run_module(netns, args)
    assert failed and result["msg"] == message and fake.commands == []
