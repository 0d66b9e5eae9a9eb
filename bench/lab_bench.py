# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the mesh on the qemu lab (`make lab` first): convergence, data plane, VPC-only services.

Measures, on the lab's running servers (inventories/lab/hosts.yml):
  convergence  the floor of any Ansible run (facts + one module), site.yml's first run (after a removal run),
               its idempotent rerun (with the wall time of every task) and its run after adding a 4th server,
               each the median of --repeat runs, with the stock strategy and with mitogen's;
  dataplane    iperf3 throughput and TCP round trips between two servers over the mesh and over the underlay
               (qemu user networking, 10.0.2.2 and a forwarded port), and ICMP ping over the mesh;
  services     throughput and connection rate to a service on 127.0.0.1 of one server: through socat mode and
               iptables mode from another server, and direct on the same server;
  vpc          iperf3 from a namespace subnet on the first server to a subnet of the same VPC on the second (a VPC
               spanning servers, routed over the mesh), against host to host over the same mesh pair;
  netns        the namespace VPCs of seed 001 (company-a, 2 subnets; playbooks/netns_vpc.yml) on the first server:
               the floor on that server alone, first run, idempotent rerun (with its task times) and removal run.
Prints a table and writes it, with the raw numbers as JSON, under --results as <UTC date and time>-lab.txt/.json.
Leaves the lab as it found it: 3 servers, the mesh converged with the inventory's own services only, no VPC.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

from support.playbook import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
LAB_INVENTORY = os.path.join(REPO, "inventories", "lab", "hosts.yml")
SITE = os.path.join(REPO, "site.yml")
FLOOR = os.path.join(BENCH, "playbooks", "floor.yml")
LAB_PLAYBOOK = os.path.join(REPO, "playbooks", "lab.yml")
NETNS_PLAYBOOK = os.path.join(REPO, "playbooks", "netns_vpc.yml")
# The VPCs of the netns part: seed 001's, as its example inventory writes them.
NETNS_SEED = os.path.join(REPO, "inventories", "examples", "seed001.yml")
PROBE = os.path.join(BENCH, "probe.py")
# Where the probe goes on the VMs (readable by the DynamicUser of the bench's echo services).
GUEST_PROBE_DIR = "/usr/local/lib/fakevpc-bench"
GUEST_PROBE = GUEST_PROBE_DIR + "/probe.py"
# iperf3's port, forwarded by the lab from the host (roles/qemu_lab, qemu_lab_tcp_forwards).
IPERF_PORT = 5201
# The bench's own VPC-only services on the second server: (name, port, mode, kind).
BENCH_SERVICES = (
    ("bench-iperf-socat", 7101, "socat", "iperf3"),
    ("bench-iperf-ipt", 7102, "iptables", "iperf3"),
    ("bench-echo-socat", 7103, "socat", "echo"),
    ("bench-echo-ipt", 7104, "iptables", "echo"),
)
# The bench's VPC (part vpc): one subnet on each of the first two servers, on a lab that declares no VPC.
BENCH_VPC = {"name": "benchvpc", "cidr": "10.251.0.0/16",
             "subnets": [{"name": "one", "cidr": "10.251.1.0/24"}, {"name": "two", "cidr": "10.251.2.0/24"}]}
# The address of subnet two's namespace (its first address is the gateway) and the namespaces of both subnets.
BENCH_VPC_TARGET = "10.251.2.2"
BENCH_VPC_NAMESPACES = ("ns-benchvpc-one", "ns-benchvpc-two")
# mitogen's strategy (when installed) and the stock one; mitogen's first, as the shorter.
STRATEGIES = ("mitogen_linear", "linear")
# Extra vars of the removal run that makes the next site.yml run a first run (VMs and keys stay).
REMOVAL_VARS = {"wg_mesh_state": "absent", "vpc_service_services": []}


class BenchError(Exception):
    """A step of the bench failed: the message says which, and where its log is."""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def load_average():
    return [round(value, 2) for value in os.getloadavg()]


def cache_dir():
    """The qemu lab's cache directory (qemu_lab_cache_dir's default)."""
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "fakevpc")


def qemu_processes():
    """Count the qemu system emulators running on this host (every lab, ours and others')."""
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv0 = handle.read().split(b"\0", 1)[0]
        except OSError:
            continue
        if os.path.basename(argv0).startswith(b"qemu-system"):
            count += 1
    return count


def describe_machine():
    """Cores, CPU model, memory, KVM or TCG (from the lab's probe cache), kernel, git commit."""
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        memory_kib = int(handle.readline().split()[1])
    try:
        with open(os.path.join(cache_dir(), "accel.json"), encoding="utf-8") as handle:
            accel = json.load(handle)["result"]
    except (OSError, ValueError, KeyError):
        accel = {"accel": "unknown", "reason": "no %s/accel.json: run `make lab` first" % cache_dir()}
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(memory_kib / 2 ** 20, 1),
            "accel": accel.get("accel"), "accel_reason": accel.get("reason"), "kernel": platform.release(),
            "python": platform.python_version(), "commit": commit}


def mitogen_strategy_dir():
    """Directory of mitogen's strategy plugins, or None when mitogen is not installed."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "plugins", "strategy")


class Lab:
    """The lab's servers as its inventory describes them, reached by SSH for the data-plane probes."""

    def __init__(self, workdir, inventory):
        self.workdir = workdir
        self.inventory = inventory
        self.hostvars = {}
        self.names = []
        self.reload()

    def reload(self):
        """Read the inventory (it changes when the lab grows to 4 servers and back)."""
        listing = subprocess.run(["ansible-inventory", "-i", self.inventory, "--list"], capture_output=True,
                                 text=True, check=False, cwd=REPO)
        if listing.returncode != 0:
            raise BenchError("cannot read %s (run `make lab` first): %s" % (self.inventory, listing.stderr.strip()))
        inventory = json.loads(listing.stdout)
        self.hostvars = inventory["_meta"]["hostvars"]
        self.names = sorted(inventory["vpc"]["hosts"], key=lambda host: self.hostvars[host]["wg_mesh_index"])

    def ssh_argv(self, host):
        variables = self.hostvars[host]
        return ["ssh", "-p", str(variables["ansible_port"]), "-i", variables["ansible_ssh_private_key_file"],
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ControlMaster=auto", "-o", "ControlPersist=120",
                "-o", "ControlPath=%s/ssh-%%C" % self.workdir,
                "%s@%s" % (variables["ansible_user"], variables["ansible_host"])]

    def run(self, host, command, stdin=None, timeout=120):
        """Run a shell command on a server; return its stdout, or fail naming the server and command."""
        result = subprocess.run(self.ssh_argv(host) + [command], input=stdin, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if result.returncode != 0:
            problem = (result.stderr or result.stdout).strip()
            raise BenchError("%s: `%s` failed (%d): %s" % (host, command, result.returncode, problem))
        return result.stdout

    def close(self):
        """Stop the bench's own SSH master connections."""
        for host in self.names:
            subprocess.run(self.ssh_argv(host)[:-1] + ["-O", "exit", self.ssh_argv(host)[-1]], capture_output=True,
                           check=False)


class Ansible:
    """Runs playbooks on the lab, timed, with a chosen strategy; keeps every log in the work directory."""

    def __init__(self, workdir, inventory, log):
        self.workdir = workdir
        self.inventory = inventory
        self.log = log
        self.inventory = inventory
        self.mitogen_dir = mitogen_strategy_dir()
        self.runs = 0

    def strategies(self, wanted):
        """The wanted strategies, in the bench's order, without mitogen's when it is not installed."""
        return [strategy for strategy in STRATEGIES if strategy in wanted and (strategy == "linear" or self.mitogen_dir)]

    def environment(self, strategy, times_file):
        env = dict(os.environ)
        env["ANSIBLE_CONFIG"] = os.path.join(REPO, "ansible.cfg")
        env["ANSIBLE_STRATEGY"] = strategy
        env["ANSIBLE_CALLBACK_PLUGINS"] = os.path.join(BENCH, "callback_plugins")
        env["ANSIBLE_CALLBACKS_ENABLED"] = "bench_task_times"
        env["BENCH_TASK_TIMES_FILE"] = times_file
        env["ANSIBLE_NOCOLOR"] = "1"
        # TCG guests on a loaded host can take more than the default 10 s to answer SSH or sudo.
        env["ANSIBLE_TIMEOUT"] = "60"
        if strategy.startswith("mitogen"):
            env["ANSIBLE_STRATEGY_PLUGINS"] = self.mitogen_dir
        return env

    def fastest(self):
        return "mitogen_linear" if self.mitogen_dir else "linear"

    def play(self, label, playbook, strategy, extra_vars=None, inventories=None, limit=None):
        """Run one playbook (on the lab's inventory unless given others, on the hosts of limit when given); return
        its wall time, the PLAY RECAP's changed count and its task times."""
        if inventories is None:
            inventories = (self.inventory,)
        self.runs += 1
        base = os.path.join(self.workdir, "%03d-%s-%s" % (self.runs, re.sub(r"[^a-z0-9]+", "-", label.lower()), strategy))
        self.log("  %s (%s)..." % (label, strategy))
        load = os.getloadavg()[0]
        started_at = time.time()
        run = run_playbook(playbook, list(inventories), extra_vars, verbose=0, timeout=None, cwd=REPO,
                           extra_args=["--limit", limit] if limit else None,
                           environ=self.environment(strategy, base + ".json"), log=base + ".log")
        seconds = run.seconds
        if run.rc != 0:
            raise BenchError("%s (%s) failed (exit %d): see %s.log" % (label, strategy, run.rc, base))
        changed = sum(int(count) for count in re.findall(r"^\S+\s+: ok=\d+\s+changed=(\d+)", run.stdout, re.M))
        with open(base + ".json", encoding="utf-8") as handle:
            times = json.load(handle)
        self.log("  %s (%s): %.1f s, %d changed, load %.2f" % (label, strategy, seconds, changed, load))
        return {"seconds": seconds, "changed": changed, "load": load,
                "startup": times["events"][0]["start"] - started_at if times["events"] else None,
                "events": times["events"]}


def median_run(runs):
    values = [run["seconds"] for run in runs]
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "changed": [run["changed"] for run in runs], "load": [round(run["load"], 2) for run in runs]}


def task_profile(runs):
    """Median wall time of every task of several runs of one playbook, longest first, with the startup."""
    by_task = {}
    order = []
    for run in runs:
        seen = {}
        for event in run["events"]:
            if event["kind"] == "play":
                continue
            # A task name can repeat (plan.yml is included twice): number the repeats.
            seen[event["name"]] = seen.get(event["name"], 0) + 1
            key = event["name"] if seen[event["name"]] == 1 else "%s (#%d)" % (event["name"], seen[event["name"]])
            if key not in by_task:
                order.append(key)
            by_task.setdefault(key, []).append(event["seconds"])
    tasks = [{"task": key, "seconds": statistics.median(by_task[key])} for key in order]
    tasks.sort(key=lambda task: -task["seconds"])
    return {"startup": statistics.median(run["startup"] for run in runs), "tasks": tasks,
            "total": statistics.median(run["seconds"] for run in runs)}


def bench_convergence(ansible, strategies, repeat, first_runs, log, results):
    """Floor, first run and rerun of site.yml on the 3 servers, per strategy; leaves them converged.

    Floors and reruns are repeated `repeat` times; first runs, which each need a removal run before them,
    `first_runs` times (0: none). The reruns follow the last first run. Fills `results` (by strategy) and
    calls log.checkpoint() after each run.
    """
    fastest = ansible.fastest()
    for strategy in strategies:
        log("convergence, strategy %s" % strategy)
        # Warm up: SSH master connections (stock) and the guests' page cache, as for any rerun.
        ansible.play("warm-up floor", FLOOR, strategy)
        floor = []
        for _run in range(repeat):
            floor.append(ansible.play("floor", FLOOR, strategy))
            results[strategy] = {"floor": median_run(floor)}
            log.checkpoint()
        if first_runs:
            first, removal = [], []
            for _run in range(first_runs):
                removal.append(ansible.play("removal run", SITE, fastest, REMOVAL_VARS))
                first.append(ansible.play("first run", SITE, strategy))
            results[strategy].update(first=median_run(first), removal=median_run(removal))
            log.checkpoint()
        rerun = []
        for _run in range(repeat):
            rerun.append(ansible.play("rerun", SITE, strategy))
            results[strategy].update(rerun=median_run(rerun), rerun_profile=task_profile(rerun))
            log.checkpoint()


def bench_fourth_server(ansible, lab, strategies, first_runs, log, results):
    """site.yml run adding a 4th server, per strategy, `first_runs` times each; leaves 3 servers converged."""
    fastest = ansible.fastest()
    log("convergence: adding a 4th server")
    with lab_of_four(ansible, lab) as overlay:
        for strategy in strategies:
            added = []
            for _run in range(first_runs):
                ansible.play("4th server left out", SITE, fastest, inventories=(ansible.inventory, overlay))
                added.append(ansible.play("4th server added", SITE, strategy))
            results.setdefault(strategy, {})["add_fourth"] = median_run(added)
            log.checkpoint()


@contextlib.contextmanager
def lab_of_four(ansible, lab):
    """Boot a 4th server for the body (yield an inventory overlay marking it absent), then go back to 3."""
    overlay = os.path.join(ansible.workdir, "fourth-absent.yml")
    with open(overlay, "w", encoding="utf-8") as handle:
        handle.write("vpc:\n  hosts:\n    server4:\n      wg_mesh_state: absent\n")
    # The lab role starts qemu: stock strategy (mitogen pins its children to one CPU).
    ansible.play("boot a 4th server", LAB_PLAYBOOK, "linear", {"qemu_lab_servers": 4}, inventories=())
    lab.reload()
    try:
        yield overlay
    finally:
        ansible.play("4th server removed", SITE, ansible.fastest(), inventories=(ansible.inventory, overlay))
        ansible.play("back to 3 servers", LAB_PLAYBOOK, "linear", {"qemu_lab_servers": 3}, inventories=())
        lab.reload()


def netns_overlay(workdir, host):
    """An inventory overlay putting host alone in the group netns_vpc, with seed 001's VPCs; its path.

    The seed's 10.0.0.0/16 moves to 10.100.0.0/16: a lab VM's user network is 10.0.2.0/24, which no VPC may cover."""
    with open(NETNS_SEED, encoding="utf-8") as handle:
        vpcs = json.dumps(yaml.safe_load(handle)["netns_vpc"]["vars"]["netns_vpc_vpcs"])
    overlay = os.path.join(workdir, "netns-vpc.yml")
    with open(overlay, "w", encoding="utf-8") as handle:
        handle.write('{"netns_vpc": {"hosts": {"%s": {}}, "vars": {"netns_vpc_vpcs": %s}}}'
                     % (host, vpcs.replace('"10.0.', '"10.100.')))
    return overlay


def bench_netns_vpc(ansible, lab, strategies, repeat, first_runs, log, results):
    """Floor, first run, rerun and removal of seed 001's namespace VPCs on the first server, per strategy.

    In rounds of a floor, a removal run, a first run and a rerun, back to back, so that a lab VM's drift (a third
    within minutes under TCG) touches every kind of run alike; the ratios are of the medians (a single floor varies
    too much to divide a round by it). A last removal run leaves the server as it was. Fills `results` (by
    strategy) and calls log.checkpoint() after each round.
    """
    host = lab.names[0]
    overlay = netns_overlay(ansible.workdir, host)
    inventories = (ansible.inventory, overlay)
    removal_vars = {"netns_vpc_state": "absent"}
    log("namespace VPCs (seed 001, company-a) on %s" % host)
    try:
        for strategy in strategies:
            ansible.play("netns warm-up floor", FLOOR, strategy, limit=host)
            floor, removal, first, rerun = [], [], [], []
            for _round in range(max(repeat, first_runs, 1)):
                floor.append(ansible.play("netns floor", FLOOR, strategy, limit=host))
                removal.append(ansible.play("netns removal run", NETNS_PLAYBOOK, strategy, removal_vars, inventories))
                first.append(ansible.play("netns first run", NETNS_PLAYBOOK, strategy, inventories=inventories))
                rerun.append(ansible.play("netns rerun", NETNS_PLAYBOOK, strategy, inventories=inventories))
                results[strategy] = {
                    "floor": median_run(floor), "first": median_run(first), "rerun": median_run(rerun),
                    "removal": median_run(removal), "first_profile": task_profile(first),
                    "rerun_profile": task_profile(rerun)}
                log.checkpoint()
            removal.append(ansible.play("netns removal run", NETNS_PLAYBOOK, strategy, removal_vars, inventories))
            results[strategy].update(removal=median_run(removal))
            log.checkpoint()
    except BenchError:
        ansible.play("netns removal after a failure", NETNS_PLAYBOOK, ansible.fastest(), removal_vars, inventories)
        raise


def mesh_name(lab, host):
    return "%s.%s" % (lab.hostvars[host].get("wg_mesh_name", "server%d" % lab.hostvars[host]["wg_mesh_index"]),
                      lab.hostvars[host].get("wg_mesh_domain", "vpcdomain"))


def install_probe(lab, hosts):
    with open(PROBE, encoding="utf-8") as handle:
        source = handle.read()
    for host in hosts:
        lab.run(host, "sudo install -d -m 0755 %s && sudo tee %s >/dev/null && sudo chmod 0644 %s"
                % (GUEST_PROBE_DIR, GUEST_PROBE, GUEST_PROBE), stdin=source)


def remove_probe(lab, hosts):
    for host in hosts:
        lab.run(host, "sudo rm -rf %s" % GUEST_PROBE_DIR)


@contextlib.contextmanager
def transient_unit(lab, host, unit, command):
    """Run a command on a server as a transient systemd unit for the body, and wait for it to listen."""
    lab.run(host, "sudo systemd-run --quiet --collect --unit=%s %s" % (unit, command))
    try:
        yield
    finally:
        lab.run(host, "sudo systemctl stop %s.service 2>/dev/null || true" % unit)


def in_netns(netns, command):
    """A command line run in a network namespace of the server (as root), or as it is when netns is None."""
    return "sudo ip netns exec %s %s" % (netns, command) if netns else command


def wait_listening(lab, host, port, address=None, netns=None):
    """Wait until something listens on port (on address, when given) of a server, for up to 30 s."""
    where = "src %s:%d" % (address, port) if address else "sport = :%d" % port
    lab.run(host, "for try in $(seq 150); do %s | grep -q . && exit 0; sleep 0.2; done; "
                  "echo 'nothing listens on %s' >&2; exit 1" % (in_netns(netns, "ss -Hltn '%s'" % where), where))


def iperf(lab, client, address, port, seconds, netns=None):
    """Throughput in Mbit/s of one iperf3 TCP test (received side), from a namespace of the client if given."""
    output = lab.run(client, in_netns(netns, "iperf3 -J -c %s -p %d -t %d -O 1" % (address, port, seconds)),
                     timeout=seconds + 60)
    return json.loads(output)["end"]["sum_received"]["bits_per_second"] / 1e6


def probe(lab, host, arguments, timeout=120):
    return json.loads(lab.run(host, "python3 %s %s" % (GUEST_PROBE, arguments), timeout=timeout))


def bench_dataplane(lab, seconds, log):
    """iperf3, TCP round trips and ping between the first two servers: over the mesh and over the underlay."""
    client, target = lab.names[0], lab.names[1]
    forwarded = lab.hostvars[target].get("qemu_lab_tcp_forwarded", {})
    host_port = forwarded.get(IPERF_PORT, forwarded.get(str(IPERF_PORT)))
    if host_port is None:
        raise BenchError("%s has no TCP forward of port %d (qemu_lab_tcp_forwards): this lab was started before "
                         "it existed; run `make lab-stop lab-up`" % (target, IPERF_PORT))
    paths = {"mesh": (mesh_name(lab, target), IPERF_PORT),
             "underlay": (lab.hostvars[target].get("wg_mesh_endpoint", "10.0.2.2"), int(host_port))}
    log("data plane: %s -> %s, mesh %s:%d, underlay %s:%d"
        % (client, target, paths["mesh"][0], paths["mesh"][1], paths["underlay"][0], paths["underlay"][1]))
    results = {"client": client, "target": target, "paths": {key: "%s:%d" % value for key, value in paths.items()}}
    for path, (address, port) in paths.items():
        with transient_unit(lab, target, "fakevpc-bench-iperf3", "iperf3 -s -p %d" % IPERF_PORT):
            wait_listening(lab, target, IPERF_PORT)
            results.setdefault("iperf3_mbit", {})[path] = iperf(lab, client, address, port, seconds)
        with transient_unit(lab, target, "fakevpc-bench-echo",
                            "python3 %s echo-server --bind 0.0.0.0 --port %d" % (GUEST_PROBE, IPERF_PORT)):
            wait_listening(lab, target, IPERF_PORT)
            results.setdefault("tcp_rtt", {})[path] = probe(lab, client, "rtt --host %s --port %d --count 300"
                                                            % (address, port))
        log("  %s: %.1f Mbit/s, TCP round trip %.2f ms" % (path, results["iperf3_mbit"][path],
                                                           results["tcp_rtt"][path]["median_ms"]))
    ping = lab.run(client, "ping -n -q -c 30 -i 0.2 %s" % mesh_name(lab, target))
    match = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", ping)
    results["ping_mesh_ms"] = {"min": float(match.group(1)), "avg": float(match.group(2)), "max": float(match.group(3))}
    return results


def inventory_services(lab):
    """The services the inventory itself defines (kept while the bench's own are added)."""
    return lab.hostvars[lab.names[0]].get("vpc_service_services", [])


def bench_service_definitions(target):
    """The bench's services on the target server, in the vpc_service role's terms."""
    definitions = []
    for name, port, mode, kind in BENCH_SERVICES:
        if kind == "iperf3":
            command = "/usr/bin/iperf3 -s -B 127.0.0.1 -p %d" % port
        else:
            command = "/usr/bin/python3 %s echo-server --bind 127.0.0.1 --port %d" % (GUEST_PROBE, port)
        definitions.append({"name": name, "port": port, "servers": [target], "mode": mode, "command": command})
    return definitions


def bench_services(ansible, lab, seconds, log):
    """Throughput and connection rate to 127.0.0.1 services of the 2nd server: socat, iptables, direct."""
    client, target = lab.names[0], lab.names[1]
    log("services on %s, from %s over the mesh and direct on %s" % (target, client, target))
    ansible.play("bench services added", SITE, ansible.fastest(),
                 {"vpc_service_services": inventory_services(lab) + bench_service_definitions(target)})
    try:
        ports = {(mode, kind): port for _name, port, mode, kind in BENCH_SERVICES}
        for _name, port, _mode, _kind in BENCH_SERVICES:
            wait_listening(lab, target, port, "127.0.0.1")
        name = mesh_name(lab, target)
        routes = {"socat": (client, name, "socat"), "iptables": (client, name, "iptables"),
                  "direct": (target, "127.0.0.1", "socat")}
        results = {"client": client, "target": target, "iperf3_mbit": {}, "connections_per_s": {}}
        for route, (host, address, mode) in routes.items():
            results["iperf3_mbit"][route] = iperf(lab, host, address, ports[(mode, "iperf3")], seconds)
            results["connections_per_s"][route] = probe(lab, host, "connrate --host %s --port %d --seconds %d"
                                                        % (address, ports[(mode, "echo")], seconds))["per_second"]
            log("  %s: %.1f Mbit/s, %.0f connections/s" % (route, results["iperf3_mbit"][route],
                                                           results["connections_per_s"][route]))
    finally:
        ansible.play("bench services removed", SITE, ansible.fastest())
    return results


def bench_vpc(ansible, lab, seconds, log):
    """iperf3 from a subnet on the first server to a subnet of the same VPC on the second, and host to host over
    the same mesh pair; the bench's VPC is added to a lab with no VPC, and removed after."""
    declaring = sorted(host for host, variables in lab.hostvars.items() if "netns_vpc_vpcs" in variables)
    if declaring:
        raise BenchError("the vpc part needs a lab whose inventory declares no VPC (netns_vpc_vpcs): %s do"
                         % ", ".join(declaring))
    client, target = lab.names[0], lab.names[1]
    vpc = dict(BENCH_VPC, subnets=[dict(subnet, server=server) for subnet, server in zip(BENCH_VPC["subnets"], (client, target))])
    log("VPC %s across %s and %s: subnet to subnet against host to host" % (vpc["name"], client, target))
    ansible.play("bench VPC added", SITE, ansible.fastest(), {"netns_vpc_vpcs": [vpc]})
    try:
        paths = {"host": (mesh_name(lab, target), None, None),
                 "subnet": (BENCH_VPC_TARGET, BENCH_VPC_NAMESPACES[0], BENCH_VPC_NAMESPACES[1])}
        results = {"client": client, "target": target, "paths": {}, "iperf3_mbit": {}}
        for path, (address, client_netns, target_netns) in paths.items():
            results["paths"][path] = "%s%s -> %s%s" % (client, " " + client_netns if client_netns else "",
                                                       address, " (%s)" % target_netns if target_netns else "")
            with transient_unit(lab, target, "fakevpc-bench-iperf3", in_netns(target_netns, "iperf3 -s -p %d" % IPERF_PORT)):
                wait_listening(lab, target, IPERF_PORT, netns=target_netns)
                results["iperf3_mbit"][path] = iperf(lab, client, address, IPERF_PORT, seconds, netns=client_netns)
            log("  %s: %.1f Mbit/s" % (results["paths"][path], results["iperf3_mbit"][path]))
    finally:
        # None declared before: an empty list makes the role remove the bench's VPC and everything it built.
        ansible.play("bench VPC removed", SITE, ansible.fastest(), {"netns_vpc_vpcs": []})
    return results


def fmt_run(summary):
    return "%7.1f [%5.1f-%5.1f]" % (summary["median"], summary["min"], summary["max"])


def convergence_table(title, runs, rows, lines):
    """A table of timed runs per strategy (rows: (label, key)), rerun / floor, the reruns' changed counts and where
    each strategy's rerun spends its time."""
    strategies = list(runs)
    lines += ["", title, "%-44s" % "" + "".join("%24s" % strategy for strategy in strategies)]
    for label, key in rows:
        if any(key in runs[strategy] for strategy in strategies):
            lines.append("%-44s" % label + "".join("%24s" % (fmt_run(runs[s][key]) if key in runs[s] else "-")
                                                   for s in strategies))
    measured = [s for s in strategies if "rerun" in runs[s]]
    for key in ("rerun", "first"):
        if any(key in runs[s] for s in strategies):
            lines.append("%-44s" % ("%s / floor" % ("first run" if key == "first" else key)) + "".join(
                "%24s" % ("%.2f" % (runs[s][key]["median"] / runs[s]["floor"]["median"]) if key in runs[s] else "-")
                for s in strategies))
    lines.append("%-44s" % "changed tasks in the reruns (0: idempotent)" + "".join(
        "%24s" % (",".join(map(str, runs[s]["rerun"]["changed"])) if s in measured else "-") for s in strategies))
    for key, run in (("first_profile", "first run"), ("rerun_profile", "idempotent rerun")):
        for strategy in [s for s in strategies if key in runs[s]]:
            profile = runs[strategy][key]
            lines += ["", "### %s, %s: where its %.1f s go (median per task)" % (run, strategy, profile["total"]),
                      "%8.1f s  %s" % (profile["startup"], "ansible-playbook start-up (to the first play)")]
            for task in profile["tasks"][:10]:
                lines.append("%8.1f s  %s" % (task["seconds"], task["task"]))
            others = profile["tasks"][10:]
            lines.append("%8.1f s  the other %d tasks" % (sum(task["seconds"] for task in others), len(others)))


def report(machine, started, ended, loads, convergence, dataplane, services, vpc, repeat, first_runs, netns=None):
    """The table, as text."""
    lines = ["# fakevpc lab bench, %s (commit %s)" % (started.strftime("%Y-%m-%d %H:%M UTC"), machine["commit"]),
             "machine: %d cores (%s), %.1f GiB, %s (%s), kernel %s" % (
                 machine["cores"], machine["cpu"], machine["memory_gib"], (machine["accel"] or "?").upper(),
                 machine["accel_reason"][:100], machine["kernel"]),
             "load average (1/5/15 min): start %s, end %s; qemu VMs on the host at start: %d (the lab's among them)"
             % ("/".join(map(str, loads["start"])), "/".join(map(str, loads["end"])), loads["qemu_vms_at_start"]),
             "duration: %.0f min. Under TCG every number is CPU-bound: compare side by side, never as absolutes." % (
                 (ended - started).total_seconds() / 60)]
    if convergence:
        convergence_table("## convergence: seconds, median [min-max] of %d floors and reruns, %d first and 4th-server "
                          "runs; 3 servers" % (repeat, first_runs), convergence,
                          (("floor (facts + ping)", "floor"), ("removal run (wg_mesh_state=absent, mitogen)", "removal"),
                           ("site.yml first run (after removal)", "first"), ("site.yml idempotent rerun", "rerun"),
                           ("site.yml run adding a 4th server", "add_fourth")), lines)
    if netns:
        rounds = max(repeat, first_runs, 1)
        convergence_table("## namespace VPCs, seed 001's company-a (2 subnets) on one server: seconds, median [min-max] "
                          "of %d rounds (floor, removal run, first run, rerun)" % rounds, netns,
                          (("floor on that server (facts + ping)", "floor"),
                           ("netns_vpc.yml first run (after removal)", "first"), ("netns_vpc.yml idempotent rerun", "rerun"),
                           ("netns_vpc.yml removal run (state absent)", "removal")), lines)
    if dataplane:
        lines += ["", "## data plane: %s -> %s (mesh %s, underlay %s)" % (
            dataplane["client"], dataplane["target"], dataplane["paths"]["mesh"], dataplane["paths"]["underlay"]),
            "%-34s %12s %12s %15s" % ("", "mesh", "underlay", "mesh/underlay"),
            "%-34s %12.1f %12.1f %15.2f" % ("iperf3 TCP, Mbit/s", dataplane["iperf3_mbit"]["mesh"],
                                            dataplane["iperf3_mbit"]["underlay"],
                                            dataplane["iperf3_mbit"]["mesh"] / dataplane["iperf3_mbit"]["underlay"]),
            "%-34s %12.2f %12.2f %15.2f" % ("TCP 1-byte round trip, ms (median)", dataplane["tcp_rtt"]["mesh"]["median_ms"],
                                            dataplane["tcp_rtt"]["underlay"]["median_ms"],
                                            dataplane["tcp_rtt"]["mesh"]["median_ms"] / dataplane["tcp_rtt"]["underlay"]["median_ms"]),
            "%-34s %12.2f %12s %15s" % ("ICMP ping, ms (avg of 30)", dataplane["ping_mesh_ms"]["avg"], "n/a", "")]
    if services:
        lines += ["", "## VPC-only service on %s 127.0.0.1: from %s over the mesh, and direct on %s" % (
            services["target"], services["client"], services["target"]),
            "%-34s %12s %12s %12s" % ("", "socat", "iptables", "direct")]
        routes = ("socat", "iptables", "direct")
        lines.append("%-34s" % "iperf3 TCP, Mbit/s" + "".join("%13.1f" % services["iperf3_mbit"][route] for route in routes))
        lines.append("%-34s" % "new connections/s (1-byte echo)" + "".join(
            "%13.0f" % services["connections_per_s"][route] for route in ("socat", "iptables", "direct")))
    if vpc:
        lines += ["", "## VPC across servers: %s -> %s, the same mesh pair (subnet: %s; host: %s)" % (
            vpc["client"], vpc["target"], vpc["paths"]["subnet"], vpc["paths"]["host"]),
            "%-34s %12s %12s %15s" % ("", "subnet", "host", "subnet/host"),
            "%-34s %12.1f %12.1f %15.2f" % ("iperf3 TCP, Mbit/s", vpc["iperf3_mbit"]["subnet"], vpc["iperf3_mbit"]["host"],
                                            vpc["iperf3_mbit"]["subnet"] / vpc["iperf3_mbit"]["host"])]
    return "\n".join(lines) + "\n"


class Progress:
    """Logs with the time of day, and rewrites the results files after every completed measurement."""

    def __init__(self, args):
        self.args = args
        self.started = utc_now()
        self.loads = {"start": load_average(), "qemu_vms_at_start": qemu_processes()}
        self.machine = describe_machine()
        self.parts = {"convergence": {}, "dataplane": None, "services": None, "vpc": None, "netns": {}}

    def __call__(self, message):
        print("[%s] %s" % (utc_now().strftime("%H:%M:%S"), message), flush=True)

    def text(self):
        self.loads["end"] = load_average()
        return report(self.machine, self.started, utc_now(), self.loads, self.parts["convergence"],
                      self.parts["dataplane"], self.parts["services"], self.parts["vpc"], self.args.repeat,
                      self.args.first_runs, self.parts["netns"])

    def checkpoint(self):
        """Write what is measured so far (a run cut short still leaves its numbers)."""
        if not self.args.results:
            return None
        os.makedirs(self.args.results, exist_ok=True)
        base = os.path.join(self.args.results, self.started.strftime("%Y-%m-%dT%H%MZ") + "-lab")
        text = self.text()
        with open(base + ".txt", "w", encoding="utf-8") as handle:
            handle.write(text)
        with open(base + ".json", "w", encoding="utf-8") as handle:
            json.dump({"started": self.started.isoformat(), "ended": utc_now().isoformat(), "machine": self.machine,
                       "load": self.loads, "repeat": self.args.repeat, "first_runs": self.args.first_runs,
                       "parts": self.parts}, handle, indent=1, sort_keys=True)
        return base


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="floor and rerun runs per strategy (median)")
    parser.add_argument("--first-runs", type=int, default=3,
                        help="first runs and 4th-server runs per strategy (median), each after a removal run; 0: none")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per iperf3 and connection-rate test")
    parser.add_argument("--only", action="append",
                        choices=["dataplane", "services", "vpc", "convergence", "fourth", "netns"],
                        help="measure only this part (repeatable); default: all; fourth: adding a 4th server; netns: "
                             "seed 001's namespace VPCs on the first server")
    parser.add_argument("--strategy", action="append", choices=STRATEGIES,
                        help="convergence with this strategy only (repeatable); default: both")
    parser.add_argument("--results", help="directory for the dated results files")
    parser.add_argument("--inventory", default=LAB_INVENTORY,
                        help="the lab's inventory (a lab of another qemu_lab_name and qemu_lab_inventory_dir)")
    args = parser.parse_args()
    parts = args.only or ["dataplane", "services", "vpc", "convergence", "fourth", "netns"]
    log = Progress(args)
    workdir = tempfile.mkdtemp(prefix="fakevpc-bench-")
    log("logs of every run in %s" % workdir)
    inventory = os.path.abspath(args.inventory)
    lab = Lab(workdir, inventory)
    ansible = Ansible(workdir, inventory, log)
    try:
        if "dataplane" in parts or "services" in parts:
            install_probe(lab, lab.names[:2])
            try:
                if "dataplane" in parts:
                    log.parts["dataplane"] = bench_dataplane(lab, args.seconds, log)
                    log.checkpoint()
                if "services" in parts:
                    log.parts["services"] = bench_services(ansible, lab, args.seconds, log)
                    log.checkpoint()
            finally:
                remove_probe(lab, lab.names[:2])
        if "vpc" in parts:
            log.parts["vpc"] = bench_vpc(ansible, lab, args.seconds, log)
            log.checkpoint()
        strategies = ansible.strategies(args.strategy or STRATEGIES)
        if "convergence" in parts:
            bench_convergence(ansible, strategies, args.repeat, args.first_runs, log, log.parts["convergence"])
        if "fourth" in parts and args.first_runs:
            bench_fourth_server(ansible, lab, strategies, args.first_runs, log, log.parts["convergence"])
        if "netns" in parts:
            bench_netns_vpc(ansible, lab, strategies, args.repeat, args.first_runs, log, log.parts["netns"])
    except (BenchError, subprocess.TimeoutExpired) as error:
        log("failed: %s; converging the lab again before stopping" % error)
        with contextlib.suppress(BenchError):
            ansible.play("site.yml after a failure", SITE, ansible.fastest())
        sys.exit("make bench: %s" % error)
    finally:
        lab.close()
    sys.stdout.write("\n" + log.text())
    base = log.checkpoint()
    if base:
        print("written to %s.txt and %s.json" % (base, base))


if __name__ == "__main__":
    main()
