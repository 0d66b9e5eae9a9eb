# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pings from simulated servers: one that retries (reachable or not), and pingers that run until stopped (what was
answered, what was lost)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time


def ping(server, address: str, netns: str | None = None, tries: int = 3, wait: float = 1) -> bool:
    """Ping address once from server (inside its namespace netns, when given), retrying up to tries times (fresh
    tunnels may drop the very first packet)."""
    argv = (["ip", "netns", "exec", netns] if netns else []) + ["ping", "-n", "-q", "-c", "1", "-W", str(wait), address]
    for dummy in range(tries):
        if server.run(argv, check=False).returncode == 0:
            return True
        time.sleep(0.1)
    return False


def start_pinging(server, name: str, interval: str = "0.05", timestamps: bool = False) -> subprocess.Popen:
    """ping name from server every interval seconds (each reply with its unix time, with timestamps), until stopped."""
    return server.popen(["ping", *(["-D"] if timestamps else []), "-n", "-i", interval, name],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def stop(pinger: subprocess.Popen) -> str:
    """Stop a pinger of start_pinging; returns its output."""
    os.killpg(pinger.pid, signal.SIGINT)  # nsenter does not pass signals on: reach ping through its group
    return pinger.communicate(timeout=30)[0]


def stop_pinging(pinger: subprocess.Popen) -> tuple[int, list[int], str]:
    """Stop the pinger and return (answered, unanswered, output): the echo requests answered and the ones lost before
    the last answer. The request in flight when ping is stopped is not lost: it has had no time to come back."""
    output = stop(pinger)
    answered = sorted(int(sequence) for sequence in re.findall(r"icmp_seq=(\d+)", output))
    last = answered[-1] if answered else 0
    return len(answered), sorted(set(range(1, last + 1)) - set(answered)), output
