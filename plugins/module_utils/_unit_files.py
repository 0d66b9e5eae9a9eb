# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the systemd_units module manages, read and compared: unit files, the units' files, the units' states.

A private module of the fakevpc.vpc collection: its interface may change without notice.

The module and a read made before it (host_networks, for the netns_vpc role) use the same readers and the same
comparison, so that the read can prove a call unneeded exactly when the module would change nothing
(``converged``). A file is current when its content, its mode and its owner (the user the module runs as) are
the wanted ones; a unit, when systemd calls it enabled and running.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re

UNIT_NAME_CHARACTER = r"[A-Za-z0-9:_.@\\-]"
# A unit name systemctl cannot take for an option: no leading '-', no '/'.
UNIT_NAME = re.compile(r"[A-Za-z0-9:_@\\]%s*\.[a-z]+" % UNIT_NAME_CHARACTER)
OCTAL_MODE = re.compile(r"[0-7]{3,4}")
UNIT_MODE = 0o644
RUNNING = ("active", "activating", "reloading")
ENABLED = ("enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient")
# The states that the unit's links give, whatever its unit file says.
LINKED = ("enabled", "enabled-runtime")


# A file that exists but that this reader cannot read (a dangling link, no permission): never current.
UNREADABLE = {"sha256": None, "mode": None, "owner": None}


class UnitFilesError(ValueError):
    """A wanted unit or file the module cannot take: where (e.g. 'units[1].files[0]') and why."""

    def __init__(self, where, problem):
        super().__init__("%s: %s" % (where, problem))


# -- wanted (pure) ----------------------------------------------------------------------------------------------------
def file_mode(value, where):
    """A mode given as an integer or an octal string ("0644"), as an integer."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o7777:
        return value
    if isinstance(value, str) and OCTAL_MODE.fullmatch(value):
        return int(value, 8)
    raise UnitFilesError(where, "mode must be an octal string such as \"0644\", got %r" % (value,))


def absolute_path(path, where):
    if not isinstance(path, str) or not os.path.isabs(path):
        raise UnitFilesError(where, "%r is not an absolute path" % (path,))
    return os.path.normpath(path)


def wanted_files(units, unit_dir):
    """Every file to write, as dicts (path, content bytes, mode, unit), each unit's file first, then its files."""
    files, paths = [], set()
    for position, unit in enumerate(units):
        where = "units[%d]" % position
        if not UNIT_NAME.fullmatch(unit["name"]):
            raise UnitFilesError(where, "%r is not a unit file name" % (unit["name"],))
        unit_files = [(os.path.join(os.path.normpath(unit_dir), unit["name"]), unit["content"], UNIT_MODE, where)]
        for index, extra in enumerate(unit.get("files") or []):
            extra_where = "%s.files[%d]" % (where, index)
            unit_files.append((absolute_path(extra["path"], extra_where), extra["content"],
                               file_mode(extra.get("mode", "0644"), extra_where), extra_where))
        for path, content, mode, file_where in unit_files:
            if path in paths:
                raise UnitFilesError(file_where, "%s is listed twice" % path)
            paths.add(path)
            files.append({"path": path, "content": content.encode("utf-8", "surrogateescape"), "mode": mode,
                          "unit": unit["name"]})
    return files


def check_prune_patterns(patterns):
    for position, pattern in enumerate(patterns):
        if "/" in pattern:
            raise UnitFilesError("prune_patterns[%d]" % position, "%r is a path, not a file name pattern" % (pattern,))


def prunable(names, patterns, wanted_units):
    """The unit files among names that match a pattern and are not wanted, sorted."""
    return sorted(name for name in names
                  if name not in wanted_units and any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns))


def digest(live):
    """What the comparison needs of a file read by read_file: {sha256, mode, owner} (JSON-able), or None."""
    if live is None:
        return None
    return {"sha256": hashlib.sha256(live["content"]).hexdigest(), "mode": live["mode"], "owner": list(live["owner"])}


def is_current(found, wanted, owner):
    """Whether a file found (a digest) is the wanted one (path, content bytes, mode), owned by owner (uid, gid)."""
    return (found is not None and found["sha256"] == hashlib.sha256(wanted["content"]).hexdigest()
            and found["mode"] == wanted["mode"] and list(found["owner"]) == list(owner))


def needs_enable(state):
    return state.get("UnitFileState") not in ENABLED


def needs_start(state):
    return state.get("ActiveState") not in RUNNING


# -- reading ----------------------------------------------------------------------------------------------------------
def read_file(path):
    """The file at path as a dict (content bytes, mode, owner (uid, gid)), or None when it does not exist; other
    errors raise OSError."""
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            return {"content": handle.read(), "mode": status.st_mode & 0o7777, "owner": (status.st_uid, status.st_gid)}
    except FileNotFoundError:
        return None


def unit_file_names(unit_dir):
    return sorted(os.listdir(unit_dir)) if os.path.isdir(unit_dir) else []


def unit_states(run, names):
    """{name: {"ActiveState": ..., "UnitFileState": ...}} from one `systemctl show`; ValueError when systemctl
    answers for another number of units."""
    if not names:
        return {}
    _rc, stdout, _stderr = run("systemctl", "show", "-p", "Id,ActiveState,UnitFileState", *names)
    return parse_states(stdout, names)


def parse_states(stdout, names):
    """{name: state} from the output of `systemctl show` for names; ValueError when it answers for another number."""
    blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
              for block in stdout.strip().split("\n\n")]
    if len(blocks) != len(names):
        raise ValueError("systemctl show answered for %d units instead of %d" % (len(blocks), len(names)))
    return dict(zip(names, blocks))


def read_units(run, unit_dir, patterns, paths, systemd):
    """What systemd_units would find of the unit files in unit_dir matching patterns and of the files at paths:
    {unit_dir, patterns, owner (this reader's uid and gid), files: {path: digest} of those that exist, states:
    {unit: state} of the matching unit files (None where systemd does not run the host)}."""
    unit_dir = os.path.normpath(unit_dir)
    names = [name for name in unit_file_names(unit_dir) if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)]
    files = {}
    for path in [os.path.join(unit_dir, name) for name in names] + [os.path.normpath(path) for path in paths]:
        try:
            found = digest(read_file(path))
        except OSError:
            found = UNREADABLE
        if found is None and os.path.lexists(path):
            found = UNREADABLE
        if found is not None:
            files[path] = found
    return {"unit_dir": unit_dir, "patterns": list(patterns), "paths": [os.path.normpath(path) for path in paths],
            "owner": [os.geteuid(), os.getegid()], "files": files,
            "states": read_states(run, names) if systemd else None}


def read_states(run, names):
    """The units' states, or None (unknown) when systemctl cannot tell: another user than root needs D-Bus, which a
    minimal host may not run (site.yml's validation play reads without become)."""
    if not names:
        return {}
    rc, stdout, _stderr = run("systemctl", "show", "-p", "Id,ActiveState,UnitFileState", *names, check_rc=False)
    try:
        return parse_states(stdout, names) if rc == 0 else None
    except ValueError:
        return None


# -- whether a call would change nothing (pure) -----------------------------------------------------------------------
def _covers(live, unit_dir, names, paths, prune_patterns):
    """Whether the read saw all the call would look at: its unit files, its other files and what it may prune."""
    return (live["unit_dir"] == os.path.normpath(unit_dir)
            and all(any(fnmatch.fnmatchcase(name, pattern) for pattern in live["patterns"]) for name in names)
            and all(pattern in live["patterns"] for pattern in prune_patterns)
            and all(path in live["paths"] for path in paths))


def converged(live, units, unit_dir, prune_patterns=(), remove_files=(), systemctl=True):
    """Whether systemd_units with these options would change nothing on the host read as live (read_units; None:
    no read). Never when the read did not see everything the call would look at. Raises UnitFilesError as the
    module fails."""
    wanted = wanted_files(units, unit_dir)
    check_prune_patterns(prune_patterns)
    names = [unit["name"] for unit in units]
    unit_path = dict((os.path.join(os.path.normpath(unit_dir), name), name) for name in names)
    extra_paths = [item["path"] for item in wanted if item["path"] not in unit_path]
    removed = [absolute_path(path, "remove_files[%d]" % position) for position, path in enumerate(remove_files)]
    if live is None or not _covers(live, unit_dir, names, extra_paths + removed, prune_patterns):
        return False
    if not all(is_current(live["files"].get(item["path"]), item, live["owner"]) for item in wanted):
        return False
    present = [os.path.basename(path) for path in live["files"] if os.path.dirname(path) == live["unit_dir"]]
    if prunable(present, prune_patterns, names) or any(path in live["files"] for path in removed):
        return False
    if not systemctl or not names:
        return True
    states = live["states"]
    return states is not None and all(name in states and not needs_enable(states[name]) and not needs_start(states[name])
                                      for name in names)
