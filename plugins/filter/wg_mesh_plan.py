# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: wg_mesh_plan
short_description: Compute and validate the pairwise WireGuard mesh plan of an inventory group
version_added: 0.1.0
description:
  - Reads each server's stable index, endpoint, WireGuard port and name from C(hostvars)
    and returns, per server, its WireGuard interfaces, the C(/etc/hosts) entries as seen
    from that server, and the mesh addresses a VPC-only service listens on.
  - For servers A < B the pair uses C(192.168.(offset+A-1\).0/24); A is C(.1), B is C(.B).
  - Every server has a server interface C(<prefix>0) and one client interface C(<prefix>L)
    per lower-index server L.
  - Fails before anything runs, naming the host and the variable, on a missing or duplicate
    index, an index outside 1..254, a subnet past C(192.168.255.0/24), a bad port, two servers
    with the same endpoint and port, a missing endpoint where a higher server needs it,
    or an invalid domain or name.
  - Every pattern matches the whole value (a trailing newline is refused) and integers are ASCII digits.
  - An endpoint is an IPv4 address in dotted decimal (no leading zero, so C(10.0.0.010) is refused, not
    dialled as octal), an IPv6 address or a DNS name; never an unspecified (C(0.0.0.0), C(::)),
    loopback, multicast or broadcast address, C(localhost), or a name the resolver would read as an
    address (C(1.2.3), C(0x7f000001), an all-digit last label). Endpoints that differ only in case or in
    their IPv6 spelling are the same endpoint.
  - A name is one lowercase DNS label, not all digits and not C(localhost); C(<name>.<domain>) fits 253
    characters. The domain's labels are lowercase, its last label is not all digits nor C(localhost).
extends_documentation_fragment:
  - fakevpc.vpc.hostvars
options:
  hosts:
    description:
      - The inventory hostnames of the mesh, usually C(groups['vpc']). Never C(ansible_play_hosts),
        or a C(--limit) run would plan a smaller mesh.
      - Per host, these inventory variables are read.
      - C(wg_mesh_index) (required) the stable index, 1 to 254.
      - C(wg_mesh_endpoint) the address the other servers reach it at; defaults to C(ansible_host).
        Needed on every server that another one dials (see C(wg_mesh_dialable)).
      - C(wg_mesh_port) its WireGuard UDP port, default 51820.
      - C(wg_mesh_name) its name in the VPC. By default the inventory hostname's first label, lowercased
        (C(db1.example.com) gives C(db1)); C(server<index>) for an inventory hostname that is an IP address.
      - C(wg_mesh_aliases) a list of extra names (DNS labels) in every hosts block.
      - C(wg_mesh_dialable) V(false) says nobody can connect to this server (behind NAT, no forwarded port);
        in each of its pairs the other side listens, and a pair where neither side can be dialled goes through
        the relay. Default V(true).
      - C(wg_mesh_state) V(absent) leaves the host out of the plan (it is being removed); default V(present).
  iface_ip_offset:
    description: Third octet of the subnet of server 1; server A uses C(192.168.(offset+A-1\).0/24).
    type: int
    default: 1
  domain:
    description: The VPC domain; every server is also C(<name>.<domain>).
    type: str
    default: vpcdomain
  keepalive:
    description: Persistent keepalive, in seconds, of client interfaces; 0 turns it off.
    type: int
    default: 25
  iface_prefix:
    description: Prefix of the interface names, at most 12 characters.
    type: str
    default: wgvpc
  settings_host:
    description: The host whose variables gave the mesh-wide settings above, named in their errors.
    type: str
    version_added: 0.2.0
  relay:
    description:
      - The inventory hostname of the server that carries every pair where neither side can be dialled.
        It must be dialable. By default the dialable server with the lowest index.
    type: str
  external_peers:
    description:
      - Machines Ansible never touches (a laptop, a CI runner), each a dict with C(name) (a DNS label of at most
        15 characters), C(index) (from the same index space as the servers), and optionally C(endpoint) (then
        the servers may dial it), C(port) (default 51820) and C(aliases).
    type: list
    elements: dict
    default: []
  carried_prefixes:
    description:
      - Networks behind a server that the tunnel of each pair carries (the subnets of VPCs spanning servers,
        computed by P(fakevpc.vpc.netns_vpc_fleet#filter) from C(netns_vpc_vpcs)), each a dict with C(host),
        C(peer) (inventory hostnames of two servers of the mesh) and C(prefixes) (IPv4 networks behind C(peer)).
      - Each prefix becomes an allowed IP of C(peer) on C(host)'s interface of the pair and a route through it,
        and that interface forwards. A pair that the relay carries carries them on both ends' tunnels to the
        relay, which forwards them (its view's C(transit)).
    type: list
    elements: dict
    default: []
    version_added: 0.3.0
"""

EXAMPLES = r"""
- name: Compute this server's view of the mesh
  ansible.builtin.set_fact:
    wg_mesh_view: "{{ (hostvars | fakevpc.vpc.wg_mesh_plan(groups['vpc'], iface_ip_offset=5)).servers[inventory_hostname] }}"

# With server1 (index 1) and server2 (index 2) and the default offset:
# servers.server1.interfaces[0] == {name: wgvpc0, role: server, address: 192.168.1.1/24, listen_port: 51820,
#                                   peers: [{host: server2, index: 2, allowed_ips: [192.168.1.2/32], ...}]}
# servers.server2.hosts_lines == ['192.168.1.1 server1 server1.vpcdomain', '127.0.0.1 server2 server2.vpcdomain']
"""

RETURN = r"""
_value:
  description: "A dict C({'servers': {inventory_hostname: view}})."
  type: dict
  contains:
    servers:
      description:
        - Per inventory hostname, a dict with C(index), C(name), C(fqdn), C(interfaces) (each with C(name),
          C(role) (C(server) or C(client)), C(address), C(listen_port), C(peers)), C(hosts_entries)
          (C(address), C(names)), C(hosts_lines), C(service_addresses), C(relayed) (the relay of each relayed pair, by its other end),
          C(transit) (the carried prefixes it relays, each with C(prefix) and its C(in) and C(out) interfaces) and C(iface_prefix).
        - A peer has C(host), C(index), C(allowed_ips), C(endpoint) (C(host:port) or null) and
          C(persistent_keepalive) (or null).
      type: dict
    settings:
      description: The mesh-wide settings the plan was computed with, C(iface_ip_offset), C(domain), C(keepalive),
        C(iface_prefix), C(relay) and C(external_peers), for P(fakevpc.vpc.wg_mesh_option_problems#filter) to compare each host's with.
      type: dict
      version_added: 0.2.0
    external_peers:
      description: Per external peer name, the same view as a server's (one interface, named after the peer).
      type: dict
    relayed:
      description: The pairs carried by a relay, each a dict with C(hosts) (the two ends) and C(relay).
      type: list
    key_holders:
      description: The holders of a key pair (inventory hostnames, and C(external-<name>) per external peer).
      type: list
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import (
    DEFAULT_DOMAIN,
    DEFAULT_IFACE_PREFIX,
    DEFAULT_KEEPALIVE,
    DEFAULT_OFFSET,
    MeshPlanError,
    build_mesh_plan,
)
from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import as_bool, as_int

HOST_VARIABLES = {
    "index": "wg_mesh_index",
    "endpoint": "wg_mesh_endpoint",
    "port": "wg_mesh_port",
    "name": "wg_mesh_name",
    "host": "hosts",
    "aliases": "wg_mesh_aliases",
    "dialable": "wg_mesh_dialable",
    "carried_prefixes": "wg_mesh_carried_prefixes",
}
SETTING_VARIABLES = {
    "iface_ip_offset": "wg_mesh_iface_ip_offset",
    "domain": "wg_mesh_domain",
    "keepalive": "wg_mesh_keepalive",
    "iface_prefix": "wg_mesh_iface_prefix",
    "relay": "wg_mesh_relay",
    "external_peers": "wg_mesh_external_peers",
    "carried_prefixes": "wg_mesh_carried_prefixes",
}


def _server_from_hostvars(hostvars, host):
    variables = hostvars[host]
    dialable = as_bool(variables.get("wg_mesh_dialable", True))
    # A server nobody dials has no endpoint: ansible_host may well be an address only the controller reaches.
    endpoint = variables.get("wg_mesh_endpoint") or variables.get("ansible_host") if dialable is not False else None
    return {
        "host": host,
        "index": as_int(variables.get("wg_mesh_index")),
        "endpoint": endpoint,
        "port": as_int(variables.get("wg_mesh_port")),
        "name": variables.get("wg_mesh_name"),
        "aliases": variables.get("wg_mesh_aliases"),
        "dialable": dialable,
    }


def _is_member(hostvars, host):
    """False for a host marked wg_mesh_state=absent: it is being removed from the mesh."""
    if host not in hostvars:
        raise AnsibleFilterError("wg_mesh_plan: host %r: not in the inventory" % (host,))
    state = hostvars[host].get("wg_mesh_state", "present")
    if state not in ("present", "absent"):
        raise AnsibleFilterError("wg_mesh_plan: host %r: variable wg_mesh_state: must be present or absent, got %r" % (host, state))
    return state == "present"


def _variable(hostvars, host, field):
    """The inventory variable a server's field comes from (an endpoint may come from ansible_host)."""
    if field == "endpoint" and host in hostvars and not hostvars[host].get("wg_mesh_endpoint") \
            and hostvars[host].get("ansible_host"):
        return "wg_mesh_endpoint (from ansible_host)"
    return HOST_VARIABLES[field]


def wg_mesh_plan(hostvars, hosts, iface_ip_offset=DEFAULT_OFFSET, domain=DEFAULT_DOMAIN,
                 keepalive=DEFAULT_KEEPALIVE, iface_prefix=DEFAULT_IFACE_PREFIX, relay=None, external_peers=None,
                 settings_host=None, carried_prefixes=None):
    """Return the validated mesh plan of the hosts, read from hostvars."""
    servers = [_server_from_hostvars(hostvars, host) for host in hosts if _is_member(hostvars, host)]
    try:
        return build_mesh_plan(servers, iface_ip_offset=as_int(iface_ip_offset), domain=domain,
                               keepalive=as_int(keepalive), iface_prefix=iface_prefix, relay=relay or None,
                               external_peers=external_peers, carried_prefixes=carried_prefixes)
    except MeshPlanError as error:
        if error.host is None:
            where = "host %r: " % (settings_host,) if settings_host is not None else ""
            raise AnsibleFilterError("wg_mesh_plan: %svariable %s: %s" % (where, SETTING_VARIABLES[error.field], error.problem))
        raise AnsibleFilterError("wg_mesh_plan: host %r: variable %s: %s" % (
            error.host, _variable(hostvars, error.host, error.field), error.problem))


class FilterModule:
    """The mesh plan filter."""

    def filters(self):
        return {"wg_mesh_plan": wg_mesh_plan}
