# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Simulated servers: throwaway Linux namespaces that Ansible can reach with nsenter.

Each simulated server is one long-lived *anchor* process started with
``unshare --net --mount --uts --pid --fork --mount-proc``.  The anchor is PID 1 of
its own PID namespace and a tiny init that reaps orphans (the machine's real PID 1
does not reap zombies, and a killed ``wireguard-go`` daemon would otherwise stay a
zombie and look alive).  Per server:

* its own hostname (UTS namespace);
* its own network stack: loopback up, ``eth0`` joined to the underlay;
* its own ``/run/wireguard``, ``/etc/wireguard``, ``/etc/hosts`` and ``/etc/hostname``:
  bind mounts of files/directories under the server's work directory on the host,
  so the tests can inspect them from outside; ``/etc/hosts`` is writable in place;
* its own ``/proc`` (a process listing inside shows only that server's processes).

The underlay is a *fabric* network namespace (its own anchor, ``unshare --net``)
holding a bridge; every server is joined to it by a veth pair created inside the
fabric namespace (the host's root network namespace is never touched) and gets an
address in ``10.213.0.0/16`` (configurable).  Nothing is routed outside the
namespaces created here.

Teardown kills only processes whose network or mount namespace is one of ours
(compared by the inode of ``/proc/PID/ns/net`` / ``ns/mnt``, never by name), then
the anchors; a killed anchor takes its PID namespace with it, and the network
namespaces disappear with their last process.  The anchors carry
``PR_SET_PDEATHSIG`` and ``unshare --kill-child``: if the test process dies
without running teardown, the servers die with it.

No named namespaces, no files under ``/run/netns`` and no interfaces in the root
namespace are created, so concurrent runs cannot collide.  The only trace on the
host outside the work directory is the empty mount point ``/run/wireguard``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from support.pings import ping
from support.procs import ns_inode, pdeathsig, pids_in_namespaces, proc_comm

UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"
IP = shutil.which("ip") or "/usr/sbin/ip"
SYSTEM_PYTHON = "/usr/bin/python3"

DEFAULT_UNDERLAY = "10.213.0.0/16"

# PID 1 of each simulated server: reaps orphans (wireguard-go daemons end up here),
# reports readiness on stdout, then sleeps.  SIGKILL from the host ends it, and the
# kernel then kills every process of its PID namespace.
_INIT = r"""
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
sys.stdout.write("ready\n")
sys.stdout.flush()
null = os.open("/dev/null", os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
while True:
    signal.sigtimedwait({signal.SIGCHLD}, 5)
    reap()
"""

# Runs as PID 1 of the new namespaces before exec'ing the init above.
_SETUP = r"""
set -eu
root="$1"; name="$2"
hostname "$name"
mkdir -p /run/wireguard
mount --bind "$root/run-wireguard" /run/wireguard
mount --bind "$root/etc-wireguard" /etc/wireguard
mount --bind "$root/hosts" /etc/hosts
mount --bind "$root/hostname" /etc/hostname
ip link set lo up
exec "$3" -c "$4"
"""


class SimError(RuntimeError):
    pass


@dataclass
class SimServer:
    """One simulated server; ``pid`` is its anchor (PID 1 of its PID namespace) in the host's view."""

    name: str
    index: int
    root: Path
    underlay_ip: str
    pid: int = 0
    unshare_pid: int = 0
    net_ns: int = 0
    mnt_ns: int = 0
    _unshare: subprocess.Popen | None = field(default=None, repr=False)

    # -- paths on the host that are this server's files -------------------------------
    @property
    def run_wireguard(self) -> Path:
        return self.root / "run-wireguard"

    @property
    def etc_wireguard(self) -> Path:
        return self.root / "etc-wireguard"

    @property
    def hosts_file(self) -> Path:
        return self.root / "hosts"

    # -- running things inside ---------------------------------------------------------
    def nsenter_argv(self, argv: list[str]) -> list[str]:
        return [NSENTER, f"--target={self.pid}", "--mount", "--uts", "--net", "--pid", "--", *argv]

    def run(self, argv: list[str] | str, check: bool = True, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
        """Run a command inside the server (a string goes through /bin/sh -c)."""
        if isinstance(argv, str):
            argv = ["/bin/sh", "-c", argv]
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        proc = subprocess.run(self.nsenter_argv(argv), timeout=timeout, check=False, **kwargs)
        if check and proc.returncode != 0:
            raise SimError(f"{self.name}: {argv!r} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        """Start a command inside the server in the background (killed by teardown at the latest)."""
        return subprocess.Popen(self.nsenter_argv(argv), **kwargs)

    def processes(self) -> list[int]:
        """Live processes (host PIDs) in this server's network namespace, the anchor (and its unshare parent,
        which lives in the same network namespace, outside the PID namespace) excluded."""
        return [p for p in pids_in_namespaces({self.net_ns}) if p not in (self.pid, self.unshare_pid)]

    def processes_named(self, comm: str) -> list[int]:
        return [p for p in self.processes() if proc_comm(p) == comm]

    def ping(self, address: str, tries: int = 10, wait: float = 1.0) -> bool:
        """Ping once, retrying (fresh tunnels may drop the very first packet)."""
        return ping(self, address, tries=tries, wait=wait)


class SimNet:
    """N simulated servers on one bridged underlay.  Use as a context manager or call teardown()."""

    def __init__(self, count: int, workdir: Path | str, prefix: str = "vpc", underlay: str = DEFAULT_UNDERLAY,
                 python: str = SYSTEM_PYTHON, group: str = "vpc"):
        if count < 1:
            raise ValueError("count must be >= 1")
        self.run_id = secrets.token_hex(3)
        self.workdir = Path(workdir).resolve() / f"simnet-{self.run_id}"
        self.prefix = prefix
        self.group = group
        self.python = python
        self.underlay = ipaddress.ip_network(underlay)
        if count >= self.underlay.num_addresses - 2:
            raise ValueError("underlay too small")
        self.servers: list[SimServer] = []
        self.fabric_pid = 0
        self.fabric_net_ns = 0
        self._fabric: subprocess.Popen | None = None
        self._own_net_ns = ns_inode("self", "net")
        self._own_mnt_ns = ns_inode("self", "mnt")
        self._torn_down = False
        self.count = count

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> "SimNet":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.teardown()

    def start(self) -> "SimNet":
        if os.geteuid() != 0:
            raise SimError("simulated servers need root (namespaces, veth, bind mounts)")
        self.workdir.mkdir(parents=True)
        try:
            self._start_fabric()
            # spawn every anchor first, then wait for each: the servers boot in parallel
            for i in range(1, self.count + 1):
                self.servers.append(self._spawn_server(i))
            for server in self.servers:
                self._await_server(server)
            self._wire_underlay()
            self.write_inventory()
        except BaseException:
            self.teardown()
            raise
        return self

    def _start_fabric(self) -> None:
        script = f"set -e; {IP} link set lo up; {IP} link add br0 type bridge; {IP} link set br0 up; exec sleep infinity"
        self._fabric = subprocess.Popen(
            [UNSHARE, "--net", "--", "/bin/sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=pdeathsig, close_fds=True,
        )
        self.fabric_pid = self._fabric.pid
        sleep_exe = os.path.realpath(shutil.which("sleep") or "/usr/bin/sleep")
        deadline = time.monotonic() + 10
        while True:
            if self._fabric.poll() is not None:
                raise SimError(f"fabric namespace failed: {self._fabric.stderr.read().decode(errors='replace')}")
            try:
                if os.readlink(f"/proc/{self.fabric_pid}/exe") == sleep_exe:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SimError("fabric namespace did not come up")
            time.sleep(0.005)
        self._fabric.stderr.close()
        self.fabric_net_ns = ns_inode(self.fabric_pid, "net")
        if self.fabric_net_ns in (None, self._own_net_ns):
            raise SimError("fabric namespace is not a new network namespace")

    def _spawn_server(self, index: int) -> SimServer:
        name = f"{self.prefix}{index}"
        root = self.workdir / name
        for sub, mode in (("run-wireguard", 0o755), ("etc-wireguard", 0o700)):
            (root / sub).mkdir(parents=True)
            os.chmod(root / sub, mode)
        (root / "hosts").write_text(
            f"127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        )
        (root / "hostname").write_text(f"{name}\n")
        os.makedirs("/run/wireguard", exist_ok=True)  # mount point only; each server mounts its own over it
        server = SimServer(name=name, index=index, root=root, underlay_ip=str(self.underlay[index]))
        proc = subprocess.Popen(
            [UNSHARE, "--net", "--mount", "--uts", "--pid", "--fork", "--mount-proc", "--kill-child",
             "--propagation", "private", "--", "/bin/sh", "-c", _SETUP, "sh", str(root), name, SYSTEM_PYTHON, _INIT],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=pdeathsig, close_fds=True,
        )
        server._unshare = proc
        server.unshare_pid = proc.pid
        return server

    def _await_server(self, server: SimServer) -> None:
        proc, name = server._unshare, server.name
        line = proc.stdout.readline().decode()
        if line.strip() != "ready":
            proc.kill()
            proc.wait()
            raise SimError(f"server {name} failed to start: {line}{proc.stderr.read().decode(errors='replace')}")
        proc.stdout.close()
        proc.stderr.close()
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if len(children) != 1:
            raise SimError(f"server {name}: expected one child of unshare, got {children}")
        server.pid = int(children[0])
        server.net_ns = ns_inode(server.pid, "net")
        server.mnt_ns = ns_inode(server.pid, "mnt")
        if server.net_ns in (None, self._own_net_ns, self.fabric_net_ns) or server.mnt_ns in (None, self._own_mnt_ns):
            raise SimError(f"server {name}: namespaces not created")

    def _wire_underlay(self) -> None:
        fabric_cmds = []
        for s in self.servers:
            fabric_cmds.append(f"link add v{s.index} type veth peer name eth0 netns {s.pid}")
            fabric_cmds.append(f"link set v{s.index} master br0 up")
        self.fabric_ip_batch(fabric_cmds)
        plen = self.underlay.prefixlen
        for s in self.servers:
            s.run([IP, "-batch", "-"], input=f"addr add {s.underlay_ip}/{plen} dev eth0\nlink set eth0 up\n")

    def fabric_ip_batch(self, commands: list[str]) -> None:
        proc = subprocess.run([NSENTER, f"--target={self.fabric_pid}", "--net", "--", IP, "-batch", "-"],
                              input="\n".join(commands) + "\n", capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise SimError(f"fabric ip -batch failed: {proc.stderr}")

    def teardown(self) -> None:
        """Kill every process in our namespaces (by namespace inode), then the anchors. Idempotent."""
        if self._torn_down:
            return
        self._torn_down = True
        net = {s.net_ns for s in self.servers if s.net_ns} | ({self.fabric_net_ns} if self.fabric_net_ns else set())
        mnt = {s.mnt_ns for s in self.servers if s.mnt_ns}
        net.discard(self._own_net_ns)  # paranoia: never match the test process's own namespaces
        mnt.discard(self._own_mnt_ns)
        anchors = {s.pid for s in self.servers if s.pid} | ({self.fabric_pid} if self.fabric_pid else set())
        me = os.getpid()
        deadline = time.monotonic() + 15
        while True:
            victims = [p for p in pids_in_namespaces(net, mnt) if p != me] if (net or mnt) else []
            victims += [p for p in anchors if ns_inode(p, "net") is not None and p not in victims]
            # Processes first, anchors last (an anchor's death kills its PID namespace anyway).
            for pid in sorted(victims, key=lambda p: p in anchors):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for s in self.servers:
                if s._unshare is not None and s._unshare.poll() is None and not victims:
                    s._unshare.kill()
            if not victims:
                break
            if time.monotonic() > deadline:
                raise SimError(f"could not kill processes {victims} of simulated servers")
            time.sleep(0.02)
        for proc in [s._unshare for s in self.servers] + [self._fabric]:
            if proc is not None:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)

    def leftovers(self) -> list[int]:
        """Processes still in any of our namespaces (should be [] after teardown)."""
        net = {s.net_ns for s in self.servers} | {self.fabric_net_ns}
        net.discard(self._own_net_ns)
        net.discard(None)
        net.discard(0)
        return pids_in_namespaces(net)

    # -- Ansible ------------------------------------------------------------------------
    @property
    def inventory_path(self) -> Path:
        return self.workdir / "inventory.json"

    def inventory(self, extra_hostvars: dict | None = None) -> dict:
        hosts = {}
        for s in self.servers:
            hv = {
                "ansible_host": s.underlay_ip,
                "ansible_connection": "simserver",
                "ansible_simserver_pid": s.pid,
                "wg_mesh_index": s.index,
                "wg_mesh_endpoint": s.underlay_ip,
            }
            hv.update((extra_hostvars or {}).get(s.name, {}))
            hosts[s.name] = hv
        return {
            "all": {
                "children": {
                    self.group: {
                        "hosts": hosts,
                        "vars": {
                            "ansible_python_interpreter": self.python,
                            "ansible_pipelining": True,
                        },
                    }
                }
            }
        }

    def write_inventory(self, extra_hostvars: dict | None = None) -> Path:
        """Inventory (JSON is YAML) with one host per server, reached through the simserver connection."""
        self.inventory_path.write_text(json.dumps(self.inventory(extra_hostvars), indent=2))
        return self.inventory_path

    def by_name(self, name: str) -> SimServer:
        for s in self.servers:
            if s.name == name:
                return s
        raise KeyError(name)
