# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration of wg_mesh_plan, wg_keys and wg_interfaces on three simulated servers (wireguard-go).

One mesh per module, applied once by the fixture; the tests run in file order and each leaves the mesh
in a state the next one expects (the last one removes everything).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import time
from itertools import permutations
from pathlib import Path

import pytest

from support.playbook import PlaybookRun, run_playbook
from support.procs import proc_comm
from support.simnet import NSENTER, SimNet, SimServer

pytestmark = [pytest.mark.root, pytest.mark.wireguard]

PLAYBOOK = "wg_mesh.yml"
HOSTS = ("vpc1", "vpc2", "vpc3")


def wg_pubkey(private_key: str) -> str:
    return subprocess.run(["wg", "pubkey"], input=private_key, capture_output=True, text=True, check=True).stdout.strip()


def _h(secret: str) -> str:
    """Stands for a secret in snapshots, so an assertion message never prints one."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:16]


class ModulesMesh:
    """The three servers, the controller-side key directory and every playbook run made on them: the collection's
    modules driven by tests/integration/playbooks/wg_mesh.yml, not site.yml (that is support.mesh.Mesh)."""

    def __init__(self, net: SimNet, workdir: Path):
        self.net = net
        self.key_dir = workdir / "keys"
        self.runs: list[PlaybookRun] = []

    def server(self, name: str) -> SimServer:
        return self.net.by_name(name)

    # -- applying ------------------------------------------------------------------------
    def apply(self, check: bool = False, diff: bool = False, **variables) -> PlaybookRun:
        extra = {"wg_it_key_dir": str(self.key_dir)}
        extra.update(variables)
        run = run_playbook(PLAYBOOK, self.net.inventory_path, extra, check=check, diff=diff, verbose=1,
                           env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
        self.runs.append(run)
        self.assert_no_secret(run.stdout + run.stderr, "playbook output")
        assert run.rc == 0, run.describe()
        assert run.failed() == 0, run.describe()
        assert set(run.recap) == set(HOSTS), run.describe()
        return run

    def results(self, run: PlaybookRun | None = None) -> dict[str, list[dict]]:
        """Per host, the wg_interfaces result of each interface of the plan of the last run,
        as the playbook's last task printed them."""
        run = run or self.runs[-1]
        out = {}
        decoder = json.JSONDecoder()
        for m in re.finditer(r"^ok: \[([^\]]+)\] => \{", run.stdout, re.M):
            shown, _end = decoder.raw_decode(run.stdout, m.end() - 1)
            msg = shown.get("msg")
            if isinstance(msg, str) and msg.startswith("WG_IT_RESULT "):
                out[m.group(1)] = json.loads(msg[len("WG_IT_RESULT "):])
        assert sorted(out) == sorted(HOSTS), "no WG_IT_RESULT of every host in:\n" + run.describe()
        return out

    # -- keys ----------------------------------------------------------------------------
    def secrets(self) -> list[str]:
        found = []
        for f in sorted(self.key_dir.iterdir()):
            if f.suffix in (".key", ".psk"):
                found.append(f.read_text().strip())
        assert len(found) == len(HOSTS) + len(HOSTS) * (len(HOSTS) - 1) // 2, sorted(os.listdir(self.key_dir))
        return found

    def private_key(self, host: str) -> str:
        return (self.key_dir / f"{host}.key").read_text().strip()

    def pubkey(self, host: str) -> str:
        return wg_pubkey(self.private_key(host))

    def mask(self, text: str) -> str:
        """text with every key of the mesh replaced by a hash of it (for assertion messages)."""
        for secret in self.secrets():
            text = text.replace(secret, _h(secret))
        return text

    def assert_no_secret(self, text: str, where: str) -> None:
        if not self.key_dir.exists():
            return
        leaked = [_h(s) for s in self.secrets() if s in text]
        assert not leaked, f"{len(leaked)} private/preshared key(s) appear in the {where}: {leaked}"

    # -- the plan, as the playbook saw it --------------------------------------------------
    def plan(self) -> dict[str, list[dict]]:
        """Per host, its interfaces from the plan (the loop items of the last run)."""
        return {host: [r["item"] for r in results] for host, results in self.results().items()}

    def tunnel_pairs(self, plan) -> list[tuple[str, str, str, str]]:
        """(from_host, from_iface, to_host, to_address) for every ordered pair of hosts."""
        addr = {}  # (host, peer_host) -> (iface, own address)
        for host, ifaces in plan.items():
            for iface in ifaces:
                for peer in iface["peers"]:
                    addr[(host, peer["host"])] = (iface["name"], iface["address"].split("/")[0])
        pairs = []
        for a, b in permutations(HOSTS, 2):
            assert (a, b) in addr and (b, a) in addr, f"the plan has no tunnel between {a} and {b}: {plan}"
            pairs.append((a, addr[(a, b)][0], b, addr[(b, a)][1]))
        return pairs

    def ping_all_pairs(self) -> list[str]:
        failures = []
        for a, iface, b, address in self.tunnel_pairs(self.plan_cache):
            if not self.server(a).ping(address, tries=20, wait=1):
                failures.append(f"{a} ({iface}) -> {b} {address}")
        return failures

    # -- state of the servers --------------------------------------------------------------
    def snapshot(self) -> dict:
        """Everything check mode must not touch, per server; volatile counters left out, secrets hashed."""
        snap = {}
        for s in self.net.servers:
            wg = []
            for line in s.run(["wg", "show", "all", "dump"]).stdout.splitlines():
                f = line.split("\t")
                if len(f) == 5:  # interface: name, private key, public key, port, fwmark
                    wg.append(("iface", f[0], _h(f[1]), f[2], f[3], f[4]))
                else:  # peer: name, public key, psk, endpoint, allowed ips, handshake, rx, tx, keepalive
                    wg.append(("peer", f[0], f[1], _h(f[2]), f[3], f[4], f[8]))
            links = []
            for link in json.loads(s.run(["ip", "-j", "addr", "show"]).stdout):
                links.append((link["ifname"], link.get("mtu"), tuple(sorted(link.get("flags", []))),
                              tuple(sorted((a["family"], a["local"], a["prefixlen"]) for a in link.get("addr_info", [])))))
            files = {}
            for f in sorted(s.etc_wireguard.iterdir()):
                st = f.stat()
                files[f.name] = (oct(stat.S_IMODE(st.st_mode)), _h(f.read_text()), st.st_mtime_ns)
            snap[s.name] = {
                "wg": sorted(wg),
                "links": sorted(links),
                "etc_wireguard": files,
                "run_wireguard": sorted(os.listdir(s.run_wireguard)),
                "wireguard_go": sorted(s.processes_named("wireguard-go")),
            }
        return snap

    def handshakes(self) -> dict[tuple[str, str, str], int]:
        out = {}
        for s in self.net.servers:
            for line in s.run(["wg", "show", "all", "latest-handshakes"]).stdout.splitlines():
                iface, peer, ts = line.split("\t")
                out[(s.name, iface, peer)] = int(ts)
        return out


@pytest.fixture(scope="module")
def mesh(make_simnet_module, tmp_path_factory):
    net = make_simnet_module(len(HOSTS))
    m = ModulesMesh(net, tmp_path_factory.mktemp("mesh"))
    m.first_run = m.apply()
    m.first_results = m.results()
    m.plan_cache = m.plan()
    return m


def test_first_apply_creates_the_planned_interfaces(mesh):
    run = mesh.first_run
    for host in HOSTS:
        assert run.changed(host) >= 1, run.describe()
    pub = {h: mesh.pubkey(h) for h in HOSTS}
    for host, results in mesh.first_results.items():
        s = mesh.server(host)
        names = [r["item"]["name"] for r in results]
        index = int(host[3:])
        assert names == ["wgvpc0"] + [f"wgvpc{low}" for low in range(1, index)], names
        for r in results:
            assert r["changed"] is True, (host, r["item"]["name"])
            assert r["implementation"] == "userspace", (host, r["item"]["name"], r.get("implementation"))
            assert sorted(r["peers_added"]) == sorted(pub[p["host"]] for p in r["item"]["peers"])
            assert r["peers_updated"] == [] and r["peers_removed"] == []
        # live: exactly the planned interfaces, addresses, keys and peers
        live = {}
        for line in s.run(["wg", "show", "all", "dump"]).stdout.splitlines():
            f = line.split("\t")
            if len(f) == 5:
                live[f[0]] = {"pub": f[2], "port": int(f[3]), "peers": {}}
            else:
                live[f[0]]["peers"][f[1]] = {"endpoint": f[3], "allowed": sorted(f[4].split(",")),
                                             "keepalive": f[8], "psk": f[2] != "(none)"}
        assert sorted(live) == sorted(names)
        addrs = {link["ifname"]: sorted(f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet")
                 for link in json.loads(s.run(["ip", "-j", "addr", "show"]).stdout)}
        for r in results:
            iface = r["item"]
            got = live[iface["name"]]
            assert got["pub"] == pub[host]
            if iface["listen_port"] is not None:
                assert got["port"] == iface["listen_port"]
            assert addrs[iface["name"]] == [iface["address"]]
            assert sorted(got["peers"]) == sorted(pub[p["host"]] for p in iface["peers"])
            for p in iface["peers"]:
                lp = got["peers"][pub[p["host"]]]
                assert lp["allowed"] == sorted(p["allowed_ips"])
                assert lp["psk"], f"{host}/{iface['name']}: no preshared key for {p['host']}"
                if p["endpoint"]:
                    assert lp["endpoint"] == p["endpoint"]
                assert lp["keepalive"] == (str(p["persistent_keepalive"]) if p["persistent_keepalive"] else "off")
        assert len(s.processes_named("wireguard-go")) == len(names)


def test_every_pair_pings_over_its_tunnel(mesh):
    failures = mesh.ping_all_pairs()
    assert not failures, "no ping over the tunnel: " + "; ".join(failures)
    # and each went over WireGuard: every peer has had a handshake
    missing = [k for k, ts in mesh.handshakes().items() if ts == 0]
    assert not missing, f"peers without a handshake: {missing}"


def test_second_apply_changes_nothing(mesh):
    keys_before = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in mesh.key_dir.iterdir()}
    before = mesh.snapshot()
    run = mesh.apply()
    assert run.changed() == 0, run.describe()
    for host, results in mesh.results().items():
        for r in results:
            assert r["changed"] is False, (host, r["item"]["name"])
            assert (r["peers_added"], r["peers_updated"], r["peers_removed"]) == ([], [], []), (host, r["item"]["name"])
    assert {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in mesh.key_dir.iterdir()} == keys_before
    assert mesh.snapshot() == before


def _start_ping(server: SimServer, address: str, out: Path) -> subprocess.Popen:
    # network namespace only (no PID namespace): the Popen PID is ping's own, so SIGINT reaches it
    with open(out, "w") as f:
        return subprocess.Popen([NSENTER, f"--target={server.pid}", "--net", "--",
                                 "ping", "-n", "-i", "0.01", "-W", "2", address],
                                stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _ping_losses(text: str) -> tuple[int, int, list[int]]:
    """(transmitted, received, lost sequence numbers) - the last packet may be in flight at SIGINT: not lost."""
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    assert m, text[-2000:]
    transmitted, received = int(m.group(1)), int(m.group(2))
    seqs = {int(x) for x in re.findall(r"icmp_seq=(\d+) ttl=", text)}
    lost = sorted(set(range(1, transmitted)) - seqs)
    return transmitted, received, lost


def test_changing_one_peer_leaves_the_others_alone(mesh, tmp_path):
    pub = {h: mesh.pubkey(h) for h in HOSTS}
    failures = mesh.ping_all_pairs()  # every peer has a live session before we look at handshakes
    assert not failures, failures
    handshakes_before = mesh.handshakes()
    assert all(ts > 0 for ts in handshakes_before.values()), handshakes_before
    # WireGuard renews a session (a new handshake) 120 s after the last one when traffic flows; this test
    # runs seconds after the first apply, far from that, so any handshake that moves was caused by the change
    oldest = time.time() - min(handshakes_before.values())
    assert oldest < 90, f"handshakes are {oldest:.0f}s old: too close to WireGuard's 120 s rekey to compare them"
    plan = mesh.plan_cache
    addr = {(a, b): address for a, _i, b, address in mesh.tunnel_pairs(plan)}
    # two concurrent pings: another peer of the very interface that changes (vpc2 -> vpc1's wgvpc0),
    # and an unrelated tunnel (vpc3 -> vpc2)
    pings = {}
    for src, dst in (("vpc2", "vpc1"), ("vpc3", "vpc2")):
        out = tmp_path / f"ping-{src}-{dst}.txt"
        pings[(src, dst)] = (_start_ping(mesh.server(src), addr[(src, dst)], out), out)
    try:
        time.sleep(0.5)
        for (src, dst), (proc, _out) in pings.items():
            assert proc.poll() is None, f"ping {src} -> {dst} ended early: {_out.read_text()}"
        run = mesh.apply(wg_it_peer_overrides={"vpc1": {"wgvpc0": {"vpc3": {"persistent_keepalive": 7}}}})
        time.sleep(0.3)
    finally:
        for proc, _out in pings.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc, _out in pings.values():
            proc.wait(timeout=10)
    assert (run.changed("vpc1"), run.changed("vpc2"), run.changed("vpc3")) == (1, 0, 0), run.describe()
    results = {h: {r["item"]["name"]: r for r in rs} for h, rs in mesh.results().items()}
    for host, by_iface in results.items():
        for name, r in by_iface.items():
            if (host, name) == ("vpc1", "wgvpc0"):
                assert r["changed"] is True
                assert (r["peers_added"], r["peers_updated"], r["peers_removed"]) == ([], [pub["vpc3"]], [])
            else:
                assert r["changed"] is False, (host, name)
    live = mesh.server("vpc1").run(["wg", "show", "wgvpc0", "persistent-keepalive"]).stdout
    assert f"{pub['vpc3']}\t7" in live.splitlines(), live
    assert f"{pub['vpc2']}\toff" in live.splitlines(), live
    conf = (mesh.server("vpc1").etc_wireguard / "wgvpc0.conf").read_text()
    assert re.search(r"PersistentKeepalive\s*=\s*7\b", conf), "the persisted file was not updated"

    # no other peer re-handshook: the sessions were not touched (the changed pair itself is left out)
    changed_pair = {("vpc1", "wgvpc0", pub["vpc3"]), ("vpc3", "wgvpc1", pub["vpc1"])}
    after = mesh.handshakes()
    moved = {k: (v, after.get(k)) for k, v in handshakes_before.items() if k not in changed_pair and after.get(k) != v}
    assert not moved, f"handshakes of untouched peers changed: {moved}"
    for (src, dst), (proc, out) in pings.items():
        text = out.read_text()
        transmitted, received, lost = _ping_losses(text)
        assert transmitted > 100, f"ping {src} -> {dst} too short to cover the change: {transmitted}"
        assert lost == [], f"ping {src} -> {dst} lost {len(lost)} of {transmitted} during the change: seq {lost[:20]}"


def test_check_mode_changes_nothing(mesh):
    pub = {h: mesh.pubkey(h) for h in HOSTS}
    before = mesh.snapshot()
    run = mesh.apply(
        check=True, diff=True,
        wg_it_iface_overrides={"vpc1": {"wgvpc0": {"mtu": 1380, "addresses": ["192.168.1.1/24", "192.168.99.1/24"]}},
                               "vpc3": {"wgvpc2": {"listen_port": 51999}}},
        wg_it_peer_overrides={"vpc1": {"wgvpc0": {"vpc3": {"persistent_keepalive": 9}}}},
        wg_it_drop_peers={"vpc1": {"wgvpc0": ["vpc2"]}},
    )
    assert run.changed("vpc1") >= 1 and run.changed("vpc3") >= 1 and run.changed("vpc2") == 0, run.describe()
    results = {h: {r["item"]["name"]: r for r in rs} for h, rs in mesh.results().items()}
    r = results["vpc1"]["wgvpc0"]
    assert r["changed"] is True
    assert r["peers_updated"] == [pub["vpc3"]] and r["peers_removed"] == [pub["vpc2"]] and r["peers_added"] == []
    assert "diff" in r, sorted(r)
    assert results["vpc3"]["wgvpc2"]["changed"] is True
    assert results["vpc3"]["wgvpc1"]["changed"] is False
    assert mesh.snapshot() == before, "check mode changed the servers"


def test_key_files_and_persisted_config(mesh):
    for f in mesh.key_dir.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f.name
    pub = {h: mesh.pubkey(h) for h in HOSTS}
    for host, ifaces in mesh.plan_cache.items():
        s = mesh.server(host)
        assert sorted(os.listdir(s.etc_wireguard)) == sorted(f"{i['name']}.conf" for i in ifaces)
        for iface in ifaces:
            conf = s.etc_wireguard / f"{iface['name']}.conf"
            assert stat.S_IMODE(conf.stat().st_mode) == 0o600, conf
            text = conf.read_text()
            lines = [line.strip() for line in text.splitlines()]
            assert "[Interface]" in lines
            # a wg-quick file carries the private key itself
            assert f"PrivateKey = {mesh.private_key(host)}" in lines, f"{host}/{conf.name}: no PrivateKey line of this host"
            assert f"Address = {iface['address']}" in lines or any(
                line.startswith("Address") and iface["address"] in line for line in lines), mesh.mask(text)
            assert lines.count("[Peer]") == len(iface["peers"])
            for p in iface["peers"]:
                assert f"PublicKey = {pub[p['host']]}" in lines
    # nothing went to the host's own /etc/wireguard
    assert not any(f.endswith(".conf") and f.startswith("wgvpc") for f in os.listdir("/etc/wireguard"))


def test_a_listening_server_back_from_a_reboot_reaches_its_peers_at_once(mesh):
    """vpc1 has the lowest index: it listens for both its pairs, and its wg-quick files name no endpoint. Taken down
    (as at shutdown) and brought up again (as at boot) by wg-quick alone, it reaches each peer at once, though they
    send nothing but keepalives on the sessions it forgot. Without the endpoint hooks it could not send to them at
    all ("Destination address required") until each renewed its session, up to about two minutes later."""
    server = mesh.server("vpc1")
    pairs = [(iface, peer, address) for host, iface, peer, address in mesh.tunnel_pairs(mesh.plan_cache) if host == "vpc1"]
    names = sorted({iface for iface, _peer, _address in pairs})
    for name in names:
        assert "Endpoint" not in (server.etc_wireguard / f"{name}.conf").read_text(), f"vpc1 dials on {name}"
        server.run(["wg-quick", "down", name])
    learned = {name: (server.etc_wireguard / f"{name}.endpoints").read_text() for name in names}
    for _iface, peer, _address in pairs:
        assert mesh.pubkey(peer) in "".join(learned.values()), f"the endpoint of {peer} was not kept: {learned}"
    for name in names:
        server.run(["wg-quick", "up", name])
    started = time.monotonic()
    for iface, peer, address in pairs:
        assert server.ping(address, tries=5, wait=1), f"vpc1 ({iface}) cannot reach {peer} {address} after its reboot"
    print("vpc1 reached its %d peers %.1f s after its tunnels came back" % (len(pairs), time.monotonic() - started))
    # the mesh as test_changing_one_peer_leaves_the_others_alone left it: its persistent keepalive kept, the other's off
    run = mesh.apply(wg_it_peer_overrides={"vpc1": {"wgvpc0": {"vpc3": {"persistent_keepalive": 7}}}})
    assert run.changed() == 0, run.describe()


def test_absent_leaves_nothing_behind(mesh):
    run = mesh.apply(wg_it_state="absent")
    for host in HOSTS:
        assert run.changed(host) >= 1, run.describe()
    for s in mesh.net.servers:
        links = [link["ifname"] for link in json.loads(s.run(["ip", "-j", "link", "show"]).stdout)]
        assert sorted(links) == ["eth0", "lo"], (s.name, links)
        assert s.run(["wg", "show", "interfaces"]).stdout.strip() == "", s.name
        deadline = time.monotonic() + 5
        while s.processes_named("wireguard-go") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert s.processes_named("wireguard-go") == [], f"{s.name}: wireguard-go still running"
        assert os.listdir(s.run_wireguard) == [], (s.name, os.listdir(s.run_wireguard))
        assert os.listdir(s.etc_wireguard) == [], (s.name, os.listdir(s.etc_wireguard))
        # the only processes left in the server are its PID 1
        assert [proc_comm(p) for p in s.processes()] == [], s.name
    again = mesh.apply(wg_it_state="absent")
    assert again.changed() == 0, again.describe()
