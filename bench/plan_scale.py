# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: time to compute and validate the mesh plan for 10, 50 and 254 servers.

Prints a table and, with --results DIR, writes it to DIR/<date>-plan.txt with the machine's description.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
import tracemalloc

from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import build_mesh_plan


def servers(count):
    return [{"host": "server%d" % i, "index": i, "endpoint": "198.51.100.%d" % i, "port": 51820 + i}
            for i in range(1, count + 1)]


def plan_interfaces(plan):
    """How many WireGuard interfaces the plan has, all servers together."""
    return sum(len(view["interfaces"]) for view in plan["servers"].values())


def measure(count, repeat):
    given = servers(count)
    timings = []
    for _attempt in range(repeat):
        start = time.perf_counter()
        build_mesh_plan(given)
        timings.append(time.perf_counter() - start)
    tracemalloc.start()
    plan = build_mesh_plan(given)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(timings), min(timings), peak, plan_interfaces(plan)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--results", help="directory for the dated results file")
    args = parser.parse_args()
    lines = [
        "# mesh plan: compute + validate (%s, %s, %d cores, Python %s)" % (
            datetime.date.today().isoformat(), platform.machine(), os.cpu_count(), platform.python_version()),
        "%8s %12s %12s %12s %12s" % ("servers", "median ms", "min ms", "peak MiB", "interfaces"),
    ]
    for count in (10, 50, 254):
        median, best, peak, interfaces = measure(count, args.repeat)
        lines.append("%8d %12.2f %12.2f %12.1f %12d" % (count, median * 1000, best * 1000, peak / 2 ** 20, interfaces))
    report = "\n".join(lines) + "\n"
    sys.stdout.write(report)
    if args.results:
        os.makedirs(args.results, exist_ok=True)
        path = os.path.join(args.results, "%s-plan.txt" % datetime.date.today().isoformat())
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(report)
        print("written to %s" % path)


if __name__ == "__main__":
    main()
