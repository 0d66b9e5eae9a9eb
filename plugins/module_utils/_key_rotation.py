# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Key rotation of a mesh, as pure decisions: which servers, which files, in which order, and when it is complete.

A private module of the fakevpc.vpc collection: its interface may change without notice.

A rotation lives in the key directory, so that a rerun after a failure at any point completes it:
1. staged: the new keys are created next to the old ones as <file>.next (create-only, 0600, encrypted like the
   others), then the marker file rotation.staged naming the rotating servers is created last. Until the marker
   exists nothing uses a .next file: staging that stopped half-way is finished (or its strays removed) by the rerun.
2. applied: while the marker exists, the wanted key of every file is its .next when there is one; the role converges
   both ends of every rotated pair with them (a server may meanwhile run its old key or its new one).
3. complete: once every server of the mesh has been read and no server runs or peers with an old key, each .next
   replaces its file (preshared keys first, private keys last), then the marker goes. A rerun of any step finds the
   state the files say.
"""

from __future__ import annotations

import itertools
import re

STAGED_SUFFIX = ".next"
MARKER = "rotation.staged"
VARIABLE = "wg_mesh_rotate"
HOST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


class RotationError(Exception):
    """A rotation request that cannot be honoured; the message names the variable or the host."""


def private_key_name(host):
    return "%s.key" % host


def preshared_key_name(host_a, host_b):
    first, second = sorted((host_a, host_b))
    return "%s+%s.psk" % (first, second)


def staged_name(name):
    """The file that holds the new key of name during a rotation."""
    return name + STAGED_SUFFIX


def rotation_request(value, servers, variable=VARIABLE):
    """The sorted servers that value names: None or [] (none), 'all', a name, names separated by commas, or a list.

    servers: the servers of the mesh (not its external peers, nor the servers leaving it). Raises RotationError naming
    the variable and the bad value."""
    if value is None:
        return []
    if isinstance(value, str):
        names = [part.strip(" ") for part in value.split(",")] if value.strip(" ") else []
    elif isinstance(value, (list, tuple)):
        names = list(value)
    else:
        raise RotationError("variable %s: must be a server name, a list of them, or 'all', got %r" % (variable, value))
    for name in names:
        if not isinstance(name, str) or not HOST_NAME.fullmatch(name):
            raise RotationError("variable %s: %r is not an inventory host name" % (variable, name))
    if "all" in names:
        if names != ["all"]:
            raise RotationError("variable %s: 'all' stands alone, got %r" % (variable, value))
        return sorted(servers)
    unknown = sorted(set(names) - set(servers))
    if unknown:
        raise RotationError("variable %s: %s: not a server of the mesh (its servers: %s)"
                            % (variable, ", ".join(repr(name) for name in unknown), ", ".join(sorted(servers))))
    return sorted(set(names))


def same_request(requests):
    """The one request of {host: its request (a sorted list)}; raises RotationError naming two hosts that differ."""
    by_request = {}
    for host in sorted(requests):
        by_request.setdefault(tuple(requests[host]), host)
    if len(by_request) > 1:
        (first, host_a), (second, host_b) = sorted(by_request.items(), key=lambda item: item[1])[:2]
        raise RotationError("variable %s: one rotation for the whole mesh, but host %r asks for %s and host %r for %s:"
                            " give it once, with -e" % (VARIABLE, host_a, list(first) or "none", host_b,
                                                        list(second) or "none"))
    return list(next(iter(by_request), ()))


def rotation_files(rotating, holders):
    """The key files a rotation of the servers rotating replaces: the preshared keys of every pair with one of them
    (each once), then their private keys: the order in which they are staged and replaced."""
    rotating = set(rotating)
    pairs = [preshared_key_name(host_a, host_b) for host_a, host_b in itertools.combinations(sorted(set(holders)), 2)
             if rotating & {host_a, host_b}]
    return pairs + [private_key_name(host) for host in sorted(rotating)]


def render_marker(rotating):
    return "".join("%s\n" % host for host in sorted(rotating)).encode("ascii")


def parse_marker(data, file_path):
    """The servers a marker file names; raises RotationError when it is not one."""
    try:
        hosts = data.decode("ascii").split()
    except UnicodeDecodeError:
        hosts = None
    if not hosts or any(not HOST_NAME.fullmatch(host) for host in hosts):
        raise RotationError("%s: is not a rotation marker (inventory host names, one a line); remove it only after"
                            " checking which keys the servers run" % file_path)
    return sorted(set(hosts))


def stray_staged(names, wanted):
    """The staged files among names (a directory listing) that a rotation of files wanted does not use."""
    wanted = set(staged_name(name) for name in wanted)
    return sorted(name for name in names if name.endswith(STAGED_SUFFIX) and name not in wanted)


def completion_problems(rotating, new_public, old_public, live, servers):
    """Why the old keys of a rotation cannot go yet; [] when they can.

    rotating: the rotating servers; new_public: {server: its new public key}; old_public: {server: its old public key}
    for the servers whose private key file has not been replaced yet; live: {host: wg_keys_info's live} of the hosts
    read; servers: every server of the mesh (not its external peers), each of which must have been read."""
    problems = ["host %r: the keys it runs were not read (unreachable, failed, or outside --limit)" % host
                for host in sorted(servers) if host not in live]
    for host in sorted(rotating):
        running = (live.get(host) or {}).get("public_keys") or []
        if running and running != [new_public[host]]:
            problems.append("host %r runs the public key %s, not its new one %s"
                            % (host, ", ".join(running), new_public[host]))
        old = old_public.get(host)
        holders = sorted(peer for peer in live if old is not None and old in live[peer].get("preshared_peers", []))
        if holders:
            problems.append("host%s %s still peer%s with the old public key %s of host %r"
                            % ("s" if len(holders) > 1 else "", ", ".join(repr(peer) for peer in holders),
                               "" if len(holders) > 1 else "s", old, host))
    return problems
