# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify the VPC-only services of the lab inventory on the molecule VMs: the seed's echo service on server 2
(socat mode) and its twin on server 3 (iptables mode) answer every server by name, the server that runs them
included, and nothing answers off the mesh."""

from __future__ import annotations

import pytest

from lab import SERVERS, services

SERVICES = services()
PRESENT = [s for s in SERVICES if s.get("state", "present") == "present"]
REMOVED = [s for s in SERVICES if s.get("state", "present") == "absent"]
TRIES = 5

testinfra_hosts = SERVERS


def answer(host, address, port):
    """What the echo at address:port answers to 123, retried (a fresh unit may still be starting)."""
    command = 'for try in $(seq %d); do out=$(echo 123 | nc -N -w 3 %s %d) && [ -n "$out" ] && { echo "$out"; exit 0; }; ' \
              'sleep 1; done; exit 1' % (TRIES, address, port)
    result = host.run(command)
    return result.stdout.strip() if result.rc == 0 else None


def test_the_lab_has_the_echo_services_in_both_modes():
    assert {(s["name"], s.get("mode", "socat")) for s in SERVICES} == {("myecho", "socat"), ("myecho-fast", "iptables")}


@pytest.mark.parametrize("service", PRESENT, ids=[s["name"] for s in PRESENT])
def test_every_server_reaches_the_service_by_name(host, service):
    server = service["servers"][0]
    assert answer(host, "%s.vpcdomain" % server, service["port"]) == "123"


@pytest.mark.parametrize("service", PRESENT, ids=[s["name"] for s in PRESENT])
def test_nothing_answers_off_the_mesh(host, service):
    if host.backend.get_hostname() not in service["servers"]:
        pytest.skip("the service does not run here")
    public = host.check_output("ip -4 -o address show dev $(ip route show default | awk '{print $5; exit}')").split()[3]
    address = public.split("/")[0]
    assert not address.startswith("192.168.")
    assert answer(host, address, service["port"]) is None, "the service answers on %s" % address
    listening = host.check_output("ss -Hlnt sport = :%d" % service["port"]).split("\n")
    local_addresses = sorted(line.split()[3].rsplit(":", 1)[0] for line in listening if line.strip())
    assert all(a == "127.0.0.1" or a.startswith("192.168.") for a in local_addresses), local_addresses


@pytest.mark.parametrize("service", REMOVED, ids=[s["name"] for s in REMOVED])
def test_a_removed_service_leaves_nothing(host, service):
    if host.backend.get_hostname() not in service["servers"]:
        pytest.skip("the service did not run here")
    mesh = host.check_output("ip -4 -o address show type wireguard").split()
    addresses = [word.split("/")[0] for word in mesh if word.startswith("192.168.")]
    assert addresses, "no mesh address"
    assert all(answer(host, address, service["port"]) is None for address in addresses)
    assert host.run("ls /etc/systemd/system/fakevpc-svc-%s-* /etc/systemd/system/fakevpc-app-%s.service"
                    % (service["name"], service["name"])).stdout.strip() == ""
    with host.sudo():
        rules = host.check_output("iptables-save")
    assert "--dport %d" % service["port"] not in rules
