# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml (the wg_mesh role) on simulated servers: names, idempotence, growth, check mode, secrets, bad input.

The tests of this module share one set of four servers and run in order: the first converges three of them.
"""

from __future__ import annotations

import os
import re
import stat

import pytest

from support.mesh import Mesh, expected_hosts_block
from support.paths import REPO_ROOT
from support.pings import start_pinging, stop_pinging
from support.playbook import run_playbook

pytestmark = [pytest.mark.root, pytest.mark.wireguard]


@pytest.fixture(scope="module")
def mesh(make_simnet_module, tmp_path_factory):
    return Mesh(make_simnet_module(4), tmp_path_factory.mktemp("site"))


def test_site_converges_every_pair_pings_by_name_and_rerun_changes_nothing(mesh):
    first = mesh.site(3)
    assert first.rc == 0, first.describe()
    three = mesh.net.servers[:3]
    for server in three:
        assert server.hosts_file.read_text().endswith(expected_hosts_block(server.index, [1, 2, 3]))
    unreachable = [(a.name, b.index) for a in three for b in three
                   if a is not b and not a.ping("server%d.vpcdomain" % b.index)]
    assert unreachable == []
    second = mesh.site(3)
    assert second.rc == 0 and second.changed() == 0, second.describe()


def test_adding_a_server_keeps_every_existing_tunnel_up(mesh):
    one, two, three, four = mesh.net.servers
    before = {s.name: mesh.interface_indices(s) for s in (one, two, three)}
    pinger = start_pinging(two, "server1.vpcdomain")
    try:
        grown = mesh.site(4)
    finally:
        answered, lost, output = stop_pinging(pinger)
    assert grown.rc == 0, grown.describe()
    assert answered > 20 and lost == [], output[-2000:]
    for server in (one, two, three):
        indices = mesh.interface_indices(server)
        assert {name: indices[name] for name in before[server.name]} == before[server.name], "an interface was recreated"
    assert set(mesh.interface_indices(four)) == {"wgvpc0", "wgvpc1", "wgvpc2", "wgvpc3"}
    assert four.hosts_file.read_text().endswith(expected_hosts_block(4, [1, 2, 3, 4]))
    assert all(four.ping("server%d.vpcdomain" % i) and mesh.net.servers[i - 1].ping("server4.vpcdomain")
               for i in (1, 2, 3))


def test_check_mode_changes_nothing(mesh):
    before = mesh.snapshot()
    checked = mesh.site(4, overrides={"vpc1": {"wg_mesh_port": 51999}}, check=True, diff=True)
    assert checked.rc == 0 and checked.changed() > 0, checked.describe()
    assert mesh.snapshot() == before


def test_keys_are_private_on_disk_and_never_printed(mesh):
    assert stat.S_IMODE(os.stat(mesh.key_dir).st_mode) == 0o700
    secrets = []
    for name in os.listdir(mesh.key_dir):
        path = mesh.key_dir / name
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name
        secrets.append(path.read_text().strip())
    assert len(secrets) == 4 + 6
    loud = mesh.site(4, verbose=3, diff=True)
    assert loud.rc == 0, loud.describe()
    output = loud.stdout + loud.stderr
    assert [secret for secret in secrets if secret in output] == []


@pytest.mark.parametrize("overrides, message", [
    ({"vpc3": {"wg_mesh_index": 1}}, "host 'vpc3': variable wg_mesh_index: 1 is already the index of host 'vpc1'"),
    ({"vpc2": {"wg_mesh_index": 0}}, "host 'vpc2': variable wg_mesh_index: must be an integer from 1 to 254, got 0"),
    ({"vpc2": {"wg_mesh_index": 255}}, "host 'vpc2': variable wg_mesh_index: must be an integer from 1 to 254"),
    ({"vpc1": {"wg_mesh_iface_ip_offset": 254}},
     "host 'vpc3': variable wg_mesh_index: 3 with iface_ip_offset 254 needs the subnet 192.168.256.0/24"),
    ({"vpc1": {"wg_mesh_endpoint": None, "ansible_host": None}}, "host 'vpc1': variable wg_mesh_endpoint: is missing"),
    ({"vpc1": {"wg_mesh_iface_prefix": "averylongname"}}, "variable wg_mesh_iface_prefix"),
])
def test_bad_inventories_fail_before_any_host_changes(mesh, overrides, message):
    before = mesh.snapshot()
    failed = mesh.site(4, overrides=overrides, verbose=0)
    assert failed.rc != 0
    assert message in failed.stdout, failed.describe()
    assert failed.changed() == 0 and mesh.snapshot() == before


def test_a_limited_run_never_drops_a_peer(mesh):
    before = mesh.snapshot()
    limited = mesh.site(4, extra_args=["--limit", "vpc1"])
    assert limited.rc == 0 and limited.changed() == 0, limited.describe()
    assert mesh.snapshot() == before


def test_removing_server_2_of_4_keeps_the_other_tunnels_up(mesh):
    one, two, three, four = mesh.net.servers
    pinger = start_pinging(three, "server1.vpcdomain")
    try:
        shrunk = mesh.site(4, overrides={"vpc2": {"wg_mesh_state": "absent"}})
    finally:
        answered, lost, output = stop_pinging(pinger)
    assert shrunk.rc == 0, shrunk.describe()
    assert answered > 20 and lost == [], output[-2000:]
    assert mesh.interface_indices(two) == {} and os.listdir(two.etc_wireguard) == []
    assert "fakevpc.vpc" not in two.hosts_file.read_text()
    assert set(mesh.interface_indices(three)) == {"wgvpc0", "wgvpc1"}
    assert set(mesh.interface_indices(four)) == {"wgvpc0", "wgvpc1", "wgvpc3"}
    for server in (one, three, four):
        assert server.hosts_file.read_text().endswith(expected_hosts_block(server.index, [1, 3, 4]))
    assert all(a.ping("server%d.vpcdomain" % b.index) for a in (one, three, four) for b in (one, three, four) if a is not b)
    again = mesh.site(4, overrides={"vpc2": {"wg_mesh_state": "absent"}})
    assert again.rc == 0 and again.changed() == 0, again.describe()


def test_status_matrix_shows_every_pair_and_fails_when_one_is_down(mesh):
    status = run_playbook(REPO_ROOT / "playbooks" / "status.yml", mesh.write_inventory(4, vpc2={"wg_mesh_state": "absent"}))
    assert status.rc == 0, status.describe()
    assert "every pair is up" in status.stdout
    for name in ("server1", "server3", "server4"):
        cell = r"(-|\d+\.\dms \d+s)"
        assert re.search(r"^ +- %s +%s +%s +%s$" % (name, cell, cell, cell), status.stdout, re.MULTILINE), status.stdout
    four = mesh.net.servers[3]
    four.run(["ip", "link", "set", "dev", "wgvpc1", "down"])
    try:
        broken = run_playbook(REPO_ROOT / "playbooks" / "status.yml",
                              mesh.write_inventory(4, vpc2={"wg_mesh_state": "absent"}))
    finally:
        four.run(["ip", "link", "set", "dev", "wgvpc1", "up"])
    assert broken.rc != 0
    assert "Down (from, to): server1 -> server4, server4 -> server1" in broken.stdout, broken.stdout


def test_a_failing_interface_task_says_why_and_prints_no_key(mesh):
    """The interface task carries keys, yet its errors are shown: they name the interface, never a key, even at -vvv.

    server2 (absent since the previous test) comes back with implementation kernel, which this host's kernel lacks:
    the module fails creating its first interface, with the private key in its arguments."""
    secrets = [(mesh.key_dir / name).read_text().strip() for name in os.listdir(mesh.key_dir)]
    assert len(secrets) == 4 + 6
    failed = mesh.site(4, overrides={"vpc2": {"wg_mesh_implementation": "kernel"}}, verbose=3, diff=True)
    assert failed.rc != 0 and failed.failed() == 1, failed.describe()
    output = failed.stdout + failed.stderr
    assert "cannot create wgvpc0: the kernel has no WireGuard" in output, failed.describe()
    assert "censored" not in output, failed.describe()
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output  # the key options are there, masked
    assert [secret for secret in secrets if secret in output] == []
