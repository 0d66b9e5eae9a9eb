# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: site.yml on N simulated servers (network namespaces running wireguard-go), for growing N.

Each simulated server is a set of namespaces reached by Ansible through nsenter (tests/support/simnet.py),
converged with the real roles and modules (tests/support/mesh.py). For every N: the first run, the
idempotent rerun, and a ping from the first server to the last over the mesh. Needs root.
Prints a table and, with --results DIR, writes it to DIR/<UTC date and time>-scale.txt.

Every simulated interface is a wireguard-go daemon, and each takes one inotify instance of root, whose limit
(fs.inotify.max_user_instances, 128 by default) would stop the mesh near 15 servers. For each size the limit is
raised to what that size needs, if it is lower, and put back when the bench ends.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import sys
import tempfile
from pathlib import Path

from plan_scale import build_mesh_plan, plan_interfaces, servers
from support.addresses import mesh_address
from support.mesh import Mesh
from support.simnet import SimNet


def failure(what, count, run):
    """The error of a failed run: each failed task's result (its indented lines), then the end of the output."""
    failed, inside = [], False
    for line in run.stdout.splitlines():
        if line.startswith("fatal:") or "FAILED!" in line:
            inside = True
        elif not line.startswith(" "):
            inside = False
        if inside:
            failed.append(line)
    details = "\n".join(failed[:200])
    return RuntimeError("site.yml %s on %d servers failed:\n%s\n...\n%s" % (what, count, details, run.describe()[-2000:]))


INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_SPARE = 128  # for everything else root runs meanwhile


@contextlib.contextmanager
def inotify_limit():
    """Yields raise_to(instances): makes the limit at least that; the original limit is restored at the end."""
    original = int(INOTIFY_INSTANCES.read_text())

    def raise_to(instances):
        if instances > int(INOTIFY_INSTANCES.read_text()):
            INOTIFY_INSTANCES.write_text("%d\n" % instances)
        return int(INOTIFY_INSTANCES.read_text())

    try:
        yield raise_to
    finally:
        INOTIFY_INSTANCES.write_text("%d\n" % original)


def converge(count, workdir, timeout):
    """Start COUNT simulated servers, run site.yml twice; return the timings and the changed counts."""
    with SimNet(count, workdir) as net:
        mesh = Mesh(net, Path(net.workdir))
        first = mesh.site(count, timeout=timeout, verbose=0)
        if first.rc != 0:
            raise failure("first run", count, first)
        rerun = mesh.site(count, timeout=timeout, verbose=0)
        if rerun.rc != 0:
            raise failure("rerun", count, rerun)
        reached = net.servers[0].ping(mesh_address(1, count))
        interfaces = sum(len(server.run(["wg", "show", "interfaces"]).stdout.split()) for server in net.servers)
    return {"first": first.seconds, "first_changed": first.changed(), "rerun": rerun.seconds,
            "rerun_changed": rerun.changed(), "interfaces": interfaces, "ping_1_to_n": reached}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, nargs="+", default=[4, 8, 16, 32, 50], help="mesh sizes to converge")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per site.yml run")
    parser.add_argument("--results", help="directory for the dated results file")
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)
    lines = ["# site.yml on simulated servers (namespaces, wireguard-go, stock strategy), %s, %d cores, load at start %s"
             % (started.strftime("%Y-%m-%d %H:%M UTC"), os.cpu_count(), "/".join("%.2f" % load for load in os.getloadavg())),
             "%8s %12s %14s %10s %14s %12s %12s %10s" % (
                 "servers", "interfaces", "first run s", "changed", "rerun s", "changed", "ping 1->N", "inotify")]
    print(lines[0], flush=True)
    with tempfile.TemporaryDirectory(prefix="fakevpc-scale-") as workdir, inotify_limit() as raise_inotify_limit:
        for count in args.servers:
            inotify = raise_inotify_limit(plan_interfaces(build_mesh_plan(servers(count))) + INOTIFY_SPARE)
            try:
                result = converge(count, workdir, args.timeout)
            except RuntimeError as error:
                # The largest mesh this machine converges is a result too: say where and why it stopped.
                sys.stderr.write("%s\n" % error)
                reasons = [line.strip() for line in str(error).splitlines() if line.strip().startswith("msg:")]
                lines.append("%8d  FAILED, larger meshes not tried: %s" % (count, reasons[0] if reasons else str(error).splitlines()[0]))
                print(lines[-1], flush=True)
                break
            lines.append("%8d %12d %14.1f %10d %14.1f %12d %12s %10d" % (
                count, result["interfaces"], result["first"], result["first_changed"], result["rerun"],
                result["rerun_changed"], "ok" if result["ping_1_to_n"] else "FAILED", inotify))
            print(lines[-1], flush=True)
    lines.append("inotify: fs.inotify.max_user_instances during the run (put back afterwards)")
    lines.append("load at end %s" % "/".join("%.2f" % load for load in os.getloadavg()))
    report = "\n".join(lines) + "\n"
    sys.stdout.write("\n" + report)
    if args.results:
        os.makedirs(args.results, exist_ok=True)
        path = os.path.join(args.results, started.strftime("%Y-%m-%dT%H%MZ") + "-scale.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(report)
        print("written to %s" % path)


if __name__ == "__main__":
    main()
