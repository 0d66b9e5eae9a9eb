# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify the mesh on the molecule lab VMs, server by server.

Every server pings every other by name over WireGuard (the kernel module, not wireguard-go), every peer
has a recent handshake, and the managed /etc/hosts block is exactly the address plan computed here from
the servers' indices. After the side effect, the server that left the VPC keeps nothing of it.
"""

from __future__ import annotations

import pytest

from lab import DOMAIN, INDEX, REMOVED, SERVERS, address, expected_block, hosts_block

# A brand-new tunnel can drop the first packet; WireGuard rekeys every 2 minutes while traffic flows.
PING_TRIES = 5
HANDSHAKE_MAX_AGE = 180

testinfra_hosts = SERVERS + REMOVED


def this_server(host):
    """Return the inventory name of the server that host is."""
    return host.backend.get_hostname()


@pytest.fixture
def member(host):
    """This server's name, for tests of the servers in the VPC (skips the servers that left)."""
    name = this_server(host)
    if name in REMOVED:
        pytest.skip("%s has left the VPC" % name)
    return name


def test_indices_are_distinct_and_stable():
    assert len(SERVERS) >= 2
    assert sorted(INDEX.values()) == sorted(set(INDEX.values()))
    assert all(INDEX[name] == int(name[len("server"):]) for name in INDEX), INDEX


def test_wireguard_is_the_kernel_module(host, member):
    assert host.file("/sys/module/wireguard").is_directory
    assert "wireguard" in host.check_output("lsmod").split()
    assert host.run("pgrep -x wireguard-go").rc == 1, "wireguard-go is running"
    kernel_links = host.check_output("ip -o link show type wireguard")
    assert "wgvpc0" in kernel_links


def test_hosts_block_is_exactly_the_plan(host, member):
    assert hosts_block(host.file("/etc/hosts").content_string) == expected_block(INDEX[member], SERVERS)


def test_every_other_server_pings_by_name(host, member):
    others = [name for name in SERVERS if name != member]
    script = (
        'for name in %s; do ( for try in $(seq %d); do '
        'ping -n -c1 -W2 "$name.%s" >/dev/null 2>&1 && { echo "$name ok"; exit 0; }; done; '
        'echo "$name FAIL" ) & done; wait' % (" ".join(others), PING_TRIES, DOMAIN)
    )
    results = dict(line.split() for line in host.check_output(script).splitlines())
    assert results == {name: "ok" for name in others}


def test_names_resolve_to_mesh_addresses(host, member):
    me = INDEX[member]
    for name in SERVERS:
        if INDEX[name] == me:
            continue
        resolved = host.check_output("getent ahostsv4 %s.%s | head -n1" % (name, DOMAIN)).split()[0]
        assert resolved == address(me, INDEX[name]), name


def test_every_peer_has_a_recent_handshake(host, member):
    me = INDEX[member]
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


@pytest.mark.parametrize("name", REMOVED)
def test_a_server_that_left_keeps_nothing_of_the_mesh(host, name):
    if this_server(host) != name:
        pytest.skip("checked on %s" % name)
    with host.sudo():
        assert host.check_output("ip -o link show type wireguard") == ""
        assert host.run("ls -A /etc/wireguard").stdout.strip() == ""
        assert host.run("systemctl list-units --all --plain --no-legend 'wg-quick@*'").stdout.strip() == ""
    assert hosts_block(host.file("/etc/hosts").content_string) is None
