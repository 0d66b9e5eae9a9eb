# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The iptables fast path of VPC-only services on simulated servers (no systemd here: the script the role renders
runs directly; the units are proven on the qemu lab).

A service bound to 127.0.0.1 on server 2 answers on every mesh address of server 2 and nowhere else.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import build_mesh_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._vpc_services import build_service_plan, iptables_script

from support.mesh import converged_mesh

pytestmark = [pytest.mark.root, pytest.mark.wireguard]

PORT = 8888


@pytest.fixture(scope="module")
def mesh(make_simnet_module, tmp_path_factory):
    return converged_mesh(make_simnet_module(3), tmp_path_factory.mktemp("svc"), verbose=0)


def script_file(server, rules):
    """The iptables mode's script, as the role renders it for server's rules, written on server: its path."""
    path = server.root / "vpc-services"
    path.write_text(iptables_script(rules, "wgvpc"))
    path.chmod(0o755)
    return str(path)


def echo(server, address, tries=5):
    """What an echo service at address:PORT answers to 'hello', from server ('' when refused or silent)."""
    for _attempt in range(tries):
        answer = server.run(["/bin/sh", "-c", "echo hello | nc -N -w 2 %s %d" % (address, PORT)], check=False).stdout
        if answer:
            return answer.strip()
        time.sleep(0.2)
    return ""


def iptables_nat(server):
    return server.run(["iptables-save", "-t", "nat"]).stdout


def test_iptables_mode_reaches_the_service_by_name_from_every_server_and_nowhere_else(mesh):
    one, two, three = mesh.net.servers
    plan = build_mesh_plan([{"host": s.name, "index": s.index, "endpoint": s.underlay_ip} for s in mesh.net.servers])
    service = {"name": "myecho", "port": PORT, "servers": [two.name], "mode": "iptables"}
    rules = build_service_plan([service], plan)["servers"][two.name]["iptables_rules"]
    before = iptables_nat(two)
    backend = two.popen(["socat", "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork" % PORT, "EXEC:cat"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert echo(one, "server2.vpcdomain") == "", "reachable before the forward exists"
        script = script_file(two, rules)
        two.run([script, "start"])
        two.run([script, "start"])  # a rerun (reload) is harmless
        assert iptables_nat(two).count("-j FAKEVPC-SVC") == 2
        assert echo(one, "server2.vpcdomain") == "hello"
        assert echo(three, "server2.vpcdomain") == "hello"
        assert echo(two, "server2.vpcdomain") == "hello"
        for address in plan["servers"][two.name]["service_addresses"]:
            assert echo(two, address) == "hello", address
        assert echo(one, two.underlay_ip, tries=1) == "", "the service answers off the mesh"
        localnet = {iface: two.run(["cat", "/proc/sys/net/ipv4/conf/%s/route_localnet" % iface]).stdout.strip()
                    for iface in ("wgvpc0", "wgvpc1", "eth0", "lo")}
        assert localnet == {"wgvpc0": "1", "wgvpc1": "1", "eth0": "0", "lo": "0"}
        two.run([script, "stop"])
        assert "FAKEVPC" not in iptables_nat(two)
        assert echo(one, "server2.vpcdomain", tries=1) == ""
        assert [line for line in iptables_nat(two).splitlines() if not line.startswith("#")] == \
            [line for line in before.splitlines() if not line.startswith("#")]
    finally:
        backend.kill()
        backend.wait(timeout=10)


def firewall(mesh):
    return {s.name: [line for line in s.run(["iptables-save"]).stdout.splitlines() if not line.startswith("#")]
            for s in mesh.net.servers}


# An unknown key is refused first by the role's argument spec (the validation play checks every option of every role
# for every host), the rest by the services' plan.
_SPEC = "host 'vpc1': vpc_service_services.%s. Supported parameters include: command, mode, name, port, protocol, servers, state"
_PLAN = "vpc_service_plan: variable vpc_service_services: "


@pytest.mark.parametrize("service, message", [
    ({"prot": "udp"}, _SPEC % "prot"),
    ({"sate": "absent"}, _SPEC % "sate"),
    ({"command": "/usr/bin/socat - -\rExecStartPre=+/bin/sh -c id"},
     _PLAN + "service 'myecho': command contains control characters ('\\r')"),
    ({"command": "+/bin/sh -c id"}, _PLAN + "service 'myecho': command executable '+/bin/sh' is empty or starts with"),
    ({"name": "myecho\n"}, _PLAN + "service #1: name must be 1 to 40 lowercase letters, digits and '-', got 'myecho\\n'"),
])
def test_bad_services_fail_in_the_validation_play_before_any_server_changes(mesh, service, message):
    services = [dict({"name": "myecho", "port": PORT, "servers": [mesh.net.servers[1].name], "mode": "iptables"},
                     **service)]
    before = (mesh.snapshot(), firewall(mesh))
    failed = mesh.site(3, overrides={s.name: {"vpc_service_services": services} for s in mesh.net.servers}, verbose=0)
    assert failed.rc != 0
    assert message in failed.stdout, failed.describe()
    assert failed.changed() == 0 and (mesh.snapshot(), firewall(mesh)) == before
