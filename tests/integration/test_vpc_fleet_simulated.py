# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VPCs spanning servers (issue 16) on three simulated servers joined by the mesh (wireguard-go), site.yml as a user
runs it: VPC prod (public web on server 1, app on 2, private db on 3; an HTTP app in web, a TCP app in db whose port
answers app only) and VPC dev (subnets on 1 and 3).

A fourth simulated server is "the internet" (198.51.100.1): every server's default route leads to it, and it has
no route back to the VPCs, so only NATed traffic gets an answer. Each server gets its own tmpfs on /run/netns and
/etc/netns inside its mount namespace (the empty mount point /etc/netns is the only trace on the machine). No
systemd here: the apps are processes the test starts in their namespaces.

The tests share the servers and run in order: bad fleets refused before any change -> prod -> dev added (rerun
changed=0; what changed on each server is dev's only) -> a hosts file changed by hand, put back -> the fleet's
matrix (ICMP, apps by name, the internet) from the plan -> isolation and the db policy ->
dev peered with prod -> a server rebooted, rebuilt by its wg-quick files and boot script alone -> dev removed
everywhere: every server exactly as before dev existed, prod untouched.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import pwd
import re
import stat
import time

import pytest

from support import netns_vpc as sim
from support.paths import REPO_ROOT
from support.pings import ping
from support.playbook import run_playbook
from support.vpcs import dev_vpc, prod_vpc

pytestmark = [pytest.mark.root, pytest.mark.wireguard]

SITE = REPO_ROOT / "site.yml"
VALIDATE = REPO_ROOT / "playbooks" / "validate.yml"
CHECK = REPO_ROOT / "playbooks" / "vpc_check.yml"
INTERNET = "198.51.100.1"

PROD = prod_vpc("vf1", "vf2", "vf3")
DEV = dev_vpc("vf1", "vf3")
# The timers of a bridge and of its ports tick in `ip -d link`: they are no configuration.
_TIMERS = re.compile(r"\b(\w+)_timer +[0-9.]+")
# A rebooted server's interfaces come back with new indices and new random MAC addresses, which its bridges' ids
# carry too (their names, kinds and settings are the same).
_IFINDEX = re.compile(r"(?m)^\d+: |@if\d+")
# A MAC as `ip -d link` prints it, also inside bridge ids (8000.7e:8:7c:45:11:5: no leading zeros).
_MAC = re.compile(r"\b[0-9a-f]{1,2}(?::[0-9a-f]{1,2}){5}\b")
# prod's traffic counts in its rules' counters: no configuration either.
_NFT_COUNTERS = re.compile(r"counter packets \d+ bytes \d+")
WEB, APP, DB, DEV_A, DEV_B = "10.30.1.2", "10.30.2.2", "10.30.3.2", "10.40.1.2", "10.40.3.2"


class Fleet:
    def __init__(self, net):
        self.net = net
        self.servers = net.servers[:3]
        self.upstream = net.servers[3]
        self.apps = dict((server.name, sim.Apps(server)) for server in self.servers)
        self.inventory_path = net.workdir / "fleet.json"

    def server(self, number):
        return self.servers[number - 1]

    def inventory(self, vpcs, undialable=(), login=None):
        """With login, every command on the servers runs as that user, as a login without become would."""
        hosts = {}
        for server in self.servers:
            files = server.root / "netns_vpc"
            (files / "units").mkdir(parents=True, exist_ok=True)
            hosts[server.name] = {
                "ansible_host": server.underlay_ip, "ansible_connection": "simserver", "ansible_simserver_pid": server.pid,
                "wg_mesh_index": server.index, "wg_mesh_endpoint": server.underlay_ip,
                "netns_vpc_state_dir": str(files / "state"), "netns_vpc_boot_script": str(files / "netns-vpc-up"),
                "netns_vpc_unit_dir": str(files / "units"),
            }
            if server.name in undialable:
                hosts[server.name]["wg_mesh_dialable"] = False
            if login:
                hosts[server.name]["ansible_simserver_user"] = login
        group = {
            "ansible_python_interpreter": self.net.python, "ansible_pipelining": True, "ansible_become": False,
            "wg_mesh_install_packages": False, "wg_mesh_cloud_init_templates_dir": "",
            "wg_mesh_key_dir": str(self.net.workdir / "wg_keys"),
            "netns_vpc_install_packages": False, "netns_vpc_service_manager": "none", "netns_vpc_vpcs": vpcs,
        }
        self.inventory_path.write_text(json.dumps({"all": {"children": {"vpc": {"hosts": hosts, "vars": group}}}}))
        return self.inventory_path

    def site(self, vpcs, expect_rc=0, undialable=(), **kwargs):
        run = run_playbook(SITE, self.inventory(vpcs, undialable), verbose=0, **kwargs)
        print("site.yml: rc=%d %.1fs %s" % (run.rc, run.seconds, run.recap))
        assert run.rc == expect_rc, run.describe()
        return run

    def validate(self, vpcs, login, expect_rc=0):
        run = run_playbook(VALIDATE, self.inventory(vpcs, login=login), verbose=0)
        print("validate.yml as %s: rc=%d %.1fs %s" % (login, run.rc, run.seconds, run.recap))
        assert run.rc == expect_rc, run.describe()
        return run

    def check(self, vpcs, undialable=()):
        run = run_playbook(CHECK, self.inventory(vpcs, undialable), verbose=0,
                           extra_vars={"netns_vpc_check_internet_address": INTERNET})
        print(run.stdout)
        assert run.rc == 0, run.describe()
        return run

    def states(self):
        states = [sim.exact_state(server) for server in self.servers]
        for state in states:
            state["ip -d link"] = _MAC.sub("MAC", _IFINDEX.sub("", _TIMERS.sub(r"\1_timer", state["ip -d link"])))
            state["ip -4 address"] = _IFINDEX.sub("", state["ip -4 address"])
            state["nft list ruleset"] = _NFT_COUNTERS.sub("counter", state["nft list ruleset"])
        return states


@pytest.fixture(scope="module")
def fleet(make_simnet_module):
    net = make_simnet_module(4, prefix="vf", underlay="10.214.0.0/24")
    fleet = Fleet(net)
    os.makedirs("/etc/netns", exist_ok=True)  # the mount point of each server's own /etc/netns
    fleet.upstream.run(["ip", "address", "add", INTERNET + "/32", "dev", "lo"])
    for server in fleet.servers:
        own = server.root / "etc-netns"
        own.mkdir()
        server.run(["sh", "-c", "mkdir -p /run/netns && mount -t tmpfs -o mode=0755 vpc-fleet-test /run/netns"
                                " && mount --bind %s /etc/netns" % own])
        server.run(["ip", "route", "add", "default", "via", fleet.upstream.underlay_ip])
    fleet.before = fleet.states()
    yield fleet
    for apps in fleet.apps.values():
        apps.stop()


def test_a_bad_fleet_is_refused_before_any_server_changes(fleet):
    ghost = copy.deepcopy(PROD)
    ghost["subnets"][2]["server"] = "vf9"
    overlapping = dict(copy.deepcopy(DEV), cidr="10.30.128.0/17",
                       subnets=[{"name": "a", "cidr": "10.30.129.0/24", "server": "vf1"}], peerings=["nowhere"])
    mesh_range = {"name": "mesh", "cidr": "192.168.2.0/24", "subnets": [{"name": "m", "cidr": "192.168.2.0/25",
                                                                        "server": "vf2"}]}
    run = fleet.site([ghost, overlapping, mesh_range], expect_rc=2)
    for message in ("VPC 'dev': peering with 'nowhere', which is not a VPC in the list (variable netns_vpc_vpcs)",
                    "VPC 'prod': cidr 10.30.0.0/16 overlaps VPC 'dev' (10.30.128.0/17) (variable netns_vpc_vpcs)"):
        assert message in run.stdout, message
    run = fleet.site([ghost, mesh_range], expect_rc=2)
    for message in ("VPC 'prod' subnet 'db': server 'vf9' is not a server of the mesh",
                    "VPC 'mesh': cidr 192.168.2.0/24 overlaps the mesh's own range 192.168.2.0/24 (server index 2"):
        assert message in run.stdout, message
    # a remote subnet over one server's own network: refused by that server's check, before any change
    over = copy.deepcopy(PROD)
    over["cidr"], over["subnets"] = "10.214.0.0/16", [{"name": "x", "cidr": "10.214.0.0/24", "server": "vf1"},
                                                      {"name": "y", "cidr": "10.214.1.0/24", "server": "vf2"}]
    over["policies"], over["apps"] = [], []
    run = fleet.site([over], expect_rc=2)
    assert "VPC 'prod': cidr 10.214.0.0/16 overlaps host vf1's address 10.214.0.1/24 on interface eth0" in run.stdout
    assert fleet.states() == fleet.before


def test_prod_spans_three_servers(fleet):
    fleet.site([PROD])
    fleet.apps["vf1"].start("ns-prod-web", 8080, "www")
    fleet.apps["vf3"].start("ns-prod-db", 7000, "echo")
    web, app, db = fleet.server(1), fleet.server(2), fleet.server(3)
    assert ping(web, DB, "ns-prod-web") and ping(db, APP, "ns-prod-db") and ping(app, WEB, "ns-prod-app")
    assert sim.connect(app, "www.prod.vpcdomain", 8080, "ns-prod-app") == "HTTP/1.0 200 www"
    # no NAT inside the VPC: db sees app's own address
    assert fleet.server(3).run(["ip", "netns", "exec", "ns-prod-db", "ip", "route", "get", APP]).returncode == 0
    fleet.prod_only = fleet.states()


def test_dev_is_added_touching_only_its_own_routes_and_rules(fleet):
    before = fleet.states()
    fleet.site([PROD, DEV])
    after = fleet.states()
    # server 2 runs no dev subnet: nothing of it changed
    assert after[1] == before[1]
    added = set(after[0]["ip -4 route"].splitlines()) - set(before[0]["ip -4 route"].splitlines())
    assert sorted(line.split()[0] for line in added) == ["10.40.1.0/24", "10.40.3.0/24"]
    again = fleet.site([PROD, DEV])
    assert again.changed() == 0, again.describe()


@contextlib.contextmanager
def traversable(path):
    """Every directory above path searchable by all (pytest keeps its temporary directories 0700; a server's
    /var/lib is not), as it was again afterwards."""
    modes = {}
    for directory in path.parents:
        mode = stat.S_IMODE(directory.stat().st_mode)
        if not mode & stat.S_IXOTH:
            modes[directory] = mode
            directory.chmod(mode | stat.S_IXOTH)
    try:
        yield
    finally:
        for directory, mode in modes.items():
            directory.chmod(mode)


def test_the_validation_play_reads_the_servers_as_a_login_without_become(fleet):
    # site.yml's first play runs without become, as the login of a real fleet: every read it makes must work
    # unprivileged (two reads that needed root were found only on VMs). Here as nobody, on servers running VPCs.
    before = fleet.states()
    # a registry the login cannot reach is named, not a bare errno
    run = fleet.validate([PROD, DEV], login="nobody", expect_rc=2)
    unreadable = r"registry: \S+/vf1/netns_vpc/state/registry.json cannot be read by uid %d \(Permission denied\)"
    assert re.search(unreadable % pwd.getpwnam("nobody").pw_uid, run.stdout), run.describe()
    with traversable(fleet.server(1).root):
        fleet.validate([PROD, DEV], login="nobody")
        # what it read is the servers: a VPC over one server's own network is still refused, naming it
        over = dict(copy.deepcopy(DEV), cidr="10.214.0.0/16",
                    subnets=[{"name": "x", "cidr": "10.214.0.0/24", "server": "vf3"}])
        run = fleet.validate([PROD, over], login="nobody", expect_rc=2)
    assert "VPC 'dev': cidr 10.214.0.0/16 overlaps host vf3's address 10.214.0.3/24 on interface eth0" in run.stdout
    assert fleet.states() == before


def test_a_hosts_file_changed_by_hand_is_put_back_by_the_next_run(fleet):
    # the read before the plan finds the file changed, so the namespaces' call is not spared
    hosts = fleet.server(2).root / "etc-netns" / "ns-prod-app" / "hosts"
    wanted = hosts.read_text()
    hosts.write_text(wanted + "10.30.9.9 www.prod.vpcdomain\n")
    run = fleet.site([PROD, DEV])
    assert hosts.read_text() == wanted
    assert run.changed("vf2") == 1 and run.changed() == 1, run.describe()


def test_the_fleets_matrix_is_what_the_plan_expects(fleet):
    run = fleet.check([PROD, DEV])
    # the rows of each server: its subnets to every subnet of the fleet, to every app by name, to the internet
    # vf1 (web, dev/a) and vf3 (db, dev/b): 13 each; vf2 (app): 7
    assert run.stdout.count("All 13 checks agree with the plan.") == 2
    assert run.stdout.count("All 7 checks agree with the plan.") == 1


def test_isolation_the_db_policy_and_the_way_out(fleet):
    web, app, db = fleet.server(1), fleet.server(2), fleet.server(3)
    assert sim.connect(app, "echo.prod.vpcdomain", 7000, "ns-prod-app") == "HTTP/1.0 200 echo"
    assert sim.connect(web, "echo.prod.vpcdomain", 7000, "ns-prod-web") == "refused"
    assert not ping(web, DB, "ns-dev-a", tries=1) and not ping(db, WEB, "ns-dev-b", tries=1)
    assert sim.connect(db, WEB, 8080, "ns-dev-b") != "HTTP/1.0 200 www"
    assert ping(web, DEV_B, "ns-dev-a") and ping(db, DEV_A, "ns-dev-b")
    # web goes out through server 1 only; db has no way out at all (and neither has app)
    assert ping(web, INTERNET, "ns-prod-web")
    assert not ping(db, INTERNET, "ns-prod-db", tries=1) and not ping(app, INTERNET, "ns-prod-app", tries=1)
    nat = [server.run(["iptables", "-t", "nat", "-S", "NVPC-POSTROUTING"], check=False).stdout for server in fleet.servers]
    assert "-s 10.30.1.0/24 -o eth0" in nat[0] and "MASQUERADE" not in nat[1] + nat[2]


def test_peering_opens_exactly_the_two_vpcs_on_every_server(fleet):
    dev = dict(copy.deepcopy(DEV), peerings=["prod"])
    fleet.site([PROD, dev])
    web, app, db = fleet.server(1), fleet.server(2), fleet.server(3)
    assert ping(web, APP, "ns-dev-a") and ping(app, DEV_B, "ns-prod-app") and ping(db, WEB, "ns-dev-b")
    assert sim.connect(db, "www.prod.vpcdomain", 8080, "ns-dev-b") == "HTTP/1.0 200 www"
    assert sim.connect(web, "echo.prod.vpcdomain", 7000, "ns-dev-a") == "refused"  # db's policy still holds
    rules = app.run(["iptables", "-S", "NVPC-FORWARD"]).stdout
    assert rules.count("-d 10.40.") == 2 and rules.count("-s 10.40.") == 4  # 2 accepts, 2 in, 2 final rejects
    assert "-s 10.30.0.0/16 -d 10.40.1.0/24 -i br-prod -o wgvpc1" in rules
    run = fleet.check([PROD, dev])
    assert run.stdout.count("checks agree with the plan.") == 3


def test_a_rebooted_server_comes_back_with_no_playbook_run(fleet):
    app = fleet.server(2)
    built = sim.converged_state(app)
    # a reboot forgets interfaces, namespaces, rules and sysctls; what is on disk stays
    for interface in ("wgvpc0", "wgvpc1", "br-prod"):
        app.run(["ip", "link", "delete", interface])
    app.run(["ip", "netns", "delete", "ns-prod-app"])
    app.run(["nft", "flush", "ruleset"])
    app.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
    assert not ping(fleet.server(1), APP, "ns-prod-web", tries=1)
    for conf in sorted(os.listdir(app.root / "etc-wireguard")):
        app.run(["wg-quick", "up", conf[:-len(".conf")]])
    started = time.monotonic()
    app.run([str(app.root / "netns_vpc" / "netns-vpc-up")])
    # its peers find the new tunnels when they next send (a fresh handshake): the issue allows 30 s
    assert ping(fleet.server(1), APP, "ns-prod-web", tries=40) and ping(fleet.server(3), APP, "ns-prod-db", tries=40)
    assert ping(app, DEV_B, "ns-prod-app")
    print("server 2 reachable again %.1f s after its tunnels started" % (time.monotonic() - started))
    assert sim.connect(app, "echo.prod.vpcdomain", 7000, "ns-prod-app") == "HTTP/1.0 200 echo"
    assert sim.converged_state(app) == built


def test_removing_dev_everywhere_leaves_every_server_as_before_it_existed(fleet):
    fleet.site([PROD])
    after = fleet.states()
    for number, (state, before) in enumerate(zip(after, fleet.prod_only), 1):
        for key, text in before.items():
            assert state[key] == text, (number, key)
    web, app, db = fleet.server(1), fleet.server(2), fleet.server(3)
    assert ping(web, DB, "ns-prod-web") and ping(db, APP, "ns-prod-db")
    assert sim.connect(app, "echo.prod.vpcdomain", 7000, "ns-prod-app") == "HTTP/1.0 200 echo"
    assert not (web.root / "etc-netns" / "ns-dev-a").exists()


def test_servers_no_one_can_dial_reach_each_others_subnets_through_the_relay(fleet):
    # vf1 and vf3 cannot be dialled: their pair rides on their tunnels to vf2, and so do their subnets (dev's
    # two, prod's web and db); vf2 builds prod's app subnet, so its own chain must let the others' through
    undialable = ("vf1", "vf3")
    fleet.site([PROD, DEV], undialable=undialable)
    web, app, db = fleet.server(1), fleet.server(2), fleet.server(3)
    assert " wgvpc1:" not in db.run(["ip", "-o", "link", "show"]).stdout  # no tunnel of its own between vf1 and vf3
    rules = re.sub(r' -m comment --comment "[^"]*"', "", app.run(["iptables", "-S", "NVPC-FORWARD"]).stdout).splitlines()
    assert rules[1:5] == ["-A NVPC-FORWARD -d %s -i wgvpc0 -o wgvpc0 -j ACCEPT" % prefix
                          for prefix in ("10.30.3.0/24", "10.40.3.0/24", "10.30.1.0/24", "10.40.1.0/24")]
    assert ping(web, DB, "ns-prod-web") and ping(db, WEB, "ns-prod-db")
    assert ping(web, DEV_B, "ns-dev-a") and ping(db, DEV_A, "ns-dev-b")
    assert sim.connect(app, "echo.prod.vpcdomain", 7000, "ns-prod-app") == "HTTP/1.0 200 echo"
    assert sim.connect(web, "echo.prod.vpcdomain", 7000, "ns-prod-web") == "refused"  # db's policy, through the relay
    assert not ping(web, DB, "ns-dev-a", tries=1) and not ping(db, WEB, "ns-dev-b", tries=1)
    run = fleet.check([PROD, DEV], undialable=undialable)
    assert run.stdout.count("All 13 checks agree with the plan.") == 2
    assert run.stdout.count("All 7 checks agree with the plan.") == 1
    again = fleet.site([PROD, DEV], undialable=undialable)
    assert again.changed() == 0, again.describe()
