# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: wg_mesh_option_problems
short_description: Check one host's options of the wg_mesh role against their rules and the mesh plan
version_added: 0.2.0
description:
  - The rules an argument spec's type cannot say, checked per host before any host changes, each problem
    naming the host and the variable.
  - C(wg_mesh_mtu) is 0 (WireGuard's default, 1420) or from 1280 (the smallest MTU that carries IPv6) to 65535
    (the largest IP packet). C(wg_mesh_keepalive) is from 0 to 65535,
    C(wg_mesh_iface_ip_offset) from 0 to 255, C(wg_mesh_upgrade_reboot_timeout) from 1 to 86400 seconds;
    integers are Python integers or strings of ASCII digits.
  - C(wg_mesh_state) and C(wg_mesh_implementation) are one of their choices; C(wg_mesh_domain) and
    C(wg_mesh_iface_prefix) follow the rules of P(fakevpc.vpc.wg_mesh_plan#filter).
  - C(wg_mesh_config_dir), C(wg_mesh_hosts_file) and C(wg_mesh_cloud_init_templates_dir) (or empty) are
    absolute paths, C(wg_mesh_key_dir) a path; none holds a control character. C(wg_mesh_packages) is a
    list of package names.
  - C(wg_mesh_aliases) is a list of names, each by the rules of C(wg_mesh_name) (one lowercase DNS label, not all
    digits, not C(localhost), C(<alias>.<domain>) at most 253 characters); C(wg_mesh_dialable) is a boolean (or the
    strings true, yes, false, no); C(wg_mesh_relay) holds no control character; every entry of
    C(wg_mesh_external_peers) follows the rules of P(fakevpc.vpc.wg_mesh_plan#filter) (name, ASCII index and port,
    a strict endpoint, aliases); C(wg_mesh_external_peers_dir) is a path without a control character.
  - The mesh-wide settings (C(wg_mesh_iface_ip_offset), C(wg_mesh_domain), C(wg_mesh_keepalive),
    C(wg_mesh_iface_prefix), C(wg_mesh_relay), C(wg_mesh_external_peers)) must equal the ones the plan was computed
    with.
options:
  _input:
    description: The plan, from P(fakevpc.vpc.wg_mesh_plan#filter).
    type: dict
    required: true
  host:
    description: The host whose options these are (named in every problem).
    type: str
    required: true
  options:
    description: The host's values of the role's variables, by variable name (C(wg_mesh_mtu), ...). Variables
      the role does not check here are refused.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check this host's options of the mesh
  ansible.builtin.assert:
    that: wg_mesh__problems | length == 0
    fail_msg: "{{ wg_mesh__problems | join('; ') }}"
    quiet: true
  vars:
    wg_mesh__problems: >-
      {{ wg_mesh__plan | fakevpc.vpc.wg_mesh_option_problems(inventory_hostname,
                                                             {'wg_mesh_mtu': wg_mesh_mtu, 'wg_mesh_domain': wg_mesh_domain}) }}
"""

RETURN = r"""
_value:
  description: "The problems, each C(host '<host>': variable <variable>: <problem>); empty when there is none."
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import OPTION_FIELDS, host_option_problems

PREFIX = "wg_mesh_"


def wg_mesh_option_problems(plan, host, options):
    """Return the problems of one host's options, each naming the host and the variable."""
    unknown = sorted(name for name in options if not name.startswith(PREFIX) or name[len(PREFIX):] not in OPTION_FIELDS)
    if unknown:
        raise AnsibleFilterError("wg_mesh_option_problems: no rule for the variables %s" % ", ".join(unknown))
    fields = dict((name[len(PREFIX):], value) for name, value in options.items())
    return ["host %r: variable %s%s: %s" % (host, PREFIX, field, problem)
            for field, problem in host_option_problems(fields, plan.get("settings"))]


class FilterModule:
    """The per-host options filter of the mesh."""

    def filters(self):
        return {"wg_mesh_option_problems": wg_mesh_option_problems}
