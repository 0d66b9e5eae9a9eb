# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: wg_mesh_status
short_description: The server by server status matrix of the mesh
version_added: 0.1.0
description:
  - Turns what each server measured (pings by name, WireGuard handshakes, its clock) into a matrix readable
    in a terminal, and the list of pairs that are down. Used by C(playbooks/status.yml).
options:
  _input:
    description:
      - Per inventory hostname, a dict with C(now) (the server's unix time), C(handshakes) (lines
        C(INTERFACE<TAB>ALLOWED_IPS<TAB>LATEST_HANDSHAKE)) and C(pings) (lines C(NAME ok RTT_MS) or C(NAME down),
        one per other server, by its C(<name>.<domain>)).
    type: dict
    required: true
  mesh_plan:
    description: The result of P(fakevpc.vpc.wg_mesh_plan#filter).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the matrix
  ansible.builtin.debug:
    msg: "{{ (reports | fakevpc.vpc.wg_mesh_status(mesh_plan)).table.split('\n') }}"
"""

RETURN = r"""
_value:
  description: A dict with C(table) (text) and C(down), the C([pinging name, pinged name]) pairs that do not answer.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_status import server_row, status_matrix


def wg_mesh_status(reports, mesh_plan):
    """Return {'table': text, 'down': [[from, to], ...]}."""
    servers = mesh_plan["servers"]
    rows = {}
    for host, report in reports.items():
        if host not in servers:
            continue
        try:
            rows[host] = server_row(servers[host], servers, report["handshakes"], report["pings"], int(report["now"]))
        except (KeyError, ValueError) as error:
            raise AnsibleFilterError("wg_mesh_status: host %r: unreadable report: %s" % (host, error))
    table, down = status_matrix(servers, rows)
    return {"table": table, "down": [list(pair) for pair in down]}


class FilterModule:
    """The status matrix filter."""

    def filters(self):
        return {"wg_mesh_status": wg_mesh_status}
