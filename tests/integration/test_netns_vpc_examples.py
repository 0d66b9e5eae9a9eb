# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The example inventories of seeds 000 and 001, as Ansible reads them (the JSON policy lookup included),
planned by the netns_vpc_plan filter: they validate, and the plan says what the seeds say.

Only the controller runs (ansible.builtin.debug never connects), so no root and no host are needed.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from support.paths import ANSIBLE_BIN, REPO_ROOT
from support.playbook import ansible_env

EXAMPLES = REPO_ROOT / "inventories" / "examples"


def plan_of(inventory: str) -> dict:
    """The plan of the example's host, with uplink eth0, as the role would compute it."""
    expression = "{{ netns_vpc_vpcs | fakevpc.vpc.netns_vpc_plan(uplink='eth0') | to_json }}"
    env = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal",
                       "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
                       "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
    ansible = str(ANSIBLE_BIN / "ansible")
    proc = subprocess.run([ansible, "-i", str(EXAMPLES / inventory), "netns_vpc", "-m", "ansible.builtin.debug",
                           "-a", "msg=" + expression], capture_output=True, text=True, env=env, timeout=120,
                          cwd=str(REPO_ROOT), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(json.loads(proc.stdout[proc.stdout.index("=>") + 2:])["msg"])


def by_pair(plan: dict, kind: str) -> dict:
    return dict(((check["from"], check["to"]), check["expect"]) for check in plan["checks"] if check["kind"] == kind)


@pytest.fixture(scope="module")
def seed000():
    return plan_of("seed000.yml")


def test_seed_000_builds_two_peered_vpcs_with_the_seed_json_policy(seed000):
    assert seed000["namespaces"] == ["ns-my-vpc-public", "ns-my-vpc-private", "ns-dev-vpc-public"]
    assert [bridge["addresses"] for bridge in seed000["bridges"]] == [["10.0.1.1/24", "10.0.2.1/24"], ["10.1.1.1/24"]]
    pings = by_pair(seed000, "ping")
    assert pings[("my-vpc/public", "my-vpc/private")] and pings[("my-vpc/public", "dev-vpc/public")]
    internet = dict((check["from"], check["expect"]) for check in seed000["checks"] if check["kind"] == "internet")
    assert internet == {"my-vpc/public": True, "my-vpc/private": False, "dev-vpc/public": True}
    ingress = next(chain for chain in seed000["namespace_chains"] if chain["chain"] == "NVPC-INPUT")
    assert ingress["namespace"] == "ns-my-vpc-public"
    assert ingress["rules"][2:] == ["-p tcp -m tcp --dport 80 -j ACCEPT",
                                    "-p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset"]
    assert [app["unit"] for app in seed000["apps"]] == ["netns-vpc-app-my-vpc-web.service"]
    assert seed000["boot_script"].startswith("#!/bin/sh\n")


def test_seed_001_has_internet_only_in_public_web_and_a_closed_database():
    plan = plan_of("seed001.yml")
    assert plan["namespaces"] == ["ns-company-a-public-web", "ns-company-a-private-db"]
    assert all(len(veth["name"]) <= 15 for veth in plan["veths"])
    internet = dict((check["from"], check["expect"]) for check in plan["checks"] if check["kind"] == "internet")
    assert internet == {"company-a/public-web": True, "company-a/private-db": False}
    assert by_pair(plan, "ping") == {("company-a/public-web", "company-a/private-db"): True,
                                     ("company-a/private-db", "company-a/public-web"): True}
    ingress = next(chain for chain in plan["namespace_chains"] if chain["chain"] == "NVPC-INPUT")
    assert ingress["rules"][-1] == "-j REJECT"
    assert "-s 10.0.1.0/24 -p tcp -m tcp --dport 5432 -j ACCEPT" in ingress["rules"]
