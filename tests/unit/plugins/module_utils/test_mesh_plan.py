# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mesh plan: the seed's 5-server example written out, offsets, sparse indices, 254 servers, every error."""

from __future__ import annotations

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import (
    MeshPlanError,
    build_mesh_plan,
    format_endpoint,
)


def servers(*indices, overrides=None):
    """Servers host<i> with index i, endpoint 203.0.113.i and port 51820+i; overrides: {i: {field: value}}."""
    overrides = overrides or {}
    return [dict({"host": "host%d" % i, "index": i, "endpoint": "203.0.113.%d" % i, "port": 51820 + i, "name": "server%d" % i},
                 **overrides.get(i, {})) for i in indices]


def interface_table(view):
    """(name, role, address, listen port, [(peer host, allowed ip, endpoint, keepalive)])."""
    return [(iface["name"], iface["role"], iface["address"], iface["listen_port"],
             [(p["host"], p["allowed_ips"][0], p["endpoint"], p["persistent_keepalive"]) for p in iface["peers"]])
            for iface in view["interfaces"]]


# The seed's five servers, written out by hand: (interface, role, address, listen port, peers).
SEED_FIVE = {
    "host1": [
        ("wgvpc0", "server", "192.168.1.1/24", 51821, [
            ("host2", "192.168.1.2/32", None, None), ("host3", "192.168.1.3/32", None, None),
            ("host4", "192.168.1.4/32", None, None), ("host5", "192.168.1.5/32", None, None)]),
    ],
    "host2": [
        ("wgvpc0", "server", "192.168.2.1/24", 51822, [
            ("host3", "192.168.2.3/32", None, None), ("host4", "192.168.2.4/32", None, None),
            ("host5", "192.168.2.5/32", None, None)]),
        ("wgvpc1", "client", "192.168.1.2/24", None, [("host1", "192.168.1.1/32", "203.0.113.1:51821", 25)]),
    ],
    "host3": [
        ("wgvpc0", "server", "192.168.3.1/24", 51823, [
            ("host4", "192.168.3.4/32", None, None), ("host5", "192.168.3.5/32", None, None)]),
        ("wgvpc1", "client", "192.168.1.3/24", None, [("host1", "192.168.1.1/32", "203.0.113.1:51821", 25)]),
        ("wgvpc2", "client", "192.168.2.3/24", None, [("host2", "192.168.2.1/32", "203.0.113.2:51822", 25)]),
    ],
    "host4": [
        ("wgvpc0", "server", "192.168.4.1/24", 51824, [("host5", "192.168.4.5/32", None, None)]),
        ("wgvpc1", "client", "192.168.1.4/24", None, [("host1", "192.168.1.1/32", "203.0.113.1:51821", 25)]),
        ("wgvpc2", "client", "192.168.2.4/24", None, [("host2", "192.168.2.1/32", "203.0.113.2:51822", 25)]),
        ("wgvpc3", "client", "192.168.3.4/24", None, [("host3", "192.168.3.1/32", "203.0.113.3:51823", 25)]),
    ],
    "host5": [
        ("wgvpc0", "server", "192.168.5.1/24", 51825, []),
        ("wgvpc1", "client", "192.168.1.5/24", None, [("host1", "192.168.1.1/32", "203.0.113.1:51821", 25)]),
        ("wgvpc2", "client", "192.168.2.5/24", None, [("host2", "192.168.2.1/32", "203.0.113.2:51822", 25)]),
        ("wgvpc3", "client", "192.168.3.5/24", None, [("host3", "192.168.3.1/32", "203.0.113.3:51823", 25)]),
        ("wgvpc4", "client", "192.168.4.5/24", None, [("host4", "192.168.4.1/32", "203.0.113.4:51824", 25)]),
    ],
}

# Row: the server looking; column: the server it names. The seed's table of addresses.
SEED_FIVE_NAMES = [
    ["127.0.0.1", "192.168.1.2", "192.168.1.3", "192.168.1.4", "192.168.1.5"],
    ["192.168.1.1", "127.0.0.1", "192.168.2.3", "192.168.2.4", "192.168.2.5"],
    ["192.168.1.1", "192.168.2.1", "127.0.0.1", "192.168.3.4", "192.168.3.5"],
    ["192.168.1.1", "192.168.2.1", "192.168.3.1", "127.0.0.1", "192.168.4.5"],
    ["192.168.1.1", "192.168.2.1", "192.168.3.1", "192.168.4.1", "127.0.0.1"],
]


def test_seed_five_server_interfaces():
    plan = build_mesh_plan(servers(1, 2, 3, 4, 5))["servers"]
    assert {host: interface_table(view) for host, view in plan.items()} == SEED_FIVE


def test_seed_five_server_names_as_seen_from_each_server():
    plan = build_mesh_plan(servers(1, 2, 3, 4, 5))["servers"]
    for row, looking in enumerate(range(1, 6)):
        entries = plan["host%d" % looking]["hosts_entries"]
        assert [e["address"] for e in entries] == SEED_FIVE_NAMES[row]
        assert [e["names"] for e in entries] == [["server%d" % i, "server%d.vpcdomain" % i] for i in range(1, 6)]


def test_hosts_lines_and_service_addresses():
    view = build_mesh_plan(servers(1, 2, 3))["servers"]["host2"]
    assert view["hosts_lines"] == [
        "192.168.1.1 server1 server1.vpcdomain",
        "127.0.0.1 server2 server2.vpcdomain",
        "192.168.2.3 server3 server3.vpcdomain",
    ]
    assert view["service_addresses"] == ["192.168.2.1", "192.168.1.2"]
    assert view["fqdn"] == "server2.vpcdomain"


def test_list_order_does_not_matter():
    assert build_mesh_plan(servers(3, 1, 2)) == build_mesh_plan(servers(1, 2, 3))


def test_offset_shifts_every_subnet():
    plan = build_mesh_plan(servers(1, 2, 3), iface_ip_offset=5)["servers"]
    assert plan["host1"]["interfaces"][0]["address"] == "192.168.5.1/24"
    assert [i["address"] for i in plan["host3"]["interfaces"]] == ["192.168.7.1/24", "192.168.5.3/24", "192.168.6.3/24"]
    assert plan["host3"]["hosts_lines"][:2] == ["192.168.5.1 server1 server1.vpcdomain", "192.168.6.1 server2 server2.vpcdomain"]


def test_offset_zero_uses_192_168_0():
    plan = build_mesh_plan(servers(1, 2), iface_ip_offset=0)["servers"]
    assert plan["host2"]["interfaces"][1]["address"] == "192.168.0.2/24"


def test_sparse_indices_1_3_7():
    plan = build_mesh_plan(servers(1, 3, 7))["servers"]
    assert interface_table(plan["host7"]) == [
        ("wgvpc0", "server", "192.168.7.1/24", 51827, []),
        ("wgvpc1", "client", "192.168.1.7/24", None, [("host1", "192.168.1.1/32", "203.0.113.1:51821", 25)]),
        ("wgvpc3", "client", "192.168.3.7/24", None, [("host3", "192.168.3.1/32", "203.0.113.3:51823", 25)]),
    ]
    assert [p["allowed_ips"] for p in plan["host1"]["interfaces"][0]["peers"]] == [["192.168.1.3/32"], ["192.168.1.7/32"]]
    assert plan["host3"]["hosts_lines"] == [
        "192.168.1.1 server1 server1.vpcdomain",
        "127.0.0.1 server3 server3.vpcdomain",
        "192.168.3.7 server7 server7.vpcdomain",
    ]


def test_adding_a_server_only_adds_to_existing_views():
    before = build_mesh_plan(servers(1, 2, 3))["servers"]
    after = build_mesh_plan(servers(1, 2, 3, 4))["servers"]
    for host in before:
        old, new = before[host]["interfaces"], after[host]["interfaces"]
        assert [i["name"] for i in new] == [i["name"] for i in old]
        assert new[0]["peers"][: len(old[0]["peers"])] == old[0]["peers"]
        assert new[1:] == old[1:]


def test_254_servers():
    plan = build_mesh_plan(servers(*range(1, 255)), iface_ip_offset=1)["servers"]
    assert len(plan) == 254
    last = plan["host254"]
    assert len(last["interfaces"]) == 254
    assert last["interfaces"][-1]["name"] == "wgvpc253"
    assert last["interfaces"][-1]["address"] == "192.168.253.254/24"
    assert len(plan["host1"]["interfaces"][0]["peers"]) == 253
    assert all(len(i["name"]) <= 15 for view in plan.values() for i in view["interfaces"])
    addresses = [i["address"] for view in plan.values() for i in view["interfaces"]]
    assert len(addresses) == len(set(addresses)) == 254 + 254 * 253 // 2


def test_name_and_domain_and_ipv6_endpoint():
    plan = build_mesh_plan(
        servers(1, 2, overrides={1: {"name": "db", "endpoint": "2001:db8::1"}, 2: {"name": "web"}}), domain="corp.example")
    assert plan["servers"]["host2"]["hosts_lines"] == ["192.168.1.1 db db.corp.example", "127.0.0.1 web web.corp.example"]
    assert plan["servers"]["host2"]["interfaces"][1]["peers"][0]["endpoint"] == "[2001:db8::1]:51821"
    assert format_endpoint("vpn.example.com", 5) == "vpn.example.com:5"


def test_highest_server_needs_no_endpoint_and_keepalive_zero_turns_it_off():
    plan = build_mesh_plan(servers(1, 2, overrides={2: {"endpoint": None}}), keepalive=0)["servers"]
    assert plan["host2"]["interfaces"][1]["peers"][0]["persistent_keepalive"] is None


def test_default_port_and_name():
    plan = build_mesh_plan([{"host": "a", "index": 4, "endpoint": "198.51.100.4"}])["servers"]
    assert plan["a"]["interfaces"][0]["listen_port"] == 51820
    assert plan["a"]["name"] == "a"


def test_empty_mesh():
    assert build_mesh_plan([]) == {"servers": {}, "external_peers": {}, "relayed": [], "key_holders": []}


@pytest.mark.parametrize("given, kwargs, host, field, message", [
    (servers(1, 2, overrides={2: {"index": None}}), {}, "host2", "index", "is missing"),
    (servers(1, 2, overrides={2: {"index": 1}}), {}, "host2", "index", "already the index of host 'host1'"),
    (servers(1, overrides={1: {"index": 0}}), {}, "host1", "index", "from 1 to 254, got 0"),
    (servers(1, overrides={1: {"index": 255}}), {}, "host1", "index", "from 1 to 254, got 255"),
    (servers(1, overrides={1: {"index": "2"}}), {}, "host1", "index", "got '2'"),
    (servers(1, overrides={1: {"index": True}}), {}, "host1", "index", "got True"),
    (servers(1, 250), {"iface_ip_offset": 10}, "host250", "index", "192.168.259.0/24"),
    (servers(1, overrides={1: {"port": 0}}), {}, "host1", "port", "from 1 to 65535, got 0"),
    (servers(1, overrides={1: {"port": 70000}}), {}, "host1", "port", "got 70000"),
    (servers(1, overrides={1: {"port": "x"}}), {}, "host1", "port", "got 'x'"),
    (servers(1, 2, overrides={2: {"endpoint": "203.0.113.1", "port": 51821}}), {}, "host2", "endpoint",
     "203.0.113.1 port 51821 is already the endpoint of host 'host1'"),
    (servers(1, 2, overrides={1: {"endpoint": None}}), {}, "host1", "endpoint", "is missing: 'host2' dials this server"),
    (servers(1, overrides={1: {"endpoint": "bad host!"}}), {}, "host1", "endpoint", "bad host!"),
    (servers(1, overrides={1: {"endpoint": "127.0.0.1"}}), {}, "host1", "endpoint", "loopback"),
    (servers(1, overrides={1: {"endpoint": "localhost"}}), {}, "host1", "endpoint", "localhost"),
    (servers(1, overrides={1: {"name": "Bad_Name"}}), {}, "host1", "name", "one DNS label"),
    (servers(1, 2, overrides={2: {"name": "server1"}}), {}, "host2", "name", "already the name of host 'host1'"),
    (servers(1) + servers(1), {}, "host1", "host", "listed twice"),
    ([{"index": 1}], {}, None, "host", "inventory name"),
    (servers(1), {"iface_ip_offset": 256}, None, "iface_ip_offset", "0 to 255"),
    (servers(1), {"iface_ip_offset": -1}, None, "iface_ip_offset", "0 to 255"),
    (servers(1), {"domain": "Bad Domain"}, None, "domain", "lowercase labels"),
    (servers(1), {"domain": ""}, None, "domain", "lowercase labels"),
    (servers(1), {"keepalive": -5}, None, "keepalive", "0 to 65535"),
    (servers(1), {"iface_prefix": "a-very-long-one"}, None, "iface_prefix", "exceed 15 characters"),
    (servers(1), {"iface_prefix": "9wg"}, None, "iface_prefix", "start with a letter"),
])
def test_validation_errors_name_host_and_field(given, kwargs, host, field, message):
    with pytest.raises(MeshPlanError) as caught:
        build_mesh_plan(given, **kwargs)
    assert (caught.value.host, caught.value.field) == (host, field)
    assert message in str(caught.value)
