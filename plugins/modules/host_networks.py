#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_networks
short_description: Read the host's IPv4 addresses and routes, changing nothing
version_added: 0.2.0
description:
  - Reads every IPv4 address (C(ip -j -4 address show)) and every route of every table
    (C(ip -j -4 route show table all)) of the host, or of a named network namespace, in one call.
  - Read-only, so it runs the same in check mode. The C(fakevpc.vpc.netns_vpc) role reads the host with it
    before any change, and refuses a VPC whose CIDR covers one of the host's own networks.
  - With O(registry), it also reads the registry of what that role built on the host, and what is live of it
    (RV(live)), in the same call. Where the registry records the options of the role's calls of
    P(fakevpc.vpc.netns_iptables#module) and P(fakevpc.vpc.netns_link#module), it asks those modules' own code, in
    check mode, whether those calls would change anything now (RV(live.current)).
requirements:
  - C(ip) (iproute2) on the target.
options:
  registry:
    description:
      - The path of a JSON file to read along, the registry of the C(fakevpc.vpc.netns_vpc) role (as
        P(fakevpc.vpc.netns_host_settings#module) keeps it), returned as RV(registry).
      - A registry that exists but that the user the module runs as cannot read fails the module, naming the file and
        the user (a read without C(become) needs read access to it).
    type: path
    version_added: 0.3.0
  netns_etc_dir:
    description:
      - With O(registry), the directory of the namespaces' own files (as P(fakevpc.vpc.netns#module)'s C(etc_dir)),
        where the hosts file of each namespace the registry lists is read (RV(live.namespaces)).
    type: path
    version_added: 0.3.0
  unit_dir:
    description:
      - With O(registry), the directory of systemd unit files where the unit files matching O(unit_patterns) are read
        (RV(live.units)), as P(fakevpc.vpc.systemd_units#module) would find them.
    type: path
    version_added: 0.3.0
  unit_patterns:
    description: With O(unit_dir), shell patterns of the unit file names to read (and whose states to read).
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  unit_files:
    description: With O(unit_dir), other files to read as P(fakevpc.vpc.systemd_units#module) would (the units' files).
    type: list
    elements: path
    default: []
    version_added: 0.3.0
extends_documentation_fragment:
  - fakevpc.vpc.attributes
  - fakevpc.vpc.namespace
attributes:
  check_mode:
    details: Never changes anything.
  diff_mode:
    support: none
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Read the host's addresses and routes
  fakevpc.vpc.host_networks:
  register: networks

- name: Read them, and the registry of the namespace VPCs
  fakevpc.vpc.host_networks:
    registry: /var/lib/netns_vpc/registry.json
  register: host
"""

RETURN = r"""
addresses:
  description: Every IPv4 address.
  returned: always
  type: list
  elements: dict
  contains:
    interface:
      description: The interface that holds it.
      type: str
    address:
      description: The address with its prefix length.
      type: str
      sample: 203.0.113.1/24
    network:
      description: The network of the address.
      type: str
      sample: 203.0.113.0/24
routes:
  description: Every IPv4 route of every table.
  returned: always
  type: list
  elements: dict
  contains:
    dst:
      description: The destination network, or C(default).
      type: str
    dev:
      description: The interface of the route (null for a route without one, such as a blackhole).
      type: str
    gateway:
      description: The next hop, or null.
      type: str
    table:
      description: The routing table.
      type: str
    type:
      description: The route type (C(unicast), C(local), C(broadcast), ...).
      type: str
default_interface:
  description: The interface of the main table's default route, or an empty string.
  returned: always
  type: str
registry:
  description: The JSON object in O(registry), empty when there is no such file.
  returned: with O(registry)
  type: dict
  version_added: 0.3.0
live:
  description: What is live on the host of what the registry lists, and the host settings the role changes.
  returned: with O(registry)
  type: dict
  version_added: 0.3.0
  contains:
    ip_forward:
      description: C(net.ipv4.ip_forward), C(0) or C(1).
      type: str
    systemd:
      description: Whether systemd runs the host (C(/run/systemd/system) exists).
      type: bool
    namespaces:
      description:
        - Each namespace the registry lists that exists, by name, with whether its loopback is up (C(loopback_up))
          and the content of its hosts file under O(netns_etc_dir) (C(hosts), null when there is none).
        - Null when the module does not run as root (only root may enter a namespace).
      type: dict
    units:
      description:
        - With O(unit_dir), what P(fakevpc.vpc.systemd_units#module) would find of the unit files matching
          O(unit_patterns) and of O(unit_files) (C(files), by path, those that exist, each as its C(sha256), C(mode)
          and C(owner); a file this user cannot read has them null), the states of those units (C(states),
          C(ActiveState) and C(UnitFileState) by unit; null where systemd does not run the host or C(systemctl) cannot
          tell, as for another user than root on a host without D-Bus), what was read
          (C(unit_dir), C(patterns), C(paths)) and by whom (C(owner), this user's uid and gid).
        - The C(fakevpc.vpc.netns_vpc) role tells from it, by P(fakevpc.vpc.systemd_units#module)'s own comparison,
          whether a call would change nothing.
      type: dict
      returned: with O(unit_dir)
    current:
      description:
        - For each call the registry records (its C(calls) - C(chains), the options of a
          P(fakevpc.vpc.netns_iptables#module) call, whose C(keep_tables) are the registry's C(tables_before), and
          C(links), of a P(fakevpc.vpc.netns_link#module) call), whether that call would change nothing now (V(false)
          too when it would fail), asked in check mode with the same reads and comparisons as the call's.
        - Null when the module does not run as root (only root may enter a namespace).
      type: dict
      version_added: 0.3.0
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names
from ansible_collections.fakevpc.vpc.plugins.module_utils._command import CommandRunner
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import read_json_object
from ansible_collections.fakevpc.vpc.plugins.module_utils._calls import would_change
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_chain import CHAINS_CALLEE
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_host import (
    default_route_interface,
    parse_addresses,
    parse_routes,
)
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_link import LINKS_CALLEE
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_live import kept_tables, read_live
from ansible_collections.fakevpc.vpc.plugins.module_utils._unit_files import read_units


def read_networks(runner, namespace=None):
    """{'addresses': [...], 'routes': [...]} read with two ip commands."""
    prefix = ["-n", namespace] if namespace else []
    _rc, addresses, _stderr = runner.run("ip", *(prefix + ["-j", "-4", "address", "show"]))
    _rc, routes, _stderr = runner.run("ip", *(prefix + ["-j", "-4", "route", "show", "table", "all"]))
    return {"addresses": parse_addresses(json.loads(addresses) if addresses.strip() else []),
            "routes": parse_routes(json.loads(routes) if routes.strip() else [])}


def current_calls(module, registry):
    """{family: whether the call the registry records for it would change nothing now}; None unless root."""
    if os.geteuid() != 0:
        return None
    recorded = registry.get("calls") if isinstance(registry.get("calls"), dict) else {}
    callees = {"chains": (CHAINS_CALLEE, {"keep_tables": kept_tables(registry)}), "links": (LINKS_CALLEE, {})}
    return dict((family, not would_change(module, callee, dict(recorded[family], **extra)))
                for family, (callee, extra) in callees.items() if isinstance(recorded.get(family), dict))


def main():
    module = AnsibleModule(argument_spec=dict(namespace=dict(type="str"), registry=dict(type="path"),
                                              netns_etc_dir=dict(type="path"), unit_dir=dict(type="path"),
                                              unit_patterns=dict(type="list", elements="str", default=[]),
                                              unit_files=dict(type="list", elements="path", default=[])),
                           supports_check_mode=True)
    namespace, path = module.params["namespace"], module.params["registry"]
    if namespace is not None and not names.is_namespace_name(namespace):
        module.fail_json(msg="namespace: %r is not a namespace name" % (namespace,))
    runner = CommandRunner(module)
    result = read_networks(runner, namespace)
    result["default_interface"] = default_route_interface(result)
    if path is not None:
        try:
            result["registry"] = read_json_object(path) or {}
        except ValueError as error:
            module.fail_json(msg="registry: %s is not JSON: %s" % (path, error))
        except OSError as error:
            module.fail_json(msg="registry: %s cannot be read by uid %d (%s); a validation play reads it without become, "
                                 "so the login needs read access to it and its directories, as the role leaves them "
                                 "(mode 0644 in 0755 directories)" % (path, os.geteuid(), error.strerror))
        result["live"] = read_live(runner.run, result["registry"], module.params["netns_etc_dir"])
        result["live"]["current"] = current_calls(module, result["registry"])
        if module.params["unit_dir"] is not None:
            result["live"]["units"] = read_units(runner.run, module.params["unit_dir"], module.params["unit_patterns"],
                                                 module.params["unit_files"], result["live"]["systemd"])
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
