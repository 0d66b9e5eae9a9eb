# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""VPC-only services: which forwards each server needs, as pure data (no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

A service listens on 127.0.0.1 of the servers that run it; each of those servers forwards the
service's port from every one of its mesh addresses (the plan's service_addresses) to 127.0.0.1,
by socat (one systemd unit per address) or by iptables DNAT (rules in a chain of our own, loaded by a script
rendered here from the same rule code as the module netns_iptables and netns_vpc's boot script).
"""

from __future__ import annotations

import re
import shlex

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_rules as rules_lib
from ansible_collections.fakevpc.vpc.plugins.module_utils import _systemd as systemd
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import iface_prefix_problem
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import fullmatch, int_in_range

MODES = ("socat", "iptables")
PROTOCOLS = ("tcp", "udp")
STATES = ("present", "absent")
UNIT_PREFIX = "fakevpc-svc-"
APP_UNIT_PREFIX = "fakevpc-app-"
CHAIN = "FAKEVPC-SVC"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
SERVICE_KEYS = frozenset(["name", "port", "protocol", "servers", "mode", "state", "command"])
UNIT_HEADER = ["Managed by fakevpc.vpc (vpc_service role): local changes are overwritten."]
IPTABLES_UNIT = "fakevpc-vpc-services.service"
IPTABLES_SCRIPT = "/usr/local/lib/fakevpc/vpc-services"
SOCAT = "/usr/bin/socat"


class ServicePlanError(ValueError):
    """An invalid service, naming it (its position when it has no usable name)."""

    def __init__(self, service, problem):
        self.service = service
        super().__init__("service %s: %s" % (service, problem))


def _check_service(position, service, mesh_servers, default_mode):
    label = "#%d" % (position + 1)
    if not isinstance(service, dict):
        raise ServicePlanError(label, "must be a dict with name, port and servers, got %r" % (service,))
    name = service.get("name")
    if not fullmatch(_NAME, name):
        raise ServicePlanError(label, "name must be 1 to 40 lowercase letters, digits and '-', got %r" % (name,))
    label = repr(name)
    unknown_keys = sorted(set(service) - SERVICE_KEYS, key=str)
    if unknown_keys:
        raise ServicePlanError(label, "unknown key%s %s (allowed: %s)" % (
            "s" if len(unknown_keys) > 1 else "", ", ".join(repr(key) for key in unknown_keys),
            ", ".join(sorted(SERVICE_KEYS))))
    port = service.get("port")
    if not int_in_range(port, 1, 65535):
        raise ServicePlanError(label, "port must be an integer from 1 to 65535, got %r" % (port,))
    protocol = service.get("protocol", "tcp")
    if protocol not in PROTOCOLS:
        raise ServicePlanError(label, "protocol must be tcp or udp, got %r" % (protocol,))
    mode = service.get("mode", default_mode)
    if mode not in MODES:
        raise ServicePlanError(label, "mode must be socat or iptables, got %r" % (mode,))
    state = service.get("state", "present")
    if state not in STATES:
        raise ServicePlanError(label, "state must be present or absent, got %r" % (state,))
    servers = service.get("servers")
    if isinstance(servers, str):
        servers = [servers]
    if not servers or not isinstance(servers, list) or not all(isinstance(host, str) for host in servers):
        raise ServicePlanError(label, "servers must be a non-empty list of inventory hostnames, got %r" % (servers,))
    unknown = [host for host in servers if host not in mesh_servers]
    if unknown:
        raise ServicePlanError(label, "unknown server %s: not in the mesh (%s)" % (
            ", ".join(repr(host) for host in unknown), ", ".join(sorted(mesh_servers)) or "empty"))
    command = service.get("command")
    if command is not None:
        if not isinstance(command, str) or not command.strip():
            raise ServicePlanError(label, "command must be a command line, got %r" % (command,))
        try:
            systemd.exec_line(command)
        except systemd.UnitError as error:
            raise ServicePlanError(label, "command %s" % error)
    return {"name": name, "port": port, "protocol": protocol, "mode": mode, "state": state,
            "servers": sorted(set(servers)), "command": command}


def forward_unit_name(service, address):
    return "%s%s-%s.service" % (UNIT_PREFIX, service["name"], address)


def iptables_rule(service, address):
    """The rule of the FAKEVPC-SVC chain (nat table) that forwards one mesh address to 127.0.0.1."""
    return "-d %s/32 -p %s -m %s --dport %d -j DNAT --to-destination 127.0.0.1:%d" % (
        address, service["protocol"], service["protocol"], service["port"], service["port"])


def build_service_plan(services, mesh_plan, default_mode="socat"):
    """Validate the services against the mesh plan; return {'servers': {host: view}}.

    A view holds socat_units (name, address, protocol, port, service), iptables_rules (chain rules),
    apps (name, unit, command, port) and the sorted names of the services it runs.
    """
    if default_mode not in MODES:
        raise ServicePlanError("(default)", "mode must be socat or iptables, got %r" % (default_mode,))
    if not isinstance(services, list):
        raise ServicePlanError("(list)", "the services must be a list, got %r" % (services,))
    mesh_servers = mesh_plan["servers"]
    checked = [_check_service(position, service, mesh_servers, default_mode) for position, service in enumerate(services)]

    names, listening = {}, {}
    for service in checked:
        if service["name"] in names:
            raise ServicePlanError(repr(service["name"]), "is defined twice")
        names[service["name"]] = service
        if service["state"] == "absent":
            continue
        for host in service["servers"]:
            key = (host, service["protocol"], service["port"])
            if key in listening:
                raise ServicePlanError(repr(service["name"]), "%s port %d on %r is already used by service %r" % (
                    service["protocol"], service["port"], host, listening[key]))
            listening[key] = service["name"]
            wireguard_port = mesh_servers[host]["interfaces"][0]["listen_port"]
            if service["protocol"] == "udp" and service["port"] == wireguard_port:
                raise ServicePlanError(repr(service["name"]), "udp port %d on %r is its WireGuard port" % (
                    service["port"], host))

    plan = {}
    for host, view in mesh_servers.items():
        socat_units, iptables_rules, apps, running = [], [], [], []
        for service in checked:
            if service["state"] == "absent" or host not in service["servers"]:
                continue
            running.append(service["name"])
            if service["command"]:
                apps.append({"name": service["name"], "unit": "%s%s.service" % (APP_UNIT_PREFIX, service["name"]),
                             "command": service["command"], "port": service["port"]})
            for address in view["service_addresses"]:
                if service["mode"] == "socat":
                    socat_units.append({"name": forward_unit_name(service, address), "address": address,
                                        "protocol": service["protocol"], "port": service["port"],
                                        "service": service["name"]})
                else:
                    iptables_rules.append(iptables_rule(service, address))
        plan[host] = {"socat_units": socat_units, "iptables_rules": iptables_rules, "apps": apps,
                      "services": sorted(running)}
    return {"servers": plan}


# -- units ---------------------------------------------------------------------------------------
# Every string goes through _systemd: a command line is quoted by systemd's rules, anything else checked.

def app_unit(app):
    """The unit that runs a service's own program (app: an item of a view's apps)."""
    return systemd.render_unit(UNIT_HEADER, [
        ("Unit", [("Description", systemd.value("VPC-only service %s on 127.0.0.1:%d" % (app["name"], app["port"]))),
                  ("After", "network.target")]),
        ("Service", [("ExecStart", systemd.exec_line(app["command"])),
                     ("DynamicUser", "yes"),
                     ("Restart", "always"),
                     ("RestartSec", "2")]),
        ("Install", [("WantedBy", "multi-user.target")]),
    ])


def forward_unit(unit):
    """The socat unit that forwards one mesh address (unit: an item of a view's socat_units)."""
    proto = unit["protocol"].upper()
    listen = "%s-LISTEN:%d,bind=%s,reuseaddr,fork" % (proto, unit["port"], unit["address"])
    return systemd.render_unit(UNIT_HEADER, [
        ("Unit", [("Description", systemd.value("VPC-only %s: %s %s:%d to 127.0.0.1"
                                                % (unit["service"], unit["protocol"], unit["address"], unit["port"]))),
                  ("After", "network-online.target"),
                  ("Wants", "network-online.target"),
                  # The mesh address appears when its WireGuard interface does: keep trying, never give up.
                  ("StartLimitIntervalSec", "0")]),
        ("Service", [("ExecStart", systemd.exec_line([SOCAT, listen, "%s:127.0.0.1:%d" % (proto, unit["port"])])),
                     ("DynamicUser", "yes"),
                     ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
                     ("Restart", "always"),
                     ("RestartSec", "2")]),
        ("Install", [("WantedBy", "multi-user.target")]),
    ])


def iptables_unit(interfaces):
    """The unit of the iptables mode: runs its script's start at start (and reload), its stop at stop.

    interfaces: the names of this server's WireGuard interfaces (their wg-quick units come first).
    """
    wg_units = ["wg-quick@%s.service" % name for name in interfaces]
    unit = [("Description", systemd.value("VPC-only services: DNAT from the mesh addresses to 127.0.0.1")),
            ("After", systemd.unit_list(["network-online.target"] + wg_units))]
    if wg_units:
        unit.append(("Wants", systemd.unit_list(wg_units)))
    return systemd.render_unit(UNIT_HEADER, [
        ("Unit", unit),
        ("Service", [("Type", "oneshot"),
                     ("RemainAfterExit", "yes"),
                     ("ExecStart", systemd.exec_line([IPTABLES_SCRIPT, "start"])),
                     ("ExecReload", systemd.exec_line([IPTABLES_SCRIPT, "start"])),
                     ("ExecStop", systemd.exec_line([IPTABLES_SCRIPT, "stop"]))]),
        ("Install", [("WantedBy", "multi-user.target")]),
    ])


_SCRIPT_HEADER = """#!/bin/sh
# VPC-only services of this server, iptables mode: start (and reload) or stop.
#   start: (re)load the %(chain)s chain of the nat table (atomically, nothing else is touched), jump to it from
#          PREROUTING (mesh interfaces only) and OUTPUT, and let the mesh interfaces route to 127.0.0.1
#          (route_localnet). Running it again is harmless.
#   stop:  remove the jumps and the chain, and turn route_localnet off again on the mesh interfaces. With
#          iptables-nft, the built-in chains it jumped from go too when left with no rule and policy ACCEPT, and
#          then the nat table when nothing is left in it: iptables-save and nft list ruleset show what they showed
#          before (iptables-legacy never drops a table or built-in chain).
# Written by the fakevpc.vpc vpc_service role from its plan; do not edit, rerun the role instead.
set -eu
prefix=%(prefix)s

set_route_localnet() {
    for setting in /proc/sys/net/ipv4/conf/"$prefix"[0-9]*/route_localnet; do
        if [ -e "$setting" ]; then echo "$1" > "$setting"; fi
    done
}

# iptables-nft creates a built-in chain (and its table) when a rule first goes into it; nothing deletes them.
remove_what_is_left_empty() {
    case "$(iptables -V)" in *nf_tables*) ;; *) return 0 ;; esac
    command -v nft >/dev/null || return 0
    nft list table ip nat >/dev/null 2>&1 || return 0
    for chain in %(sources)s; do
        if nft list chain ip nat "$chain" >/dev/null 2>&1 \\
                && [ "$(iptables -w -t nat -S "$chain")" = "-P $chain ACCEPT" ]; then
            nft delete chain ip nat "$chain"
        fi
    done
    if ! nft list table ip nat | grep -qvE '^(table ip nat \\{|\\})$'; then
        nft delete table ip nat
    fi
}

case "${1:-}" in"""


def iptables_script(rules, iface_prefix):
    """The script of the iptables mode (its unit's start, reload and stop): the chain with rules (DNAT rules of the
    plan), tagged as netns_iptables tags them, and the jumps from the mesh interfaces (iface_prefix) and lo."""
    problem = iface_prefix_problem(iface_prefix)
    if problem:
        raise systemd.UnitError("iface_prefix %s" % problem)
    jumps = [("PREROUTING", ["-i", iface_prefix + "+"]), ("OUTPUT", ["-o", "lo"])]
    out = [_SCRIPT_HEADER % {"chain": CHAIN, "prefix": shlex.quote(iface_prefix),
                             "sources": " ".join(source for source, _matches in jumps)}, "start)"]
    out.append(rules_lib.shell_restore("iptables-restore", "nat", [{"chain": CHAIN, "rules": rules}]))
    out += [rules_lib.shell_jump("iptables", "nat", source, CHAIN, matches) for source, matches in jumps]
    out += ["set_route_localnet 1", ";;", "stop)"]
    out += ["while iptables -w -t nat -D %s 2>/dev/null; do :; done" % rules_lib.jump_rule(source, CHAIN, matches)
            for source, matches in jumps]
    out += ["if iptables -w -t nat -n -L %s >/dev/null 2>&1; then" % CHAIN,
            "    iptables -w -t nat -F %s" % CHAIN,
            "    iptables -w -t nat -X %s" % CHAIN,
            "fi",
            "remove_what_is_left_empty",
            "set_route_localnet 0",
            ";;",
            "*)",
            'echo "usage: $0 start|stop" >&2',
            "exit 2",
            ";;",
            "esac"]
    return "\n".join(out) + "\n"


def server_units(view, interfaces, iface_prefix):
    """A server's units as fakevpc.vpc.systemd_units takes them: {'units': the apps', the socat forwards', then
    the iptables mode's with its script (it reloads when its script changed), when a service of this server uses
    that mode; 'remove_files': the script, when none does}."""
    units = [{"name": app["unit"], "content": app_unit(app)} for app in view["apps"]]
    units += [{"name": unit["name"], "content": forward_unit(unit)} for unit in view["socat_units"]]
    if not view["iptables_rules"]:
        return {"units": units, "remove_files": [IPTABLES_SCRIPT]}
    script = {"path": IPTABLES_SCRIPT, "content": iptables_script(view["iptables_rules"], iface_prefix), "mode": "0755"}
    units.append({"name": IPTABLES_UNIT, "content": iptables_unit(interfaces), "on_change": "reload", "files": [script]})
    return {"units": units, "remove_files": []}
