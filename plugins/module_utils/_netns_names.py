# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Names of interfaces, namespaces, chains and units, checked and shortened (pure, no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

Linux limits an interface name to 15 bytes (IFNAMSIZ - 1, the one constant of it here). A name that fits is
used as it is; a longer one keeps a readable head and ends with a short hash of the
whole name, so it stays stable from run to run and two long names that share a head
still differ.
"""

from __future__ import annotations

import hashlib
import re

IFNAMSIZ = 15
HASH_LENGTH = 5

# The kernel's rule (dev_valid_name: 1 to 15 bytes, not '.' or '..', no '/', ':' or white space), narrowed to the
# characters every tool handles (ip, iptables, sysctl in its '/' form, systemd): no glob, no iptables wildcard '+', no
# systemd specifier '%', no control character.
INTERFACE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,%d}" % IFNAMSIZ)
NAMESPACE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
CHAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,28}")
BUILTIN_CHAINS = frozenset(["INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"])


def interface_name(prefix, *parts):
    """prefix + parts joined by '-', at most 15 characters (hashed when longer).

    >>> interface_name("br-", "my-vpc")
    'br-my-vpc'
    """
    full = prefix + "-".join(parts)
    if len(full) <= IFNAMSIZ:
        return full
    digest = hashlib.sha256(full.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    head = full[:IFNAMSIZ - HASH_LENGTH - 1].rstrip("-_")
    return "%s-%s" % (head, digest)


INTERFACE_NAME_RULE = "1 to %d letters, digits, '.', '_', '-'; not '.' or '..'" % IFNAMSIZ


def is_interface_name(name):
    return isinstance(name, str) and bool(INTERFACE_NAME.fullmatch(name)) and name not in (".", "..")


def is_namespace_name(name):
    return isinstance(name, str) and bool(NAMESPACE_NAME.fullmatch(name)) and name not in (".", "..")


def is_chain_name(name):
    return isinstance(name, str) and bool(CHAIN_NAME.fullmatch(name)) and name not in BUILTIN_CHAINS


def sysctl_interface_key(interface, key):
    """The sysctl name of a per-interface IPv4 setting, in the '/' form that survives dots in names."""
    return "net/ipv4/conf/%s/%s" % (interface, key)
