# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The netns_vpc role's calls for one batch: in the order that keeps a VPC isolated before it is wired, none that the
read proves unneeded."""

from __future__ import annotations

import os

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_batch import role_calls
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_boot import render_boot_script
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_chain import TABLES
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_live import registry_content
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_plan import build_vpc_plan as vpc_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_units import host_units
from ansible_collections.fakevpc.vpc.plugins.module_utils._unit_files import read_units, wanted_files

VPC = {"name": "a", "cidr": "10.9.0.0/16",
       "subnets": [{"name": "web", "cidr": "10.9.1.0/24", "type": "public"},
                   {"name": "db", "cidr": "10.9.2.0/24", "type": "private"}],
       "apps": [{"name": "www", "subnet": "web", "command": "/usr/bin/python3 -m http.server 80", "port": 80}]}
BEFORE = {"ip_forward": "0", "tables": ["filter"], "netns_mount": False}
REGISTRY = "/var/lib/netns_vpc/registry.json"


def build_vpc_plan(vpcs, **options):
    """The plan as the role's filter gives it, with its boot script."""
    plan = vpc_plan(vpcs, **options)
    return dict(plan, boot_script=render_boot_script(plan, options["backend"]))


def calls(plan, tmp_path, host_networks=None, persist=True):
    units = host_units(plan, persist, "netns-vpc", str(tmp_path / "netns-vpc-up"))["units"]
    return role_calls(plan, units, host_networks, REGISTRY, "/etc/netns", False, str(tmp_path / "units"), "netns-vpc",
                      str(tmp_path / "netns-vpc-up"), persist, False, True)


def modules(found):
    return [(call["module"].rsplit(".", 1)[1], call["options"].get("state")) for call in found]


def built(plan, tmp_path):
    """The registry after plan's run, and a read of a host where it ran: every call converged, its units written."""
    (tmp_path / "units").mkdir(exist_ok=True)
    for wanted in wanted_files(host_units(plan, True, "netns-vpc", str(tmp_path / "netns-vpc-up"))["units"],
                               str(tmp_path / "units")):
        with open(wanted["path"], "wb") as handle:
            handle.write(wanted["content"])
        os.chmod(wanted["path"], wanted["mode"])
    registry = registry_content(plan["resources"], BEFORE, plan["recorded_calls"])
    found = dict((name, {"loopback_up": True, "hosts": None}) for name in plan["namespaces"])
    units = read_units(None, str(tmp_path / "units"), ["netns-vpc.service", "netns-vpc-app-*.service"],
                       [str(tmp_path / "netns-vpc-up")], False)
    live = {"ip_forward": "1", "systemd": False, "namespaces": found, "current": {"chains": True, "links": True},
            "units": units}
    return registry, {"addresses": [], "routes": [], "registry": registry, "live": live}


def test_a_first_run_records_before_it_isolates_before_it_wires_and_persists_last(tmp_path):
    plan = build_vpc_plan([VPC], uplink="eth0", backend="nft")
    found = calls(plan, tmp_path)
    assert modules(found) == [("netns_host_settings", "present"), ("netns", None), ("netns_iptables", None),
                              ("netns_link", None), ("systemd_units", None)]
    settings, namespaces, chains, links, units = (call["options"] for call in found)
    assert settings == {"path": REGISTRY, "state": "present", "resources": plan["resources_during_change"],
                        "forwarding": True, "calls": plan["recorded_calls"], "manage_forwarding": True,
                        "backend": "nft"}
    assert namespaces == {"names": ["ns-a-web", "ns-a-db"], "etc_dir": "/etc/netns", "hosts_files": {}}
    # before the first run every table there is the host's own: none is removed, even left empty
    assert chains == dict(plan["call_options"]["chains"], keep_tables=list(TABLES))
    assert links == plan["call_options"]["links"]
    assert [unit["name"] for unit in units["units"]] == ["netns-vpc.service", "netns-vpc-app-a-www.service"]
    assert units["prune_patterns"] == ["netns-vpc.service"] and units["remove_files"] == []


def test_a_converged_rerun_makes_no_call_and_each_difference_makes_its_own(tmp_path):
    registry, read = built(build_vpc_plan([VPC], uplink="eth0", backend="nft"), tmp_path)
    rerun = build_vpc_plan([VPC], previous=registry, uplink="eth0", backend="nft", host_networks=read)
    assert calls(rerun, tmp_path, read) == []
    # a unit file changed by hand: the units' call alone
    (tmp_path / "units" / "netns-vpc-app-a-www.service").chmod(0o600)
    read["live"]["units"] = read_units(None, str(tmp_path / "units"), ["netns-vpc.service", "netns-vpc-app-*.service"],
                                       [str(tmp_path / "netns-vpc-up")], False)
    assert modules(calls(rerun, tmp_path, read)) == [("systemd_units", None)]
    # the links would change: the links' call alone; the chains would: theirs, keeping the tables the host had
    read["live"]["current"] = {"chains": False, "links": False}
    rerun = build_vpc_plan([VPC], previous=registry, uplink="eth0", backend="nft", host_networks=read)
    found = calls(rerun, tmp_path, read)
    assert modules(found) == [("netns_iptables", None), ("netns_link", None), ("systemd_units", None)]
    assert found[0]["options"]["keep_tables"] == ["filter"]


def test_a_removal_stops_the_apps_before_their_namespaces_go_and_puts_the_settings_back_after(tmp_path):
    registry, read = built(build_vpc_plan([VPC], uplink="eth0", backend="nft"), tmp_path)
    removal = build_vpc_plan([], previous=registry, uplink="eth0", backend="nft", host_networks=read)
    found = calls(removal, tmp_path, read)
    assert modules(found) == [("systemd_units", None), ("netns", "absent"), ("netns_iptables", None),
                              ("netns_link", None), ("netns_host_settings", "absent"), ("systemd_units", None)]
    assert found[0]["options"]["prune_patterns"] == ["netns-vpc-app-a-www.service"]
    assert found[1]["options"] == {"names": ["ns-a-web", "ns-a-db"], "state": "absent", "kill_processes": False,
                                   "etc_dir": "/etc/netns"}
    assert found[2]["options"]["keep_tables"] == ["filter"]
    assert all(chain["state"] == "absent" for chain in found[2]["options"]["chains"])
    assert found[4]["options"]["calls"] == registry["calls"]
    # the boot unit and its script go last
    assert found[5]["options"]["units"] == [] and found[5]["options"]["remove_files"] == [str(tmp_path / "netns-vpc-up")]
