# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One link as the netns_link module keeps it (read, compare, change), and the module's options: the
module runs it, and the host_networks module asks it, in check mode, whether a recorded call would change anything.

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

import ipaddress
import json

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names
from ansible_collections.fakevpc.vpc.plugins.module_utils._calls import run_as_module
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_state import MISSING_NAMESPACE, Family, ReadOnce, family_callee
from ansible_collections.fakevpc.vpc.plugins.module_utils._state import State

# The options of one link: the module's own, and those of each item of links.
LINK_OPTIONS = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    kind=dict(type="str", choices=["bridge", "veth", "dummy"]),
    peer=dict(type="dict", options=dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str"),
    )),
    master=dict(type="str"),
    up=dict(type="bool", default=True),
    mtu=dict(type="int"),
    addresses=dict(type="list", elements="str"),
    routes=dict(type="list", elements="dict", options=dict(
        dst=dict(type="str", required=True),
        via=dict(type="str"),
        metric=dict(type="int", default=0),
    )),
    rp_filter=dict(type="int", choices=[0, 1, 2]),
)
BLANK = {"kind": None, "master": None, "up": False, "mtu": None, "addresses": [], "routes": [], "rp_filter": None}


def normal_address(text):
    """'10.0.1.1/24' for any spelling of an interface address; ValueError when it is not one."""
    if "/" not in str(text):
        raise ValueError("%r has no prefix length" % text)
    return str(ipaddress.ip_interface(str(text)))


def normal_route(route):
    """(dst network, gateway or None, metric) of a wanted route; ValueError on a bad one."""
    dst = route["dst"]
    network = ipaddress.IPv4Network("0.0.0.0/0" if dst == "default" else dst)
    via = str(ipaddress.IPv4Address(route["via"])) if route.get("via") else None
    return (str(network), via, route.get("metric") or 0)


def live_route(entry):
    dst = entry["dst"]
    network = ipaddress.IPv4Network("0.0.0.0/0" if dst == "default" else dst)
    return (str(network), entry.get("gateway"), entry.get("metric") or 0)


def route_words(route):
    dst, via, metric = route
    words = ["default" if dst == "0.0.0.0/0" else dst]
    if via:
        words += ["via", via]
    return words, (["metric", str(metric)] if metric else [])


def route_text(route):
    words, metric = route_words(route)
    return " ".join(words + metric)


class LiveLinks:
    """What one call reads of the links and routes of the host and of each namespace, read once until something
    changes (a change to one link can change another's: a veth pair's other end, a bridge's ports)."""

    def __init__(self, module, runner):
        self.module = module
        self.runner = runner
        self.reads = ReadOnce()

    def run_ip(self, netns, *args):
        return self.runner.run("ip", *((["-n", netns] if netns else []) + list(args)), check_rc=False)

    def links(self, netns):
        """{name: the `ip -j -d address` entry} of the namespace's links (the host's with netns None); None when the
        namespace does not exist."""
        return self.reads.get(("links", netns), lambda: self.read_links(netns))

    def read_links(self, netns):
        rc, stdout, stderr = self.run_ip(netns, "-j", "-d", "address", "show")
        if rc != 0 and MISSING_NAMESPACE in stderr:
            return None
        if rc != 0:
            self.fail_to_read("links", netns, rc, stderr)
        return dict((link["ifname"], link) for link in json.loads(stdout or "[]"))

    def routes(self, netns, name):
        """The IPv4 routes of the main table through link name, as (dst, gateway, metric); kernel routes left out."""
        return [live_route(entry) for entry in self.reads.get(("routes", netns), lambda: self.read_routes(netns))
                if entry.get("dev") == name and entry.get("protocol") != "kernel"
                and entry.get("type", "unicast") == "unicast"]

    def read_routes(self, netns):
        rc, stdout, stderr = self.run_ip(netns, "-j", "-4", "route", "show")
        if rc != 0:
            self.fail_to_read("routes", netns, rc, stderr)
        return json.loads(stdout or "[]")

    def fail_to_read(self, what, netns, rc, stderr):
        self.module.fail_json(msg="cannot read the %s of %s: %s" % (
            what, "namespace %s" % netns if netns else "the host", stderr.strip()), rc=rc, stderr=stderr)

    def forget(self):
        self.reads.forget()


class Link(State):
    def __init__(self, module, runner, live, params):
        super().__init__(module, runner, {"existed": False, "kind": None, "commands": []}, params)
        self.live = live
        self.name = params["name"]
        self.netns = params["namespace"]
        self.namespace_missing = False

    # -- commands -----------------------------------------------------------------------------
    def ip_args(self, *args):
        return (["-n", self.netns] if self.netns else []) + list(args)

    def act_ip(self, *args):
        self.result["commands"].append(" ".join(["ip"] + self.ip_args(*args)))
        self.act("ip", *self.ip_args(*args))
        self.live.forget()

    def sysctl_key(self, key):
        return names.sysctl_interface_key(self.name, key)

    # -- reading ------------------------------------------------------------------------------
    def read_link(self):
        """The `ip -j -d address` entry, None when missing (or when its namespace is missing)."""
        links = self.live.links(self.netns)
        self.namespace_missing = links is None
        return None if links is None else links.get(self.name)

    def read_state(self, link):
        state = {
            "kind": link.get("linkinfo", {}).get("info_kind"),
            "master": link.get("master"),
            "up": "UP" in link.get("flags", []),
            "mtu": link.get("mtu"),
            "addresses": [],
            "routes": [],
            "rp_filter": None,
        }
        if self.params["addresses"] is not None:
            for entry in link.get("addr_info", []):
                if entry.get("family") in ("inet", "inet6") and entry.get("scope") != "link":
                    state["addresses"].append(normal_address("%s/%s" % (entry["local"], entry["prefixlen"])))
        if self.params["routes"] is not None:
            state["routes"] = self.live.routes(self.netns, self.name)
        if self.params["rp_filter"] is not None:
            state["rp_filter"] = self.read_rp_filter()
        return state

    def read_rp_filter(self):
        _rc, stdout, _stderr = self.runner.run("sysctl", "-n", self.sysctl_key("rp_filter"), netns=self.netns)
        return int(stdout.strip())

    # -- wanted state -------------------------------------------------------------------------
    def wanted_state(self):
        wanted = {"addresses": None, "routes": None}
        if self.params["addresses"] is not None:
            try:
                wanted["addresses"] = sorted(set(normal_address(address) for address in self.params["addresses"]))
            except ValueError as error:
                self.module.fail_json(msg="addresses: %s" % error)
        if self.params["routes"] is not None:
            routes = []
            for position, route in enumerate(self.params["routes"]):
                try:
                    normal = normal_route(route)
                except ValueError as error:
                    self.module.fail_json(msg="routes[%d]: %s" % (position, error))
                if normal in routes:
                    self.module.fail_json(msg="routes[%d]: %s is listed twice" % (position, route_text(normal)))
                routes.append(normal)
            wanted["routes"] = routes
        return wanted

    # -- acting -------------------------------------------------------------------------------
    def create(self):
        kind, peer = self.params["kind"], self.params["peer"]
        if kind is None or (kind == "veth" and not peer):
            why = ("give kind to create it" if kind is None
                   else "a veth end without peer is created with its pair, from the other end")
            if self.module.check_mode:
                self.changed = True
                self.result["commands"].append("(%s is created by another task)" % self.name)
                return
            where = "in namespace %s" % self.netns if self.netns else "on the host"
            if self.namespace_missing:
                self.module.fail_json(msg="namespace %s does not exist" % self.netns)
            self.module.fail_json(msg="link %s does not exist %s: %s" % (self.name, where, why))
        if self.namespace_missing and not self.module.check_mode:
            self.module.fail_json(msg="namespace %s does not exist" % self.netns)
        args = ["link", "add", self.name, "type", kind]
        if kind == "veth":
            args += ["peer", "name", peer["name"]]
            peer_netns = peer.get("namespace") or self.netns
            if peer_netns and peer_netns != self.netns:
                args += ["netns", peer_netns]
        self.act_ip(*args)

    def apply(self, live, wanted):
        params = self.params
        if params["master"] is not None and (live["master"] or "") != params["master"]:
            if params["master"]:
                self.act_ip("link", "set", "dev", self.name, "master", params["master"])
            else:
                self.act_ip("link", "set", "dev", self.name, "nomaster")
        if params["mtu"] and params["mtu"] != live["mtu"]:
            self.act_ip("link", "set", "dev", self.name, "mtu", str(params["mtu"]))
        if wanted["addresses"] is not None:
            for address in live["addresses"]:
                if address not in wanted["addresses"]:
                    self.act_ip("address", "del", address, "dev", self.name)
            for address in wanted["addresses"]:
                if address not in live["addresses"]:
                    self.act_ip("address", "add", address, "dev", self.name)
        if params["up"] != live["up"]:
            self.act_ip("link", "set", "dev", self.name, "up" if params["up"] else "down")
        if params["rp_filter"] is not None and params["rp_filter"] != live["rp_filter"]:
            command = ["sysctl", "-q", "-w", "%s=%d" % (self.sysctl_key("rp_filter"), params["rp_filter"])]
            self.result["commands"].append(" ".join((["ip", "netns", "exec", self.netns] if self.netns else []) + command))
            self.act(*command, netns=self.netns)
        if wanted["routes"] is not None:
            for route in live["routes"]:
                if route not in wanted["routes"]:
                    words, metric = route_words(route)
                    self.act_ip("route", "del", *(words + ["dev", self.name] + metric))
            for route in wanted["routes"]:
                if route not in live["routes"]:
                    words, metric = route_words(route)
                    self.act_ip("route", "add", *(words + ["dev", self.name] + metric))

    # -- entry points -------------------------------------------------------------------------
    def present(self):
        wanted = self.wanted_state()
        link = self.read_link()
        self.result["existed"] = link is not None
        if link is None:
            self.create()
            live = dict(BLANK)
            if self.params["rp_filter"] is not None and not self.module.check_mode:
                live["rp_filter"] = self.read_rp_filter()
            self.result["kind"] = self.params["kind"]
        else:
            live = self.read_state(link)
            self.result["kind"] = live["kind"]
            if self.params["kind"] and live["kind"] != self.params["kind"]:
                self.module.fail_json(msg="%s exists and is a %s link, not a %s" % (self.name, live["kind"], self.params["kind"]))
        self.apply(live, wanted)
        self.add_diff(self.name, self.describe(live) if link is not None else "", self.describe(self.after(live, wanted)))

    def absent(self):
        link = self.read_link()
        self.result["existed"] = link is not None
        if link is not None:
            live = self.read_state(link)
            self.result["kind"] = live["kind"]
            self.act_ip("link", "del", "dev", self.name)
            self.add_diff(self.name, self.describe(live), "")
        else:
            self.add_diff(self.name, "", "")

    # -- diff ---------------------------------------------------------------------------------
    def after(self, live, wanted):
        params = self.params
        state = dict(live)
        state["kind"] = live["kind"] or params["kind"]
        if params["master"] is not None:
            state["master"] = params["master"] or None
        if params["mtu"]:
            state["mtu"] = params["mtu"]
        state["up"] = params["up"]
        for key in ("addresses", "routes"):
            if wanted[key] is not None:
                state[key] = wanted[key]
        if params["rp_filter"] is not None:
            state["rp_filter"] = params["rp_filter"]
        return state

    def describe(self, state):
        params = self.params
        lines = ["link %s (%s) in %s" % (self.name, state["kind"] or "?",
                                         "namespace %s" % self.netns if self.netns else "the host namespace")]
        if params["master"] is not None:
            lines.append("master: %s" % (state["master"] or "-"))
        if params["mtu"]:
            lines.append("mtu: %s" % state["mtu"])
        lines.append("up: %s" % ("yes" if state["up"] else "no"))
        if params["addresses"] is not None:
            lines.append("addresses:")
            lines += ["  - %s" % address for address in sorted(state["addresses"])]
        if params["routes"] is not None:
            lines.append("routes:")
            lines += ["  - %s" % route_text(route) for route in sorted(state["routes"])]
        if params["rp_filter"] is not None:
            lines.append("rp_filter: %s" % state["rp_filter"])
        return "\n".join(lines) + "\n"


def link_problem(params):
    """What is wrong with the options of one link (names, peer), or None."""
    for option, value in (("name", params["name"]), ("master", params["master"] or None),
                          ("peer.name", (params["peer"] or {}).get("name"))):
        if value is not None and not names.is_interface_name(value):
            return "%s: %r is not an interface name (%s)" % (option, value, names.INTERFACE_NAME_RULE)
    for option, value in (("namespace", params["namespace"]), ("peer.namespace", (params["peer"] or {}).get("namespace"))):
        if value is not None and not names.is_namespace_name(value):
            return "%s: %r is not a namespace name" % (option, value)
    if params["peer"] and params["kind"] != "veth":
        return "peer: only a veth link has a peer"
    return None


# The netns_link module: one link (its own options) or a batch (links).
LINKS = Family(
    key="links", name_key="name", options=LINK_OPTIONS, problem=link_problem, read=LiveLinks, state=Link,
    spec=dict(LINK_OPTIONS, name=dict(type="str"), links=dict(type="list", elements="dict")),
    required_one_of=[("name", "links")],
    mutually_exclusive=[("links", option) for option in LINK_OPTIONS if "default" not in LINK_OPTIONS[option]],
)

LINKS_CALLEE = family_callee(LINKS)


def main():
    """The netns_link module."""
    run_as_module(LINKS_CALLEE)
