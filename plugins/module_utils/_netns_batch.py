# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The calls the netns_vpc role makes on a host, in order, for one batch module run (pure).

A private module of the fakevpc.vpc collection: its interface may change without notice.

The host's settings are remembered, and what the run may build recorded, before any change; the apps that go stop
before their namespaces go; the firewall (the host's chains and the subnets' policies, in namespaces that exist by
then) comes before any wiring: a VPC is never wired before it is isolated; the registry is written again after the
change (or, once no VPC is left, the host's settings put back); the boot unit and the apps' units come last. A call
the read proves unneeded (the plan's calls, the units' comparison) is left out: a converged rerun makes none.
"""

from __future__ import annotations

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_live import kept_tables
from ansible_collections.fakevpc.vpc.plugins.module_utils._unit_files import converged


def role_calls(plan, units, host_networks, registry, etc_dir, kill_processes, unit_dir, unit_prefix, boot_script,
               persist, systemctl, manage_forwarding):
    """The role's calls ({"module", "options"}) for plan (netns_vpc_plan's), its units (netns_vpc_units'), and the read
    before it (host_networks', with the registry and what is live); the other arguments are the role's variables.
    Raises UnitFilesError when the units cannot be compared."""
    calls = []

    def add(module, **options):
        calls.append({"module": "fakevpc.vpc." + module, "options": options})

    settings = {"path": registry, "calls": plan["recorded_calls"], "manage_forwarding": manage_forwarding,
                "backend": plan["call_options"]["chains"]["backend"]}
    if plan["calls"]["host_settings"]:
        add("netns_host_settings", state="recorded" if plan["empty"] else "present",
            resources=plan["resources_during_change"], forwarding=plan["forwarding"], **settings)
    if plan["remove"]["units"]:
        add("systemd_units", prune_patterns=plan["remove"]["units"], unit_dir=unit_dir, systemctl=systemctl)
    if plan["remove"]["namespaces"]:
        add("netns", names=plan["remove"]["namespaces"], state="absent", kill_processes=kill_processes, etc_dir=etc_dir)
    if plan["calls"]["namespaces"]:
        add("netns", names=plan["namespaces"], etc_dir=etc_dir, hosts_files=plan["module_items"]["hosts_files"])
    if plan["calls"]["chains"]:
        add("netns_iptables", keep_tables=kept_tables((host_networks or {}).get("registry")),
            **plan["call_options"]["chains"])
    if plan["calls"]["links"]:
        add("netns_link", **plan["call_options"]["links"])
    if plan["record_after"]:
        add("netns_host_settings", state="absent" if plan["empty"] else "recorded", resources=plan["resources"],
            **settings)
    persist_options = {"units": units, "prune_patterns": ["%s.service" % unit_prefix],
                       "remove_files": [] if persist and not plan["empty"] else [boot_script],
                       "unit_dir": unit_dir, "systemctl": systemctl}
    if not converged(((host_networks or {}).get("live") or {}).get("units"), **persist_options):
        add("systemd_units", **persist_options)
    return calls
