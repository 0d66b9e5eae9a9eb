# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The names of what the VPCs own on a host (bridges, veths, namespaces, units), the settings they are made from,
and the registry's kinds of resources (pure, no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

import re

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_validate import VpcPlanError
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import fullmatch

DEFAULTS = {
    "bridge_prefix": "br-",
    "veth_prefix": "v-",
    "namespace_prefix": "ns-",
    "chain_prefix": "NVPC",
    "unit_prefix": "netns-vpc",
    "subnet_interface": "eth0",
    "uplink": "",
}


def resource_names(vpc, settings):
    """Names of everything a VPC owns on the host."""
    bridge = names.interface_name(settings["bridge_prefix"], vpc["name"])
    subnets = {}
    for subnet in vpc["subnets"]:
        subnets[subnet["name"]] = {
            "namespace": "%s%s-%s" % (settings["namespace_prefix"], vpc["name"], subnet["name"]),
            "veth": names.interface_name(settings["veth_prefix"], vpc["name"], subnet["name"]),
        }
    units = ["%s-app-%s-%s.service" % (settings["unit_prefix"], vpc["name"], app["name"]) for app in vpc["apps"]]
    return bridge, subnets, units


def check_names(vpcs, settings):
    problems = []
    owners = {}
    for vpc in vpcs:
        bridge, subnets, _units = resource_names(vpc, settings)
        for kind, name in [("interface", bridge)] + [("interface", s["veth"]) for s in subnets.values()] \
                + [("namespace", s["namespace"]) for s in subnets.values()]:
            if kind == "namespace" and not names.is_namespace_name(name):
                problems.append("VPC %r: namespace name %r is not valid" % (vpc["name"], name))
            if (kind, name) in owners and owners[(kind, name)] != vpc["name"]:
                problems.append("VPC %r: %s name %s is also VPC %r's" % (vpc["name"], kind, name, owners[(kind, name)]))
            elif (kind, name) in owners:
                problems.append("VPC %r: %s name %s is used twice" % (vpc["name"], kind, name))
            owners[(kind, name)] = vpc["name"]
    if problems:
        raise VpcPlanError(problems)


def check_settings(settings):
    problems = []
    for key in ("bridge_prefix", "veth_prefix"):
        if not fullmatch(re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,7}"), settings[key]):
            problems.append("setting %s %r: 1 to 8 letters, digits, '_', '-', starting with a letter" % (key, settings[key]))
    if not fullmatch(re.compile(r"[A-Za-z0-9_-]{0,32}"), settings["namespace_prefix"]):
        problems.append("setting namespace_prefix %r: at most 32 letters, digits, '_', '-'" % settings["namespace_prefix"])
    if not fullmatch(re.compile(r"[A-Z][A-Z0-9_]{0,11}"), settings["chain_prefix"]):
        problems.append("setting chain_prefix %r: 1 to 12 capitals, digits or '_'" % settings["chain_prefix"])
    if not fullmatch(re.compile(r"[a-z][a-z0-9-]{0,31}"), settings["unit_prefix"]):
        problems.append("setting unit_prefix %r: lower-case letters, digits and '-'" % settings["unit_prefix"])
    for key in ("subnet_interface",):
        if not names.is_interface_name(settings[key]):
            problems.append("setting %s %r is not an interface name" % (key, settings[key]))
    if settings["uplink"] and not names.is_interface_name(settings["uplink"]):
        problems.append("setting uplink %r is not an interface name" % settings["uplink"])
    if problems:
        raise VpcPlanError(problems)


def resources_of(vpcs, settings):
    namespaces, links, units = [], [], []
    for vpc in vpcs:
        bridge, subnets, vpc_units = resource_names(vpc, settings)
        links.append(bridge)
        for subnet in vpc["subnets"]:
            namespaces.append(subnets[subnet["name"]]["namespace"])
            links.append(subnets[subnet["name"]]["veth"])
        units += vpc_units
    return {"namespaces": namespaces, "links": links, "units": units}


RESOURCE_KINDS = ("namespaces", "links", "units", "chains")


def chain_key(chain):
    """How the registry names a policy chain inside a namespace."""
    return "%s:%s:%s" % (chain["namespace"], chain["table"], chain["chain"])


def previous_resources(previous):
    """What the registry lists, by kind: its lists' strings only (a registry changed by hand gives nothing else)."""
    resources = (previous or {}).get("resources")
    listed = dict((key, (resources if isinstance(resources, dict) else {}).get(key)) for key in RESOURCE_KINDS)
    return dict((key, [item for item in listed[key] if isinstance(item, str)] if isinstance(listed[key], list) else [])
                for key in RESOURCE_KINDS)
