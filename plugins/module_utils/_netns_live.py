# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the netns_vpc role finds on a host of what it built, and which module calls that proves unneeded.

A private module of the fakevpc.vpc collection: its interface may change without notice.

The role reads the host once before it plans (the host_networks module, with the registry). The readers here are the
ones the modules read with (a namespace's id, its loopback, a file; the registry's content), so that the read and
the module agree: a family whose whole set the read finds as the plan wants it (the registry and the host's
settings; the namespaces) needs no module call on that run. The registry also records the options of the chains' and
the links' calls (call_options); the read asks those modules' own code, in check mode, whether those calls would
change anything now (its current), so a call with the same options is spared when they would not.
"""

from __future__ import annotations

import json
import os

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import read_text
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_chain import TABLES
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_resources import previous_resources

IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
SYSTEMD_DIR = "/run/systemd/system"
REGISTRY_VERSION = 1
# What the registry remembers of the host before the first run: {setting: its key in the registry}.
BEFORE_KEYS = {"ip_forward": "ip_forward_before", "tables": "tables_before", "netns_mount": "netns_mount_before"}


# -- reading (with a runner's run) ------------------------------------------------------------------------------------
def netns_ids(run):
    """The named network namespaces (`ip -j netns list`): {name: its id on the host, or None when it has none}."""
    _rc, stdout, _stderr = run("ip", "-j", "netns", "list")
    return dict((entry["name"], entry.get("id")) for entry in (json.loads(stdout) if stdout.strip() else []))


def loopback_up(run, namespace):
    _rc, stdout, _stderr = run("ip", "-n", namespace, "-j", "link", "show", "dev", "lo")
    return "UP" in json.loads(stdout)[0].get("flags", [])


def ip_forward():
    """net.ipv4.ip_forward, "0" or "1"."""
    return read_text(IP_FORWARD).strip()


def read_live(run, registry, etc_dir=None):
    """The host's IPv4 forwarding, whether systemd runs it, and each namespace the registry lists that exists: whether
    its loopback is up, and its hosts file under etc_dir (None: no such file, or no etc_dir). The namespaces are None
    (unknown) unless this runs as root: only root may enter them (the validation play reads without become)."""
    live = {"ip_forward": ip_forward(), "systemd": os.path.isdir(SYSTEMD_DIR), "namespaces": None}
    if os.geteuid() != 0:
        return live
    listed = [name for name in previous_resources(registry)["namespaces"] if names.is_namespace_name(name)]
    existing = netns_ids(run) if listed else {}
    live["namespaces"] = dict((name, {"loopback_up": loopback_up(run, name),
                                      "hosts": read_text(os.path.join(etc_dir, name, "hosts")) if etc_dir else None})
                              for name in listed if name in existing)
    return live


# -- the registry (pure) ---------------------------------------------------------------------------------------------
def remembered(registry):
    """What the registry remembers of the host before the first run: {setting: value}, for the settings it has."""
    registry = registry or {}
    kinds = {"ip_forward": str, "tables": list, "netns_mount": bool}
    return dict((setting, kinds[setting](registry[key])) for setting, key in BEFORE_KEYS.items() if key in registry)


def kept_tables(registry):
    """The keep_tables of the chains' call: the tables the host had before the first run, as the registry remembers
    them; before the first run (no registry yet), every table there is the host's own."""
    return remembered(registry).get("tables", list(TABLES))


def registry_content(resources, before, calls=None):
    """The registry netns_host_settings writes: resources, the host's settings before the first run, and the options of
    the calls to record (recorded_calls), when given."""
    content = {"version": REGISTRY_VERSION, "resources": resources}
    content.update((key, before[setting]) for setting, key in BEFORE_KEYS.items())
    if calls:
        content["calls"] = calls
    return content


def call_options(module_items, backend):
    """The options of this run's calls that the registry records for the next read to prove current: netns_iptables'
    (but its keep_tables, kept_tables) and netns_link's."""
    return {"chains": {"chains": module_items["chains"], "backend": backend}, "links": {"links": module_items["links"]}}


# -- which calls the read proves unneeded (pure) ----------------------------------------------------------------------
def host_settings_converged(registry, live, resources, forwarding, manage_forwarding, calls=None):
    """Whether netns_host_settings (state present with forwarding, or recorded) would change nothing: the registry
    remembers the host's settings and already records resources and calls, and forwarding is on when it is to be."""
    before = remembered(registry)
    if len(before) < len(BEFORE_KEYS) or registry != registry_content(resources, before, calls):
        return False
    return not (forwarding and manage_forwarding and live["ip_forward"] != "1")


def namespaces_converged(live, namespaces, hosts_files):
    """Whether the netns module (state present, loopback up) would change nothing for namespaces: each exists with its
    loopback up, and each of hosts_files ({namespace: content}) holds exactly its content. Never when the read could
    not tell (live namespaces None)."""
    found = live["namespaces"]
    if found is None:
        return False
    return all(name in found and found[name]["loopback_up"]
               and (name not in hosts_files or found[name]["hosts"] == hosts_files[name]) for name in namespaces)


def call_current(registry, live, calls, family):
    """Whether the read proved family's call (chains, links) unneeded: the registry records it with the options of this
    run's (calls, as call_options), and the read found that it would change nothing. Never when it could not tell."""
    recorded = (registry or {}).get("calls") or {}
    return (live.get("current") or {}).get(family) is True and recorded.get(family) == calls[family]


def module_calls(plan, registry, live, manage_forwarding):
    """Which of the role's calls the read (live; None without one) cannot prove unneeded: {"host_settings":
    netns_host_settings before the change, "namespaces": netns creating the plan's namespaces, "chains":
    netns_iptables, "links": netns_link}."""
    calls = plan["call_options"]
    if live is None:
        return {"host_settings": True, "namespaces": bool(plan["namespaces"]), "chains": True,
                "links": bool(calls["links"]["links"])}
    return {
        "host_settings": not host_settings_converged(registry, live, plan["resources_during_change"], plan["forwarding"],
                                                     manage_forwarding, plan["recorded_calls"]),
        "namespaces": not namespaces_converged(live, plan["namespaces"], plan["module_items"]["hosts_files"]),
        "chains": not call_current(registry, live, calls, "chains"),
        "links": bool(calls["links"]["links"]) and not call_current(registry, live, calls, "links"),
    }
