# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VPC-only services plan: forwards per server, both modes, every validation error."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.vpc_service_plan import vpc_service_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._mesh_plan import build_mesh_plan
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_rules import rule_tag, split_rule
from ansible_collections.fakevpc.vpc.plugins.module_utils._vpc_services import ServicePlanError, build_service_plan, iptables_script

MESH = build_mesh_plan([{"host": "s%d" % i, "index": i, "endpoint": "198.51.100.%d" % i, "port": 51820 + i}
                        for i in (1, 2, 3)])
ECHO = {"name": "myecho", "port": 8888, "servers": ["s2"], "command": "socat - -"}


def test_socat_forwards_every_mesh_address_of_the_servers_that_run_it():
    plan = build_service_plan([ECHO], MESH)["servers"]
    assert plan["s1"] == {"socat_units": [], "iptables_rules": [], "apps": [], "services": []}
    assert plan["s2"]["socat_units"] == [
        {"name": "fakevpc-svc-myecho-192.168.2.1.service", "address": "192.168.2.1", "protocol": "tcp", "port": 8888,
         "service": "myecho"},
        {"name": "fakevpc-svc-myecho-192.168.1.2.service", "address": "192.168.1.2", "protocol": "tcp", "port": 8888,
         "service": "myecho"},
    ]
    assert plan["s2"]["apps"] == [{"name": "myecho", "unit": "fakevpc-app-myecho.service", "command": "socat - -",
                                   "port": 8888}]
    assert plan["s2"]["iptables_rules"] == []


def test_iptables_mode_gives_one_dnat_rule_per_address():
    plan = build_service_plan([dict(ECHO, protocol="udp", servers=["s3"], command=None)], MESH, default_mode="iptables")
    assert plan["servers"]["s3"]["iptables_rules"] == [
        "-d 192.168.3.1/32 -p udp -m udp --dport 8888 -j DNAT --to-destination 127.0.0.1:8888",
        "-d 192.168.1.3/32 -p udp -m udp --dport 8888 -j DNAT --to-destination 127.0.0.1:8888",
        "-d 192.168.2.3/32 -p udp -m udp --dport 8888 -j DNAT --to-destination 127.0.0.1:8888",
    ]
    assert plan["servers"]["s3"]["socat_units"] == [] and plan["servers"]["s3"]["apps"] == []


def test_the_iptables_modes_script_loads_the_plans_rules_tagged_and_removes_what_it_added(tmp_path):
    rules = build_service_plan([dict(ECHO, servers=["s3"])], MESH, default_mode="iptables")["servers"]["s3"]["iptables_rules"]
    script = iptables_script(rules, "wg-mesh")
    start = script[script.index("\nstart)\n"):script.index("\nstop)\n")]
    stop = script[script.index("\nstop)\n"):]
    # One iptables-restore loads the chain with every rule, tagged as netns_iptables tags them (a rerun changes nothing).
    assert start.count("iptables-restore -w --noflush <<'EOF'") == 1
    assert [line for line in start.splitlines() if line.startswith("-A ")] == [
        "-A FAKEVPC-SVC %s -m comment --comment %s" % (rule, rule_tag(split_rule(rule))) for rule in rules]
    jumps = ["PREROUTING -i wg-mesh+ -j FAKEVPC-SVC", "OUTPUT -o lo -j FAKEVPC-SVC"]
    for jump in jumps:
        source, rest = jump.split(" ", 1)
        assert "iptables -w -t nat -C %s >/dev/null 2>&1 || iptables -w -t nat -I %s 1 %s\n" % (jump, source, rest) in start
        assert "while iptables -w -t nat -D %s 2>/dev/null; do :; done\n" % jump in stop
    assert "set_route_localnet 1" in start and "set_route_localnet 0" in stop and "prefix=wg-mesh\n" in script
    path = tmp_path / "vpc-services"
    path.write_text(script)
    assert subprocess.run(["sh", "-n", str(path)], check=False).returncode == 0
    if shutil.which("shellcheck"):
        checked = subprocess.run(["shellcheck", "-s", "sh", str(path)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout


def test_absent_services_leave_no_forward_and_free_their_port():
    services = [dict(ECHO, state="absent"), dict(ECHO, name="other")]
    plan = build_service_plan(services, MESH)["servers"]["s2"]
    assert plan["services"] == ["other"] and len(plan["socat_units"]) == 2


def test_same_port_on_different_servers_or_protocols_is_fine():
    services = [ECHO, dict(ECHO, name="b", servers=["s1"]), dict(ECHO, name="c", protocol="udp")]
    assert build_service_plan(services, MESH)["servers"]["s2"]["services"] == ["c", "myecho"]


@pytest.mark.parametrize("services, message", [
    ([dict(ECHO, servers=["s9"])], "service 'myecho': unknown server 's9': not in the mesh (s1, s2, s3)"),
    ([dict(ECHO, servers=[])], "service 'myecho': servers must be a non-empty list"),
    ([dict(ECHO, protocol="sctp")], "service 'myecho': protocol must be tcp or udp, got 'sctp'"),
    ([dict(ECHO, mode="nginx")], "service 'myecho': mode must be socat or iptables"),
    ([dict(ECHO, state="gone")], "service 'myecho': state must be present or absent"),
    ([dict(ECHO, port=0)], "service 'myecho': port must be an integer from 1 to 65535, got 0"),
    ([dict(ECHO, port="8888")], "service 'myecho': port must be an integer"),
    ([dict(ECHO, name="My Echo")], "service #1: name must be 1 to 40 lowercase letters"),
    ([dict(ECHO, command="")], "service 'myecho': command must be a command line"),
    (["myecho"], "service #1: must be a dict"),
    ([ECHO, ECHO], "service 'myecho': is defined twice"),
    ([ECHO, dict(ECHO, name="clash")], "service 'clash': tcp port 8888 on 's2' is already used by service 'myecho'"),
    ([dict(ECHO, protocol="udp", port=51822)], "service 'myecho': udp port 51822 on 's2' is its WireGuard port"),
    # Hostile and careless input (issue 13): unknown keys, full-string matches, control characters, unit strings.
    ([dict(ECHO, prot="udp")], "service 'myecho': unknown key 'prot' (allowed: command, mode, name, port, protocol, "
                               "servers, state)"),
    ([dict(ECHO, sate="absent")], "service 'myecho': unknown key 'sate'"),
    ([dict(ECHO, sate="absent", prot="udp")], "service 'myecho': unknown keys 'prot', 'sate'"),
    ([dict(ECHO, name="myecho\n")], "service #1: name must be 1 to 40 lowercase letters, digits and '-', got 'myecho\\n'"),
    ([dict(ECHO, name="myecho\r")], "service #1: name must be 1 to 40"),
    ([dict(ECHO, name="a" * 41)], "service #1: name must be 1 to 40"),
    ([dict(ECHO, command="/bin/cat\rExecStartPre=+/bin/sh -c id")],
     "service 'myecho': command contains control characters ('\\r')"),
    ([dict(ECHO, command="/bin/cat\nExecStartPre=+/bin/sh -c id")],
     "service 'myecho': command contains control characters ('\\n')"),
    ([dict(ECHO, command="/bin/cat\x00")], "service 'myecho': command contains control characters ('\\x00')"),
    ([dict(ECHO, command="+/bin/sh -c id")], "service 'myecho': command executable '+/bin/sh' is empty or starts with"),
    ([dict(ECHO, command="!!/bin/sh")], "service 'myecho': command executable '!!/bin/sh' is empty or starts with"),
    ([dict(ECHO, command="bin/socat -")], "service 'myecho': command executable 'bin/socat' is a relative path"),
    ([dict(ECHO, command="$SHELL")], "service 'myecho': command executable '$SHELL' contains '$'"),
    ([dict(ECHO, command="/bin/echo 'open")], "service 'myecho': command cannot be split into words"),
    ([dict(ECHO, port="\u00b2")], "service 'myecho': port must be an integer from 1 to 65535, got '\u00b2'"),
    ([dict(ECHO, port="\u0663")], "service 'myecho': port must be an integer from 1 to 65535, got '\u0663'"),
    ([dict(ECHO, port=True)], "service 'myecho': port must be an integer from 1 to 65535, got True"),
    ([dict(ECHO, protocol="tcp\n")], "service 'myecho': protocol must be tcp or udp, got 'tcp\\n'"),
    ([dict(ECHO, mode="socat\n")], "service 'myecho': mode must be socat or iptables, got 'socat\\n'"),
    ([dict(ECHO, state="absent\n")], "service 'myecho': state must be present or absent, got 'absent\\n'"),
    ([dict(ECHO, servers=["s2\n"])], "service 'myecho': unknown server 's2\\n'"),
])
def test_bad_services_fail_naming_the_service(services, message):
    with pytest.raises(ServicePlanError) as caught:
        build_service_plan(services, MESH)
    assert str(caught.value) == message or str(caught.value).startswith(message)


def test_a_command_with_quotes_percent_and_dollar_is_kept_for_systemd_to_quote():
    command = "/usr/bin/socat TCP-LISTEN:8888,bind=127.0.0.1,fork 'SYSTEM:echo \"%n $HOME\"'"
    plan = build_service_plan([dict(ECHO, command=command)], MESH)["servers"]["s2"]
    assert plan["apps"][0]["command"] == command


def test_filter_names_the_variable():
    with pytest.raises(AnsibleFilterError, match="vpc_service_plan: variable vpc_service_services: service 'myecho': unknown"):
        vpc_service_plan([dict(ECHO, servers=["nope"])], MESH)
    with pytest.raises(AnsibleFilterError, match="mode must be socat or iptables"):
        vpc_service_plan([], MESH, default_mode="fast")
