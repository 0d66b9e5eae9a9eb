# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host and its upstream, both simulated servers, for the netns_vpc role's integration tests.

* ``host``: the server the role runs on. Its uplink is its ``eth0`` on the simulated underlay
  (``203.0.113.0/24``, TEST-NET-3): ``203.0.113.1``, default route through the upstream. It gets a private
  tmpfs on ``/run/netns`` (inside its own mount namespace), so the namespaces the role creates never appear
  on the real machine and concurrent runs cannot collide.
* ``upstream``: "the internet", ``203.0.113.2``, also answering on ``198.51.100.1`` (TEST-NET-2). It has
  no route to the VPCs: only NATed traffic gets an answer.

Nothing is sent anywhere but between namespaces created here. Processes started here (the apps) are ended
by PID, and whatever is left dies with the simulated servers' PID namespaces at teardown.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from support import simnet
from support.procs import descendants

UNDERLAY = "203.0.113.0/24"
HOST_IP = "203.0.113.1"
UPSTREAM_IP = "203.0.113.2"
INTERNET_IP = "198.51.100.1"

# iptables-save prints a timestamp and counters: neither is configuration.
_SAVE_NOISE = re.compile(r"^#.*$\n?", re.M)
_COUNTERS = re.compile(r"\[\d+:\d+\]")


def prepare(net: simnet.SimNet) -> tuple[simnet.SimServer, simnet.SimServer]:
    host, upstream = net.servers
    host.run(["sh", "-c", "mkdir -p /run/netns && mount -t tmpfs -o mode=0755 netns-vpc-test /run/netns"])
    host.run(["ip", "route", "add", "default", "via", UPSTREAM_IP])
    upstream.run(["ip", "address", "add", INTERNET_IP + "/32", "dev", "lo"])
    return host, upstream


def inventory(net: simnet.SimNet, host: simnet.SimServer, variables: dict) -> Path:
    """An inventory with the host alone in the group netns_vpc; its files under the test's directory."""
    files = net.workdir / "netns_vpc_files"
    hostvars = {
        "ansible_host": host.underlay_ip,
        "ansible_connection": "simserver",
        "ansible_simserver_pid": host.pid,
        "ansible_python_interpreter": net.python,
        "ansible_pipelining": True,
        "ansible_become": False,
        "netns_vpc_install_packages": False,
        "netns_vpc_state_dir": str(files / "state"),
        "netns_vpc_boot_script": str(files / "netns-vpc-up"),
        "netns_vpc_unit_dir": str(files / "units"),
        "netns_vpc_service_manager": "none",
    }
    hostvars.update(variables)
    (files / "units").mkdir(parents=True, exist_ok=True)
    path = net.workdir / "netns_vpc_inventory.json"
    path.write_text(json.dumps({"all": {"children": {"netns_vpc": {"hosts": {host.name: hostvars}}}}}, indent=2))
    return path


def files_of(net: simnet.SimNet) -> Path:
    return net.workdir / "netns_vpc_files"


def _out(server: simnet.SimServer, argv: list[str]) -> str:
    return server.run(argv).stdout


def settle_links(host: simnet.SimServer, timeout: float = 5.0) -> None:
    """Wait until the kernel has applied each bridge's carrier to its operstate: it does so in deferred work
    (linkwatch), up to a second after a port came up, and until then a bridge with a live port still says UNKNOWN,
    as it did with none. A run that just built a bridge can end within that second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        links = json.loads(_out(host, ["ip", "-j", "-d", "link", "show"]))
        live_masters = set(link.get("master") for link in links if "LOWER_UP" in link.get("flags", []))
        if not any(link.get("linkinfo", {}).get("info_kind") == "bridge" and link.get("operstate") == "UNKNOWN"
                   and link["ifname"] in live_masters for link in links):
            return
        time.sleep(0.1)


def exact_state(host: simnet.SimServer) -> dict[str, str]:
    """What removal must leave exactly as it was: links, namespaces, both iptables, nft, forwarding, routes (once the
    links' states settled)."""
    settle_links(host)
    return {
        "ip -d link": _out(host, ["ip", "-d", "link"]),
        "ip netns": _out(host, ["ip", "netns"]),
        "iptables-nft-save": _COUNTERS.sub("", _SAVE_NOISE.sub("", _out(host, ["iptables-nft-save"]))),
        "iptables-legacy-save": _COUNTERS.sub("", _SAVE_NOISE.sub("", _out(host, ["iptables-legacy-save"]))),
        "nft list ruleset": _out(host, ["nft", "list", "ruleset"]),
        "ip -4 address": _out(host, ["ip", "-4", "address"]),
        "ip -4 route": _out(host, ["ip", "-4", "route"]),
        "ip_forward": _out(host, ["cat", "/proc/sys/net/ipv4/ip_forward"]),
    }


def _links(host: simnet.SimServer, netns: str | None = None) -> list:
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    links = json.loads(_out(host, prefix + ["-j", "-d", "address"]))
    summary = []
    for link in links:
        summary.append((
            link["ifname"], link.get("linkinfo", {}).get("info_kind"), link.get("master"), "UP" in link["flags"],
            sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", []) if a.get("scope") != "link"),
        ))
    routes = json.loads(_out(host, prefix + ["-j", "-4", "route"]))
    return sorted(summary) + sorted((r["dst"], r.get("gateway"), r.get("dev")) for r in routes)


def converged_state(host: simnet.SimServer) -> dict:
    """The VPCs as built (MACs and interface indexes aside): to compare a boot-script rebuild with a role run."""
    namespaces = sorted(line.split()[0] for line in _out(host, ["ip", "netns"]).splitlines() if line.strip())
    state = {"namespaces": namespaces, "host": _links(host),
             "iptables": _COUNTERS.sub("", _SAVE_NOISE.sub("", _out(host, ["iptables-save"]))),
             "ip_forward": _out(host, ["cat", "/proc/sys/net/ipv4/ip_forward"]).strip()}
    for namespace in namespaces:
        state[namespace] = _links(host, namespace)
        state[namespace + " iptables"] = _COUNTERS.sub("", _SAVE_NOISE.sub("", _out(
            host, ["ip", "netns", "exec", namespace, "iptables-save"])))
    return state


# -- traffic --------------------------------------------------------------------------------------

_CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)\n"
    "    s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
    "    print(s.recv(64).decode(errors='replace').splitlines()[0])\n"
    "except ConnectionRefusedError:\n"
    "    print('refused')\n"
    "except OSError as error:\n"
    "    print('error: %s' % error)\n"
)


def connect(server: simnet.SimServer, address: str, port: int, netns: str | None = None) -> str:
    """The first line the peer sends after a GET, or 'refused', or 'error: ...'."""
    argv = (["ip", "netns", "exec", netns] if netns else []) + ["python3", "-c", _CONNECT, address, str(port)]
    return server.run(argv, check=False).stdout.strip()


class Apps:
    """Processes started in the host's namespaces by the test (no systemd here), ended by PID."""

    def __init__(self, host: simnet.SimServer):
        self.host = host
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, netns: str, port: int, text: str) -> None:
        """A one-line HTTP answer 'HTTP/1.0 200 <text>' on port, inside netns; returns once it listens."""
        code = ("import socket\n"
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('0.0.0.0', %d)); s.listen(16)\n"
                "while True:\n"
                "    c, a = s.accept()\n"
                "    c.recv(1024); c.sendall(b'HTTP/1.0 200 %s\\r\\n\\r\\n'); c.close()\n" % (port, text))
        proc = self.host.popen(["ip", "netns", "exec", netns, "python3", "-c", code],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append((netns, proc))
        deadline = time.monotonic() + 10
        while ":%d " % port not in self.host.run(["ip", "netns", "exec", netns, "ss", "-ltnH"]).stdout:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise simnet.SimError("app on %s:%d did not start" % (netns, port))
            time.sleep(0.05)

    def stop(self, netns: str | None = None) -> None:
        """End the apps (those in netns only, when given): the nsenter processes we started and, inside, their
        children (by PID, from the host)."""
        for where, proc in self.procs:
            if netns and where != netns:
                continue
            for pid in descendants(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.kill()
            proc.wait(timeout=10)
        self.procs = [(where, proc) for where, proc in self.procs if netns and where != netns]
