# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the read finds of what the role built, and the calls it proves unneeded: never one that would change a thing."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_live as live_state
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_live import (
    host_settings_converged,
    kept_tables,
    namespaces_converged,
    read_live,
    registry_content,
)
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_plan import build_vpc_plan

VPC = {"name": "a", "cidr": "10.9.0.0/16",
       "subnets": [{"name": "web", "cidr": "10.9.1.0/24", "type": "public"},
                   {"name": "db", "cidr": "10.9.2.0/24", "type": "private"}]}
BEFORE = {"ip_forward": "0", "tables": ["filter"], "netns_mount": False}
RESOURCES = {"namespaces": ["ns-a-web"], "links": ["br-a"], "units": [], "chains": []}
LIVE = {"ip_forward": "1", "systemd": True,
        "namespaces": {"ns-a-web": {"loopback_up": True, "hosts": None},
                       "ns-a-db": {"loopback_up": True, "hosts": "10.9.2.2 db\n"}}}


def test_the_registry_as_netns_host_settings_writes_it():
    assert registry_content(RESOURCES, BEFORE) == {"version": 1, "resources": RESOURCES, "ip_forward_before": "0",
                                                   "tables_before": ["filter"], "netns_mount_before": False}
    calls = {"links": {"links": [{"name": "br-a", "kind": "bridge"}]}}
    assert registry_content(RESOURCES, BEFORE, calls) == dict(registry_content(RESOURCES, BEFORE), calls=calls)


def test_the_chains_keep_the_tables_the_host_had_and_every_table_before_the_first_run():
    assert kept_tables(registry_content(RESOURCES, BEFORE)) == ["filter"]
    assert kept_tables(registry_content(RESOURCES, dict(BEFORE, tables=[]))) == []
    assert kept_tables({}) == kept_tables(None) == ["filter", "nat", "mangle", "raw"]


@pytest.mark.parametrize("registry, live, forwarding, manage, converged", [
    (registry_content(RESOURCES, BEFORE), LIVE, True, True, True),
    # forwarding turned off by hand: the call turns it back on, unless the role leaves forwarding alone
    (registry_content(RESOURCES, BEFORE), dict(LIVE, ip_forward="0"), True, True, False),
    (registry_content(RESOURCES, BEFORE), dict(LIVE, ip_forward="0"), True, False, True),
    (registry_content(RESOURCES, BEFORE), dict(LIVE, ip_forward="0"), False, True, True),
    # the registry would be written: other resources, another version, a remembered setting missing, none yet
    (registry_content(dict(RESOURCES, links=[]), BEFORE), LIVE, True, True, False),
    (dict(registry_content(RESOURCES, BEFORE), version=2), LIVE, True, True, False),
    (dict((key, value) for key, value in registry_content(RESOURCES, BEFORE).items() if key != "tables_before"),
     LIVE, True, True, False),
    ({}, LIVE, True, True, False),
    (None, LIVE, False, True, False),
])
def test_host_settings_are_proven_unchanged_only_when_the_call_would_write_and_set_nothing(
        registry, live, forwarding, manage, converged):
    assert host_settings_converged(registry, live, RESOURCES, forwarding, manage) is converged


def test_host_settings_are_proven_unchanged_only_when_the_registry_records_the_calls_as_given():
    calls = {"chains": {"chains": [], "backend": "auto"}, "links": {"links": []}}
    recorded = registry_content(RESOURCES, BEFORE, calls)
    assert host_settings_converged(recorded, LIVE, RESOURCES, True, True, calls) is True
    assert host_settings_converged(recorded, LIVE, RESOURCES, True, True, dict(calls, links={"links": [{}]})) is False
    assert host_settings_converged(registry_content(RESOURCES, BEFORE), LIVE, RESOURCES, True, True, calls) is False


@pytest.mark.parametrize("change, converged", [
    (lambda found: None, True),
    (lambda found: found.pop("ns-a-web"), False),  # missing
    (lambda found: found["ns-a-web"].update(loopback_up=False), False),  # loopback down
    (lambda found: found["ns-a-db"].update(hosts="10.9.2.2 db\n# edited\n"), False),  # hosts file edited
    (lambda found: found["ns-a-db"].update(hosts=None), False),  # hosts file gone
    (lambda found: found["ns-a-web"].update(hosts="anything\n"), True),  # a file the call does not manage
    (lambda found: found.clear(), False),
])
def test_namespaces_are_proven_unchanged_only_when_each_exists_with_loopback_up_and_its_hosts_file(change, converged):
    live = copy.deepcopy(LIVE)
    change(live["namespaces"])
    assert namespaces_converged(live, ["ns-a-web", "ns-a-db"], {"ns-a-db": "10.9.2.2 db\n"}) is converged
    # not known (the read could not enter namespaces): the call is made
    assert namespaces_converged(dict(LIVE, namespaces=None), [], {}) is False


def test_the_plan_calls_only_what_the_read_cannot_prove_converged():
    every = {"host_settings": True, "namespaces": True, "chains": True, "links": True}
    first = build_vpc_plan([VPC], uplink="eth0", backend="legacy")
    assert first["calls"] == every  # no read: every call
    assert first["recorded_calls"] == first["call_options"] == {
        "chains": {"chains": first["module_items"]["chains"], "backend": "legacy"},
        "links": {"links": first["module_items"]["links"]}}
    registry = registry_content(first["resources_during_change"], BEFORE, first["recorded_calls"])
    found = {"ns-a-web": {"loopback_up": True, "hosts": None}, "ns-a-db": {"loopback_up": True, "hosts": None}}
    read = {"addresses": [], "routes": [], "live": dict(LIVE, namespaces=found, current={"chains": True, "links": True})}
    none = {"host_settings": False, "namespaces": False, "chains": False, "links": False}
    rerun = build_vpc_plan([VPC], previous=registry, uplink="eth0", host_networks=read, backend="legacy")
    assert rerun["calls"] == none
    forwarding_off = dict(read, live=dict(read["live"], ip_forward="0"))
    assert build_vpc_plan([VPC], previous=registry, uplink="eth0", host_networks=forwarding_off,
                          backend="legacy")["calls"] == dict(none, host_settings=True)
    assert build_vpc_plan([VPC], previous=registry, uplink="eth0", host_networks=forwarding_off, backend="legacy",
                          manage_forwarding=False)["calls"] == none
    # the recorded calls would change something (or the read could not tell): those calls are made
    for current, calls in (({"chains": False, "links": True}, dict(none, chains=True)),
                           ({"chains": True, "links": False}, dict(none, links=True)),
                           ({"chains": True}, dict(none, links=True)),
                           (None, dict(none, chains=True, links=True))):
        changed = dict(read, live=dict(read["live"], current=current))
        assert build_vpc_plan([VPC], previous=registry, uplink="eth0", host_networks=changed,
                              backend="legacy")["calls"] == calls
    # other options than those recorded (another backend; a registry of before the calls were recorded)
    assert build_vpc_plan([VPC], previous=registry, uplink="eth0", host_networks=read)["calls"] == \
        dict(none, host_settings=True, chains=True)
    unrecorded = registry_content(first["resources_during_change"], BEFORE)
    assert build_vpc_plan([VPC], previous=unrecorded, uplink="eth0", host_networks=read, backend="legacy")["calls"] == \
        dict(none, host_settings=True, chains=True, links=True)
    grown = copy.deepcopy(VPC)
    grown["subnets"].append({"name": "app", "cidr": "10.9.3.0/24", "type": "private"})
    # (the host's chains name the VPC's bridge, not its subnets: a private subnet more leaves them as they are)
    assert build_vpc_plan([grown], previous=registry, uplink="eth0", host_networks=read, backend="legacy")["calls"] == \
        dict(every, chains=False)
    grown["port_forwards"] = [{"host_port": 8080, "subnet": "app", "port": 80}]
    assert build_vpc_plan([grown], previous=registry, uplink="eth0", host_networks=read, backend="legacy")["calls"] == \
        every
    # all removed: the registry stays as it is until after the change, no namespace to create; the chains and the
    # links go
    removal = build_vpc_plan([], previous=registry, uplink="eth0", host_networks=read, backend="legacy")
    assert removal["calls"] == dict(none, chains=True, links=True)
    assert removal["recorded_calls"] == registry["calls"] != removal["call_options"]


def test_the_read_lists_the_registrys_namespaces_that_exist_with_their_loopback_and_hosts_file(monkeypatch, tmp_path):
    forward = tmp_path / "ip_forward"
    forward.write_text("1\n")
    monkeypatch.setattr(live_state, "IP_FORWARD", str(forward))
    monkeypatch.setattr(live_state, "SYSTEMD_DIR", str(tmp_path / "no-systemd"))
    (tmp_path / "etc" / "ns-a-db").mkdir(parents=True)
    (tmp_path / "etc" / "ns-a-db" / "hosts").write_text("10.9.2.2 db\n")
    commands = []

    def run(*argv):
        commands.append(argv)
        if argv[:3] == ("ip", "-j", "netns"):
            return 0, json.dumps([{"name": "ns-a-db", "id": 1}, {"name": "ns-a-web"}, {"name": "other"}]), ""
        flags = ["LOOPBACK", "UP"] if argv[2] == "ns-a-db" else ["LOOPBACK"]
        return 0, json.dumps([{"ifname": "lo", "flags": flags}]), ""

    registry = {"resources": {"namespaces": ["ns-a-db", "ns-a-web", "ns-a-gone", "bad\nname"]}}
    assert read_live(run, registry, str(tmp_path / "etc")) == {
        "ip_forward": "1", "systemd": False,
        "namespaces": {"ns-a-db": {"loopback_up": True, "hosts": "10.9.2.2 db\n"},
                       "ns-a-web": {"loopback_up": False, "hosts": None}}}
    assert commands == [("ip", "-j", "netns", "list"), ("ip", "-n", "ns-a-db", "-j", "link", "show", "dev", "lo"),
                        ("ip", "-n", "ns-a-web", "-j", "link", "show", "dev", "lo")]
    commands.clear()
    assert read_live(run, {}, None)["namespaces"] == {} and commands == []  # nothing listed: no command
    # a registry changed by hand into other shapes lists nothing (and reads nothing)
    for junk in ({"resources": "ns-a-db"}, {"resources": {"namespaces": 5}}, {"resources": {"namespaces": "ns-a-db"}}):
        assert read_live(run, junk, None)["namespaces"] == {} and commands == []
        assert build_vpc_plan([VPC], previous=junk, uplink="eth0")["remove"]["namespaces"] == []
    # not root (the validation play reads without become): entering a namespace is not allowed, so nothing is known
    monkeypatch.setattr(live_state.os, "geteuid", lambda: 1000)
    assert read_live(run, registry, str(tmp_path / "etc")) == {"ip_forward": "1", "systemd": False, "namespaces": None}
    assert commands == []
