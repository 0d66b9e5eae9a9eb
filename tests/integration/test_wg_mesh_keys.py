# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Keys users can trust (site.yml on three simulated servers): one key directory per mesh.

The tests of this module share one set of three servers and run in order.
"""

from __future__ import annotations

import json

import pytest

from mesh_sim import SITE, Mesh
from simservers import run_playbook

pytestmark = [pytest.mark.root, pytest.mark.wireguard]


@pytest.fixture(scope="module")
def mesh(make_simnet_module, tmp_path_factory):
    return Mesh(make_simnet_module(3), tmp_path_factory.mktemp("keys"))


def split_inventories(mesh, workdir):
    """Two inventory sources in two directories, each with its own default <inventory dir>/wg_keys:
    a/hosts.json holds vpc1 and vpc2, b/hosts.json holds vpc3."""
    paths = {}
    for part, names in (("a", ("vpc1", "vpc2")), ("b", ("vpc3",))):
        extra = {name: {"ansible_become": False, "wg_mesh_install_packages": False,
                        "wg_mesh_cloud_init_templates_dir": ""} for name in names}
        inventory = mesh.net.inventory(extra)
        hosts = inventory["all"]["children"]["vpc"]["hosts"]
        for name in list(hosts):
            if name not in names:
                del hosts[name]
        (workdir / part).mkdir(exist_ok=True)
        paths[part] = workdir / part / "hosts.json"
        paths[part].write_text(json.dumps(inventory))
    return paths


@pytest.mark.parametrize("order, limit", [("ab", None), ("ba", None), ("ab", "vpc3"), ("ba", "vpc1")])
def test_two_inventory_sources_fail_naming_both_directories_and_create_no_key(mesh, tmp_path, order, limit):
    paths = split_inventories(mesh, tmp_path)
    first, second = (paths[part] for part in order)
    before = mesh.snapshot()
    run = run_playbook(SITE, first, extra_args=["-i", str(second)] + (["--limit", limit] if limit else []), verbose=0)
    assert run.rc != 0, run.describe()
    message = ("variable wg_mesh_key_dir: one mesh has one key directory, but host 'vpc1' resolves it to %s and host"
               " 'vpc3' to %s" % (tmp_path / "a" / "wg_keys", tmp_path / "b" / "wg_keys"))
    assert message in run.stdout, run.describe()
    assert run.changed() == 0 and mesh.snapshot() == before
    assert not (tmp_path / "a" / "wg_keys").exists() and not (tmp_path / "b" / "wg_keys").exists()
