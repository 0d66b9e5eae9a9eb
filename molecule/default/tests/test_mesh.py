# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify the mesh on the molecule lab VMs, server by server.

Every server pings every other by name over WireGuard (the kernel module, not wireguard-go), every peer
has a recent handshake, and the managed /etc/hosts block is exactly the address plan computed here from
the servers' indices.
"""

from __future__ import annotations

import os

import testinfra.utils.ansible_runner

INVENTORY = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory")
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
INDEX = {name: int(RUNNER.get_variables(name)["wg_mesh_index"]) for name in RUNNER.get_hosts("vpc")}
SERVERS = sorted(INDEX, key=INDEX.get)
DOMAIN = "vpcdomain"
OFFSET = 1  # wg_mesh_iface_ip_offset: server A's subnet is 192.168.(OFFSET + A - 1).0/24
BEGIN = "# BEGIN fakevpc.vpc wg_mesh"
END = "# END fakevpc.vpc wg_mesh"
# A brand-new tunnel can drop the first packet; WireGuard rekeys every 2 minutes while traffic flows.
PING_TRIES = 5
HANDSHAKE_MAX_AGE = 180

testinfra_hosts = SERVERS


def address(seen_from, target):
    """Return the address server index seen_from uses for server index target."""
    if seen_from == target:
        return "127.0.0.1"
    low, high = sorted((seen_from, target))
    subnet = "192.168.%d" % (OFFSET + low - 1)
    return "%s.%d" % (subnet, high if seen_from == low else 1)


def expected_block(index):
    """Return the managed hosts block of server index, one 'ADDRESS name name.domain' line per server."""
    lines = []
    for name in SERVERS:
        lines.append("%s %s %s.%s" % (address(index, INDEX[name]), name, name, DOMAIN))
    return lines


def this_server(host):
    """Return the inventory name of the server that host is."""
    return host.backend.get_hostname()


def test_inventory_numbers_servers_from_one():
    assert len(SERVERS) >= 2
    assert [INDEX[name] for name in SERVERS] == list(range(1, len(SERVERS) + 1))


def test_wireguard_is_the_kernel_module(host):
    assert host.file("/sys/module/wireguard").is_directory
    assert "wireguard" in host.check_output("lsmod").split()
    assert host.run("pgrep -x wireguard-go").rc == 1, "wireguard-go is running"
    kernel_links = host.check_output("ip -o link show type wireguard")
    assert "wgvpc0" in kernel_links


def test_hosts_block_is_exactly_the_plan(host):
    lines = host.file("/etc/hosts").content_string.splitlines()
    assert lines.count(BEGIN) == 1 and lines.count(END) == 1, "one managed block in /etc/hosts"
    block = lines[lines.index(BEGIN) + 1:lines.index(END)]
    assert [" ".join(line.split()) for line in block] == expected_block(INDEX[this_server(host)])


def test_every_other_server_pings_by_name(host):
    me = this_server(host)
    others = [name for name in SERVERS if name != me]
    script = (
        'for name in %s; do ( for try in $(seq %d); do '
        'ping -n -c1 -W2 "$name.%s" >/dev/null 2>&1 && { echo "$name ok"; exit 0; }; done; '
        'echo "$name FAIL" ) & done; wait' % (" ".join(others), PING_TRIES, DOMAIN)
    )
    results = dict(line.split() for line in host.check_output(script).splitlines())
    assert results == {name: "ok" for name in others}


def test_names_resolve_to_mesh_addresses(host):
    me = INDEX[this_server(host)]
    for name in SERVERS:
        if INDEX[name] == me:
            continue
        resolved = host.check_output("getent ahostsv4 %s.%s | head -n1" % (name, DOMAIN)).split()[0]
        assert resolved == address(me, INDEX[name]), name


def test_every_peer_has_a_recent_handshake(host):
    me = INDEX[this_server(host)]
    with host.sudo():
        now = int(host.check_output("date +%s"))
        handshakes = host.check_output("wg show all latest-handshakes").splitlines()
    ages = {}
    for line in handshakes:
        interface, peer, when = line.split()
        ages["%s %s" % (interface, peer[:8])] = now - int(when)
    assert len(ages) == len(SERVERS) - 1, "one peer per other server, on server%d" % me
    stale = {peer: age for peer, age in ages.items() if age > HANDSHAKE_MAX_AGE}
    assert not stale, "peers without a handshake in the last %d s: %s" % (HANDSHAKE_MAX_AGE, stale)
