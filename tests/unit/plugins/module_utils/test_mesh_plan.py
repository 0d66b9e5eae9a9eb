# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mesh plan: the seed's 5-server example written out, offsets, sparse indices, 254 servers, every error."""

from __future__ import annotations

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import (
    OPTION_FIELDS,
    MeshPlanError,
    build_mesh_plan,
    format_endpoint,
    host_option_problems,
    parse_endpoint,
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
    plan = build_mesh_plan([])
    assert dict(plan, settings=None) == {"servers": {}, "external_peers": {}, "relayed": [], "key_holders": [],
                                         "settings": None}


def test_the_plan_keeps_its_mesh_wide_settings():
    assert build_mesh_plan([], iface_ip_offset=4, domain="corp.example", keepalive=0, iface_prefix="wg")["settings"] == {
        "iface_ip_offset": 4, "domain": "corp.example", "keepalive": 0, "iface_prefix": "wg", "relay": "",
        "external_peers": []}


@pytest.mark.parametrize("endpoint, key", [
    ("203.0.113.7", "203.0.113.7"),
    ("10.213.0.10", "10.213.0.10"),
    ("2001:DB8:0::1", "2001:db8::1"),
    ("Web1.Example.COM", "web1.example.com"),
    ("web1.example.com.", "web1.example.com"),
    ("vpn-1.example", "vpn-1.example"),
    ("1e100.net", "1e100.net"),
    ("db", "db"),
])
def test_endpoints_accepted_and_their_identity(endpoint, key):
    assert parse_endpoint(endpoint) == (key, None)


def test_endpoints_that_differ_only_in_case_or_spelling_are_one_endpoint():
    for first, second in (("web1.example.com", "Web1.Example.com"), ("web1.example.com", "web1.example.com."),
                          ("2001:db8::1", "2001:DB8:0:0::1")):
        with pytest.raises(MeshPlanError, match="is already the endpoint of host 'host1'"):
            build_mesh_plan(servers(1, 2, overrides={1: {"endpoint": first, "port": 51820},
                                                     2: {"endpoint": second, "port": 51820}}))
    plan = build_mesh_plan(servers(1, 2, overrides={1: {"endpoint": "Web1.example.com"}}))
    assert plan["servers"]["host2"]["interfaces"][1]["peers"][0]["endpoint"] == "Web1.example.com:51821"


def test_a_name_may_fill_a_dns_name_to_its_253_characters():
    domain = ".".join(["d" * 63] * 3) + "." + "d" * 57  # 249 characters
    plan = build_mesh_plan(servers(1, overrides={1: {"name": "abc"}}), domain=domain)["servers"]
    assert len(plan["host1"]["fqdn"]) == 253


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
    # Full-string matches: a trailing newline (a YAML | scalar) is refused everywhere.
    (servers(1, overrides={1: {"name": "srv\n"}}), {}, "host1", "name", "one DNS label"),
    (servers(1, overrides={1: {"endpoint": "web1.example.com\n"}}), {}, "host1", "endpoint", "control character"),
    (servers(1, overrides={1: {"endpoint": "203.0.113.1\n"}}), {}, "host1", "endpoint", "control character"),
    (servers(1), {"domain": "vpcdomain\n"}, None, "domain", "lowercase labels"),
    (servers(1), {"iface_prefix": "wgvpc\n"}, None, "iface_prefix", "start with a letter"),
    # Endpoints: IPv4 in dotted decimal only, never unspecified, loopback, multicast or broadcast.
    (servers(1, overrides={1: {"endpoint": "10.213.0.010"}}), {}, "host1", "endpoint", "no leading zero"),
    (servers(1, overrides={1: {"endpoint": "010.1.1.1"}}), {}, "host1", "endpoint", "no leading zero"),
    (servers(1, overrides={1: {"endpoint": "1.2.3"}}), {}, "host1", "endpoint", "neither an IPv4 address"),
    (servers(1, overrides={1: {"endpoint": "1.2.3.4.5"}}), {}, "host1", "endpoint", "neither an IPv4 address"),
    (servers(1, overrides={1: {"endpoint": "0x7f000001"}}), {}, "host1", "endpoint", "reads it as an address"),
    (servers(1, overrides={1: {"endpoint": "2130706433"}}), {}, "host1", "endpoint", "reads it as an address"),
    (servers(1, overrides={1: {"endpoint": "web.123"}}), {}, "host1", "endpoint", "last label is all digits"),
    (servers(1, overrides={1: {"endpoint": "0.0.0.0"}}), {}, "host1", "endpoint", "not an address a server can be dialled at"),
    (servers(1, overrides={1: {"endpoint": "0.1.2.3"}}), {}, "host1", "endpoint", "not an address a server can be dialled at"),
    (servers(1, overrides={1: {"endpoint": "::"}}), {}, "host1", "endpoint", "not an address a server can be dialled at"),
    (servers(1, overrides={1: {"endpoint": "255.255.255.255"}}), {}, "host1", "endpoint", "not an address"),
    (servers(1, overrides={1: {"endpoint": "::1"}}), {}, "host1", "endpoint", "loopback"),
    (servers(1, overrides={1: {"endpoint": "127.0.1.1"}}), {}, "host1", "endpoint", "loopback"),
    (servers(1, overrides={1: {"endpoint": "::ffff:127.0.0.1"}}), {}, "host1", "endpoint", "loopback"),
    (servers(1, overrides={1: {"endpoint": "224.0.0.1"}}), {}, "host1", "endpoint", "multicast"),
    (servers(1, overrides={1: {"endpoint": "ff02::1"}}), {}, "host1", "endpoint", "multicast"),
    (servers(1, overrides={1: {"endpoint": "fe80::1%eth0"}}), {}, "host1", "endpoint", "zone"),
    (servers(1, overrides={1: {"endpoint": "vpn.localhost"}}), {}, "host1", "endpoint", "localhost"),
    (servers(1, overrides={1: {"endpoint": "LOCALHOST"}}), {}, "host1", "endpoint", "localhost"),
    (servers(1, overrides={1: {"endpoint": "-bad.example"}}), {}, "host1", "endpoint", "DNS name"),
    (servers(1, overrides={1: {"endpoint": "a" * 64 + ".example"}}), {}, "host1", "endpoint", "DNS name"),
    (servers(1, overrides={1: {"endpoint": ".".join(["a" * 63] * 4)}}), {}, "host1", "endpoint", "DNS name"),
    (servers(1, overrides={1: {"endpoint": ""}}), {}, "host1", "endpoint", "got ''"),
    (servers(1, overrides={1: {"endpoint": 5}}), {}, "host1", "endpoint", "got 5"),
    # Names: never localhost, never all digits, and <name>.<domain> fits a DNS name.
    (servers(1, overrides={1: {"name": "localhost"}}), {}, "host1", "name", "localhost"),
    (servers(1, overrides={1: {"name": "localhost.example"}}), {}, "host1", "name", "one DNS label"),
    (servers(1, overrides={1: {"name": "123"}}), {}, "host1", "name", "all digits"),
    (servers(1, overrides={1: {"name": "a" * 63}}), {"domain": ".".join(["d" * 63] * 3) + ".d"}, "host1", "name",
     "past the 253 of a DNS name"),
    (servers(1), {"domain": ".".join(["d" * 63] * 4)}, None, "domain", "is 255 characters long"),
    (servers(1), {"domain": "vpc.123"}, None, "domain", "all-digit label"),
    (servers(1), {"domain": "localhost"}, None, "domain", "localhost"),
    (servers(1), {"domain": "vpc.localhost"}, None, "domain", "localhost"),
    (servers(1), {"domain": "vpc..example"}, None, "domain", "lowercase labels"),
    (servers(1), {"domain": "a" * 64}, None, "domain", "lowercase labels"),
    # Integers are ints, never bools, never strings (the filter reads ASCII digits into ints first).
    (servers(1, overrides={1: {"index": "\u00b2"}}), {}, "host1", "index", "got '\u00b2'"),
    (servers(1, overrides={1: {"index": "\u0663"}}), {}, "host1", "index", "got '\u0663'"),
    (servers(1, overrides={1: {"port": "\u00b2"}}), {}, "host1", "port", "got '\u00b2'"),
    (servers(1, overrides={1: {"port": True}}), {}, "host1", "port", "got True"),
    (servers(1), {"keepalive": "\u0663"}, None, "keepalive", "0 to 65535"),
    (servers(1), {"keepalive": 65536}, None, "keepalive", "0 to 65535"),
    (servers(1), {"iface_ip_offset": True}, None, "iface_ip_offset", "0 to 255"),
])
def test_validation_errors_name_host_and_field(given, kwargs, host, field, message):
    with pytest.raises(MeshPlanError) as caught:
        build_mesh_plan(given, **kwargs)
    assert (caught.value.host, caught.value.field) == (host, field)
    assert message in str(caught.value)


LAPTOP = {"name": "laptop", "index": 12, "endpoint": "laptop.example.org", "port": "51820", "aliases": ["me"]}
SETTINGS = {"iface_ip_offset": 1, "domain": "vpcdomain", "keepalive": 25, "iface_prefix": "wgvpc", "relay": "db-east",
            "external_peers": [LAPTOP]}
GOOD_OPTIONS = {"iface_ip_offset": 1, "domain": "vpcdomain", "keepalive": "25", "iface_prefix": "wgvpc", "mtu": 0,
                "state": "absent", "implementation": "userspace", "upgrade_reboot_timeout": 600, "key_dir": "inv/wg_keys",
                "config_dir": "/etc/wireguard", "hosts_file": "/etc/hosts", "cloud_init_templates_dir": "",
                "packages": ["wireguard-tools", "wireguard-go", "libc6:amd64", "g++"], "relay": "db-east",
                "external_peers": [LAPTOP], "external_peers_dir": "inv/wg_external_peers", "aliases": ["db", "db-1"],
                "dialable": "false"}


def test_every_option_field_has_a_good_value_above():
    assert sorted(GOOD_OPTIONS) == sorted(OPTION_FIELDS)


@pytest.mark.parametrize("mtu", [0, 1280, "1280", 1420, 9000, 65535])
def test_good_options_have_no_problem(mtu):
    assert host_option_problems(dict(GOOD_OPTIONS, mtu=mtu), SETTINGS) == []


def test_packages_may_be_a_comma_separated_string_as_for_the_argument_spec():
    assert host_option_problems({"packages": "wireguard-tools,wireguard-go"}) == []


@pytest.mark.parametrize("field, value, message", [
    ("mtu", 100, "0 (WireGuard's default, 1420) or an MTU from 1280 to 65535, got 100"),
    ("mtu", 1279, "got 1279"),
    ("mtu", 65536, "got 65536"),
    ("mtu", 70000, "got 70000"),
    ("mtu", -5, "got -5"),
    ("mtu", "abc", "got 'abc'"),
    ("mtu", "\u00b2", "got '\u00b2'"),
    ("mtu", "\u0663\u0663\u0663\u0663", "got '\u0663\u0663\u0663\u0663'"),
    ("mtu", " 1420", "got ' 1420'"),
    ("mtu", False, "got False"),
    ("keepalive", 65536, "0 to 65535"),
    ("keepalive", "\u0663", "0 to 65535"),
    ("iface_ip_offset", 256, "0 to 255"),
    ("domain", "vpcdomain\n", "lowercase labels"),
    ("domain", "Vpc", "lowercase labels"),
    ("iface_prefix", "wg vpc", "start with a letter"),
    ("iface_prefix", "wgvpc\n", "start with a letter"),
    ("state", "gone", "must be one of present, absent, got 'gone'"),
    ("state", "present\n", "got 'present\\n'"),
    ("implementation", "kernal", "must be one of auto, kernel, userspace, got 'kernal'"),
    ("upgrade_reboot_timeout", 0, "from 1 to 86400"),
    ("upgrade_reboot_timeout", "\u00b2", "from 1 to 86400"),
    ("key_dir", "", "must be a path"),
    ("key_dir", "/tmp/keys\n", "control character"),
    ("config_dir", "etc/wireguard", "absolute path"),
    ("config_dir", "/etc/wireguard\r", "control character"),
    ("hosts_file", None, "must be a path"),
    ("cloud_init_templates_dir", "cloud/templates", "absolute path"),
    ("packages", "wireguard-tools,-y", "list of package names"),
    ("packages", 5, "list of package names"),
    ("packages", ["-o Dpkg::Options=x"], "list of package names"),
    ("packages", ["wireguard-tools\n"], "list of package names"),
    ("packages", ["wireguard tools"], "list of package names"),
    ("aliases", "db", "must be a list of DNS labels"),
    ("aliases", ["db\n"], "one DNS label"),
    ("aliases", ["Db"], "one DNS label"),
    ("aliases", ["1234"], "all digits"),
    ("aliases", ["localhost"], "every server's name for itself"),
    ("aliases", ["a" * 64], "one DNS label"),
    ("aliases", [5], "one DNS label"),
    ("dialable", "maybe", "must be true or false, got 'maybe'"),
    ("dialable", 1, "must be true or false, got 1"),
    ("relay", "db-east\x1b[2J", "no control character"),
    ("relay", 5, "inventory hostname"),
    ("external_peers", {"name": "laptop"}, "must be a list"),
    ("external_peers", [dict(LAPTOP, name="laptop\n")], "name: must be one DNS label"),
    ("external_peers", [dict(LAPTOP, name="123")], "all digits"),
    ("external_peers", [dict(LAPTOP, name="localhost")], "every server's name for itself"),
    ("external_peers", [dict(LAPTOP, index="\u0663")], "index: must be an integer from 1 to 254"),
    ("external_peers", [dict(LAPTOP, port="\u00b2")], "port: must be a UDP port"),
    ("external_peers", [dict(LAPTOP, endpoint="10.213.0.010")], "endpoint: '10.213.0.010' is neither an IPv4 address"),
    ("external_peers", [dict(LAPTOP, endpoint="127.0.0.2")], "endpoint: 127.0.0.2 is a loopback address"),
    ("external_peers", [dict(LAPTOP, endpoint="laptop.example.org\n")], "control character"),
    ("external_peers", [dict(LAPTOP, endpoint="localhost")], "localhost"),
    ("external_peers", [dict(LAPTOP, aliases=["x y"])], "aliases"),
    ("external_peers_dir", "out\n", "control character"),
])
def test_bad_options_are_refused_naming_the_field(field, value, message):
    problems = host_option_problems(dict(GOOD_OPTIONS, **{field: value}), SETTINGS)
    assert [found for found, dummy in problems] == [field]
    assert message in problems[0][1]


@pytest.mark.parametrize("field, value", [
    ("iface_ip_offset", 2), ("iface_ip_offset", "2"), ("domain", "other"), ("keepalive", 0), ("iface_prefix", "wg"),
    ("relay", ""), ("relay", "web01"), ("external_peers", []), ("external_peers", [dict(LAPTOP, index=13)]),
])
def test_a_mesh_wide_setting_must_be_the_plans(field, value):
    problems = host_option_problems({field: value}, SETTINGS)
    assert problems == [(field, "%r differs from the %r the mesh plan was computed with: set it once for the whole group"
                         % (value, SETTINGS[field]))]
    assert host_option_problems({field: value}) == []
