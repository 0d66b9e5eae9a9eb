# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""VPC-only services: which forwards each server needs, as pure data (no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

A service listens on 127.0.0.1 of the servers that run it; each of those servers forwards the
service's port from every one of its mesh addresses (the plan's service_addresses) to 127.0.0.1,
by socat (one systemd unit per address) or by iptables DNAT (rules in a chain of our own).
"""

from __future__ import annotations

import re

from ansible_collections.fakevpc.vpc.plugins.module_utils import _systemd as systemd
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
IPTABLES_RULES = "/etc/fakevpc/vpc-services.rules"
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


def iptables_unit(interfaces, iface_prefix):
    """The unit of the iptables mode: loads the chain at start (and reload), removes it at stop.

    interfaces: the names of this server's WireGuard interfaces (their wg-quick units come first);
    iface_prefix: the prefix of the mesh interfaces (route_localnet and the PREROUTING jump).
    """
    wg_units = ["wg-quick@%s.service" % name for name in interfaces]
    script = [IPTABLES_SCRIPT, "start", IPTABLES_RULES, iface_prefix]
    unit = [("Description", systemd.value("VPC-only services: DNAT from the mesh addresses to 127.0.0.1")),
            ("After", systemd.unit_list(["network-online.target"] + wg_units))]
    if wg_units:
        unit.append(("Wants", systemd.unit_list(wg_units)))
    return systemd.render_unit(UNIT_HEADER, [
        ("Unit", unit),
        ("Service", [("Type", "oneshot"),
                     ("RemainAfterExit", "yes"),
                     ("ExecStart", systemd.exec_line(script)),
                     ("ExecReload", systemd.exec_line(script)),
                     ("ExecStop", systemd.exec_line([IPTABLES_SCRIPT, "stop"] + script[2:]))]),
        ("Install", [("WantedBy", "multi-user.target")]),
    ])


def server_units(view, interfaces, iface_prefix):
    """A server's units: {'units': [{name, content}] (apps, then socat forwards), 'iptables': the content of
    the iptables mode's unit, or None when no service of this server uses that mode}."""
    units = [{"name": app["unit"], "content": app_unit(app)} for app in view["apps"]]
    units += [{"name": unit["name"], "content": forward_unit(unit)} for unit in view["socat_units"]]
    return {"units": units,
            "iptables": iptables_unit(interfaces, iface_prefix) if view["iptables_rules"] else None}
