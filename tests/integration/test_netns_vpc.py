# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The netns_vpc role on a simulated host whose uplink leads to a simulated upstream ("the internet").

One host for the whole module, the tests run in order and build on each other:
bad input -> check mode on a fresh host -> apply and the traffic matrix -> rerun, and check mode on the built
host -> forwarding and a loopback changed by hand, put back by a rerun -> a simulated reboot rebuilt by the
boot script alone -> peering (check mode first) -> removing one VPC
-> removal of everything, compared byte for byte with the host before the first run (ip -d link, ip netns,
iptables-nft-save, iptables-legacy-save, nft). A second host, on the legacy iptables backend, gets the same
VPCs and the same exact removal.

No systemd here (PID 1 is not systemd): the apps run as processes the test starts in the subnets'
namespaces and ends by PID; that the role starts them as units is left to the lab VMs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import stat

import pytest

from support import netns_vpc as sim
from support.paths import REPO_ROOT
from support.pings import ping
from support.playbook import run_playbook

pytestmark = pytest.mark.root

PLAYBOOK = REPO_ROOT / "playbooks" / "netns_vpc.yml"
CHECK_PLAYBOOK = REPO_ROOT / "playbooks" / "netns_vpc_check.yml"

ALPHA = {
    "name": "alpha", "cidr": "10.10.0.0/16",
    "subnets": [{"name": "web", "cidr": "10.10.1.0/24", "type": "public"},
                {"name": "db", "cidr": "10.10.2.0/24", "type": "private"}],
    # the seed's JSON policy, by CIDR: HTTP allowed, "SSH" refused
    "policies": [{"subnet": "10.10.1.0/24", "ingress": [{"port": 8080, "protocol": "tcp", "action": "allow"},
                                                        {"port": 2222, "protocol": "tcp", "action": "deny"}]}],
    "port_forwards": [{"host_port": 18080, "subnet": "web", "port": 8080},
                      {"host_port": 15432, "subnet": "db", "port": 5432}],
    "apps": [{"name": "web", "subnet": "web", "command": "/usr/bin/python3 -m http.server 8080", "port": 8080}],
}
# A subnet name long enough to need a hashed veth name (v-beta-application is 18 characters). Its policy:
# port 8080 only from alpha's web subnet (by source), port 9000 dropped, pings answered, the rest refused;
# no connection out to port 5432 of alpha (egress).
BETA = {
    "name": "beta", "cidr": "10.20.0.0/16",
    "subnets": [{"name": "application", "cidr": "10.20.1.0/24", "type": "public"}],
    "policies": [{"subnet": "application",
                  "ingress": [{"port": 8080, "protocol": "tcp", "source": "10.10.1.0/24", "action": "allow"},
                              {"port": 9000, "protocol": "tcp", "action": "drop"},
                              {"protocol": "icmp", "action": "allow"}],
                  "ingress_default": "deny",
                  "egress": [{"port": 5432, "protocol": "tcp", "destination": "10.10.0.0/16", "action": "deny"}]}],
}

# The role's module calls after the read (and the package manager's).
BATCH = "Build the VPCs, or remove them, and keep them across reboots with their apps"
MODULE_TASKS = ["Install the network tools", BATCH]
NS_WEB, NS_DB, NS_BETA = "ns-alpha-web", "ns-alpha-db", "ns-beta-application"
WEB, DB, BETA_ADDRESS = "10.10.1.2", "10.10.2.2", "10.20.1.2"


def changed_calls(run):
    """The modules (short names) of the role's calls that changed something, or in check mode would, in order."""
    result = run.result("nv1", "fakevpc.vpc.netns_vpc : " + BATCH) or {"calls": []}
    return [call["module"].rsplit(".", 1)[1] for call in result["calls"] if call["changed"]]


class Lab:
    def __init__(self, net, variables=None, setup=()):
        """setup: commands run on the host before it is recorded as it was before the first run."""
        self.net = net
        self.variables = variables or {}
        self.host, self.upstream = sim.prepare(net)
        for argv in setup:
            self.host.run(argv)
        self.before = sim.exact_state(self.host)
        self.apps = sim.Apps(self.host)
        self.files = sim.files_of(net)

    def play(self, vpcs, playbook=PLAYBOOK, expect_rc=0, **kwargs):
        inventory = sim.inventory(self.net, self.host, dict(self.variables, netns_vpc_vpcs=vpcs))
        run = run_playbook(playbook, inventory, **kwargs)
        print("%s: rc=%d %.1fs %s" % (playbook.name, run.rc, run.seconds, run.recap))
        assert run.rc == expect_rc, run.describe()
        return run

    def start_apps(self):
        self.apps.start(NS_WEB, 8080, "web")
        self.apps.start(NS_WEB, 2222, "ssh")  # listening, so a refusal is the policy's
        self.apps.start(NS_DB, 5432, "db")
        self.apps.start(NS_BETA, 8080, "beta")
        self.apps.start(NS_BETA, 9000, "beta9000")  # listening, so a timeout is the policy's drop


@pytest.fixture(scope="module")
def lab(make_simnet_module):
    net = make_simnet_module(2, prefix="nv", underlay=sim.UNDERLAY)
    lab = Lab(net)
    yield lab
    lab.apps.stop()


def test_bad_input_fails_before_any_change_naming_each_vpc(lab):
    bad = [
        {"name": "ov1", "cidr": "10.10.0.0/16"},
        {"name": "ov2", "cidr": "10.10.128.0/17"},
        {"name": "outside", "cidr": "10.30.0.0/16", "subnets": [{"name": "s", "cidr": "10.99.1.0/24"}]},
        {"name": "lonely", "cidr": "10.40.0.0/16", "peerings": ["ghost"]},
        {"name": "strict", "cidr": "10.50.0.0/16", "subnets": [{"name": "s", "cidr": "10.50.1.0/24"}],
         "policies": [{"subnet": "s", "ingress": [{"port": 22, "action": "accept"}]}]},
        {"name": "fwd", "cidr": "10.60.0.0/16", "port_forwards": [{"host_port": 8080, "subnet": "web"}]},
        # hostile input (issue 13): unit injection, a bad user, the whole internet, a name with a newline,
        # two forwards of one port (one on any address)
        {"name": "inject", "cidr": "10.70.0.0/16", "subnets": [{"name": "s", "cidr": "10.70.1.0/24"}],
         "apps": [{"name": "a", "subnet": "s", "command": "/bin/sleep 9\rExecStartPre=+/bin/sh -c id"},
                  {"name": "b", "subnet": "s", "command": "/bin/true", "user": "root\nExecStartPre=/bin/sh"}],
         "port_forwards": [{"host_port": 9090, "subnet": "s"},
                           {"host_port": 9090, "subnet": "s", "port": 9091, "host_ip": sim.HOST_IP}]},
        {"name": "everything", "cidr": "0.0.0.0/0"},
        {"name": "newline\n", "cidr": "10.80.0.0/16"},
    ]
    run = lab.play(bad, expect_rc=2)
    for message in ("VPC 'ov2': cidr 10.10.128.0/17 overlaps VPC 'ov1' (10.10.0.0/16)",
                    "VPC 'outside' subnet 's': cidr 10.99.1.0/24 is outside the VPC's 10.30.0.0/16",
                    "VPC 'lonely': peering with 'ghost', which is not a VPC in the list",
                    "VPC 'strict' policies[0] ingress[0]: action 'accept' is not one of allow, deny, drop",
                    "VPC 'fwd' port_forwards[0]: subnet 'web' is not a subnet of this VPC",
                    "VPC 'inject' apps[0]: command '/bin/sleep 9\\rExecStartPre=+/bin/sh -c id' contains control "
                    "characters",
                    "VPC 'inject' app 'b': user 'root\\nExecStartPre=/bin/sh' is not a POSIX user name",
                    "VPC 'inject' port_forwards[1]: host port tcp/9090 on 203.0.113.1 clashes with VPC 'inject' "
                    "port_forwards[0] (tcp/9090 on any address)",
                    "VPC 'everything' cidr: 0.0.0.0/0 overlaps",
                    "VPC 'newline\\n': name 'newline\\n' contains control characters"):
        assert message in run.stdout, message
    assert run.recap["nv1"]["changed"] == 0
    assert sim.exact_state(lab.host) == lab.before
    assert not (lab.files / "state").exists()


def test_a_vpc_over_the_hosts_own_network_is_refused_before_any_change(lab):
    over = {"name": "over", "cidr": "203.0.113.0/25", "subnets": [{"name": "s", "cidr": "203.0.113.0/26"}]}
    run = lab.play([ALPHA, over], expect_rc=2)
    assert "VPC 'over': cidr 203.0.113.0/25 overlaps host nv1's address 203.0.113.1/24 on interface eth0" in run.stdout
    assert "VPC 'over': cidr 203.0.113.0/25 overlaps host nv1's route 203.0.113.0/24 dev eth0 (interface eth0)" \
        in run.stdout
    assert run.recap["nv1"]["changed"] == 0
    assert sim.exact_state(lab.host) == lab.before
    assert not (lab.files / "state").exists()


def test_check_mode_on_a_fresh_host_changes_nothing(lab):
    run = lab.play([ALPHA, BETA], check=True, diff=True)
    assert run.recap["nv1"]["changed"] > 0
    assert sim.exact_state(lab.host) == lab.before
    assert not (lab.files / "state").exists() and not (lab.files / "netns-vpc-up").exists()


def test_apply_builds_isolated_vpcs_with_nat_policies_and_port_forwards(lab):
    run = lab.play([ALPHA, BETA])
    assert run.recap["nv1"]["changed"] > 0
    lab.start_apps()
    host, upstream = lab.host, lab.upstream
    # same VPC: yes; another VPC, not peered: no
    assert ping(host, DB, NS_WEB) and ping(host, WEB, NS_DB)
    assert not ping(host, BETA_ADDRESS, NS_WEB, tries=1) and not ping(host, DB, NS_BETA, tries=1)
    # the upstream has no route to the VPCs: only NATed public subnets get answers; private has no way out
    assert ping(host, sim.INTERNET_IP, NS_WEB) and ping(host, sim.INTERNET_IP, NS_BETA)
    assert not ping(host, sim.INTERNET_IP, NS_DB, tries=1)
    # the policy: the allowed port answers, the denied one is refused although something listens there
    assert sim.connect(host, WEB, 8080, NS_DB) == "HTTP/1.0 200 web"
    assert sim.connect(host, WEB, 2222, NS_DB) == "refused"
    assert sim.connect(host, WEB, 2222, NS_WEB) == "HTTP/1.0 200 ssh"  # inside the subnet itself: no policy
    # beta's policy, from the host (its address on br-beta is not alpha's web subnet): refused by default,
    # dropped on 9000, pings answered
    assert sim.connect(host, BETA_ADDRESS, 8080) == "refused"
    assert sim.connect(host, BETA_ADDRESS, 9000) == "error: timed out"
    assert ping(host, BETA_ADDRESS)
    # host ports forwarded from the internet to a public and to a private subnet
    assert sim.connect(upstream, sim.HOST_IP, 18080) == "HTTP/1.0 200 web"
    assert sim.connect(upstream, sim.HOST_IP, 15432) == "HTTP/1.0 200 db"
    # names within 15 characters (the long one hashed), strict rp_filter on the bridges, forwarding on
    links = [link["ifname"] for link in json.loads(host.run(["ip", "-j", "link"]).stdout)]
    hashed = "v-beta-ap-" + hashlib.sha256(b"v-beta-application").hexdigest()[:5]
    assert hashed in links and all(len(name) <= 15 for name in links)
    assert host.run(["cat", "/proc/sys/net/ipv4/conf/br-alpha/rp_filter"]).stdout.strip() == "1"
    assert host.run(["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.strip() == "1"
    # the connectivity check playbook agrees, and prints its matrix
    check = lab.play([ALPHA, BETA], playbook=CHECK_PLAYBOOK,
                     extra_vars={"netns_vpc_check_internet_address": sim.INTERNET_IP})
    assert "All 12 checks agree with the plan." in check.stdout


def test_a_second_run_reports_no_change_and_neither_does_check_mode(lab):
    run = lab.play([ALPHA, BETA])
    assert run.recap["nv1"]["changed"] == 0
    check = lab.play([ALPHA, BETA], check=True, diff=True)
    assert check.recap["nv1"]["changed"] == 0
    # the read proves every call unneeded: it is the run's only module call on the host
    for played in (run, check):
        statuses = dict((task.split(" : ", 1)[1], status) for task, status in played.statuses("nv1").items()
                        if task.startswith("fakevpc.vpc.netns_vpc : "))
        assert statuses["Read the host's addresses and routes, and the registry of what this role built on it"] == "ok"
        assert [statuses[task] for task in MODULE_TASKS] == ["skipping"] * len(MODULE_TASKS), statuses


def test_a_rerun_puts_back_forwarding_and_a_loopback_changed_by_hand(lab):
    # the read before the plan finds them changed, so the calls it spares on a clean rerun are made
    host = lab.host
    built = sim.converged_state(host)
    host.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
    host.run(["ip", "-n", NS_WEB, "link", "set", "dev", "lo", "down"])
    check = lab.play([ALPHA, BETA], check=True)
    assert changed_calls(check) == ["netns_host_settings", "netns"]
    run = lab.play([ALPHA, BETA])
    assert changed_calls(run) == ["netns_host_settings", "netns"]
    assert sim.converged_state(host) == built
    assert lab.play([ALPHA, BETA]).recap["nv1"]["changed"] == 0


def test_a_rerun_puts_back_rules_routes_and_rp_filter_changed_by_hand(lab):
    # the read before the plan asks the chains' and links' calls the registry records whether they would change
    # anything: a clean rerun spares them; each change by hand makes the call that puts it back
    host = lab.host
    built = sim.converged_state(host)
    for changes, calls in (
            ([["iptables", "-w", "-t", "nat", "-D", "NVPC-PREROUTING", "1"]], ["netns_iptables"]),  # a port forward
            ([["ip", "netns", "exec", NS_BETA, "iptables", "-w", "-F", "NVPC-INPUT"]], ["netns_iptables"]),  # a policy
            ([["ip", "-n", NS_DB, "route", "del", "10.10.0.0/16"]], ["netns_link"]),  # a private subnet's only route
            ([["sysctl", "-q", "-w", "net.ipv4.conf.br-alpha.rp_filter=0"],  # both at once
              ["ip", "address", "del", "10.10.2.1/24", "dev", "br-alpha"],
              ["ip", "netns", "exec", NS_WEB, "iptables", "-w", "-D", "INPUT", "-j", "NVPC-INPUT"]],
             ["netns_iptables", "netns_link"])):
        for argv in changes:
            host.run(argv)
        assert changed_calls(lab.play([ALPHA, BETA], check=True)) == calls
        assert changed_calls(lab.play([ALPHA, BETA])) == calls
        assert sim.converged_state(host) == built
    assert lab.play([ALPHA, BETA]).recap["nv1"]["changed"] == 0


def test_a_rerun_puts_back_the_boot_script_and_a_unit_changed_by_hand(lab):
    # the read before the plan finds them changed, so the units' call it spares on a clean rerun is made
    script, unit = lab.files / "netns-vpc-up", lab.files / "units" / "netns-vpc-app-alpha-web.service"
    built = dict((path, (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))) for path in (script, unit))
    with script.open("a") as handle:
        handle.write("echo changed by hand\n")
    unit.chmod(0o600)
    check = lab.play([ALPHA, BETA], check=True)
    assert changed_calls(check) == ["systemd_units"]
    run = lab.play([ALPHA, BETA])
    assert changed_calls(run) == ["systemd_units"]
    assert dict((path, (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))) for path in built) == built
    assert lab.play([ALPHA, BETA]).recap["nv1"]["changed"] == 0


def test_after_a_reboot_the_boot_script_alone_rebuilds_what_the_role_built(lab):
    host = lab.host
    built = sim.converged_state(host)  # what the role built, and found nothing to change in on its second run
    lab.apps.stop()
    # a reboot forgets namespaces, links, rules and sysctls
    for namespace in (NS_WEB, NS_DB, NS_BETA):
        host.run(["ip", "netns", "delete", namespace])
    for bridge in ("br-alpha", "br-beta"):
        host.run(["ip", "link", "delete", bridge])
    for table in ("filter", "nat"):
        host.run(["nft", "delete", "table", "ip", table])
    host.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
    assert sim.exact_state(host) == lab.before

    host.run([str(lab.files / "netns-vpc-up")])
    assert sim.converged_state(host) == built
    lab.start_apps()
    assert sim.connect(lab.upstream, sim.HOST_IP, 18080) == "HTTP/1.0 200 web"
    assert sim.connect(host, WEB, 2222, NS_DB) == "refused"
    assert not ping(host, BETA_ADDRESS, NS_WEB, tries=1)


def test_peering_opens_exactly_the_two_cidrs_and_one_vpc_is_removed_alone(lab):
    peered = copy.deepcopy(BETA)
    peered["peerings"] = ["alpha"]
    host = lab.host
    built = sim.converged_state(host)
    check = lab.play([ALPHA, peered], check=True, diff=True)
    assert check.recap["nv1"]["changed"] > 0
    assert sim.converged_state(host) == built and not ping(host, BETA_ADDRESS, NS_DB, tries=1)

    lab.play([ALPHA, peered])
    assert ping(host, BETA_ADDRESS, NS_DB) and ping(host, DB, NS_BETA) and ping(host, WEB, NS_BETA)
    # beta's policy across the peering: 8080 from alpha's web subnet only; nothing out to alpha's 5432
    assert sim.connect(host, BETA_ADDRESS, 8080, NS_WEB) == "HTTP/1.0 200 beta"
    assert sim.connect(host, BETA_ADDRESS, 8080, NS_DB) == "refused"
    assert sim.connect(host, DB, 5432, NS_WEB) == "HTTP/1.0 200 db"
    assert sim.connect(host, DB, 5432, NS_BETA) == "refused"
    assert sim.connect(host, WEB, 8080, NS_BETA) == "HTTP/1.0 200 web"
    rules = host.run(["iptables", "-S", "NVPC-FORWARD"]).stdout
    assert rules.count("-s 10.10.0.0/16 -d 10.20.0.0/16 -i br-alpha -o br-beta") == 1
    assert rules.count("-s 10.20.0.0/16 -d 10.10.0.0/16 -i br-beta -o br-alpha") == 1
    assert "10.20.0.0/16 via 10.10.2.1" in host.run(["ip", "-n", NS_DB, "route"]).stdout

    lab.apps.stop(NS_BETA)  # the role refuses to remove a namespace where processes still run
    lab.play([ALPHA, {"name": "beta", "state": "absent", "subnets": [{"name": "application"}]}])
    assert NS_BETA not in host.run(["ip", "netns"]).stdout
    assert "br-beta" not in host.run(["ip", "link"]).stdout and "br-beta" not in host.run(["iptables-save"]).stdout
    assert "10.20.0.0/16" not in host.run(["ip", "-n", NS_DB, "route"]).stdout
    assert ping(host, DB, NS_WEB) and sim.connect(lab.upstream, sim.HOST_IP, 18080) == "HTTP/1.0 200 web"


def test_removal_leaves_the_host_exactly_as_before(lab):
    lab.apps.stop()
    run = lab.play([ALPHA], extra_vars={"netns_vpc_state": "absent"})
    assert run.recap["nv1"]["changed"] > 0
    after = sim.exact_state(lab.host)
    for key, text in lab.before.items():
        assert after[key] == text, key
    assert not (lab.files / "state").exists() and not (lab.files / "netns-vpc-up").exists()
    assert list((lab.files / "units").iterdir()) == []


@pytest.fixture(scope="module")
def legacy_lab(make_simnet_module):
    """A host whose iptables is legacy, its filter and nat tables in use before the role runs."""
    net = make_simnet_module(2, prefix="nl", underlay=sim.UNDERLAY)
    lab = Lab(net, {"netns_vpc_iptables_backend": "legacy"},
              setup=[["iptables-legacy", "-t", "filter", "-S"], ["iptables-legacy", "-t", "nat", "-S"]])
    yield lab
    lab.apps.stop()


def test_the_legacy_backend_builds_the_same_vpcs_and_removal_leaves_both_rule_sets_as_before(legacy_lab):
    lab, host = legacy_lab, legacy_lab.host
    assert "*nat" in lab.before["iptables-legacy-save"] and lab.before["iptables-nft-save"] == ""
    run = lab.play([ALPHA, BETA])
    assert run.recap["nl1"]["changed"] > 0
    assert "-j NVPC-FORWARD" in host.run(["iptables-legacy-save"]).stdout
    assert sim.exact_state(host)["nft list ruleset"] == lab.before["nft list ruleset"]  # nothing in nft
    lab.start_apps()
    assert ping(host, DB, NS_WEB) and not ping(host, BETA_ADDRESS, NS_WEB, tries=1)
    assert ping(host, sim.INTERNET_IP, NS_WEB) and not ping(host, sim.INTERNET_IP, NS_DB, tries=1)
    assert sim.connect(host, WEB, 8080, NS_DB) == "HTTP/1.0 200 web"
    assert sim.connect(host, WEB, 2222, NS_DB) == "refused"
    assert sim.connect(lab.upstream, sim.HOST_IP, 15432) == "HTTP/1.0 200 db"
    assert lab.play([ALPHA, BETA]).recap["nl1"]["changed"] == 0

    lab.apps.stop()
    lab.play([ALPHA, BETA], extra_vars={"netns_vpc_state": "absent"})
    after = sim.exact_state(host)
    for key, text in lab.before.items():
        assert after[key] == text, key
