# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""VPCs spanning servers: placement, the prefixes each pair's tunnel carries, the host plans they give (routes,
isolation rules, names), the fleet's matrix and every fleet-wide validation error."""

from __future__ import annotations

import copy

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.netns_vpc_fleet import FilterModule, netns_vpc_fleet
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_plan import wg_mesh_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import MeshPlanError, build_mesh_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_fleet import build_fleet_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_plan import VpcPlanError, build_vpc_plan

from support.vpcs import dev_vpc, prod_vpc

HOSTS = ["s1", "s2", "s3"]
INDICES = {"s1": 1, "s2": 2, "s3": 3}
# The fleet: prod's public web on s1, app on s2, private db on s3 (port 7000 from app only); dev on s1 and s3.
PROD = prod_vpc("s1", "s2", "s3")
DEV = dev_vpc("s1", "s3")


def fleet_of(vpcs, declarations=None, **kwargs):
    kwargs.setdefault("indices", INDICES)
    declarations = declarations or dict((host, copy.deepcopy(vpcs)) for host in HOSTS)
    return build_fleet_plan(declarations, HOSTS, kwargs.pop("members", HOSTS), **kwargs)


def peered(vpc, *peers):
    vpc = copy.deepcopy(vpc)
    vpc["peerings"] = list(peers)
    return vpc


def host_plans(vpcs, undialable=()):
    """The fleet, the mesh that carries it and each server's host plan, as site.yml computes them."""
    fleet = fleet_of(vpcs)
    mesh = build_mesh_plan([{"host": host, "index": INDICES[host], "endpoint": "10.0.0.%d" % INDICES[host],
                             "dialable": host not in undialable} for host in HOSTS], carried_prefixes=fleet["carried"])
    return fleet, mesh, dict((host, build_vpc_plan(None, fleet=fleet["hosts"][host], mesh=mesh["servers"][host],
                                                   uplink="eth0")) for host in HOSTS)


def forward_rules(plan):
    return next(chain["rules"] for chain in plan["host_chains"] if chain["chain"] == "NVPC-FORWARD")


def test_each_subnet_lives_on_its_server_and_each_host_builds_only_its_own():
    fleet = fleet_of([PROD, DEV])
    assert fleet["placement"] == {"dev/a": "s1", "dev/b": "s3", "prod/app": "s2", "prod/db": "s3", "prod/web": "s1"}
    s3 = dict((vpc["name"], vpc) for vpc in fleet["hosts"]["s3"]["vpcs"])
    assert [s["name"] for s in s3["prod"]["subnets"]] == ["db"] and "server" not in s3["prod"]["subnets"][0]
    assert [a["name"] for a in s3["prod"]["apps"]] == ["echo"] and [p["subnet"] for p in s3["prod"]["policies"]] == ["db"]
    assert [vpc["name"] for vpc in fleet["hosts"]["s2"]["vpcs"]] == ["prod"]  # no dev subnet on s2
    _fleet, _mesh, plans = host_plans([PROD, DEV])
    assert plans["s2"]["namespaces"] == ["ns-prod-app"] and plans["s1"]["namespaces"] == ["ns-dev-a", "ns-prod-web"]


def test_each_pair_carries_exactly_the_subnets_behind_the_other_side():
    carried = dict(((c["host"], c["peer"]), c["prefixes"]) for c in fleet_of([PROD, DEV])["carried"])
    assert carried == {("s1", "s2"): ["10.30.2.0/24"], ("s1", "s3"): ["10.30.3.0/24", "10.40.3.0/24"],
                       ("s2", "s1"): ["10.30.1.0/24"], ("s2", "s3"): ["10.30.3.0/24"],
                       ("s3", "s1"): ["10.30.1.0/24", "10.40.1.0/24"], ("s3", "s2"): ["10.30.2.0/24"]}
    # peering dev with prod: s2 (prod only) now carries dev's subnets too, and s1 and s3 carry each other's
    carried = dict(((c["host"], c["peer"]), c["prefixes"]) for c in fleet_of([PROD, peered(DEV, "prod")])["carried"])
    assert carried[("s2", "s1")] == ["10.30.1.0/24", "10.40.1.0/24"]
    assert carried[("s2", "s3")] == ["10.30.3.0/24", "10.40.3.0/24"]


def test_the_mesh_carries_them_by_the_mechanism_relays_use():
    _fleet, mesh, _plans = host_plans([PROD, DEV])
    wgvpc1 = next(i for i in mesh["servers"]["s3"]["interfaces"] if i["name"] == "wgvpc1")  # s3's tunnel to s1
    assert wgvpc1["peers"][0]["allowed_ips"] == ["192.168.1.1/32", "10.30.1.0/24", "10.40.1.0/24"]
    assert wgvpc1["routes"] == [{"to": "10.30.1.0/24"}, {"to": "10.40.1.0/24"}] and wgvpc1["forwarding"] is True
    wgvpc0 = mesh["servers"]["s1"]["interfaces"][0]  # s1 listens for s2 and s3 on one interface
    assert [p["allowed_ips"] for p in wgvpc0["peers"]] == [["192.168.1.2/32", "10.30.2.0/24"],
                                                           ["192.168.1.3/32", "10.30.3.0/24", "10.40.3.0/24"]]
    assert wgvpc0["routes"] == [{"to": "10.30.2.0/24"}, {"to": "10.30.3.0/24"}, {"to": "10.40.3.0/24"}]


def test_a_pair_that_a_relay_carries_carries_its_subnets_through_the_relay():
    _fleet, mesh, plans = host_plans([PROD, DEV], undialable=("s1", "s3"))  # s2 relays s1 <-> s3
    s1, s3 = mesh["servers"]["s1"]["interfaces"], mesh["servers"]["s3"]["interfaces"]
    assert [i["name"] for i in s3] == ["wgvpc0", "wgvpc2"]  # no tunnel of its own with s1
    assert s1[0]["peers"][0]["host"] == "s2" and "10.40.3.0/24" in s1[0]["peers"][0]["allowed_ips"]
    assert {"to": "10.40.3.0/24"} in s1[0]["routes"] and {"to": "10.40.1.0/24"} in s3[1]["routes"]
    relay = mesh["servers"]["s2"]["interfaces"][0]
    assert [p["allowed_ips"][-2:] for p in relay["peers"]] == [
        ["10.30.1.0/24", "10.40.1.0/24"], ["10.30.3.0/24", "10.40.3.0/24"]]
    assert relay["forwarding"] and [t["prefix"] for t in mesh["servers"]["s2"]["transit"]] == [
        "10.30.3.0/24", "10.40.3.0/24", "10.30.1.0/24", "10.40.1.0/24"]
    # s2 builds prod's app subnet: its chain lets the relayed prefixes through before it refuses anything
    assert forward_rules(plans["s2"])[:4] == ["-d %s -i wgvpc0 -o wgvpc0 -j ACCEPT" % prefix for prefix in (
        "10.30.3.0/24", "10.40.3.0/24", "10.30.1.0/24", "10.40.1.0/24")]
    # the ends police what comes through the relay as they police any remote subnet
    assert "-s 10.40.3.0/24 -d 10.40.0.0/16 -i wgvpc0 -o br-dev -j ACCEPT" in forward_rules(plans["s1"])
    assert forward_rules(plans["s1"])[-3] == "-s 10.40.3.0/24 -i wgvpc0 -j REJECT --reject-with icmp-admin-prohibited"
    # a relay that builds no VPC has no chain at all: nothing there refuses them
    _fleet, mesh, plans = host_plans([DEV], undialable=("s1", "s3"))
    assert mesh["servers"]["s2"]["transit"] and not [c for c in plans["s2"]["host_chains"] if c["state"] == "present"]


def test_isolation_opens_exactly_the_prefixes_on_the_carrying_tunnel_and_rejects_the_rest():
    _fleet, _mesh, plans = host_plans([PROD, DEV])
    rules = forward_rules(plans["s3"])
    assert "-s 10.30.0.0/16 -d 10.30.1.0/24 -i br-prod -o wgvpc1 -j ACCEPT" in rules
    assert "-s 10.30.1.0/24 -d 10.30.0.0/16 -i wgvpc1 -o br-prod -j ACCEPT" in rules
    assert "-s 10.30.2.0/24 -d 10.30.0.0/16 -i wgvpc2 -o br-prod -j ACCEPT" in rules
    assert "-s 10.40.1.0/24 -d 10.40.0.0/16 -i wgvpc1 -o br-dev -j ACCEPT" in rules
    assert not [rule for rule in rules if "10.40." in rule and "br-prod" in rule]  # dev never reaches prod
    assert rules[-3:] == ["-s 10.40.1.0/24 -i wgvpc1 -j REJECT --reject-with icmp-admin-prohibited",
                          "-s 10.30.1.0/24 -i wgvpc1 -j REJECT --reject-with icmp-admin-prohibited",
                          "-s 10.30.2.0/24 -i wgvpc2 -j REJECT --reject-with icmp-admin-prohibited"]
    # no NAT inside the VPC: only the public subnet, out of its own server's uplink
    nat = [c["rules"] for p in plans.values() for c in p["host_chains"] if c["chain"] == "NVPC-POSTROUTING"]
    assert nat == [["-s 10.30.1.0/24 -o eth0 -j MASQUERADE"], [], []]
    # the policy of db holds whatever server the traffic comes from: it is by source, inside db's namespace
    db_input = next(c for c in plans["s3"]["namespace_chains"] if c["namespace"] == "ns-prod-db" and c["chain"] == "NVPC-INPUT")
    assert db_input["rules"][2:] == ["-s 10.30.2.0/24 -p tcp -m tcp --dport 7000 -j ACCEPT",
                                     "-p tcp -m tcp --dport 7000 -j REJECT --reject-with tcp-reset"]


def test_peering_across_servers_opens_exactly_the_two_vpcs_and_routes_the_private_subnets():
    _fleet, _mesh, plans = host_plans([PROD, peered(DEV, "prod")])
    rules = forward_rules(plans["s2"])  # s2 has no dev subnet: only prod's accepts, to dev's remote subnets
    assert "-s 10.30.0.0/16 -d 10.40.1.0/24 -i br-prod -o wgvpc1 -j ACCEPT" in rules
    assert "-s 10.40.3.0/24 -d 10.30.0.0/16 -i wgvpc0 -o br-prod -j ACCEPT" in rules
    app = next(link for link in plans["s2"]["subnet_links"] if link["subnet"] == "app")
    assert app["routes"] == [{"dst": "10.30.0.0/16", "via": "10.30.2.1"}, {"dst": "10.40.0.0/16", "via": "10.30.2.1"}]
    s1 = forward_rules(plans["s1"])  # both local on s1: the bridge-to-bridge peering rules, as on one host
    assert "-s 10.40.0.0/16 -d 10.30.0.0/16 -i br-dev -o br-prod -j ACCEPT" in s1


def test_names_of_every_app_of_the_vpc_and_its_peers_in_each_namespace():
    _fleet, _mesh, plans = host_plans([PROD, peered(DEV, "prod")])
    files = dict((item["namespace"], item["content"].splitlines()) for item in plans["s2"]["hosts_files"])
    assert files["ns-prod-app"][1:] == ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback",
                                        "10.30.3.2 echo.prod.vpcdomain", "10.30.1.2 www.prod.vpcdomain"]
    assert plans["s2"]["module_items"]["hosts_files"] == dict(
        (item["namespace"], item["content"]) for item in plans["s2"]["hosts_files"])
    assert set(plans["s2"]["module_items"]["hosts_files"]) <= set(plans["s2"]["namespaces"])
    _fleet, _mesh, plans = host_plans([PROD, DEV])
    dev_a = dict((item["namespace"], item["content"]) for item in plans["s1"]["hosts_files"])["ns-dev-a"]
    assert "prod" not in dev_a


def test_the_matrix_is_expected_from_the_plan_on_the_server_of_each_source():
    fleet = fleet_of([PROD, DEV])
    rows = dict(((c["from"], c["kind"], c["to"]), c["expect"]) for host in HOSTS for c in fleet["hosts"][host]["checks"])
    assert all(c["server"] == host for host in HOSTS for c in fleet["hosts"][host]["checks"])
    assert rows[("prod/web", "ping", "prod/db on s3")] and rows[("prod/db", "ping", "prod/app on s2")]
    assert not rows[("dev/a", "ping", "prod/web on s1")] and not rows[("prod/db", "ping", "dev/b on s3")]
    assert rows[("dev/a", "ping", "dev/b on s3")]
    # db's port only from app; the web app from anywhere in prod; dev sees no app of prod
    assert not rows[("prod/web", "tcp", "app echo.prod.vpcdomain on prod/db on s3")]
    assert rows[("prod/app", "tcp", "app echo.prod.vpcdomain on prod/db on s3")]
    assert rows[("prod/db", "tcp", "app www.prod.vpcdomain on prod/web on s1")]
    assert not rows[("dev/b", "tcp", "app www.prod.vpcdomain on prod/web on s1")]
    assert [key[0] for key, expect in rows.items() if key[1] == "internet" and expect] == ["prod/web"]
    assert len(rows) == 5 * 4 + 5 + 4 + 4  # pings, internet, and each app from the 4 other subnets
    peered_rows = fleet_of([PROD, peered(DEV, "prod")])["hosts"]["s1"]["checks"]
    assert next(c for c in peered_rows if c["from"] == "dev/a" and c["to"] == "prod/db on s3")["expect"]
    _fleet, _mesh, plans = host_plans([PROD, DEV])
    probes = plans["s3"]["checks"]
    assert probes[0]["id"] == "fping0" and probes[0]["namespace"] == "ns-dev-b" and probes[0]["line"] == "fping0 ok"
    assert any(p["address"] == "www.prod.vpcdomain" and p["port"] == 8080 for p in probes)


def test_the_single_host_form_is_untouched():
    own = {"name": "mine", "cidr": "10.50.0.0/16", "subnets": [{"name": "s", "cidr": "10.50.1.0/24"}]}
    fleet = fleet_of([], declarations={"s1": [own], "s2": [copy.deepcopy(own)], "s3": []})
    assert fleet["carried"] == [] and fleet["hosts"]["s1"]["vpcs"] == [own] and fleet["hosts"]["s2"]["vpcs"] == [own]
    assert build_vpc_plan(None, fleet=fleet["hosts"]["s1"], uplink="eth0")["checks"] == \
        build_vpc_plan([own], uplink="eth0")["checks"]
    # a subnet with no server in a VPC declared by one host lives there
    spread = {"name": "spread", "cidr": "10.60.0.0/16",
              "subnets": [{"name": "x", "cidr": "10.60.1.0/24", "server": "s2"}, {"name": "y", "cidr": "10.60.2.0/24"}]}
    fleet = fleet_of([], declarations={"s1": [spread], "s2": [], "s3": []})
    assert fleet["placement"] == {"spread/x": "s2", "spread/y": "s1"}


def test_a_vpc_spanning_servers_is_refused_by_a_play_of_the_role_alone():
    with pytest.raises(VpcPlanError, match="VPC 'prod': its subnets name servers"):
        build_vpc_plan([PROD], uplink="eth0")


def test_removing_a_vpc_everywhere_leaves_the_others_carried_as_before():
    without_dev = [dict(c, prefixes=[p for p in c["prefixes"] if not p.startswith("10.40.")])
                   for c in fleet_of([PROD, DEV])["carried"]]
    assert fleet_of([PROD])["carried"] == without_dev
    absent = {"name": "dev", "state": "absent", "subnets": [{"name": "a", "server": "s1"}, {"name": "b", "server": "s3"}]}
    fleet = fleet_of([PROD, absent])
    assert fleet["carried"] == fleet_of([PROD])["carried"]
    assert {"name": "dev", "state": "absent", "subnets": [{"name": "a"}], "apps": []} in fleet["hosts"]["s1"]["vpcs"]
    _fleet, _mesh, plans = host_plans([PROD])
    _fleet, _mesh, with_dev = host_plans([PROD, DEV])
    assert forward_rules(plans["s2"]) == forward_rules(with_dev["s2"])  # s2 carries no dev subnet


BAD = [
    ("a subnet on a server that is not in the mesh",
     [dict(PROD, subnets=PROD["subnets"][:2] + [dict(PROD["subnets"][2], server="s9")])], {},
     "VPC 'prod' subnet 'db': server 's9' is not a server of the mesh"),
    ("a peering with an unknown VPC", [peered(DEV, "ghost")], {},
     "VPC 'dev': peering with 'ghost', which is not a VPC in the list (variable netns_vpc_vpcs)"),
    ("two VPCs overlapping on different servers",
     [PROD, dict(DEV, cidr="10.30.128.0/17", subnets=[dict(DEV["subnets"][0], cidr="10.30.129.0/24"),
                                                      dict(DEV["subnets"][1], cidr="10.30.130.0/24")])], {},
     "VPC 'prod': cidr 10.30.0.0/16 overlaps VPC 'dev' (10.30.128.0/17) (variable netns_vpc_vpcs)"),
    ("a VPC over the mesh's own ranges",
     [{"name": "m", "cidr": "192.168.0.0/22", "subnets": [{"name": "x", "cidr": "192.168.3.0/24", "server": "s1"}]}], {},
     "VPC 'm': cidr 192.168.0.0/22 overlaps the mesh's own range 192.168.1.0/24 (server index 1"),
    ("a subnet with no server in a VPC declared by several hosts",
     [dict(DEV, subnets=[DEV["subnets"][0], {"name": "c", "cidr": "10.40.9.0/24"}])], {},
     "VPC 'dev' subnet 'c': no server, and the VPC is declared by several hosts (s1, s2, s3)"),
    ("a bad domain", [DEV], {"domain": "Bad_Domain"}, "variable netns_vpc_domain: must be a DNS domain"),
]


@pytest.mark.parametrize("vpcs,kwargs,message", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_fleet_wide_errors_name_the_vpc_subnet_host_and_variable(vpcs, kwargs, message):
    with pytest.raises(VpcPlanError) as error:
        fleet_of(vpcs, **kwargs)
    assert message in str(error.value)


def test_indices_the_mesh_plan_refuses_are_left_to_it():
    assert fleet_of([DEV], indices={"s1": None, "s2": "\u0663", "s3": True})["placement"]["dev/b"] == "s3"
    assert fleet_of([DEV], iface_ip_offset="x")["carried"] == fleet_of([DEV])["carried"]


def test_declarations_that_differ_and_clashes_with_a_hosts_own_vpcs_are_refused():
    other = copy.deepcopy(DEV)
    other["subnets"][0]["cidr"] = "10.40.2.0/24"
    with pytest.raises(VpcPlanError, match="VPC 'dev': declared differently by hosts 's1' and 's3'"):
        fleet_of([], declarations={"s1": [DEV], "s2": [DEV], "s3": [other]})
    own = {"name": "mine", "cidr": "10.40.0.0/24", "peerings": ["dev"]}
    with pytest.raises(VpcPlanError) as error:
        fleet_of([], declarations={"s1": [DEV], "s2": [DEV, own], "s3": [DEV]})
    assert "VPC 'dev': cidr 10.40.0.0/16 overlaps VPC 'mine' (10.40.0.0/24) of host 's2'" in str(error.value)
    assert "VPC 'mine' of host 's2': peering with 'dev', which spans servers" in str(error.value)
    with pytest.raises(VpcPlanError, match="host 's2': variable netns_vpc_vpcs: must be a list"):
        fleet_of([], declarations={"s1": [DEV], "s2": "dev", "s3": [DEV]})


def test_a_remote_subnet_over_a_servers_own_network_is_refused_naming_the_host():
    fleet = fleet_of([PROD])
    mesh = build_mesh_plan([{"host": h, "index": INDICES[h], "endpoint": "10.0.0.%d" % INDICES[h]} for h in HOSTS],
                           carried_prefixes=fleet["carried"])
    networks = {"addresses": [{"interface": "eth1", "address": "10.30.3.9/24", "network": "10.30.3.0/24"}], "routes": []}
    with pytest.raises(VpcPlanError, match="VPC 'prod' subnet 'db' \\(on server 's3', routed here\\): cidr 10.30.3.0/24"
                       " overlaps host s1's address 10.30.3.9/24 on interface eth1"):
        build_vpc_plan(None, fleet=fleet["hosts"]["s1"], mesh=mesh["servers"]["s1"], uplink="eth0",
                       host_networks=networks, host="s1")
    with pytest.raises(VpcPlanError, match="no mesh interface of this host carries it"):
        build_vpc_plan(None, fleet=fleet["hosts"]["s1"], mesh=None, uplink="eth0")


def test_the_mesh_refuses_carried_prefixes_it_cannot_carry():
    servers = [{"host": h, "index": INDICES[h], "endpoint": "10.0.0.%d" % INDICES[h]} for h in HOSTS]
    for carried, message in (([{"host": "s1", "peer": "s9", "prefixes": ["10.1.0.0/24"]}], "'s9' is not a server"),
                             ([{"host": "s1", "peer": "s2", "prefixes": ["10.1.0.0"]}], "is not an IPv4 network"),
                             ([{"host": "s1", "peer": "s1", "prefixes": []}], "no tunnel of its own"),
                             (["s1"], "must be a dict with host, peer and prefixes")):
        with pytest.raises(MeshPlanError, match=message):
            build_mesh_plan(servers, carried_prefixes=carried)


def test_the_filters_read_hostvars_and_name_the_variable():
    hostvars = dict((host, {"wg_mesh_index": INDICES[host], "ansible_host": "10.0.0.%d" % INDICES[host],
                            "netns_vpc_vpcs": [PROD]}) for host in HOSTS)
    fleet = FilterModule().filters()["netns_vpc_fleet"](hostvars, HOSTS)
    assert fleet["placement"]["prod/db"] == "s3"
    plan = wg_mesh_plan(hostvars, HOSTS, carried_prefixes=fleet["carried"])
    assert {"to": "10.30.3.0/24"} in plan["servers"]["s2"]["interfaces"][0]["routes"]
    with pytest.raises(AnsibleFilterError, match="host 's1': variable wg_mesh_carried_prefixes: 's1' has no tunnel"):
        wg_mesh_plan(hostvars, HOSTS, carried_prefixes=[{"host": "s1", "peer": "s1", "prefixes": []}])
    hostvars["s3"]["wg_mesh_state"] = "absent"
    with pytest.raises(AnsibleFilterError, match="netns_vpc_fleet: invalid VPCs, nothing was changed:\n.*server 's3' is not"):
        netns_vpc_fleet(hostvars, HOSTS)
