# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""After the verify step's results: the side effect's numbers (loss per phase, recovery times)."""

from __future__ import annotations

import os

from lab import DISTURBED, RECORD, probes, recovery


def pytest_terminal_summary(terminalreporter):
    if not os.path.isdir(RECORD):
        return
    write = terminalreporter.write_line
    write("lifecycle (pings ten a second, by name, between every pair of servers):")
    for phase, disturbed in DISTURBED.items():
        judged = [probe for probe in probes(phase) if disturbed not in (probe.source, probe.target)]
        sent = sum(probe.sent for probe in judged)
        lost = sum(len(probe.lost) for probe in judged)
        write("  %-7s %2d probes not involving %s: %6d requests, %d lost" % (phase, len(judged), disturbed, sent, lost))
    for phase, server, label in (("crash", "server2", "crashed"), ("reboot", "server3", "rebooted")):
        seconds = recovery(phase, server, label)
        shown = ", ".join("%s %s" % (source, "never" if delay is None else "%.1f s" % delay) for source, delay in sorted(seconds.items()))
        write("  %-7s %s back after its tunnels started, first reply from: %s" % (phase, server, shown))
