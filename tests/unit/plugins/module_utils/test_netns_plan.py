# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VPC plan: the seeds' scenarios written out, isolation and peering rules, removal, every bad input."""

from __future__ import annotations

import copy

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.netns_vpc_plan import FilterModule, netns_vpc_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_boot import render_boot_script
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_firewall import policy_allows
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_plan import VpcPlanError, build_vpc_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_rules import rule_tag, split_rule

# Seed 000: my-vpc with a public and a private subnet, dev-vpc, a JSON policy on the public subnet by CIDR.
SEED_000 = [
    {"name": "my-vpc", "cidr": "10.0.0.0/16",
     "subnets": [{"name": "public", "cidr": "10.0.1.0/24", "type": "public"},
                 {"name": "private", "cidr": "10.0.2.0/24", "type": "private"}],
     "policies": [{"subnet": "10.0.1.0/24", "ingress": [{"port": 80, "protocol": "tcp", "action": "allow"},
                                                        {"port": 22, "protocol": "tcp", "action": "deny"}]}],
     "apps": [{"name": "web", "subnet": "public", "command": "/usr/bin/python3 -m http.server 8080", "port": 8080}]},
    {"name": "dev-vpc", "cidr": "10.1.0.0/16", "subnets": [{"name": "public", "cidr": "10.1.1.0/24", "type": "public"}]},
]


def plan_of(vpcs, **kwargs):
    kwargs.setdefault("uplink", "eth0")
    return build_vpc_plan(copy.deepcopy(vpcs), **kwargs)


def chain(plan, name, namespace=None):
    for item in plan["host_chains"] + plan["namespace_chains"]:
        if item["chain"] == name and item.get("namespace") == namespace:
            return item
    raise KeyError(name)


def test_seed_000_names_addresses_and_routes():
    plan = plan_of(SEED_000)
    assert plan["namespaces"] == ["ns-my-vpc-public", "ns-my-vpc-private", "ns-dev-vpc-public"]
    assert [(b["name"], b["addresses"]) for b in plan["bridges"]] == [
        ("br-my-vpc", ["10.0.1.1/24", "10.0.2.1/24"]), ("br-dev-vpc", ["10.1.1.1/24"])]
    assert [(v["name"], v["master"], v["peer"]) for v in plan["veths"]] == [
        ("v-my-vpc-public", "br-my-vpc", {"name": "eth0", "namespace": "ns-my-vpc-public"}),
        ("v-my-vpc-85c56", "br-my-vpc", {"name": "eth0", "namespace": "ns-my-vpc-private"}),
        ("v-dev-vpc-afbfd", "br-dev-vpc", {"name": "eth0", "namespace": "ns-dev-vpc-public"})]
    assert [(link["namespace"], link["addresses"], link["routes"]) for link in plan["subnet_links"]] == [
        ("ns-my-vpc-public", ["10.0.1.2/24"], [{"dst": "default", "via": "10.0.1.1"}]),
        # a private subnet has no default route: only its VPC (and peers) are reachable
        ("ns-my-vpc-private", ["10.0.2.2/24"], [{"dst": "10.0.0.0/16", "via": "10.0.2.1"}]),
        ("ns-dev-vpc-public", ["10.1.1.2/24"], [{"dst": "default", "via": "10.1.1.1"}])]
    assert all(len(name) <= 15 for name in plan["resources"]["links"])
    assert plan["apps"] == [{"name": "web", "subnet": "public", "command": "/usr/bin/python3 -m http.server 8080",
                             "port": 8080, "user": None, "vpc": "my-vpc", "unit": "netns-vpc-app-my-vpc-web.service",
                             "namespace": "ns-my-vpc-public", "address": "10.0.1.2"}]


def test_host_firewall_isolates_vpcs_and_nats_only_public_subnets():
    forward = chain(plan_of(SEED_000), "NVPC-FORWARD")
    assert forward["jump_from"] == ["FORWARD"] and forward["state"] == "present"
    assert forward["rules"] == [
        "-i br-my-vpc ! -s 10.0.0.0/16 -j DROP",
        "-i br-dev-vpc ! -s 10.1.0.0/16 -j DROP",
        "-i br-my-vpc -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-o br-my-vpc -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-i br-my-vpc -o br-my-vpc -j ACCEPT",
        "-s 10.0.1.0/24 -i br-my-vpc -o eth0 -j ACCEPT",
        "-i br-dev-vpc -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-o br-dev-vpc -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-i br-dev-vpc -o br-dev-vpc -j ACCEPT",
        "-s 10.1.1.0/24 -i br-dev-vpc -o eth0 -j ACCEPT",
        # the rejections come after every VPC's accepts, or a peer's accept into a VPC would come too late
        "-i br-my-vpc -j REJECT --reject-with icmp-admin-prohibited",
        "-o br-my-vpc -j REJECT --reject-with icmp-admin-prohibited",
        "-i br-dev-vpc -j REJECT --reject-with icmp-admin-prohibited",
        "-o br-dev-vpc -j REJECT --reject-with icmp-admin-prohibited",
    ]
    assert chain(plan_of(SEED_000), "NVPC-POSTROUTING")["rules"] == [
        "-s 10.0.1.0/24 -o eth0 -j MASQUERADE", "-s 10.1.1.0/24 -o eth0 -j MASQUERADE"]
    # no port forward: no DNAT chains (and no nat rules that are not needed)
    assert chain(plan_of(SEED_000), "NVPC-PREROUTING")["state"] == "absent"


def test_a_peering_written_on_one_side_opens_exactly_the_two_cidrs_both_ways_and_adds_routes():
    vpcs = copy.deepcopy(SEED_000)
    vpcs[1]["peerings"] = ["my-vpc"]
    plan = plan_of(vpcs)
    rules = chain(plan, "NVPC-FORWARD")["rules"]
    assert "-s 10.0.0.0/16 -d 10.1.0.0/16 -i br-my-vpc -o br-dev-vpc -j ACCEPT" in rules
    assert "-s 10.1.0.0/16 -d 10.0.0.0/16 -i br-dev-vpc -o br-my-vpc -j ACCEPT" in rules
    first_reject = min(i for i, rule in enumerate(rules) if "REJECT" in rule)
    assert all("REJECT" in rule for rule in rules[first_reject:])
    private = next(link for link in plan["subnet_links"] if link["namespace"] == "ns-my-vpc-private")
    assert private["routes"] == [{"dst": "10.0.0.0/16", "via": "10.0.2.1"}, {"dst": "10.1.0.0/16", "via": "10.0.2.1"}]


def test_seed_json_policy_becomes_a_first_match_chain_in_the_namespace():
    plan = plan_of(SEED_000)
    ingress = chain(plan, "NVPC-INPUT", "ns-my-vpc-public")
    assert ingress["jump_from"] == ["INPUT"] and ingress["state"] == "present"
    assert ingress["rules"] == ["-i lo -j ACCEPT", "-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                                "-p tcp -m tcp --dport 80 -j ACCEPT",
                                "-p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset"]
    # a subnet without a policy has no chain, and nothing to remove unless the registry knows of one
    with pytest.raises(KeyError):
        chain(plan, "NVPC-INPUT", "ns-my-vpc-private")
    assert plan["resources"]["chains"] == ["ns-my-vpc-public:filter:NVPC-INPUT", "ns-my-vpc-public:filter:NVPC-OUTPUT"]


def test_a_policy_taken_away_is_removed_from_its_namespace():
    previous = {"resources": plan_of(SEED_000)["resources"]}
    without = copy.deepcopy(SEED_000)
    without[0]["policies"] = []
    plan = plan_of(without, previous=previous)
    assert [(c["namespace"], c["chain"], c["state"]) for c in plan["namespace_chains"]] == [
        ("ns-my-vpc-public", "NVPC-INPUT", "absent"), ("ns-my-vpc-public", "NVPC-OUTPUT", "absent")]
    assert plan["resources"]["chains"] == []


def test_policy_rules_with_sources_ranges_udp_drop_and_default_deny():
    vpcs = copy.deepcopy(SEED_000)
    vpcs[0]["policies"] = [{"subnet": "private", "ingress_default": "deny", "egress_default": "deny", "ingress": [
        {"port": 5432, "source": "10.0.1.0/24", "action": "allow"},
        {"port": "6000-6010", "protocol": "udp", "action": "deny"},
        {"protocol": "icmp", "action": "drop"}], "egress": [{"destination": "10.0.0.0/16", "action": "allow"}]}]
    plan = plan_of(vpcs)
    assert chain(plan, "NVPC-INPUT", "ns-my-vpc-private")["rules"][2:] == [
        "-s 10.0.1.0/24 -p tcp -m tcp --dport 5432 -j ACCEPT",
        "-p udp -m udp --dport 6000:6010 -j REJECT",
        "-p icmp -j DROP",
        "-j REJECT"]
    assert chain(plan, "NVPC-OUTPUT", "ns-my-vpc-private")["rules"] == [
        "-o lo -j ACCEPT", "-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT", "-d 10.0.0.0/16 -j ACCEPT", "-j REJECT"]
    for rule in chain(plan, "NVPC-INPUT", "ns-my-vpc-private")["rules"]:
        split_rule(rule)


def test_port_forward_dnat_to_public_keeps_the_client_and_to_private_masquerades():
    vpcs = copy.deepcopy(SEED_000)
    vpcs[0]["port_forwards"] = [{"host_port": 8080, "subnet": "public", "port": 80},
                                {"host_port": 5433, "subnet": "private", "port": 5432, "host_ip": "203.0.113.1"}]
    plan = plan_of(vpcs)
    assert chain(plan, "NVPC-PREROUTING")["rules"] == [
        "-m addrtype --dst-type LOCAL -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.1.2:80",
        "-d 203.0.113.1/32 -p tcp -m tcp --dport 5433 -j DNAT --to-destination 10.0.2.2:5432"]
    assert chain(plan, "NVPC-OUTPUT")["rules"] == [
        "! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.1.2:80",
        "-d 203.0.113.1/32 -p tcp -m tcp --dport 5433 -j DNAT --to-destination 10.0.2.2:5432"]
    assert chain(plan, "NVPC-POSTROUTING")["rules"][0] == \
        "-d 10.0.2.2/32 -o br-my-vpc -p tcp -m tcp --dport 5432 -m conntrack --ctstate DNAT -j MASQUERADE"
    forward = chain(plan, "NVPC-FORWARD")["rules"]
    assert forward.index("-d 10.0.1.2/32 -o br-my-vpc -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -j ACCEPT") < \
        forward.index("-o br-my-vpc -j REJECT --reject-with icmp-admin-prohibited")


def test_long_names_are_hashed_and_colliding_names_are_an_error():
    plan = plan_of([{"name": "production-east", "cidr": "10.0.0.0/16",
                     "subnets": [{"name": "frontend-web", "cidr": "10.0.1.0/24"}]}])
    assert [len(name) for name in plan["resources"]["links"]] == [15, 15]
    with pytest.raises(VpcPlanError, match="namespace name ns-a-b-c is also VPC 'a-b'"):
        plan_of([{"name": "a-b", "cidr": "10.0.0.0/16", "subnets": [{"name": "c", "cidr": "10.0.1.0/24"}]},
                 {"name": "a", "cidr": "10.1.0.0/16", "subnets": [{"name": "b-c", "cidr": "10.1.1.0/24"}]}])


def test_custom_gateway_and_address():
    plan = plan_of([{"name": "app", "cidr": "10.0.0.0/16",
                     "subnets": [{"name": "svc", "cidr": "10.0.0.0/16", "gateway": "10.0.0.1", "address": "10.0.0.10"}]}])
    assert plan["bridges"][0]["addresses"] == ["10.0.0.1/16"]
    # the subnet is the whole VPC: no route to the VPC besides the connected one
    assert plan["subnet_links"][0]["addresses"] == ["10.0.0.10/16"] and plan["subnet_links"][0]["routes"] == []


WITH_SUBNET = {"name": "a", "cidr": "10.0.0.0/16", "subnets": [{"name": "s", "cidr": "10.0.1.0/24"}]}


def with_rule(direction, rule):
    """VPC a with subnet s (WITH_SUBNET) and a policy for s of one rule in direction (ingress or egress)."""
    return [dict(WITH_SUBNET, policies=[{"subnet": "s", direction: [rule]}])]


def with_app(**fields):
    """VPC a with subnet s (WITH_SUBNET) and one app: x in s running /bin/true, but for fields."""
    return [dict(WITH_SUBNET, apps=[dict({"name": "x", "subnet": "s", "command": "/bin/true"}, **fields)])]


BAD = [
    ("overlapping VPC CIDRs",
     [{"name": "a", "cidr": "10.0.0.0/16"}, {"name": "b", "cidr": "10.0.128.0/17"}],
     "VPC 'b': cidr 10.0.128.0/17 overlaps VPC 'a' (10.0.0.0/16)"),
    ("subnet outside its VPC",
     [{"name": "a", "cidr": "10.0.0.0/16", "subnets": [{"name": "s", "cidr": "10.1.1.0/24"}]}],
     "VPC 'a' subnet 's': cidr 10.1.1.0/24 is outside the VPC's 10.0.0.0/16"),
    ("overlapping subnets",
     [{"name": "a", "cidr": "10.0.0.0/16",
       "subnets": [{"name": "s", "cidr": "10.0.1.0/24"}, {"name": "t", "cidr": "10.0.1.128/25"}]}],
     "VPC 'a': subnets 's' (10.0.1.0/24) and 't' (10.0.1.128/25) overlap"),
    ("unknown peering target",
     [{"name": "a", "cidr": "10.0.0.0/16", "peerings": ["nope"]}],
     "VPC 'a': peering with 'nope', which is not a VPC in the list"),
    ("peering with an absent VPC",
     [{"name": "a", "cidr": "10.0.0.0/16", "peerings": ["b"]}, {"name": "b", "state": "absent"}],
     "VPC 'a': peering with 'b', which has state absent"),
    ("malformed policy: bad action",
     with_rule("ingress", {"port": 80, "action": "accept"}),
     "VPC 'a' policies[0] ingress[0]: action 'accept' is not one of allow, deny, drop"),
    ("malformed policy: port with icmp",
     with_rule("ingress", {"port": 80, "protocol": "icmp", "action": "allow"}),
     "VPC 'a' policies[0] ingress[0]: a port needs protocol tcp or udp, not icmp"),
    ("malformed policy: port out of range",
     with_rule("egress", {"port": 70000, "action": "allow"}),
     "VPC 'a' policies[0] egress[0]: port 70000 is outside 1..65535"),
    ("malformed policy: unknown key",
     with_rule("ingress", {"prot": 80, "action": "allow"}),
     "VPC 'a' policies[0] ingress[0]: unknown key prot"),
    ("malformed policy: source on egress",
     with_rule("egress", {"source": "10.0.0.0/8", "action": "allow"}),
     "egress rules match on destination, not source"),
    ("policy for a missing subnet",
     [{"name": "a", "cidr": "10.0.0.0/16", "policies": [{"subnet": "10.0.9.0/24", "ingress": []}]}],
     "VPC 'a' policies[0]: subnet '10.0.9.0/24' is not a subnet of this VPC"),
    ("port forward to a missing subnet",
     [{"name": "a", "cidr": "10.0.0.0/16", "port_forwards": [{"host_port": 8080, "subnet": "web"}]}],
     "VPC 'a' port_forwards[0]: subnet 'web' is not a subnet of this VPC"),
    ("host port forwarded twice",
     [{"name": "a", "cidr": "10.0.0.0/16", "subnets": [{"name": "s", "cidr": "10.0.1.0/24"}],
       "port_forwards": [{"host_port": 8080, "subnet": "s"}]},
      {"name": "b", "cidr": "10.1.0.0/16", "subnets": [{"name": "s", "cidr": "10.1.1.0/24"}],
       "port_forwards": [{"host_port": 8080, "subnet": "s"}]}],
     "VPC 'b' port_forwards[0]: host port tcp/8080 on any address clashes with VPC 'a' port_forwards[0] (tcp/8080 on any address)"),
    ("app in a missing subnet",
     [{"name": "a", "cidr": "10.0.0.0/16", "apps": [{"name": "x", "subnet": "s", "command": "true"}]}],
     "VPC 'a' app 'x': subnet 's' is not a subnet of this VPC"),
    ("CIDR with host bits",
     [{"name": "a", "cidr": "10.0.0.1/16"}], "VPC 'a' cidr: '10.0.0.1/16' is not an IPv4 network"),
    ("unknown VPC key",
     [{"name": "a", "cidr": "10.0.0.0/16", "subnet": []}], "VPC 'a': unknown key subnet"),
    ("bad subnet type",
     [{"name": "a", "cidr": "10.0.0.0/16", "subnets": [{"name": "s", "cidr": "10.0.1.0/24", "type": "dmz"}]}],
     "VPC 'a' subnet 's': type 'dmz' is not public or private"),
    ("VPC listed twice",
     [{"name": "a", "cidr": "10.0.0.0/16"}, {"name": "a", "cidr": "10.1.0.0/16"}], "VPC 'a': listed twice"),
    ("bad VPC name", [{"name": "a b", "cidr": "10.0.0.0/16"}], "VPC 'a b': name 'a b' is not a name"),
    ("no name", [{"cidr": "10.0.0.0/16"}], "VPC #1: name None is not a name"),
    ("too small subnet",
     [{"name": "a", "cidr": "10.0.0.0/16", "subnets": [{"name": "s", "cidr": "10.0.1.0/31"}]}], "is too small"),
    ("public subnet without uplink",
     [{"name": "a", "cidr": "10.0.0.0/16", "subnets": [{"name": "s", "cidr": "10.0.1.0/24", "type": "public"}]}],
     "VPC 'a': public subnets need the host's uplink interface"),
] + [
    # Hostile and careless input (issue 13): full-string names, control characters, unit strings, clashing
    # forwards, CIDRs a host needs for itself. Each names the VPC (and subnet or app) and the key.
    ("VPC name with a trailing newline", [{"name": "a\n", "cidr": "10.0.0.0/16"}],
     "VPC 'a\\n': name 'a\\n' contains control characters ('\\n')"),
    ("subnet name with a trailing newline",
     [{"name": "a", "cidr": "10.0.0.0/16", "subnets": [{"name": "s\n", "cidr": "10.0.1.0/24"}]}],
     "VPC 'a' subnets[0]: name 's\\n' contains control characters ('\\n')"),
    ("app name with a trailing newline",
     with_app(name="x\n"),
     "VPC 'a' apps[0]: name 'x\\n' contains control characters"),
    ("absent VPC's subnet name with a newline",
     [{"name": "a", "state": "absent", "subnets": [{"name": "s\n"}]}], "VPC 'a' subnets[0]: name 's\\n' is not a name"),
    ("app command with a carriage return",
     with_app(command="/bin/sleep 9\rExecStartPre=+/bin/sh -c id"),
     "VPC 'a' apps[0]: command '/bin/sleep 9\\rExecStartPre=+/bin/sh -c id' contains control characters ('\\r')"),
    ("app command with a newline",
     with_app(command="/bin/sleep 9\nExecStartPre=+/bin/sh -c id"),
     "VPC 'a' apps[0]: command '/bin/sleep 9\\nExecStartPre=+/bin/sh -c id' contains control characters ('\\n')"),
    ("app command with systemd's + prefix",
     with_app(command="+/bin/sh -c id"),
     "VPC 'a' app 'x': command executable '+/bin/sh' is empty or starts with one of systemd's prefixes"),
    ("app command with a relative path",
     with_app(command="./serve"),
     "VPC 'a' app 'x': command executable './serve' is a relative path"),
    ("app user with a newline",
     with_app(user="nobody\nExecStartPre=/bin/sh"),
     "VPC 'a' app 'x': user 'nobody\\nExecStartPre=/bin/sh' is not a POSIX user name"),
    ("app user with a capital",
     with_app(user="Nobody"),
     "VPC 'a' app 'x': user 'Nobody' is not a POSIX user name"),
    ("app user with a space",
     with_app(user="no body"),
     "VPC 'a' app 'x': user 'no body' is not a POSIX user name"),
    ("app user too long",
     with_app(user="u" * 33),
     "VPC 'a' app 'x': user '%s' is not a POSIX user name" % ("u" * 33)),
    ("the whole internet as a VPC", [{"name": "a", "cidr": "0.0.0.0/0"}],
     "VPC 'a' cidr: 0.0.0.0/0 overlaps 'this network' (0.0.0.0/8)"),
    ("a loopback VPC", [{"name": "a", "cidr": "127.0.0.0/16"}], "VPC 'a' cidr: 127.0.0.0/16 overlaps loopback"),
    ("a multicast VPC", [{"name": "a", "cidr": "239.1.0.0/16"}], "VPC 'a' cidr: 239.1.0.0/16 overlaps multicast"),
    ("a link-local VPC", [{"name": "a", "cidr": "169.254.0.0/16"}], "VPC 'a' cidr: 169.254.0.0/16 overlaps link-local"),
    ("a VPC over the broadcast address", [{"name": "a", "cidr": "255.255.255.0/24"}],
     "VPC 'a' cidr: 255.255.255.0/24 overlaps reserved and broadcast"),
    ("a loopback subnet",
     [{"name": "a", "cidr": "10.0.0.0/16", "subnets": [{"name": "s", "cidr": "127.0.0.0/24"}]}],
     "VPC 'a' subnet 's' cidr: 127.0.0.0/24 overlaps loopback"),
    ("cidr with a trailing newline", [{"name": "a", "cidr": "10.0.0.0/16\n"}],
     "VPC 'a': cidr '10.0.0.0/16\\n' contains control characters"),
    ("forward on any address and on one address",
     [dict(WITH_SUBNET, port_forwards=[{"host_port": 80, "subnet": "s"},
                                       {"host_port": 80, "subnet": "s", "port": 81, "host_ip": "203.0.113.1"}])],
     "VPC 'a' port_forwards[1]: host port tcp/80 on 203.0.113.1 clashes with VPC 'a' port_forwards[0] "
     "(tcp/80 on any address)"),
    ("forward on one address, then on any address in another VPC",
     [dict(WITH_SUBNET, port_forwards=[{"host_port": 80, "subnet": "s", "host_ip": "203.0.113.1"}]),
      {"name": "b", "cidr": "10.1.0.0/16", "subnets": [{"name": "t", "cidr": "10.1.1.0/24"}],
       "port_forwards": [{"host_port": 80, "subnet": "t"}]}],
     "VPC 'b' port_forwards[0]: host port tcp/80 on any address clashes with VPC 'a' port_forwards[0] "
     "(tcp/80 on 203.0.113.1)"),
    ("forward port with a superscript digit",
     [dict(WITH_SUBNET, port_forwards=[{"host_port": "\u00b2", "subnet": "s"}])],
     "VPC 'a' port_forwards[0] host_port: port '\u00b2' is not a port number"),
    ("forward port with an Arabic-Indic digit",
     [dict(WITH_SUBNET, port_forwards=[{"host_port": "\u0663", "subnet": "s"}])],
     "VPC 'a' port_forwards[0] host_port: port '\u0663' is not a port number"),
    ("policy port range with a trailing newline",
     [dict(WITH_SUBNET, policies=[{"subnet": "s", "ingress": [{"port": "80-90\n", "action": "allow"}]}])],
     "VPC 'a' policies[0] ingress[0]: port '80-90\\n' contains control characters"),
    ("policy source with a trailing newline",
     [dict(WITH_SUBNET, policies=[{"subnet": "s", "ingress": [{"source": "10.0.0.0/8\n", "action": "allow"}]}])],
     "VPC 'a' policies[0] ingress[0]: source '10.0.0.0/8\\n' contains control characters"),
    ("protocol with a trailing newline",
     [dict(WITH_SUBNET, port_forwards=[{"host_port": 80, "subnet": "s", "protocol": "tcp\n"}])],
     "VPC 'a' port_forwards[0]: protocol 'tcp\\n' contains control characters"),
    ("peering with a trailing newline",
     [{"name": "a", "cidr": "10.0.0.0/16", "peerings": ["b\n"]}, {"name": "b", "cidr": "10.1.0.0/16"}],
     "VPC 'a': peerings[0] 'b\\n' contains control characters"),
    ("state with a trailing newline", [{"name": "a", "state": "absent\n"}],
     "VPC 'a': state 'absent\\n' contains control characters"),
    ("host_ip with a trailing newline",
     [dict(WITH_SUBNET, port_forwards=[{"host_port": 80, "subnet": "s", "host_ip": "203.0.113.1\n"}])],
     "VPC 'a' port_forwards[0]: host_ip '203.0.113.1\\n' contains control characters"),
]


@pytest.mark.parametrize("vpcs, message", [(vpcs, message) for _label, vpcs, message in BAD],
                         ids=[label for label, _vpcs, _message in BAD])
def test_bad_input_fails_naming_the_vpc(vpcs, message):
    with pytest.raises(VpcPlanError) as caught:
        plan_of(vpcs, uplink="" if "uplink" in message else "eth0")
    assert message in str(caught.value)


def test_the_table_of_bad_inputs_is_large():
    assert len(BAD) >= 50


def test_a_name_is_matched_whole():
    for name in ("a\n", "a\r", "\na", "a b", "a\u00e9"):
        with pytest.raises(VpcPlanError, match="is not a name"):
            plan_of([{"name": name, "cidr": "10.0.0.0/16"}])


# The host seen by the host_networks module: uplink eth0 in 10.0.2.0/24 (a qemu user network), a static route
# to an office network, a blackhole, loopback, and a bridge this role built on an earlier run.
HOST = {
    "addresses": [{"interface": "lo", "address": "127.0.0.1/8", "network": "127.0.0.0/8"},
                  {"interface": "eth0", "address": "10.0.2.15/24", "network": "10.0.2.0/24"},
                  {"interface": "br-my-vpc", "address": "10.0.1.1/24", "network": "10.0.1.0/24"}],
    "routes": [{"dst": "default", "dev": "eth0", "gateway": "10.0.2.2", "table": "main", "type": "unicast"},
               {"dst": "10.0.2.0/24", "dev": "eth0", "gateway": None, "table": "main", "type": "unicast"},
               {"dst": "10.1.0.0/16", "dev": "eth0", "gateway": "10.0.2.3", "table": "100", "type": "unicast"},
               {"dst": "10.0.1.0/24", "dev": "br-my-vpc", "gateway": None, "table": "main", "type": "unicast"},
               {"dst": "127.0.0.0/8", "dev": "lo", "gateway": None, "table": "local", "type": "local"}],
}


def test_a_vpc_over_the_hosts_own_networks_is_refused_naming_the_host_the_interface_and_the_route():
    with pytest.raises(VpcPlanError) as caught:
        plan_of(SEED_000, host_networks=HOST, host="server1")
    assert caught.value.problems == [
        "VPC 'my-vpc': cidr 10.0.0.0/16 overlaps host server1's address 10.0.2.15/24 on interface eth0",
        "VPC 'my-vpc': cidr 10.0.0.0/16 overlaps host server1's route 10.0.2.0/24 dev eth0 (interface eth0)",
        "VPC 'dev-vpc': cidr 10.1.0.0/16 overlaps host server1's route 10.1.0.0/16 via 10.0.2.3 dev eth0 table 100 "
        "(interface eth0)",
    ]
    # its own bridge (built earlier: in the registry), the default route and local routes are not the host's
    previous = {"resources": {"links": ["br-my-vpc"]}}
    clear = {"addresses": HOST["addresses"][::2], "routes": HOST["routes"][::3] + HOST["routes"][4:]}
    assert plan_of(SEED_000, host_networks=clear, previous=previous)["vpcs"]
    # a VPC that is being removed may be anywhere
    assert plan_of(SEED_000, host_networks=HOST, state="absent")["empty"]


def test_the_host_is_parsed_from_ip_json():
    from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_host import (
        default_route_interface, parse_addresses, parse_routes)
    addresses = parse_addresses([{"ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.0.2.15", "prefixlen": 24}]},
                                 {"ifname": "dummy0", "addr_info": []}])
    assert addresses == [{"interface": "eth0", "address": "10.0.2.15/24", "network": "10.0.2.0/24"}]
    routes = parse_routes([{"dst": "default", "gateway": "10.0.2.2", "dev": "eth0"},
                           {"dst": "10.9.9.9", "dev": "eth0", "table": "7"},
                           {"type": "blackhole", "dst": "10.8.0.0/16"}])
    assert routes == [{"dst": "default", "dev": "eth0", "gateway": "10.0.2.2", "table": "main", "type": "unicast"},
                      {"dst": "10.9.9.9/32", "dev": "eth0", "gateway": None, "table": "7", "type": "unicast"},
                      {"dst": "10.8.0.0/16", "dev": None, "gateway": None, "table": "main", "type": "blackhole"}]
    assert default_route_interface({"routes": routes}) == "eth0" and default_route_interface({"routes": []}) == ""


def test_every_problem_is_reported_at_once():
    with pytest.raises(VpcPlanError) as caught:
        plan_of([{"name": "a", "cidr": "10.0.0.0/16", "peerings": ["x"]}, {"name": "b", "cidr": "10.0.0.0/24"}])
    assert len(caught.value.problems) == 2


def test_removed_vpcs_and_subnets_come_from_the_registry_and_from_state_absent():
    previous = {"resources": plan_of(SEED_000)["resources"]}
    smaller = copy.deepcopy(SEED_000[:1])
    smaller[0]["subnets"] = smaller[0]["subnets"][:1]
    smaller[0]["apps"] = []
    plan = plan_of(smaller, previous=previous)
    assert plan["remove"] == {"namespaces": ["ns-my-vpc-private", "ns-dev-vpc-public"],
                              "links": ["v-my-vpc-85c56", "br-dev-vpc", "v-dev-vpc-afbfd"],
                              "units": ["netns-vpc-app-my-vpc-web.service"]}
    assert plan["resources_during_change"]["namespaces"] == previous["resources"]["namespaces"]
    assert plan["record_after"]  # the registry shrinks after the removal
    assert not plan_of(SEED_000, previous=previous)["record_after"]  # a rerun: recorded before the change
    assert plan_of([], previous=previous)["record_after"]  # none left: the host's settings go back
    assert not plan_of([])["record_after"]  # none before, none now
    # the same removal without a registry: a VPC given with state absent
    plan = plan_of([SEED_000[0], {"name": "dev-vpc", "state": "absent", "subnets": [{"name": "public"}]}])
    assert plan["remove"] == {"namespaces": ["ns-dev-vpc-public"], "links": ["br-dev-vpc", "v-dev-vpc-afbfd"],
                              "units": []}


def test_state_absent_removes_everything_and_every_chain():
    previous = {"resources": plan_of(SEED_000)["resources"]}
    plan = plan_of(SEED_000, previous=previous, state="absent")
    assert plan["empty"] and not plan["forwarding"]
    assert plan["remove"]["namespaces"] == ["ns-my-vpc-public", "ns-my-vpc-private", "ns-dev-vpc-public"]
    assert all(c["state"] == "absent" for c in plan["host_chains"])
    assert plan["resources"] == {"namespaces": [], "links": [], "units": [], "chains": []}
    assert render_boot_script(plan) == ""


def test_checks_follow_vpcs_peerings_and_policies():
    vpcs = copy.deepcopy(SEED_000)
    vpcs[0]["policies"][0]["ingress"].append({"protocol": "icmp", "source": "10.1.0.0/16", "action": "deny"})
    vpcs[1]["peerings"] = ["my-vpc"]
    checks = plan_of(vpcs)["checks"]
    pings = dict(((c["from"], c["to"]), c["expect"]) for c in checks if c["kind"] == "ping")
    assert pings[("my-vpc/public", "my-vpc/private")] and pings[("my-vpc/private", "dev-vpc/public")]
    assert not pings[("dev-vpc/public", "my-vpc/public")]  # the policy refuses ICMP from dev-vpc
    assert pings[("dev-vpc/public", "my-vpc/private")]
    tcp = dict(((c["from"], c["to"]), c["expect"]) for c in checks if c["kind"] == "tcp")
    assert tcp == {("my-vpc/private", "my-vpc/public app web"): True, ("dev-vpc/public", "my-vpc/public app web"): True}
    isolated = plan_of(SEED_000)["checks"]
    why = dict(((c["from"], c["to"]), c["why"]) for c in isolated if c["kind"] == "ping")
    assert why[("dev-vpc/public", "my-vpc/public")] == "not peered"
    internet = dict((c["from"], c["expect"]) for c in isolated if c["kind"] == "internet")
    assert internet == {"my-vpc/public": True, "my-vpc/private": False, "dev-vpc/public": True}
    first = isolated[0]
    assert first["id"] == "ping0" and first["namespace"] == "ns-my-vpc-public" and first["line"] == "ping0 ok"
    assert len(set(c["id"] for c in isolated)) == len(isolated)


def test_a_port_forward_is_checked_when_an_app_listens_on_its_port():
    vpcs = copy.deepcopy(SEED_000)
    vpcs[0]["port_forwards"] = [{"host_port": 18080, "subnet": "public", "port": 8080},
                                {"host_port": 15432, "subnet": "private", "port": 5432}]
    forwards = [c for c in plan_of(vpcs)["checks"] if c["kind"] == "forward"]
    assert forwards == [{"id": "forward0", "kind": "forward", "from": "host", "namespace": None,
                         "to": "my-vpc/public app port 8080", "address": None, "port": 18080, "expect": True,
                         "why": "port forward", "line": "forward0 ok"}]


@pytest.mark.parametrize("protocol, port, peer, allowed", [
    ("tcp", 80, "10.0.2.2", True), ("tcp", 22, "10.0.2.2", False), ("tcp", 443, None, True), ("icmp", None, None, True)])
def test_policy_allows_first_match(protocol, port, peer, allowed):
    policy = plan_of(SEED_000)["vpcs"][0]["policies"]["public"]
    assert policy_allows(policy, "ingress", protocol, port, peer) is allowed


def test_boot_script_restores_the_same_tagged_rules_and_links():
    script = render_boot_script(plan_of(SEED_000))
    assert script.startswith("#!/bin/sh\n") and "set -eu" in script
    tag = rule_tag(split_rule("-i br-my-vpc -o br-my-vpc -j ACCEPT"))
    assert "-A NVPC-FORWARD -i br-my-vpc -o br-my-vpc -j ACCEPT -m comment --comment %s\n" % tag in script
    assert "iptables -w -t filter -C FORWARD -j NVPC-FORWARD >/dev/null 2>&1 || iptables -w -t filter -I FORWARD 1 -j NVPC-FORWARD" in script
    assert "has_link v-my-vpc-85c56 || ip link add v-my-vpc-85c56 type veth peer name eth0 netns ns-my-vpc-private" in script
    assert "ip -n ns-my-vpc-private route replace 10.0.0.0/16 via 10.0.2.1 dev eth0" in script
    assert "ip netns exec ns-my-vpc-public iptables-restore -w --noflush <<'EOF'" in script
    assert script.index("NVPC-FORWARD") < script.index("ip netns add")  # firewall before wiring
    assert "iptables-legacy-restore -w --noflush" in render_boot_script(plan_of(SEED_000), "legacy")


def test_the_filter_adds_the_boot_script_and_reports_bad_input_as_a_filter_error():
    assert FilterModule().filters()["netns_vpc_plan"] is netns_vpc_plan
    plan = netns_vpc_plan(copy.deepcopy(SEED_000), uplink="eth0", previous=None)
    assert plan["boot_script"].startswith("#!/bin/sh")
    with pytest.raises(AnsibleFilterError, match="nothing was changed:\nVPC 'a': cidr 10.0.0.0/8 overlaps VPC 'b'"):
        netns_vpc_plan([{"name": "b", "cidr": "10.1.0.0/16"}, {"name": "a", "cidr": "10.0.0.0/8"}])
    with pytest.raises(AnsibleFilterError, match="backend"):
        netns_vpc_plan([], backend="iptables")


def test_settings_are_checked():
    with pytest.raises(VpcPlanError, match="unknown setting"):
        build_vpc_plan([], colour="red")
    with pytest.raises(VpcPlanError, match="chain_prefix"):
        build_vpc_plan([], chain_prefix="lower")
