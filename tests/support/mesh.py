# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml on simulated servers: inventories of the first N servers, state snapshots, expected hosts blocks."""

from __future__ import annotations

import hashlib
import json
import os

from support.addresses import HOSTS_BEGIN, HOSTS_END, hosts_lines
from support.paths import SITE
from support.playbook import run_playbook


class Mesh:
    def __init__(self, net, workdir):
        self.net = net
        self.key_dir = workdir / "wg_keys"
        self.inventory_path = workdir / "inventory.json"

    def write_inventory(self, count, path=None, **overrides):
        """Inventory of the first count servers, at path (default: the mesh's own); overrides: {host: {variable: value}}."""
        # Simulated servers share the host's /etc/cloud: its hosts templates are not theirs to change. Their
        # inventory names are vpc<N>; they keep the lab's VPC names server<N> through wg_mesh_name.
        extra = {s.name: dict({"ansible_become": False, "wg_mesh_install_packages": False,
                               "wg_mesh_name": "server%d" % s.index,
                               "wg_mesh_cloud_init_templates_dir": "",
                               "wg_mesh_key_dir": str(self.key_dir)}, **overrides.get(s.name, {}))
                 for s in self.net.servers}
        inventory = self.net.inventory(extra)
        hosts = inventory["all"]["children"]["vpc"]["hosts"]
        for server in self.net.servers[count:]:
            del hosts[server.name]
        path = path or self.inventory_path
        path.write_text(json.dumps(inventory))
        return path

    def site(self, count, overrides=None, **kwargs):
        return run_playbook(SITE, self.write_inventory(count, **(overrides or {})), **kwargs)

    def snapshot(self):
        """Everything the role may change on every server (not the handshake times and byte counters)."""
        return {s.name: (stable_dump(s.run(["wg", "show", "all", "dump"], check=False).stdout),
                         mesh_addresses(s.run(["ip", "-j", "address"]).stdout),
                         s.hosts_file.read_text(),
                         sorted(os.listdir(s.etc_wireguard)))
                for s in self.net.servers}

    def interface_indices(self, server):
        links = json.loads(server.run(["ip", "-j", "link"]).stdout)
        return {link["ifname"]: link["ifindex"] for link in links if link["ifname"].startswith("wgvpc")}


def stable_dump(dump):
    """`wg show all dump` without what moves on its own (a peer's latest handshake, rx and tx, and the
    endpoint a server interface learns from its clients' packets) and with private keys hashed."""
    stable = []
    for fields in (line.split("\t") for line in dump.splitlines()):
        if len(fields) == 9:
            iface, key, psk, endpoint, allowed_ips, _handshake, _rx, _tx, keepalive = fields
            learnt = iface.endswith("0") and keepalive == "off"
            fields = [iface, key, psk, None if learnt else endpoint, allowed_ips, keepalive]
        elif len(fields) == 5:
            fields = [fields[0], hashlib.sha256(fields[1].encode()).hexdigest()[:12]] + fields[2:]  # a private key
        stable.append(fields)
    return sorted(stable)  # wg lists peers in no fixed order


def mesh_addresses(ip_json):
    return sorted((link["ifname"], link["mtu"], info["local"], info["prefixlen"])
                  for link in json.loads(ip_json) if link["ifname"].startswith("wgvpc") for info in link["addr_info"])


def expected_hosts_block(looking, indices):
    lines = hosts_lines(looking, [("server%d" % other, other) for other in sorted(indices)])
    return HOSTS_BEGIN + "\n" + "\n".join(lines) + "\n" + HOSTS_END + "\n"


def converged_mesh(net, workdir, count=None, **kwargs):
    """A Mesh of net whose first count servers (all, by default) site.yml has converged: the run must succeed."""
    mesh = Mesh(net, workdir)
    run = mesh.site(len(net.servers) if count is None else count, **kwargs)
    assert run.rc == 0, run.describe()
    return mesh
