# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real fleet on simulated servers: inventory names that are not serverN, non-contiguous indices, two servers
that cannot be dialled (not the highest index) whose pair goes through a relay, and an external peer.

The two servers behind "NAT" are made so for real: inside their namespaces, new inbound UDP is dropped
(iptables, conntrack), so they can only dial out. Every server starts with forwarding off on every interface:
the relay forwards because its mesh interfaces say so, and only they do.

The external peer is a fifth simulated server that is not in the inventory: the test copies the exported wg-quick
file into it and runs `wg-quick up` there (wg-quick falls back to wireguard-go, as it does on any host without
kernel WireGuard). A sixth, behind NAT too, joins last with an index below every other. The tests of this module
share the servers and run in order.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import time

import pytest

# How the molecule scenarios count lost pings (probe_log), for the same count here.
from support import probe_log
from support.paths import REPO_ROOT
from support.playbook import run_playbook

pytestmark = [pytest.mark.root, pytest.mark.wireguard]

SITE = REPO_ROOT / "site.yml"
STATUS = REPO_ROOT / "playbooks" / "status.yml"
# inventory hostname -> (simulated server number, wg_mesh_index, dialable, VPC name)
FLEET = {
    "db-east": (1, 2, True, "db-east"),
    "web01": (2, 5, False, "web01"),
    "office": (3, 7, False, "office"),
    "home.example.com": (4, 9, True, "home"),
}
LAPTOP = 5  # the simulated server that plays the external peer
JOINING = ("kitchen", 6, 1)  # the server that joins last: inventory hostname, simulated server, wg_mesh_index
EXTERNAL = {"name": "laptop", "index": 12, "aliases": ["me"]}


class Fleet:
    def __init__(self, net, workdir):
        self.net = net
        self.key_dir = workdir / "wg_keys"
        self.export_dir = workdir / "wg_external_peers"
        self.inventory_path = workdir / "fleet.json"

    def server(self, host):
        return self.net.servers[FLEET[host][0] - 1]

    @property
    def laptop(self):
        return self.net.servers[LAPTOP - 1]

    def write_inventory(self, external_peers, joined=False):
        hosts = {}
        members = dict(FLEET, **({JOINING[0]: (JOINING[1], JOINING[2], False, JOINING[0])} if joined else {}))
        for host, (number, index, dialable, _name) in members.items():
            server = self.net.servers[number - 1]
            hosts[host] = {
                "ansible_host": server.underlay_ip, "ansible_connection": "simserver", "ansible_simserver_pid": server.pid,
                "wg_mesh_index": index, "wg_mesh_dialable": dialable, "ansible_become": False,
            }
        hosts["db-east"]["wg_mesh_aliases"] = ["db"]
        group_vars = {
            "ansible_python_interpreter": self.net.python, "ansible_pipelining": True,
            "wg_mesh_install_packages": False, "wg_mesh_cloud_init_templates_dir": "",
            "wg_mesh_key_dir": str(self.key_dir), "wg_mesh_external_peers_dir": str(self.export_dir),
            "wg_mesh_external_peers": external_peers,
        }
        self.inventory_path.write_text(json.dumps({"all": {"children": {"vpc": {"hosts": hosts, "vars": group_vars}}}}))
        return self.inventory_path

    def site(self, external_peers=(EXTERNAL,), relay="", joined=False, **kwargs):
        return run_playbook(SITE, self.write_inventory(list(external_peers), joined),
                            extra_vars={"wg_mesh_relay": relay}, **kwargs)

    def snapshot(self):
        """What the role manages on the servers: peers (no handshake, counters or learnt endpoint), addresses,
        routes, forwarding, wg-quick files."""
        state = {}
        for host in FLEET:
            server = self.server(host)
            dump = sorted(tuple(fields[:3] + fields[4:5] + fields[8:]) if len(fields) == 9 else tuple(fields)
                          for fields in (line.split("\t") for line in server.run(["wg", "show", "all", "dump"]).stdout.splitlines()))
            state[host] = (dump, server.run(["ip", "-o", "address"]).stdout, server.run(["ip", "route"]).stdout,
                           server.run("grep -H . /proc/sys/net/ipv4/conf/*/forwarding").stdout,
                           {f.name: f.read_text() for f in sorted(server.etc_wireguard.iterdir())})
        return state


def behind_nat(server):
    """Drop every new inbound UDP flow: the server can only dial out (replies to its own flows pass)."""
    server.run(["iptables", "-A", "INPUT", "-p", "udp", "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"])


@pytest.fixture(scope="module")
def fleet(make_simnet_module, tmp_path_factory):
    net = make_simnet_module(6)
    for server in net.servers:
        server.run("sysctl -q -w net.ipv4.conf.all.forwarding=0 net.ipv4.conf.default.forwarding=0")
    for host in ("web01", "office"):
        behind_nat(net.servers[FLEET[host][0] - 1])
    for number in (LAPTOP, JOINING[1]):
        behind_nat(net.servers[number - 1])
    return Fleet(net, tmp_path_factory.mktemp("fleet"))


def names(host):
    name = FLEET[host][3]
    return name + ".vpcdomain"


def test_every_pair_pings_by_name_the_nat_pair_through_its_relay_and_a_rerun_changes_nothing(fleet):
    first = fleet.site()
    assert first.rc == 0, first.describe()
    unreachable = [(a, b) for a in FLEET for b in FLEET if a != b and not fleet.server(a).ping(names(b))]
    assert unreachable == []
    assert fleet.server("web01").ping("db.vpcdomain") and fleet.server("home.example.com").ping("db")
    # web01 and office have no tunnel of their own: the route to each other goes through their tunnel to db-east
    for host, other_address, device in (("web01", "192.168.5.7", "wgvpc2"), ("office", "192.168.5.1", "wgvpc2")):
        route = fleet.server(host).run(["ip", "-j", "route", "get", other_address]).stdout
        assert json.loads(route)[0]["dev"] == device, route
    relay = fleet.server("db-east")
    assert relay.run(["sysctl", "-n", "net.ipv4.conf.wgvpc0.forwarding"]).stdout.strip() == "1"
    assert relay.run(["sysctl", "-n", "net.ipv4.conf.eth0.forwarding"]).stdout.strip() == "0"
    assert relay.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "0"
    # the NAT'd servers dial every peer they have: each has an endpoint to dial
    for host in ("web01", "office"):
        dump = fleet.server(host).run(["wg", "show", "all", "dump"]).stdout
        assert all(fields[3] != "(none)" for fields in (line.split("\t") for line in dump.splitlines())
                   if len(fields) == 9), dump
    # what comes back at boot: the routes and forwarding are in the wg-quick files
    conf = (fleet.server("web01").etc_wireguard / "wgvpc2.conf").read_text()
    assert "PostUp = ip route replace 192.168.5.7/32 dev %i src 192.168.5.1\n" in conf and "Table = off\n" in conf
    assert "PostUp = sysctl -q -w net/ipv4/conf/%i/forwarding=1\n" in (relay.etc_wireguard / "wgvpc0.conf").read_text()
    second = fleet.site()
    assert second.rc == 0 and second.changed() == 0, second.describe()


def test_the_external_peer_joins_with_its_exported_file(fleet):
    conf, hosts = fleet.export_dir / "laptop.conf", fleet.export_dir / "laptop.hosts"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600 and stat.S_IMODE(hosts.stat().st_mode) == 0o600
    laptop = fleet.laptop
    (laptop.etc_wireguard / "laptop.conf").write_text(conf.read_text())
    os.chmod(laptop.etc_wireguard / "laptop.conf", 0o600)
    up = laptop.run(["wg-quick", "up", "laptop"], check=False)
    assert up.returncode == 0, up.stderr
    with open(laptop.hosts_file, "a") as handle:
        handle.write(hosts.read_text())
    unreachable = [host for host in FLEET if not laptop.ping(names(host))]
    unreachable += [(host, "laptop") for host in FLEET if not fleet.server(host).ping("laptop.vpcdomain")]
    unreachable += [(host, "me") for host in FLEET if not fleet.server(host).ping("me")]
    assert unreachable == []


def test_status_shows_every_pair_and_which_are_relayed(fleet):
    status = run_playbook(STATUS, fleet.write_inventory([EXTERNAL]))
    assert status.rc == 0, status.describe()
    assert "every pair is up" in status.stdout
    assert "relayed: office <-> web01 via db-east" in status.stdout, status.stdout
    assert re.search(r"web01 +[\d.]+ms \d+s +- .*via db-east", status.stdout), status.stdout


def test_removing_the_external_peer_removes_it_everywhere(fleet):
    public = fleet.laptop.run(["wg", "show", "laptop", "public-key"]).stdout.strip()
    removed = fleet.site(external_peers=())
    assert removed.rc == 0, removed.describe()
    assert os.listdir(fleet.export_dir) == []
    for host in FLEET:
        server = fleet.server(host)
        assert public not in server.run(["wg", "show", "all", "dump"]).stdout, host
        assert "laptop" not in server.hosts_file.read_text(), host
        assert not fleet.server(host).ping("192.168.%d.12" % FLEET[host][1], tries=2)
    again = fleet.site(external_peers=())
    assert again.rc == 0 and again.changed() == 0, again.describe()


def test_another_relay_in_check_mode_then_for_real(fleet):
    before = fleet.snapshot()
    checked = fleet.site(external_peers=(), relay="home.example.com", check=True, diff=True)
    assert checked.rc == 0 and checked.changed() > 0, checked.describe()
    assert fleet.snapshot() == before, "check mode changed a server"
    moved = fleet.site(external_peers=(), relay="home.example.com")
    assert moved.rc == 0, moved.describe()
    assert fleet.server("web01").ping(names("office")) and fleet.server("office").ping(names("web01"))
    old, new = fleet.server("db-east"), fleet.server("home.example.com")
    # db-east relays nothing now: its interface forwards as a new one would (default 0 here), its routes are gone
    assert old.run(["sysctl", "-n", "net.ipv4.conf.wgvpc0.forwarding"]).stdout.strip() == "0"
    assert "192.168.5." not in old.run(["ip", "route"]).stdout
    assert new.run(["sysctl", "-n", "net.ipv4.conf.wgvpc0.forwarding"]).stdout.strip() == "1"
    again = fleet.site(external_peers=(), relay="home.example.com")
    assert again.rc == 0 and again.changed() == 0, again.describe()


def test_a_nat_server_joining_below_every_index_costs_the_other_pairs_nothing(fleet, tmp_path):
    """The relay (home, since the last test) and both ends of the relayed pair gain the newcomer's prefixes on
    tunnels that carry that pair: added in place (`wg set ... allowed-ips` would leave each peer with none while
    it swaps the list). Pings every 10 ms, by address, across the relayed pair and to the relay, during the run."""
    pairs = [("web01", "192.168.5.7"), ("office", "192.168.5.1"), ("web01", "192.168.5.9"), ("office", "192.168.7.9")]
    probes = []
    for number, (host, address) in enumerate(pairs):
        log = tmp_path / "join" / host / ("%d.log" % number)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as output:
            # A session of its own: SIGINT to its group reaches ping, in the server's PID namespace, past nsenter.
            probes.append((fleet.server(host).popen(["ping", "-D", "-n", "-i", "0.01", address], stdout=output,
                                                    start_new_session=True), log))
    joined = fleet.site(external_peers=(), relay="home.example.com", joined=True)
    for probe, log in probes:
        os.killpg(probe.pid, signal.SIGINT)
        probe.wait(10)
        for _wait in range(50):  # ping writes its summary as it ends
            if "packets transmitted" in log.read_text():
                break
            time.sleep(0.1)
    assert joined.rc == 0, joined.describe()
    counted = probe_log.probes(str(tmp_path), "join")
    assert [probe.lost for probe in counted] == [[]] * len(pairs), [(probe, probe.when_lost()) for probe in counted]
    assert all(probe.sent > 100 and probe.unanswered_tail <= 5 for probe in counted), [(p, p.sent) for p in counted]
    kitchen = fleet.net.servers[JOINING[1] - 1]
    unreachable = [host for host in FLEET if not kitchen.ping(names(host))]
    assert unreachable == []
    again = fleet.site(external_peers=(), relay="home.example.com", joined=True)
    assert again.rc == 0 and again.changed() == 0, again.describe()
