# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One WireGuard interface, read live, compared with the wanted one and changed in place.

A private module of the fakevpc.vpc collection: its interface may change without notice. The wg_interfaces
module runs one per interface (every interface of a host in one call).
"""

from __future__ import annotations

import base64
import json
import os
import socket

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names, _wg_allowed_ips, _wg_keys, _wireguard
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import make_directories, replace_file
from ansible_collections.fakevpc.vpc.plugins.module_utils._state import State

SYSTEMD_RUNNING = "/run/systemd/system"
# Where wireguard-go listens for `wg` (its UAPI socket, <interface>.sock), and how long a new one may take to answer.
UAPI_DIR = "/var/run/wireguard"
UAPI_TIMEOUT = 10.0
INOTIFY_INSTANCES = "/proc/sys/fs/inotify/max_user_instances"


# The options of one peer of an interface of wg_interfaces.
PEER_OPTIONS = dict(
    public_key=dict(type="str", required=True, no_log=False),
    preshared_key=dict(type="str", no_log=True),
    endpoint=dict(type="str"),
    allowed_ips=dict(type="list", elements="str", default=[]),
    persistent_keepalive=dict(type="int"),
)

# The routes of one interface (besides the kernel's own, of its addresses) of wg_interfaces.
ROUTE_OPTIONS = dict(
    to=dict(type="str", required=True),
    src=dict(type="str"),
)
FORWARDING = "/proc/sys/net/ipv4/conf/%s/forwarding"


def check_name(module, name, where="name"):
    if not names.is_interface_name(name):
        module.fail_json(msg="%s: %r is not an interface name (%s)" % (where, name, names.INTERFACE_NAME_RULE))


def resolved_endpoints(endpoint):
    """The 'address:port' strings `wg show` would print for endpoint."""
    host, port = _wireguard.split_endpoint(endpoint)
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)
    except socket.gaierror:
        return set()
    return set(("[%s]:%d" if family == socket.AF_INET6 else "%s:%d") % (address[0], port)
               for family, _type, _proto, _name, address in infos)


def endpoint_is_current(wanted, live):
    return live is not None and live in resolved_endpoints(wanted)


def userspace_answers(name, timeout=UAPI_TIMEOUT):
    """Whether the wireguard-go daemon of interface name answers a UAPI `get` within timeout seconds.

    wireguard-go creates the socket, forks its daemon and returns 0 at once, before the daemon has started to
    serve: a daemon that dies at start (it does, for one, when fs.inotify.max_user_instances is reached) leaves
    a socket that accepts a connection and then closes it, or refuses it.
    """
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    reply = b""
    try:
        client.connect(os.path.join(UAPI_DIR, name + ".sock"))
        client.sendall(b"get=1\n\n")
        while not reply.endswith(b"\n\n"):
            chunk = client.recv(4096)
            if not chunk:
                break
            reply += chunk
    except OSError:
        return False
    finally:
        client.close()
    return reply.endswith(b"errno=0\n\n")


def inotify_instances_limit():
    try:
        with open(INOTIFY_INSTANCES) as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


class WireGuardInterface(State):
    """One interface: read the live state, compare with the wanted one, act on the difference."""

    def __init__(self, module, runner, params, where=""):
        """params: the interface's options (name, private_key, listen_port, addresses, mtu, peers,
        implementation, config_dir, persist), as an item of wg_interfaces' interfaces; where: how
        failure messages name the options (empty for a module's top level, else e.g. 'interfaces[1]: ')."""
        super().__init__(module, runner, {"peers_added": [], "peers_updated": [], "peers_removed": [],
                                          "implementation": None}, params=params)
        self.where = where
        self.run = runner.run
        self.name = params["name"]
        self.config_path = os.path.join(params["config_dir"], "%s.conf" % self.name)
        # Kept by the wg-quick file's hooks (_wireguard.endpoint_hooks).
        self.endpoints_path = os.path.join(params["config_dir"], "%s.endpoints" % self.name)
        self.wanted = None

    # -- reading ------------------------------------------------------------------------------
    def read_link(self):
        """The `ip -j -d link` entry of the interface, or None when it does not exist."""
        rc, stdout, _stderr = self.run("ip", "-j", "-d", "link", "show", "dev", self.name, check_rc=False)
        if rc != 0:
            return None
        return json.loads(stdout)[0]

    def read_state(self, link):
        _rc, dump, _stderr = self.run("wg", "show", self.name, "dump")
        state = _wireguard.parse_dump(dump)
        _rc, addresses, _stderr = self.run("ip", "-j", "address", "show", "dev", self.name)
        state["addresses"] = _wireguard.parse_ip_addresses(json.loads(addresses))
        state["mtu"] = link.get("mtu")
        state["up"] = "UP" in link.get("flags", [])
        _rc, routes, _stderr = self.run("ip", "-j", "route", "show", "dev", self.name)
        state["routes"] = _wireguard.parse_ip_routes(json.loads(routes) if routes.strip() else [])
        state["forwarding"] = self.read_forwarding()
        return state

    def read_forwarding(self, name=None):
        """Whether the interface (or 'default') forwards what it receives (net.ipv4.conf.<name>.forwarding); None
        when that cannot be read (no such interface)."""
        try:
            with open(FORWARDING % (name or self.name)) as handle:
                return handle.read().strip() == "1"
        except OSError:
            return None

    def read_config_file(self):
        if not os.path.exists(self.config_path):
            return None
        with open(self.config_path) as handle:
            return handle.read()

    # -- wanted state -------------------------------------------------------------------------
    def fail_option(self, option, problem):
        """Fail naming the interface and the option, never a key's value (messages of a key option hold none)."""
        self.module.fail_json(msg="interface %s: %s%s: %s" % (self.name, self.where, option, problem))

    def check_range(self, option, value, low, high):
        if value is not None and not low <= value <= high:
            self.fail_option(option, "must be an integer from %d to %d, got %d" % (low, high, value))

    def wanted_state(self):
        try:
            private_key = _wireguard.clamped_private_key(self.params["private_key"])
        except ValueError:
            self.fail_option("private_key", "not a WireGuard key (base64 of 32 bytes)")
        try:
            addresses = _wireguard.normalise_addresses(self.params["addresses"])
        except ValueError as error:
            self.fail_option("addresses", str(error))
        self.check_range("listen_port", self.params["listen_port"], 1, 65535)
        # 1280 is the least IPv6 needs, 65535 the most a WireGuard or tun device takes.
        if self.params["mtu"] not in (None, 0):
            self.check_range("mtu", self.params["mtu"], 1280, 65535)
        peers = {}
        for position, peer in enumerate(self.params["peers"]):
            where = "peers[%d]" % position
            if peer["public_key"] in peers:
                self.fail_option(where + ".public_key", "%s is listed twice" % peer["public_key"])
            if _wg_keys.decode_key(peer["public_key"]) is None:
                self.fail_option(where + ".public_key", "not a WireGuard key (base64 of 32 bytes): %r" % peer["public_key"])
            if peer["preshared_key"] is not None and _wg_keys.decode_key(peer["preshared_key"]) is None:
                self.fail_option(where + ".preshared_key", "not a WireGuard key (base64 of 32 bytes)")
            try:
                allowed_ips = _wireguard.normalise_networks(peer["allowed_ips"])
            except ValueError as error:
                self.fail_option(where + ".allowed_ips", str(error))
            if peer["endpoint"] is not None:
                try:
                    _wireguard.split_endpoint(peer["endpoint"])
                except ValueError as error:
                    self.fail_option(where + ".endpoint", "%s, got %r" % (error, peer["endpoint"]))
            self.check_range(where + ".persistent_keepalive", peer["persistent_keepalive"], 0, 65535)
            peers[peer["public_key"]] = {
                "preshared_key": peer["preshared_key"],
                "endpoint": peer["endpoint"],
                "allowed_ips": allowed_ips,
                "persistent_keepalive": peer["persistent_keepalive"] or None,
            }
        try:
            routes = _wireguard.normalise_routes(self.params.get("routes") or [])
        except ValueError as error:
            self.module.fail_json(msg=self.where + "routes: %s" % error)
        return {
            "private_key": private_key,
            "listen_port": self.params["listen_port"],
            "addresses": addresses,
            "mtu": self.params["mtu"],
            "peers": peers,
            "routes": routes,
            "forwarding": self.params.get("forwarding") or None,
        }

    @staticmethod
    def managed_view(live, wanted):
        """The live state limited to what the wanted state manages, for the diff."""
        if live is None:
            return None
        peers = {}
        for key, peer in live["peers"].items():
            wanted_peer = wanted["peers"].get(key) if wanted else None
            peers[key] = dict(peer, endpoint=peer["endpoint"] if wanted_peer and wanted_peer["endpoint"] else None)
        return {
            "private_key": live["private_key"],
            "listen_port": live["listen_port"] if wanted is None or wanted["listen_port"] else None,
            "addresses": live["addresses"],
            "mtu": live["mtu"] if wanted is None or wanted["mtu"] else None,
            "peers": peers,
            "routes": live["routes"],
            "forwarding": live["forwarding"] or None,
        }

    # -- acting -------------------------------------------------------------------------------
    def started_by_unit(self):
        """Whether a new interface is brought up by its wg-quick unit rather than created live: with persist, where
        systemd runs the host, and when either implementation will do (wg-quick picks the kernel's or wireguard-go)."""
        return self.params["persist"] and self.params["implementation"] == "auto" and os.path.isdir(SYSTEMD_RUNNING)

    def start_unit(self, wanted):
        """Write the wg-quick file, enable the unit and start it. The unit is then active, so it takes the interface
        down at shutdown, and the file's PreDown hook keeps the endpoints its peers came from (endpoint_hooks); the
        unit of an interface created live would only take over at the next boot, and keep nothing at the first."""
        self.persist(wanted)
        self.act("systemctl", "start", self.systemd_unit())
        if self.module.check_mode:
            return "kernel"
        link = self.read_link()
        if link is None:
            self.module.fail_json(msg="%s started, but there is no interface %s; see journalctl -u %s"
                                  % (self.systemd_unit(), self.name, self.systemd_unit()))
        return self.implementation_of(link)

    def create(self):
        implementation = self.params["implementation"]
        if self.module.check_mode:
            return "kernel" if implementation == "auto" else implementation
        if implementation in ("auto", "kernel"):
            rc, _stdout, stderr = self.run("ip", "link", "add", "dev", self.name, "type", "wireguard", check_rc=False)
            if rc == 0:
                return "kernel"
            if implementation == "kernel" or not self.runner.binary("wireguard-go", required=False):
                self.module.fail_json(
                    msg="cannot create %s: the kernel has no WireGuard (%s) and wireguard-go is %s"
                    % (self.name, stderr.strip(), "not wanted" if implementation == "kernel" else "not installed"))
        # wireguard-go forks its daemon and returns. The daemon gets a session of its own: it would otherwise share
        # the process group of whoever ran the module, and Ansible signals that group when it stops a worker.
        self.run("setsid", "--wait", self.runner.binary("wireguard-go"), self.name)
        if not userspace_answers(self.name):
            self.module.fail_json(
                msg="cannot create %s: wireguard-go started but its daemon does not answer on %s/%s.sock. Each"
                " wireguard-go takes one inotify instance and this user may have %s (fs.inotify.max_user_instances);"
                " `LOG_LEVEL=verbose wireguard-go --foreground %s` shows why it stops"
                % (self.name, UAPI_DIR, self.name, inotify_instances_limit(), self.name))
        return "userspace"

    def apply_interface(self, live, wanted):
        args, data = [], None
        if live["private_key"] != wanted["private_key"]:
            args += ["private-key", "/dev/stdin"]
            data = wanted["private_key"]
        if wanted["listen_port"] and wanted["listen_port"] != live["listen_port"]:
            args += ["listen-port", wanted["listen_port"]]
        if args:
            self.act("wg", "set", self.name, *args, data=data)

    def apply_peers(self, live, wanted):
        removed = {}
        for key in live["peers"]:
            if key not in wanted["peers"]:
                self.result["peers_removed"].append(key)
                removed[key] = live["peers"][key]
                self.act("wg", "set", self.name, "peer", key, "remove")
        # Allowed IPs that staying peers lose go first, all of them, before any peer gains one (a prefix moving
        # between peers must not be taken back from its new peer).
        losing = dict((key, _wireguard.allowed_ips_to_drop(live["peers"].get(key), peer))
                      for key, peer in wanted["peers"].items())
        dropped = [network for networks in losing.values() for network in networks]
        if dropped:
            sink = base64.b64encode(os.urandom(32)).decode()
            self.act("wg", "set", self.name, "peer", sink, "allowed-ips", ",".join(dropped))
            self.act("wg", "set", self.name, "peer", sink, "remove")
        for key, peer in wanted["peers"].items():
            live_peer = live["peers"].get(key)
            if _wireguard.dials_a_peer_that_dialled(live_peer, peer, endpoint_is_current):
                self.act("wg", "set", self.name, "peer", key, "remove")
                live_peer = None
            args, data, added = _wireguard.peer_update(live_peer, peer, endpoint_is_current)
            if key not in live["peers"]:
                self.result["peers_added"].append(key)
                # A peer whose key changed (a rotation) keeps the address it roams at: this end can then start the
                # handshake with its new key at once, even when the plan gives it no endpoint to dial.
                endpoint = _wireguard.inherited_endpoint(removed, peer)
                if endpoint is not None:
                    args += ["endpoint", endpoint]
            elif args or added or losing[key]:
                self.result["peers_updated"].append(key)
            else:
                continue
            if args or live_peer is None:
                self.act("wg", "set", self.name, "peer", key, *args, data=data)
            if added:
                self.add_allowed_ips(key, added)

    def add_allowed_ips(self, key, networks):
        """Add networks to the live peer key's allowed IPs, keeping the ones it has (traffic to them flows on)."""
        self.changed = True
        if self.module.check_mode:
            return
        try:
            _wg_allowed_ips.add_allowed_ips(self.name, self.result["implementation"], key, networks, UAPI_DIR)
        except OSError as error:
            self.module.fail_json(msg="cannot add allowed IPs %s to peer %s of %s: %s"
                                  % (", ".join(networks), key, self.name, error))

    def apply_link(self, live, wanted):
        for address in live["addresses"]:
            if address not in wanted["addresses"]:
                self.act("ip", "address", "del", address, "dev", self.name)
        for address in wanted["addresses"]:
            if address not in live["addresses"]:
                self.act("ip", "address", "add", address, "dev", self.name)
        if wanted["mtu"] and wanted["mtu"] != live["mtu"]:
            self.act("ip", "link", "set", "dev", self.name, "mtu", wanted["mtu"])
        if not live["up"]:
            self.act("ip", "link", "set", "dev", self.name, "up")

    def apply_routes(self, live, wanted):
        """Routes through the interface: every one but the kernel's is the module's (the interface is)."""
        for route in live["routes"]:
            if route not in wanted["routes"]:
                self.act("ip", "route", "del", route["to"], "dev", self.name)
        for route in wanted["routes"]:
            if route not in live["routes"]:
                self.act("ip", "route", "replace", route["to"], "dev", self.name,
                         *(["src", route["src"]] if route["src"] else []))

    def apply_forwarding(self, live, wanted):
        """Forwarding on, or as a new interface gets it (net.ipv4.conf.default.forwarding): the interface is ours.
        Only what arrives on this interface may be forwarded (IPv4 forwarding is per receiving interface)."""
        if live["forwarding"] is None:
            # No interface to read yet (check mode): creating it with forwarding on is a change.
            self.changed = self.changed or bool(wanted["forwarding"])
            return
        want = True if wanted["forwarding"] else self.read_forwarding("default")
        if want is None or want == live["forwarding"]:
            return
        self.changed = True
        if not self.module.check_mode:
            with open(FORWARDING % self.name, "w") as handle:
                handle.write("1\n" if want else "0\n")

    def systemd_unit(self):
        return "wg-quick@%s.service" % self.name

    def unit_enabled(self):
        rc, _stdout, _stderr = self.run("systemctl", "is-enabled", "--quiet", self.systemd_unit(), check_rc=False)
        return rc == 0

    def persist(self, wanted):
        text = _wireguard.render_config(wanted, endpoints_directory=self.params["config_dir"])
        if self.read_config_file() != text:
            self.changed = True
            if not self.module.check_mode:
                self.write_config_file(text)
        elif (os.stat(self.config_path).st_mode & 0o777) != 0o600:
            self.act_chmod()
        if os.path.isdir(SYSTEMD_RUNNING) and not self.unit_enabled():
            self.act("systemctl", "enable", self.systemd_unit())

    def act_chmod(self):
        self.changed = True
        if not self.module.check_mode:
            os.chmod(self.config_path, 0o600)

    def write_config_file(self, text):
        make_directories(self.params["config_dir"], 0o700)
        replace_file(self.config_path, text, 0o600, module=self.module)

    def unpersist(self):
        if os.path.isdir(SYSTEMD_RUNNING) and self.unit_enabled():
            self.act("systemctl", "disable", self.systemd_unit())
        for path in (self.config_path, self.endpoints_path):
            if os.path.lexists(path):
                self.changed = True
                if not self.module.check_mode:
                    os.unlink(path)

    # -- entry points -------------------------------------------------------------------------
    def validate(self):
        """Check the wanted state (failing the module on a bad option) before any interface changes."""
        self.wanted = self.wanted_state()

    def present(self):
        if self.wanted is None:
            self.validate()
        wanted = self.wanted
        link = self.read_link()
        existed = link is not None
        live = None
        if link is None:
            self.changed = True
            self.result["implementation"] = self.start_unit(wanted) if self.started_by_unit() else self.create()
            if not self.module.check_mode:
                link = self.read_link()
        else:
            self.result["implementation"] = self.implementation_of(link)
        if link is not None:
            live = self.read_state(link)
        start = live or {"private_key": None, "listen_port": None, "addresses": [], "mtu": None, "peers": {}, "up": False,
                         "routes": [], "forwarding": None}
        # Peers first: a new private key ends the sessions and starts the handshakes, with the peers' new preshared keys.
        self.apply_peers(start, wanted)
        self.apply_interface(start, wanted)
        self.apply_link(start, wanted)
        self.apply_routes(start, wanted)
        self.apply_forwarding(start, wanted)
        if self.params["persist"]:
            self.persist(wanted)
        self.add_config_diff(self.managed_view(live, wanted) if existed else None, wanted)

    def unit_active(self):
        rc, _stdout, _stderr = self.run("systemctl", "is-active", "--quiet", self.systemd_unit(), check_rc=False)
        return rc == 0

    def absent(self):
        link = self.read_link()
        live = None
        if link is not None:
            live = self.read_state(link)
            self.result["peers_removed"] = list(live["peers"])
            # The unit that brought the interface up at boot is stopped (wg-quick down deletes the link),
            # rather than left active with no interface; whatever is left of the link is deleted.
            stopped = os.path.isdir(SYSTEMD_RUNNING) and self.unit_active()
            if stopped:
                self.act("systemctl", "stop", self.systemd_unit())
            if not stopped or self.module.check_mode or self.read_link() is not None:
                self.act("ip", "link", "del", "dev", self.name)
        self.unpersist()
        self.add_config_diff(self.managed_view(live, None), None)

    def implementation_of(self, link):
        kind = link.get("linkinfo", {}).get("info_kind")
        if kind == "wireguard":
            return "kernel"
        if kind == "tun":
            return "userspace"
        self.module.fail_json(msg="%s exists and is not a WireGuard interface (kind %s)" % (self.name, kind))

    def add_config_diff(self, before, after):
        """The diff in wg-quick form, keys hidden."""
        if self.module._diff:
            directory = self.params["config_dir"] if self.params["persist"] else None
            self.add_diff(self.name, _wireguard.render_config(before, redact=True, before=before,
                                                              endpoints_directory=directory) if before else "",
                          _wireguard.render_config(after, redact=True, before=before,
                                                   endpoints_directory=directory) if after else "")
