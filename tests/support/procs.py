# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Processes and namespaces seen from the host, through /proc: which namespace a process is in, which processes
are in given namespaces, a process's name, command line and descendants, and a child that dies with its parent."""

from __future__ import annotations

import ctypes
import os
import signal
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def pdeathsig():
    """preexec_fn: the child gets SIGKILL when the thread that started it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def ns_inode(pid: int | str, kind: str = "net") -> int | None:
    """Inode of /proc/PID/ns/KIND, or None when the process is gone (or a zombie)."""
    try:
        return os.stat(f"/proc/{pid}/ns/{kind}").st_ino
    except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
        return None


def pids_in_namespaces(net_inodes: set[int], mnt_inodes: set[int] = frozenset()) -> list[int]:
    """PIDs (host view) of live processes whose net or mount namespace is one of the given."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        if ns_inode(entry, "net") in net_inodes or (mnt_inodes and ns_inode(entry, "mnt") in mnt_inodes):
            found.append(int(entry))
    return found


def proc_comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def proc_cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def descendants(pid: int) -> list[int]:
    """Every descendant of pid (host PIDs), through /proc/PID/task/PID/children."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            children = []
        for child in children:
            found.append(int(child))
            todo.append(int(child))
    return found
