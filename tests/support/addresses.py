# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the mesh's addresses and hosts blocks must be, computed here independently of the collection's code."""

from __future__ import annotations

HOSTS_BEGIN = "# BEGIN fakevpc.vpc wg_mesh"
HOSTS_END = "# END fakevpc.vpc wg_mesh"


def mesh_address(seen_from: int, target: int, offset: int = 1) -> str:
    """The address server index seen_from uses for server index target: the pair's subnet is
    192.168.(offset + lower index - 1).0/24 (offset: wg_mesh_iface_ip_offset), the lower server .<higher index>,
    the higher one .1."""
    if seen_from == target:
        return "127.0.0.1"
    low, high = sorted((seen_from, target))
    subnet = "192.168.%d" % (offset + low - 1)
    return "%s.%d" % (subnet, high if seen_from == low else 1)


def hosts_lines(looking: int, servers: list[tuple[str, int]], domain: str = "vpcdomain", offset: int = 1) -> list[str]:
    """The lines of the managed hosts block of server index looking, one per server (name, index), in that order."""
    return ["%s %s %s.%s" % (mesh_address(looking, index, offset), name, name, domain) for name, index in servers]
