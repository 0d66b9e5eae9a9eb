# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns_link: the exact commands for bridges, veth pairs, addresses, routes, rp_filter; check mode; diff."""

from __future__ import annotations

import json

import pytest

from ansible_collections.fakevpc.vpc.plugins.modules import netns_link

from fake_tools import FakeTools, install


@pytest.fixture
def tools(monkeypatch):
    return lambda answers: install(monkeypatch, FakeTools(answers))


def link(name, kind, up=True, master=None, mtu=1500, addresses=()):
    """A link as `ip -j -d address show` lists it."""
    info = [{"family": "inet6" if ":" in a else "inet", "local": a.split("/")[0], "prefixlen": int(a.split("/")[1]),
             "scope": "link" if a.startswith("fe80") else "global"} for a in addresses]
    entry = {"ifname": name, "mtu": mtu, "flags": ["BROADCAST", "MULTICAST"] + (["UP", "LOWER_UP"] if up else []),
             "linkinfo": {"info_kind": kind}, "addr_info": info}
    if master:
        entry["master"] = master
    return entry


def listing(*entries):
    """The answer of a listing: every link (or route) of a namespace."""
    return (0, json.dumps([{"ifname": "lo", "flags": ["LOOPBACK", "UP"], "addr_info": []}] if not entries else list(entries)), "")


def reads(netns=None):
    """The two reads of a namespace (the host's with netns None): its links with their addresses, its routes."""
    prefix = ("ip", "-n", netns) if netns else ("ip",)
    return {"links": prefix + ("-j", "-d", "address", "show"), "routes": prefix + ("-j", "-4", "route", "show")}


def rp_read(name, netns=None):
    key = "net/ipv4/conf/%s/rp_filter" % name
    return (("ip", "netns", "exec", netns) if netns else ()) + ("sysctl", "-n", key)


HOST = reads()
NS = reads("ns-a")
NO_NAMESPACE = (255, "", 'Cannot open network namespace "ns-a": No such file or directory')


def test_creates_a_bridge_with_addresses_up_and_rp_filter(run_module, tools):
    fake = tools({HOST["links"]: listing(), rp_read("br-a"): (0, "2\n", "")})
    result, failed = run_module(netns_link, {"name": "br-a", "kind": "bridge", "addresses": ["10.0.2.1/24", "10.0.1.1/24"],
                                             "rp_filter": 1}, diff=True)
    assert not failed and result["changed"] and not result["existed"] and result["kind"] == "bridge"
    assert [c for c in fake.commands if c not in (HOST["links"], rp_read("br-a"))] == [
        ("ip", "link", "add", "br-a", "type", "bridge"),
        ("ip", "address", "add", "10.0.1.1/24", "dev", "br-a"),
        ("ip", "address", "add", "10.0.2.1/24", "dev", "br-a"),
        ("ip", "link", "set", "dev", "br-a", "up"),
        ("sysctl", "-q", "-w", "net/ipv4/conf/br-a/rp_filter=1"),
    ]
    assert result["diff"]["before"] == ""
    assert "  - 10.0.1.1/24\n  - 10.0.2.1/24\n" in result["diff"]["after"] and "rp_filter: 1" in result["diff"]["after"]


def test_an_up_to_date_bridge_runs_only_reads(run_module, tools):
    fake = tools({HOST["links"]: listing(link("br-a", "bridge", addresses=["10.0.1.1/24", "10.0.2.1/24", "fe80::1/64"])),
                  rp_read("br-a"): (0, "1\n", "")})
    result, failed = run_module(netns_link, {"name": "br-a", "kind": "bridge", "addresses": ["10.0.1.1/24", "10.0.2.1/24"],
                                             "rp_filter": 1})
    assert not failed and not result["changed"] and result["commands"] == []
    assert fake.commands == [HOST["links"], rp_read("br-a")]


def test_addresses_are_the_complete_list_but_link_local_is_left_alone(run_module, tools):
    fake = tools({HOST["links"]: listing(link("br-a", "bridge", addresses=["10.0.1.1/24", "10.0.3.1/24", "fe80::1/64"]))})
    result, failed = run_module(netns_link, {"name": "br-a", "kind": "bridge", "addresses": ["10.0.1.1/24", "10.0.2.1/24"]})
    assert not failed and result["changed"]
    assert fake.commands[1:] == [
        ("ip", "address", "del", "10.0.3.1/24", "dev", "br-a"),
        ("ip", "address", "add", "10.0.2.1/24", "dev", "br-a"),
    ]


def test_creates_a_veth_pair_with_the_peer_in_its_namespace(run_module, tools):
    fake = tools({HOST["links"]: listing()})
    result, failed = run_module(netns_link, {"name": "v-a", "kind": "veth", "master": "br-a",
                                             "peer": {"name": "eth0", "namespace": "ns-a"}})
    assert not failed and result["changed"]
    assert fake.commands[1:] == [
        ("ip", "link", "add", "v-a", "type", "veth", "peer", "name", "eth0", "netns", "ns-a"),
        ("ip", "link", "set", "dev", "v-a", "master", "br-a"),
        ("ip", "link", "set", "dev", "v-a", "up"),
    ]


def test_namespace_end_gets_address_routes_and_rp_filter_inside_the_namespace(run_module, tools):
    fake = tools({NS["links"]: listing(link("eth0", "veth", up=False)),
                  NS["routes"]: listing({"dst": "10.9.0.0/16", "gateway": "10.0.1.1", "dev": "eth0"},
                                        {"dst": "10.0.1.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link"},
                                        {"dst": "10.8.0.0/16", "gateway": "10.0.1.1", "dev": "eth1"}),
                  rp_read("eth0", "ns-a"): (0, "0\n", "")})
    result, failed = run_module(netns_link, {
        "name": "eth0", "namespace": "ns-a", "kind": "veth", "addresses": ["10.0.1.2/24"], "rp_filter": 1,
        "routes": [{"dst": "default", "via": "10.0.1.1"}, {"dst": "10.1.0.0/16", "via": "10.0.1.1", "metric": 10}]})
    assert not failed and result["changed"]
    assert fake.commands[3:] == [
        ("ip", "-n", "ns-a", "address", "add", "10.0.1.2/24", "dev", "eth0"),
        ("ip", "-n", "ns-a", "link", "set", "dev", "eth0", "up"),
        ("ip", "netns", "exec", "ns-a", "sysctl", "-q", "-w", "net/ipv4/conf/eth0/rp_filter=1"),
        ("ip", "-n", "ns-a", "route", "del", "10.9.0.0/16", "via", "10.0.1.1", "dev", "eth0"),
        ("ip", "-n", "ns-a", "route", "add", "default", "via", "10.0.1.1", "dev", "eth0"),
        ("ip", "-n", "ns-a", "route", "add", "10.1.0.0/16", "via", "10.0.1.1", "dev", "eth0", "metric", "10"),
    ]


def test_routes_in_place_are_not_touched(run_module, tools):
    fake = tools({NS["links"]: listing(link("eth0", "veth")),
                  NS["routes"]: listing({"dst": "default", "gateway": "10.0.1.1", "dev": "eth0", "flags": []},
                                        {"dst": "10.0.0.5", "gateway": "10.0.1.1", "dev": "eth0", "metric": 5})})
    result, failed = run_module(netns_link, {"name": "eth0", "namespace": "ns-a",
                                             "routes": [{"dst": "0.0.0.0/0", "via": "10.0.1.1"},
                                                        {"dst": "10.0.0.5/32", "via": "10.0.1.1", "metric": 5}]})
    assert not failed and not result["changed"]
    assert fake.commands == [NS["links"], NS["routes"]]


@pytest.mark.parametrize("failing, message", [
    ("links", "cannot read the links of namespace ns-a: Operation not permitted"),
    ("routes", "cannot read the routes of namespace ns-a: Operation not permitted"),
])
def test_a_read_that_fails_names_what_and_where(run_module, tools, failing, message):
    answers = {NS["links"]: listing(link("eth0", "veth")), NS["routes"]: listing()}
    answers[NS[failing]] = (2, "", "Operation not permitted\n")
    tools(answers)
    result, failed = run_module(netns_link, {"name": "eth0", "namespace": "ns-a", "routes": []})
    assert failed and result["msg"] == message


def test_check_mode_on_a_missing_link_reports_every_step_and_changes_nothing(run_module, tools):
    fake = tools({HOST["links"]: listing()})
    result, failed = run_module(netns_link, {"name": "br-a", "kind": "bridge", "addresses": ["10.0.1.1/24"],
                                             "rp_filter": 1}, check_mode=True)
    assert not failed and result["changed"]
    assert result["commands"] == ["ip link add br-a type bridge", "ip address add 10.0.1.1/24 dev br-a",
                                  "ip link set dev br-a up", "sysctl -q -w net/ipv4/conf/br-a/rp_filter=1"]
    assert fake.commands == [HOST["links"]]


def test_check_mode_when_the_namespace_is_not_there_yet(run_module, tools):
    fake = tools({NS["links"]: NO_NAMESPACE})
    result, failed = run_module(netns_link, {"name": "eth0", "namespace": "ns-a", "kind": "veth",
                                             "addresses": ["10.0.1.2/24"]}, check_mode=True)
    assert not failed and result["changed"]
    assert fake.commands == [NS["links"]]


def test_a_missing_namespace_fails_outside_check_mode(run_module, tools):
    tools({NS["links"]: NO_NAMESPACE})
    result, failed = run_module(netns_link, {"name": "eth0", "namespace": "ns-a", "kind": "veth"})
    assert failed and result["msg"] == "namespace ns-a does not exist"


def test_a_veth_end_without_peer_is_not_created(run_module, tools):
    fake = tools({HOST["links"]: listing()})
    result, failed = run_module(netns_link, {"name": "v-a", "kind": "veth"})
    assert failed and "from the other end" in result["msg"]
    assert len(fake.commands) == 1


def test_a_link_of_another_kind_is_an_error(run_module, tools):
    fake = tools({HOST["links"]: listing(link("br-a", "dummy"))})
    result, failed = run_module(netns_link, {"name": "br-a", "kind": "bridge"})
    assert failed and result["msg"] == "br-a exists and is a dummy link, not a bridge"
    assert fake.commands == [HOST["links"]]


def test_master_and_mtu_are_changed_in_place_and_empty_master_detaches(run_module, tools):
    fake = tools({HOST["links"]: listing(link("v-a", "veth", master="br-old", mtu=1500))})
    result, failed = run_module(netns_link, {"name": "v-a", "master": "br-a", "mtu": 1400})
    assert not failed and result["changed"]
    assert fake.commands[1:] == [("ip", "link", "set", "dev", "v-a", "master", "br-a"),
                                 ("ip", "link", "set", "dev", "v-a", "mtu", "1400")]
    fake = tools({HOST["links"]: listing(link("v-a", "veth", master="br-old"))})
    result, failed = run_module(netns_link, {"name": "v-a", "master": ""})
    assert not failed and fake.commands[1:] == [("ip", "link", "set", "dev", "v-a", "nomaster")]


def test_up_false_brings_it_down(run_module, tools):
    fake = tools({HOST["links"]: listing(link("br-a", "bridge"))})
    result, failed = run_module(netns_link, {"name": "br-a", "up": False})
    assert not failed and result["changed"]
    assert fake.commands[1:] == [("ip", "link", "set", "dev", "br-a", "down")]


def test_absent_deletes_the_link_and_shows_what_it_was(run_module, tools):
    fake = tools({HOST["links"]: listing(link("br-a", "bridge"))})
    result, failed = run_module(netns_link, {"name": "br-a", "state": "absent"}, diff=True)
    assert not failed and result["changed"] and result["existed"]
    assert fake.commands[1:] == [("ip", "link", "del", "dev", "br-a")]
    assert result["diff"]["before"].startswith("link br-a (bridge) in the host namespace") and result["diff"]["after"] == ""


def test_absent_in_a_missing_namespace_is_nothing_to_do(run_module, tools):
    fake = tools({NS["links"]: NO_NAMESPACE})
    result, failed = run_module(netns_link, {"name": "eth0", "namespace": "ns-a", "state": "absent"})
    assert not failed and not result["changed"]
    assert fake.commands == [NS["links"]]


def test_absent_in_check_mode(run_module, tools):
    fake = tools({HOST["links"]: listing(link("br-a", "bridge"))})
    result, failed = run_module(netns_link, {"name": "br-a", "state": "absent"}, check_mode=True)
    assert not failed and result["changed"] and result["commands"] == ["ip link del dev br-a"]
    assert fake.commands == [HOST["links"]]


@pytest.mark.parametrize("args, message", [
    ({"name": "a-name-of-16-chr"}, "name: 'a-name-of-16-chr' is not an interface name"),
    ({"name": "br a"}, "name: 'br a' is not an interface name"),
    ({"name": "v-a", "kind": "veth", "peer": {"name": "this-is-too-long-x"}}, "peer.name"),
    ({"name": "br-a", "kind": "bridge", "peer": {"name": "x"}}, "peer: only a veth link has a peer"),
    ({"name": "br-a", "namespace": "../etc"}, "namespace: '../etc' is not a namespace name"),
    ({"name": "br-a", "addresses": ["10.0.1.1"]}, "addresses: '10.0.1.1' has no prefix length"),
    ({"name": "br-a", "routes": [{"dst": "10.0.0.1/16"}]}, "routes[0]: 10.0.0.1/16 has host bits set"),
    ({"name": "br-a", "routes": [{"dst": "default", "via": "10.0.1.1"}, {"dst": "0.0.0.0/0", "via": "10.0.1.1"}]},
     "routes[1]: default via 10.0.1.1 is listed twice"),
])
def test_bad_input_fails_before_any_change(run_module, tools, args, message):
    fake = tools({HOST["links"]: listing(link("br-a", "bridge"))})
    result, failed = run_module(netns_link, args)
    assert failed and message in result["msg"]
    assert set(fake.commands) <= {HOST["links"], NS["links"]}


def test_links_handles_a_bridge_and_a_veth_pair_in_one_call_in_order(run_module, tools):
    fake = tools({HOST["links"]: listing(), rp_read("br-a"): (0, "1\n", "")})
    result, failed = run_module(netns_link, {"links": [
        {"name": "br-a", "kind": "bridge", "addresses": ["10.0.1.1/24"], "rp_filter": 1},
        {"name": "v-a", "kind": "veth", "peer": {"name": "eth0", "namespace": "ns-a"}, "master": "br-a"},
    ]}, diff=True)
    assert not failed and result["changed"]
    assert [item["kind"] for item in result["links"]] == ["bridge", "veth"]
    assert result["commands"] == [
        "ip link add br-a type bridge", "ip address add 10.0.1.1/24 dev br-a", "ip link set dev br-a up",
        "ip link add v-a type veth peer name eth0 netns ns-a", "ip link set dev v-a master br-a", "ip link set dev v-a up"]
    assert [c for c in fake.commands if c[:2] != ("ip", "-j") and c[0] != "sysctl" or c[1] == "-q"] == [
        tuple(command.split()) for command in result["commands"]]
    assert result["diff"]["after"].count("link ") == 2 and result["diff"]["before"] == ""


def test_links_removes_and_keeps_in_one_call(run_module, tools):
    fake = tools({HOST["links"]: listing(link("br-a", "bridge"))})
    result, failed = run_module(netns_link, {"links": [{"name": "br-a", "state": "absent"}]}, check_mode=True)
    assert not failed and result["changed"] and result["commands"] == ["ip link del dev br-a"]
    assert [c for c in fake.commands if "del" in c] == []


@pytest.mark.parametrize("args, message", [
    ({"links": [{"name": "br-a", "kind": "bridge"}, {"name": "x" * 16, "kind": "dummy"}]}, "links[1] ("),
    ({"links": [{"name": "br-a", "colour": "red"}]}, "links[0] (br-a): "),
    ({"links": [{"name": "br-a"}], "kind": "bridge"}, "mutually exclusive"),
])
def test_bad_links_fail_before_any_change(run_module, tools, args, message):
    fake = tools({})
    result, failed = run_module(netns_link, args)
    assert failed and message in result["msg"] and fake.commands == []


def test_links_read_each_namespace_once_and_again_after_a_change(run_module, tools):
    inside = [link("eth0", "veth", addresses=["10.0.1.2/24"]), link("eth1", "veth", addresses=["10.0.2.2/24"])]
    fake = tools({HOST["links"]: listing(link("br-a", "bridge", up=False), link("v-a", "veth", master="br-a")),
                  NS["links"]: listing(*inside),
                  NS["routes"]: listing({"dst": "default", "gateway": "10.0.1.1", "dev": "eth0"},
                                        {"dst": "default", "gateway": "10.0.2.1", "dev": "eth1", "metric": 5})})
    result, failed = run_module(netns_link, {"links": [
        {"name": "br-a", "kind": "bridge"},
        {"name": "v-a", "kind": "veth", "master": "br-a"},
        {"name": "eth0", "namespace": "ns-a", "addresses": ["10.0.1.2/24"], "routes": [{"dst": "default", "via": "10.0.1.1"}]},
        {"name": "eth1", "namespace": "ns-a", "addresses": ["10.0.2.2/24"],
         "routes": [{"dst": "default", "via": "10.0.2.1", "metric": 5}]},
    ]})
    assert not failed and result["changed"] and result["commands"] == ["ip link set dev br-a up"]
    # the host's links read again after br-a went up; the namespace's links and routes once for both of its links
    assert fake.commands == [HOST["links"], ("ip", "link", "set", "dev", "br-a", "up"), HOST["links"], NS["links"], NS["routes"]]
