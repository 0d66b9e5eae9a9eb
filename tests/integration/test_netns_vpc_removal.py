# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Removal is exact in every order: a VPC-only service in iptables mode and a namespace VPC on one host.

Both use the nat table's PREROUTING and OUTPUT (the VPC also POSTROUTING): whichever goes first must leave
the other's chains alone, and whichever goes last must leave the host as it was before either came (ip -d link,
ip route, ip netns, iptables-nft-save, iptables-legacy-save, nft list ruleset), the nat table included.

No systemd here (PID 1 is not systemd): the service's unit is what runs its script, so the test runs that
script (start, stop) as the unit's ExecStart= and ExecStop= would, rendered as the role renders it; the VPC
is built and removed by the role (playbooks/netns_vpc.yml). The legacy host runs both on iptables-legacy (the
script through a PATH where iptables is iptables-legacy), its nat table loaded before the first run, since
iptables-legacy never unloads a table.
"""

from __future__ import annotations

import pytest
from ansible_collections.fakevpc.vpc.plugins.module_utils._vpc_services import iptables_rule, iptables_script

from support import netns_vpc as sim
from test_netns_vpc import ALPHA, Lab

pytestmark = pytest.mark.root

SERVICE = {"name": "db", "port": 5432, "protocol": "tcp"}


class Host:
    """The lab's host, with the service's start and stop as its unit would run them."""

    def __init__(self, lab, path=None):
        self.lab = lab
        self.env = "PATH=%s:$PATH " % path if path else ""
        script = lab.net.workdir / "vpc-services"
        script.write_text(iptables_script([iptables_rule(SERVICE, "192.168.1.2")], "wgvpc"))
        script.chmod(0o755)
        self.script = str(script)

    def service(self, action):
        self.lab.host.run(["/bin/sh", "-c", "%sexec %s %s" % (self.env, self.script, action)])
        if action == "start":
            assert "-A PREROUTING -i wgvpc+ -j FAKEVPC-SVC" in self.save()

    def vpc(self, state):
        self.lab.play([ALPHA], extra_vars={"netns_vpc_state": state})
        if state == "present":
            assert "-j NVPC-POSTROUTING" in self.save()

    def save(self):
        return self.lab.host.run(["iptables-save" if not self.env else "iptables-legacy-save"]).stdout

    def assert_as_before(self, sequence):
        after = sim.exact_state(self.lab.host)
        for key, text in self.lab.before.items():
            assert after[key] == text, "%s: %s differs:\n%s\n--- before:\n%s" % (sequence, key, after[key], text)


SEQUENCES = [
    ("service add, service remove", [("service", "start"), ("service", "stop")]),
    ("VPC add, VPC remove", [("vpc", "present"), ("vpc", "absent")]),
    ("service add, VPC add, service remove, VPC remove",
     [("service", "start"), ("vpc", "present"), ("service", "stop"), ("vpc", "absent")]),
    ("service add, VPC add, VPC remove, service remove",
     [("service", "start"), ("vpc", "present"), ("vpc", "absent"), ("service", "stop")]),
    ("VPC add, service add, VPC remove, service remove",
     [("vpc", "present"), ("service", "start"), ("vpc", "absent"), ("service", "stop")]),
    ("VPC add, service add, service remove, VPC remove",
     [("vpc", "present"), ("service", "start"), ("service", "stop"), ("vpc", "absent")]),
]


@pytest.fixture(scope="module")
def nft_host(make_simnet_module):
    lab = Lab(make_simnet_module(2, prefix="nr", underlay=sim.UNDERLAY))
    assert lab.before["iptables-nft-save"] == "" and lab.before["nft list ruleset"] == ""
    return Host(lab)


@pytest.mark.parametrize("steps", [steps for _label, steps in SEQUENCES], ids=[label for label, _steps in SEQUENCES])
def test_removal_leaves_the_host_as_before_in_every_order_nft(nft_host, steps):
    for kind, action in steps:
        getattr(nft_host, kind)(action)
        if (kind, action) == steps[-2] and kind == "service" and action == "stop":
            # the VPC is still there, whole: the service took only its own chain and jumps
            assert "-j NVPC-PREROUTING" in nft_host.save() and "FAKEVPC" not in nft_host.save()
    nft_host.assert_as_before(" -> ".join("%s %s" % step for step in steps))


@pytest.fixture(scope="module")
def legacy_host(make_simnet_module):
    net = make_simnet_module(2, prefix="nq", underlay=sim.UNDERLAY)
    tools = net.workdir / "legacy-bin"
    tools.mkdir()
    for name in ("iptables", "iptables-save", "iptables-restore"):
        (tools / name).symlink_to("/usr/sbin/%s" % name.replace("iptables", "iptables-legacy", 1))
    lab = Lab(net, {"netns_vpc_iptables_backend": "legacy"},
              setup=[["iptables-legacy", "-t", "filter", "-S"], ["iptables-legacy", "-t", "nat", "-S"]])
    assert "*nat" in lab.before["iptables-legacy-save"] and lab.before["iptables-nft-save"] == ""
    return Host(lab, path=tools)


@pytest.mark.parametrize("steps", [steps for _label, steps in SEQUENCES[2:4]],
                         ids=[label for label, _steps in SEQUENCES[2:4]])
def test_removal_leaves_the_host_as_before_in_every_order_legacy(legacy_host, steps):
    for kind, action in steps:
        getattr(legacy_host, kind)(action)
    legacy_host.assert_as_before(" -> ".join("%s %s" % step for step in steps))
