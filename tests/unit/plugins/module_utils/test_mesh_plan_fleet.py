# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real fleets: names from the inventory, servers that cannot be dialled at any index, relays, external peers."""

from __future__ import annotations

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import MeshPlanError, build_mesh_plan, default_name


def fleet(*specs):
    """(host, index, dialable) -> servers with endpoint 203.0.113.<index>, port 51820."""
    return [{"host": host, "index": index, "endpoint": "203.0.113.%d" % index, "dialable": dialable}
            for host, index, dialable in specs]


def iface(view, name):
    return next(i for i in view["interfaces"] if i["name"] == name)


def peer(interface, host):
    return next(p for p in interface["peers"] if p["host"] == host)


# Indices 2, 5, 7, 9; 5 and 7 cannot be dialled (neither is the highest).
FLEET = fleet(("db-east", 2, True), ("web01", 5, False), ("office", 7, False), ("home.example.com", 9, True))


@pytest.mark.parametrize("host, index, name", [
    ("db-east", 3, "db-east"),
    ("DB1.Example.com", 3, "db1"),
    ("db1.example.com.", 3, "db1"),
    ("server1", 1, "server1"),
    ("10.0.0.7", 7, "server7"),
    ("2001:db8::7", 7, "server7"),
])
def test_default_name_rule(host, index, name):
    assert default_name(host, index) == name


@pytest.mark.parametrize("host", ["db_east", "-db", "a b", "db1\n", "db\x00", "é", "a..b"])
def test_an_inventory_hostname_that_is_no_dns_name_must_be_named(host):
    with pytest.raises(MeshPlanError) as caught:
        build_mesh_plan([{"host": host, "index": 1, "endpoint": "203.0.113.1"}])
    assert (caught.value.host, caught.value.field) == (host, "name"), str(caught.value)
    assert build_mesh_plan([{"host": host, "index": 1, "endpoint": "203.0.113.1", "name": "ok"}])["servers"][host]["name"] == "ok"


def test_names_aliases_in_every_hosts_block():
    given = fleet(("db-east", 1, True), ("10.1.2.3", 2, True))
    given[0]["aliases"] = ["db", "primary"]
    given[1]["name"] = "web"
    plan = build_mesh_plan(given)["servers"]
    assert plan["10.1.2.3"]["hosts_lines"] == [
        "192.168.1.1 db-east db-east.vpcdomain db db.vpcdomain primary primary.vpcdomain",
        "127.0.0.1 web web.vpcdomain",
    ]
    assert plan["db-east"]["hosts_lines"][0] == "127.0.0.1 db-east db-east.vpcdomain db db.vpcdomain primary primary.vpcdomain"


def test_a_lower_server_that_cannot_be_dialled_is_carried_on_the_higher_ones_port():
    plan = build_mesh_plan(fleet(("a", 1, False), ("b", 2, True)))["servers"]
    a, b = plan["a"], plan["b"]
    # a dials b from its own wgvpc0, with keepalive; the addresses do not move
    assert [i["name"] for i in a["interfaces"]] == ["wgvpc0"]
    assert a["interfaces"][0]["listen_port"] == 51820
    assert peer(a["interfaces"][0], "b") == {"host": "b", "index": 2, "allowed_ips": ["192.168.1.2/32"],
                                             "endpoint": "203.0.113.2:51820", "persistent_keepalive": 25}
    # b has no client interface: the pair is on its listening wgvpc0, with b's pair address added
    assert [i["name"] for i in b["interfaces"]] == ["wgvpc0"]
    assert b["interfaces"][0]["extra_addresses"] == ["192.168.1.2/24"]
    assert peer(b["interfaces"][0], "a") == {"host": "a", "index": 1, "allowed_ips": ["192.168.1.1/32"],
                                             "endpoint": None, "persistent_keepalive": None}
    assert a["hosts_lines"][1] == "192.168.1.2 b b.vpcdomain" and b["hosts_lines"][0] == "192.168.1.1 a a.vpcdomain"
    assert b["service_addresses"] == ["192.168.2.1", "192.168.1.2"]


def test_a_server_that_cannot_be_dialled_needs_no_endpoint():
    given = fleet(("a", 1, False), ("b", 2, True))
    given[0]["endpoint"] = None
    assert build_mesh_plan(given)["relayed"] == []


def test_fleet_layout_every_pair_and_relay():
    result = build_mesh_plan(FLEET)
    plan = result["servers"]
    assert result["relayed"] == [{"hosts": ["web01", "office"], "relay": "db-east"}]
    assert result["key_holders"] == ["db-east", "web01", "office", "home.example.com"]
    assert [plan[h]["name"] for h in ("db-east", "web01", "office", "home.example.com")] == ["db-east", "web01", "office", "home"]
    # the relay: every pair on wgvpc0 (it listens to all), the ends' pair addresses on their peers, routed, forwarding
    relay = iface(plan["db-east"], "wgvpc0")
    assert relay["forwarding"] is True and relay["extra_addresses"] == []
    assert peer(relay, "web01")["allowed_ips"] == ["192.168.2.5/32", "192.168.5.1/32"]
    assert peer(relay, "office")["allowed_ips"] == ["192.168.2.7/32", "192.168.5.7/32"]
    assert relay["routes"] == [{"to": "192.168.5.1/32"}, {"to": "192.168.5.7/32"}]
    # web01 (5): dials db-east from wgvpc2, and reaches office through it from its own pair address 192.168.5.1
    web = plan["web01"]
    assert [i["name"] for i in web["interfaces"]] == ["wgvpc0", "wgvpc2"]
    to_relay = iface(web, "wgvpc2")
    assert peer(to_relay, "db-east")["allowed_ips"] == ["192.168.2.1/32", "192.168.5.7/32"]
    assert to_relay["extra_addresses"] == ["192.168.5.1/32"] and to_relay["forwarding"] is False
    assert to_relay["routes"] == [{"to": "192.168.5.7/32", "src": "192.168.5.1"}]
    # web01 dials home (9) from wgvpc0: home listens
    assert peer(iface(web, "wgvpc0"), "home.example.com")["endpoint"] == "203.0.113.9:51820"
    assert [p["host"] for p in iface(web, "wgvpc0")["peers"]] == ["home.example.com"]
    office = plan["office"]
    assert peer(iface(office, "wgvpc2"), "db-east")["allowed_ips"] == ["192.168.2.1/32", "192.168.5.1/32"]
    assert iface(office, "wgvpc2")["routes"] == [{"to": "192.168.5.1/32", "src": "192.168.5.7"}]
    assert iface(office, "wgvpc2")["extra_addresses"] == ["192.168.5.7/32"]
    # home (9) listens for both: their pair addresses are added to its wgvpc0, no client interface for them
    home = plan["home.example.com"]
    assert [i["name"] for i in home["interfaces"]] == ["wgvpc0", "wgvpc2"]
    assert iface(home, "wgvpc0")["extra_addresses"] == ["192.168.5.9/24", "192.168.7.9/24"]
    # names through the relay are the pair addresses, as for any pair
    assert web["hosts_lines"][2] == "192.168.5.7 office office.vpcdomain"
    assert office["hosts_lines"][1] == "192.168.5.1 web01 web01.vpcdomain"
    assert web["relayed"] == {"office": "db-east"} and office["relayed"] == {"web01": "db-east"}
    assert plan["db-east"]["relayed"] == {}


def test_every_interface_address_is_unique_per_host_and_allowed_ips_unique_per_interface():
    for view in build_mesh_plan(FLEET)["servers"].values():
        for interface in view["interfaces"]:
            allowed = [ip for p in interface["peers"] for ip in p["allowed_ips"]]
            assert len(allowed) == len(set(allowed)), interface


def test_the_named_relay_and_a_relay_at_a_higher_index():
    plan = build_mesh_plan(FLEET, relay="home.example.com")
    assert plan["relayed"] == [{"hosts": ["web01", "office"], "relay": "home.example.com"}]
    home = iface(plan["servers"]["home.example.com"], "wgvpc0")
    assert home["forwarding"] is True
    # the ends' tunnels to home are on their wgvpc0, which already holds 192.168.5.1/24 (web01) ...
    web = iface(plan["servers"]["web01"], "wgvpc0")
    # (its connected subnet 192.168.5.0/24 routes office's 192.168.5.7 there, from 192.168.5.1: no route needed)
    assert web["routes"] == [] and web["extra_addresses"] == []
    # ... and office's own pair address 192.168.5.7 is added as a /32 to its tunnel to home, the source of its route
    office = iface(plan["servers"]["office"], "wgvpc0")
    assert office["extra_addresses"] == ["192.168.5.7/32"]
    assert office["routes"] == [{"to": "192.168.5.1/32", "src": "192.168.5.7"}]
    # home already routes both ends' addresses on wgvpc0 (its extra /24s): only allowed IPs, no route
    assert peer(home, "web01")["allowed_ips"] == ["192.168.5.1/32"]
    assert home["routes"] == []


def test_the_layout_of_dialable_servers_does_not_change_when_indices_grow():
    small = build_mesh_plan(fleet(("a", 1, True), ("b", 3, False)))["servers"]
    big = build_mesh_plan(fleet(("a", 1, True), ("b", 3, False), ("c", 2, True)))["servers"]
    assert iface(big["b"], "wgvpc1") == iface(small["b"], "wgvpc1")


def test_external_peers():
    result = build_mesh_plan(FLEET, external_peers=[{"name": "laptop", "index": 12, "aliases": ["me"]},
                                                    {"name": "ci", "index": 1, "endpoint": "198.51.100.1", "port": "51000"}])
    assert result["key_holders"] == ["external-ci", "db-east", "web01", "office", "home.example.com", "external-laptop"]
    laptop = result["external_peers"]["laptop"]
    (only,) = laptop["interfaces"]
    assert only["name"] == "laptop" and only["listen_port"] is None
    assert only["address"] == "192.168.12.1/24"
    assert only["extra_addresses"] == ["192.168.2.12/24", "192.168.9.12/24", "192.168.5.12/24", "192.168.7.12/24"]
    # web01 and office cannot be dialled either: the laptop reaches them through db-east, not as peers
    assert sorted(p["host"] for p in only["peers"]) == ["db-east", "home.example.com"]
    # laptop cannot be dialled: it dials the dialable servers; web01 and office are relayed through db-east
    assert peer(only, "db-east")["endpoint"] == "203.0.113.2:51820"
    assert peer(only, "db-east")["allowed_ips"] == ["192.168.2.1/32", "192.168.5.1/32", "192.168.7.1/32"]
    assert only["routes"] == []  # every pair subnet is on its one interface
    assert result["relayed"] == [{"hosts": pair, "relay": "db-east"} for pair in (
        ["web01", "office"], ["web01", "external-laptop"], ["office", "external-laptop"])]
    assert laptop["hosts_lines"][:2] == ["192.168.2.1 db-east db-east.vpcdomain", "192.168.5.1 web01 web01.vpcdomain"]
    assert all("ci" not in line.split()[1:] for line in laptop["hosts_lines"])
    # ci (index 1, dialable) listens: every server dials it, from a client interface wgvpc1
    ci = result["external_peers"]["ci"]["interfaces"][0]
    assert ci["listen_port"] == 51000 and all(p["endpoint"] is None for p in ci["peers"])
    assert peer(iface(result["servers"]["office"], "wgvpc1"), "external-ci")["endpoint"] == "198.51.100.1:51000"
    assert result["servers"]["office"]["hosts_lines"][-1] == "192.168.7.12 laptop laptop.vpcdomain me me.vpcdomain"


@pytest.mark.parametrize("given, kwargs, host, field, message", [
    (fleet(("a", 1, False), ("b", 2, False)), {}, "a", "dialable", "neither 'a' nor 'b' can be dialled"),
    (fleet(("a", 1, True), ("b", 2, True)), {"relay": "c"}, None, "relay", "got 'c'"),
    (fleet(("a", 1, False), ("b", 2, True)), {"relay": "a"}, None, "relay", "got 'a'"),
    ([dict(s, dialable="no") for s in fleet(("a", 1, True))], {}, "a", "dialable", "true or false"),
    ([dict(s, aliases="db") for s in fleet(("a", 1, True))], {}, "a", "aliases", "list"),
    ([dict(s, aliases=["DB"]) for s in fleet(("a", 1, True))], {}, "a", "aliases", "'DB'"),
    ([dict(s, aliases=["db\n"]) for s in fleet(("a", 1, True))], {}, "a", "aliases", "'db\\n'"),
    ([dict(s, aliases=["b"]) for s in fleet(("a", 1, True))] + fleet(("b", 2, True)), {}, "b", "name",
     "'b' is already the name of host 'a'"),
    (fleet(("a", 1, True)) + [dict(s, aliases=["a"]) for s in fleet(("b", 2, True))], {}, "b", "aliases", "already"),
    (fleet(("localhost", 1, True)), {}, "localhost", "name", "'localhost' is every server's name for itself"),
    ([dict(s, endpoint=None) for s in fleet(("a", 1, True))] + fleet(("b", 2, False)), {}, "a", "endpoint",
     "'b' dials this server"),
    (fleet(("a", 1, True)), {"external_peers": {"name": "x"}}, None, "external_peers", "must be a list"),
    (fleet(("a", 1, True)), {"external_peers": [{"name": "laptop"}]}, None, "external_peers", "entry 0 (laptop): index"),
    (fleet(("a", 1, True)), {"external_peers": [{"name": "a-very-long-laptop", "index": 3}]}, None, "external_peers",
     "15 characters"),
    (fleet(("a", 1, True)), {"external_peers": [{"name": "x", "index": 1}]}, None, "external_peers",
     "already the index of host 'a'"),
    (fleet(("a", 1, True)), {"external_peers": [{"name": "a", "index": 2}]}, None, "external_peers", "already the name"),
    (fleet(("a", 1, True)), {"external_peers": [{"name": "x", "index": 2, "key": "k"}]}, None, "external_peers",
     "unknown keys 'key'"),
    (fleet(("a", 1, True)), {"external_peers": [{"name": "x", "index": "٣"}]}, None, "external_peers", "index"),
    (fleet(("a", 1, True)), {"external_peers": [{"name": "x", "index": 2, "endpoint": "127.0.0.1"}]}, None,
     "external_peers", "loopback"),
    (fleet(("external-x", 1, True)), {"external_peers": [{"name": "x", "index": 2}]}, None, "external_peers",
     "key holder 'external-x'"),
    (fleet(("a", 1, False)), {"external_peers": [{"name": "x", "index": 2}]}, "a", "dialable", "'external-x'"),
])
def test_fleet_errors_name_host_and_field(given, kwargs, host, field, message):
    with pytest.raises(MeshPlanError) as caught:
        build_mesh_plan(given, **kwargs)
    assert (caught.value.host, caught.value.field) == (host, field), str(caught.value)
    assert message in str(caught.value)


def test_adding_a_server_that_cannot_be_dialled_at_a_lower_index_only_adds():
    """What the others had stays (interfaces, addresses, peers, allowed IPs, routes): their tunnels are not touched."""
    before = build_mesh_plan(FLEET)["servers"]
    after = build_mesh_plan(FLEET + fleet(("late", 3, False)))["servers"]
    for host, view in before.items():
        new = dict((i["name"], i) for i in after[host]["interfaces"])
        for old in view["interfaces"]:
            grown = new[old["name"]]
            assert (grown["address"], grown["listen_port"]) == (old["address"], old["listen_port"])
            assert set(old["extra_addresses"]) <= set(grown["extra_addresses"])
            assert all(route in grown["routes"] for route in old["routes"])
            for old_peer in old["peers"]:
                new_peer = peer(grown, old_peer["host"])
                assert new_peer["allowed_ips"][0] == old_peer["allowed_ips"][0]
                assert set(old_peer["allowed_ips"]) <= set(new_peer["allowed_ips"])
                assert (new_peer["endpoint"], new_peer["persistent_keepalive"]) == (
                    old_peer["endpoint"], old_peer["persistent_keepalive"])


@pytest.mark.parametrize("aliases, message", [
    (["1234"], "all digits"),
    (["localhost"], "every server's name for itself"),
    (["db\n"], "one DNS label"),
    (["DB"], "one DNS label"),
    ("db", "must be a list"),
])
def test_aliases_follow_the_rules_of_names(aliases, message):
    with pytest.raises(MeshPlanError) as caught:
        build_mesh_plan([{"host": "a", "index": 1, "aliases": aliases}])
    assert (caught.value.host, caught.value.field) == ("a", "aliases") and message in caught.value.problem


def test_an_alias_must_fit_a_dns_name_with_the_domain():
    domain = ".".join(["d" * 63] * 3) + "." + "d" * 57  # 249 characters: <alias>.<domain> fits 3 characters
    build_mesh_plan([{"host": "a", "index": 1, "aliases": ["abc"]}], domain=domain)
    with pytest.raises(MeshPlanError, match="past the 253 of a DNS name"):
        build_mesh_plan([{"host": "a", "index": 1, "aliases": ["abcd"]}], domain=domain)


@pytest.mark.parametrize("endpoint, message", [
    ("10.213.0.010", "neither an IPv4 address"), ("1.2.3", "neither an IPv4 address"), ("0.0.0.0", "not an address"),
    ("::1", "loopback"), ("224.0.0.1", "multicast"), ("laptop.localhost", "localhost"), ("host\n", "control"),
])
def test_an_external_peers_endpoint_is_as_strict_as_a_servers(endpoint, message):
    with pytest.raises(MeshPlanError) as caught:
        build_mesh_plan([{"host": "a", "index": 1, "endpoint": "198.51.100.1"}],
                        external_peers=[{"name": "laptop", "index": 2, "endpoint": endpoint}])
    assert caught.value.field == "external_peers" and "entry 0 (laptop): endpoint: " in caught.value.problem
    assert message in caught.value.problem


def test_an_external_peers_endpoint_is_one_with_a_servers_in_another_spelling():
    with pytest.raises(MeshPlanError, match="is already the endpoint of host 'a'"):
        build_mesh_plan([{"host": "a", "index": 1, "endpoint": "vpn.example.com"}],
                        external_peers=[{"name": "laptop", "index": 2, "endpoint": "VPN.example.com."}])
