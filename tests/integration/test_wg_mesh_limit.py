# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""--limit-safe additions (site.yml on simulated servers): a server added with a run limited to another one gets its
key, the limited server gets it as a peer, and the servers outside the limit that already have their keys are never
contacted (here they are down); a new server that already runs a key the directory lacks is refused, naming it.

The tests of this module share one set of four servers and run in order: three converged, then the fourth added.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from support.mesh import converged_mesh
from support.paths import SITE
from support.playbook import run_playbook

pytestmark = [pytest.mark.root, pytest.mark.wireguard]

# Above the kernel's largest pid_max (2**22): the simserver connection cannot reach a server at it.
UNREACHABLE_PID = 99999999


@pytest.fixture(scope="module")
def mesh(make_simnet_module, tmp_path_factory):
    return converged_mesh(make_simnet_module(4), tmp_path_factory.mktemp("limit"), 3, verbose=0)


def wg(*argv, given=None):
    """wg genkey, wg pubkey (the key on stdin, never in argv)."""
    return subprocess.run(["wg", *argv], input=given, capture_output=True, text=True, check=True).stdout.strip()


def key_files(mesh):
    return {name: (mesh.key_dir / name).read_bytes() for name in sorted(os.listdir(mesh.key_dir))}


def public_keys(server):
    """The public keys of the peers of every WireGuard interface of server."""
    dump = server.run(["wg", "show", "all", "dump"], check=False).stdout
    return {fields[1] for fields in (line.split("\t") for line in dump.splitlines()) if len(fields) == 9}


def limited_to_vpc1(mesh, down=("vpc2", "vpc3")):
    """site.yml on the four servers, --limit vpc1, the servers in down unreachable."""
    overrides = {name: {"ansible_simserver_pid": UNREACHABLE_PID} for name in down}
    return run_playbook(SITE, mesh.write_inventory(4, **overrides), extra_args=["--limit", "vpc1"], verbose=0)


def test_a_new_server_that_already_runs_a_key_is_refused_naming_it(mesh):
    vpc4 = mesh.net.servers[3]
    private = wg("genkey")
    vpc4.run(["wireguard-go", "wgvpc0"])  # brought up by hand, with a key the directory does not have
    try:
        vpc4.run(["wg", "set", "wgvpc0", "private-key", "/dev/stdin"], input=private + "\n")
        before, snapshot = key_files(mesh), mesh.snapshot()
        refused = limited_to_vpc1(mesh)
        assert refused.rc != 0, refused.describe()
        assert ("host 'vpc4' already runs mesh interfaces with a key (public key %s)" % wg("pubkey", given=private)
                in refused.stdout), refused.describe()
        assert key_files(mesh) == before
        assert mesh.snapshot() == snapshot
    finally:
        vpc4.run(["ip", "link", "del", "wgvpc0"])


def test_a_limited_run_adds_the_new_server_and_contacts_no_other(mesh):
    vpc1, vpc2, vpc3, vpc4 = mesh.net.servers
    before, snapshot = key_files(mesh), mesh.snapshot()
    added = limited_to_vpc1(mesh)
    assert added.rc == 0, added.describe()
    assert set(added.recap) == {"vpc1"}, added.describe()
    after = key_files(mesh)
    assert {name: data for name, data in after.items() if name in before} == before
    assert sorted(set(after) - set(before)) == ["vpc1+vpc4.psk", "vpc2+vpc4.psk", "vpc3+vpc4.psk", "vpc4.key"]
    new_public = wg("pubkey", given=after["vpc4.key"].decode())
    assert new_public in public_keys(vpc1)
    now = mesh.snapshot()
    for server in (vpc2, vpc3, vpc4):
        assert now[server.name] == snapshot[server.name], server.name

    # Then the full run: the new server joins every pair, with the key created above.
    full = mesh.site(4, verbose=0)
    assert full.rc == 0, full.describe()
    assert key_files(mesh) == after
    for server in (vpc1, vpc2, vpc3):
        assert new_public in public_keys(server), server.name
        assert vpc4.ping("server%d" % server.index), server.name
    again = mesh.site(4, verbose=0)
    assert again.rc == 0 and again.changed() == 0, again.describe()
