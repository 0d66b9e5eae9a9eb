# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_networks: two read-only ip commands, the same in check mode, parsed into addresses and routes."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_live
from ansible_collections.fakevpc.vpc.plugins.modules import host_networks

ADDRESSES = json.dumps([
    {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
    {"ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.0.2.15", "prefixlen": 24}]},
])
ROUTES = json.dumps([
    {"dst": "default", "gateway": "10.0.2.2", "dev": "eth0"},
    {"dst": "10.0.2.0/24", "dev": "eth0", "protocol": "kernel"},
    {"type": "local", "dst": "127.0.0.1", "dev": "lo", "table": "local"},
])


@pytest.fixture
def commands(monkeypatch):
    seen = []

    def run_command(self, args, environ_update=None, **kwargs):
        assert environ_update == {"LC_ALL": "C", "LANG": "C"}
        seen.append(args)
        return 0, ADDRESSES if "address" in args else ROUTES, ""

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False: "/usr/sbin/" + name)
    return seen


@pytest.mark.parametrize("check_mode", [False, True])
def test_reads_addresses_and_routes_with_two_commands_and_changes_nothing(run_module, commands, check_mode):
    result, failed = run_module(host_networks, {}, check_mode=check_mode)
    assert not failed and result["changed"] is False
    assert commands == [["/usr/sbin/ip", "-j", "-4", "address", "show"],
                        ["/usr/sbin/ip", "-j", "-4", "route", "show", "table", "all"]]
    assert result["addresses"] == [{"interface": "lo", "address": "127.0.0.1/8", "network": "127.0.0.0/8"},
                                   {"interface": "eth0", "address": "10.0.2.15/24", "network": "10.0.2.0/24"}]
    assert result["routes"][1] == {"dst": "10.0.2.0/24", "dev": "eth0", "gateway": None, "table": "main",
                                   "type": "unicast"}
    assert result["routes"][2]["dst"] == "127.0.0.1/32" and result["routes"][2]["type"] == "local"
    assert result["default_interface"] == "eth0"


def test_reads_a_namespace_by_its_exact_name(run_module, commands):
    result, failed = run_module(host_networks, {"namespace": "ns-a"})
    assert not failed and commands[0] == ["/usr/sbin/ip", "-n", "ns-a", "-j", "-4", "address", "show"]
    result, failed = run_module(host_networks, {"namespace": "ns-a\n"})
    assert failed and "is not a namespace name" in result["msg"]


def test_reads_the_registry_along_in_the_same_call(run_module, commands, tmp_path):
    registry = tmp_path / "registry.json"
    result, failed = run_module(host_networks, {"registry": str(registry)})
    assert not failed and result["registry"] == {} and len(commands) == 2
    registry.write_text('{"version": 1, "vpcs": ["a"]}')
    result, failed = run_module(host_networks, {"registry": str(registry)}, check_mode=True)
    assert not failed and result["changed"] is False and result["registry"] == {"version": 1, "vpcs": ["a"]}
    registry.write_text("{not json")
    result, failed = run_module(host_networks, {"registry": str(registry)})
    assert failed and result["msg"].startswith("registry: %s is not JSON" % registry)
    registry.unlink()
    registry.mkdir()
    result, failed = run_module(host_networks, {"registry": str(registry)})
    assert failed and result["msg"].startswith("registry: %s cannot be read by uid 0 (Is a directory); a validation "
                                               "play reads it without become" % registry)
    result, failed = run_module(host_networks, {})
    assert not failed and "registry" not in result


def test_with_the_registry_it_reads_what_is_live_of_it(run_module, commands, tmp_path, monkeypatch):
    registry = tmp_path / "registry.json"
    registry.write_text('{"version": 1, "resources": {"namespaces": []}}')
    monkeypatch.setattr(_netns_live, "SYSTEMD_DIR", str(tmp_path))
    result, failed = run_module(host_networks, {"registry": str(registry), "netns_etc_dir": str(tmp_path)})
    assert not failed and len(commands) == 2  # no namespace listed, none read
    assert result["live"]["namespaces"] == {} and result["live"]["systemd"] is True
    assert result["live"]["ip_forward"] in ("0", "1")


def test_with_a_unit_dir_it_reads_the_units_as_systemd_units_would_find_them(run_module, commands, tmp_path, monkeypatch):
    registry, units, script = tmp_path / "registry.json", tmp_path / "units", tmp_path / "netns-vpc-up"
    units.mkdir()
    (units / "netns-vpc.service").write_text("[Service]\n")
    (units / "sshd.service").write_text("[Service]\n")
    monkeypatch.setattr(_netns_live, "SYSTEMD_DIR", str(tmp_path / "no-systemd"))
    result, failed = run_module(host_networks, {"registry": str(registry), "unit_dir": str(units),
                                                "unit_patterns": ["netns-vpc.service", "netns-vpc-app-*.service"],
                                                "unit_files": [str(script)]}, check_mode=True)
    assert not failed and result["changed"] is False and len(commands) == 2  # without systemd, no systemctl show
    read = result["live"]["units"]
    assert list(read["files"]) == [str(units / "netns-vpc.service")] and read["states"] is None
    assert read["files"][str(units / "netns-vpc.service")]["mode"] == 0o644 and read["paths"] == [str(script)]


BRIDGE = {"ifname": "br-a", "flags": ["BROADCAST", "UP"], "linkinfo": {"info_kind": "bridge"},
          "addr_info": [{"family": "inet", "local": "10.9.1.1", "prefixlen": 24, "scope": "global"}]}
LINKS_CALL = {"links": [{"name": "br-a", "kind": "bridge", "addresses": ["10.9.1.1/24"], "rp_filter": 1}]}


def test_it_asks_whether_the_calls_the_registry_records_would_change_anything(run_module, tmp_path, monkeypatch):
    live = {"links": [BRIDGE], "rp_filter": "1\n"}
    seen = []

    def run_command(self, args, environ_update=None, **kwargs):
        command = [arg.rsplit("/", 1)[-1] if arg.startswith("/") else arg for arg in args]
        seen.append(command)
        if command[:3] == ["ip", "-j", "-d"]:
            return 0, json.dumps(live["links"]), ""
        if command[0] == "sysctl":
            return 0, live["rp_filter"], ""
        return 0, ADDRESSES if "address" in args else ROUTES, ""

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False: "/usr/sbin/" + name)
    registry = tmp_path / "registry.json"

    def current(calls, check_mode=False):
        registry.write_text(json.dumps({"version": 1, "resources": {}, "calls": calls}))
        del seen[:]
        result, failed = run_module(host_networks, {"registry": str(registry)}, check_mode=check_mode)
        assert not failed and result["changed"] is False
        assert all(command[0] in ("ip", "sysctl") and "add" not in command and "-w" not in command for command in seen)
        return result["live"]["current"]

    assert current({}) == {}
    assert current({"links": LINKS_CALL}) == {"links": True}
    assert ["sysctl", "-n", "net/ipv4/conf/br-a/rp_filter"] in seen  # the call's own reads
    assert current({"links": LINKS_CALL}, check_mode=True) == {"links": True}
    # what the call would change: an address, rp_filter, a link gone
    live["links"] = [dict(BRIDGE, addr_info=[])]
    assert current({"links": LINKS_CALL}) == {"links": False}
    live["links"], live["rp_filter"] = [BRIDGE], "0\n"
    assert current({"links": LINKS_CALL}) == {"links": False}
    live["links"], live["rp_filter"] = [], "1\n"
    assert current({"links": LINKS_CALL}) == {"links": False}
    live["links"] = [BRIDGE]
    # a call that would fail, or whose options the module would refuse: not current (the call itself will say why)
    assert current({"links": {"links": [dict(LINKS_CALL["links"][0], kind="veth")]}}) == {"links": False}
    assert current({"links": {"links": [dict(LINKS_CALL["links"][0], name="br-a\n")]}}) == {"links": False}
    assert current({"links": dict(LINKS_CALL, unknown=1)}) == {"links": False}
    assert current({"links": {}}) == {"links": False}
    assert current({"links": "br-a"}) == {}
    # only root can tell (a validation play reads without become)
    monkeypatch.setattr(host_networks.os, "geteuid", lambda: 1000)
    assert current({"links": LINKS_CALL}) is None
