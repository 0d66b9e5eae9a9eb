# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Smoke tests of the simulated servers themselves (no module of the collection involved)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from support.paths import REPO_ROOT
from support.playbook import run_playbook
from support.procs import ns_inode, pids_in_namespaces
from support.simnet import SimNet

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def net(make_simnet_module):
    return make_simnet_module(2)


def test_hostnames_differ(net):
    names = [s.run(["hostname"]).stdout.strip() for s in net.servers]
    assert names == ["vpc1", "vpc2"]
    assert (net.servers[0].run(["cat", "/etc/hostname"]).stdout.strip()) == "vpc1"
    assert os.uname().nodename not in names


def test_own_namespaces_and_proc(net):
    me = {k: ns_inode("self", k) for k in ("net", "mnt", "uts", "pid")}
    for s in net.servers:
        for k in ("net", "mnt", "uts", "pid"):
            assert ns_inode(s.pid, k) != me[k], (s.name, k)
        # its own /proc: PID 1 is the anchor, no host process is visible
        pids = [p for p in s.run(["ls", "/proc"]).stdout.split() if p.isdigit()]
        assert len(pids) < 10, pids
    assert net.servers[0].net_ns != net.servers[1].net_ns


def test_hosts_file_is_per_server(net):
    s1, s2 = net.servers
    host_hosts = open("/etc/hosts").read()
    s1.run("echo '10.99.0.1 only-in-vpc1' >> /etc/hosts")
    assert "only-in-vpc1" in s1.run(["cat", "/etc/hosts"]).stdout
    assert "only-in-vpc1" in s1.hosts_file.read_text()
    assert "only-in-vpc1" not in s2.run(["cat", "/etc/hosts"]).stdout
    assert open("/etc/hosts").read() == host_hosts
    # resolvable inside vpc1 only
    assert s1.run(["getent", "hosts", "only-in-vpc1"], check=False).returncode == 0
    assert s2.run(["getent", "hosts", "only-in-vpc1"], check=False).returncode != 0


def test_underlay(net):
    s1, s2 = net.servers
    assert s1.ping(s2.underlay_ip, tries=3)
    assert s2.ping(s1.underlay_ip, tries=3)
    # only lo and eth0 in a server
    links = s1.run(["ip", "-o", "link", "show"]).stdout
    assert sorted(line.split(":")[1].strip().split("@")[0] for line in links.splitlines()) == ["eth0", "lo"]


def test_ansible_reaches_each_server(net):
    for s in net.servers:
        (s.etc_wireguard / "probe").unlink(missing_ok=True)
    run = run_playbook("smoke.yml", net.inventory_path)
    assert run.rc == 0, run.describe()
    assert set(run.recap) == {"vpc1", "vpc2"}, run.describe()
    for s in net.servers:
        assert (s.etc_wireguard / "probe").read_text() == f"{s.name}\n"
        assert oct((s.etc_wireguard / "probe").stat().st_mode & 0o777) == "0o600"
        lines = s.hosts_file.read_text().splitlines()
        assert f"10.99.99.{s.index} probe-{s.name}" in lines
        others = [o for o in net.servers if o is not s]
        assert not any(f"probe-{o.name}" in line for o in others for line in lines)
    assert not os.path.exists("/etc/wireguard/probe")


@pytest.mark.wireguard
def test_hand_made_tunnel(net):
    s1, s2 = net.servers
    keys = {}
    for s in net.servers:
        priv = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout.strip()
        pub = subprocess.run(["wg", "pubkey"], input=priv, capture_output=True, text=True, check=True).stdout.strip()
        path = s.etc_wireguard / "smoke.key"
        path.write_text(priv + "\n")
        path.chmod(0o600)
        keys[s.name] = pub
    tunnel = {"vpc1": "10.77.0.1", "vpc2": "10.77.0.2"}
    try:
        for s, o in ((s1, s2), (s2, s1)):
            # the same interface name in both servers: each has its own /run/wireguard
            s.run(["wireguard-go", "wgsmoke"])
            s.run(["wg", "set", "wgsmoke", "listen-port", "51999", "private-key", "/etc/wireguard/smoke.key",
                   "peer", keys[o.name], "endpoint", f"{o.underlay_ip}:51999", "allowed-ips", f"{tunnel[o.name]}/32"])
            s.run(["ip", "addr", "add", f"{tunnel[s.name]}/24", "dev", "wgsmoke"])
            s.run(["ip", "link", "set", "wgsmoke", "up"])
        assert (s1.run_wireguard / "wgsmoke.sock").exists()
        assert (s2.run_wireguard / "wgsmoke.sock").exists()
        assert not os.path.exists("/run/wireguard/wgsmoke.sock")
        assert s1.ping(tunnel["vpc2"]), "vpc1 -> vpc2 over the tunnel"
        assert s2.ping(tunnel["vpc1"]), "vpc2 -> vpc1 over the tunnel"
        assert "latest handshake" in s1.run(["wg", "show", "wgsmoke"]).stdout
        assert len(s1.processes_named("wireguard-go")) == 1
        assert len(s2.processes_named("wireguard-go")) == 1
    finally:
        for s in net.servers:
            s.run(["ip", "link", "del", "wgsmoke"], check=False)
            (s.etc_wireguard / "smoke.key").unlink(missing_ok=True)
    deadline = time.monotonic() + 5
    while any(s.processes_named("wireguard-go") for s in net.servers) and time.monotonic() < deadline:
        time.sleep(0.05)
    # the daemon exits when its interface goes, and is reaped by the server's own PID 1 (no zombie)
    assert not any(s.processes_named("wireguard-go") for s in net.servers)
    assert not list(s1.run_wireguard.iterdir())


@pytest.mark.wireguard
def test_teardown_kills_everything_even_on_failure(tmp_path):
    net = SimNet(2, tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        with net:
            for s in net.servers:
                s.run(["wireguard-go", "wgx"])
            bg = net.servers[0].popen(["sleep", "1000"])
            daemons = [p for s in net.servers for p in s.processes_named("wireguard-go")]
            assert len(daemons) == 2
            anchors = [s.pid for s in net.servers] + [net.fabric_pid]
            raise RuntimeError("boom")
    assert net.leftovers() == []
    for pid in daemons + anchors:
        assert ns_inode(pid, "net") is None, pid
    bg.wait(timeout=5)


_CRASHING = r"""
import json, sys

from support.simnet import SimNet
net = SimNet(2, sys.argv[1])
net.start()
for s in net.servers:
    s.run(["wireguard-go", "wgcrash"])
pids = [s.pid for s in net.servers] + [net.fabric_pid]
pids += [p for s in net.servers for p in s.processes_named("wireguard-go")]
print(json.dumps({"pids": pids, "net": [s.net_ns for s in net.servers] + [net.fabric_net_ns]}), flush=True)
sys.stdin.read()  # killed here, teardown never runs
"""


@pytest.mark.wireguard
def test_servers_die_with_a_killed_test_process(tmp_path):
    """Even a test process killed with SIGKILL (no finalizer at all) leaves nothing running."""
    proc = subprocess.Popen([sys.executable, "-c", _CRASHING, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT / "tests")))
    try:
        info = json.loads(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()
    assert len(info["pids"]) == 5
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (
            any(ns_inode(p, "net") is not None for p in info["pids"])
            or pids_in_namespaces(set(info["net"]))):
        time.sleep(0.05)
    assert [p for p in info["pids"] if ns_inode(p, "net") is not None] == []
    assert pids_in_namespaces(set(info["net"])) == []
