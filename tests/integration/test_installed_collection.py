# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as a user gets it: the tarball built, installed into an empty collections path, and used by
FQCN from an empty project directory outside the checkout (ANSIBLE_CONFIG an empty file, ANSIBLE_COLLECTIONS_PATH
the install path, so nothing of the checkout is found). The project holds its own inventory of simulated
servers and the test's connection plugin; its keys and lab inventory stay in the project."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from support import netns_vpc as sim
from support.collection_build import build, check_build, clean_env, members
from support.paths import ANSIBLE_BIN, CONNECTION_PLUGINS, REPO_ROOT
from support.playbook import parse_recap

pytestmark = [pytest.mark.root, pytest.mark.wireguard]


class Project:
    """An empty directory outside the checkout, with the collection installed from its tarball."""

    def __init__(self, work: Path):
        self.work = work
        self.tarball = build(REPO_ROOT, work / "dist", work)
        self.collections = work / "collections"
        self.installed = self.collections / "ansible_collections" / "fakevpc" / "vpc"
        self.dir = work / "project"
        self.dir.mkdir()
        shutil.copytree(CONNECTION_PLUGINS, self.dir / "connection_plugins")
        self.env = clean_env(work, ANSIBLE_COLLECTIONS_PATH=str(self.collections),
                             ANSIBLE_CONNECTION_PLUGINS=str(self.dir / "connection_plugins"),
                             ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_RETRY_FILES_ENABLED="0",
                             ANSIBLE_HOST_KEY_CHECKING="0", PYTHONUNBUFFERED="1")
        installed = self.run("ansible-galaxy", "collection", "install", "--offline", "-p", str(self.collections),
                             str(self.tarball))
        assert installed.returncode == 0 and "fakevpc.vpc:" in installed.stdout, installed.stdout + installed.stderr

    def run(self, tool, *args, timeout=600):
        return subprocess.run([str(ANSIBLE_BIN / tool), *args], cwd=self.dir, env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False)

    def playbook(self, *args):
        proc = self.run("ansible-playbook", *args)
        return proc, parse_recap(proc.stdout)

    def fingerprint(self):
        """Every file of the installed collection and its digest: running it must change none."""
        return {str(p.relative_to(self.installed)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(self.installed.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return Project(tmp_path_factory.mktemp("installed"))


def _mesh_inventory(net):
    extra = {s.name: {"ansible_become": False, "wg_mesh_install_packages": False,
                      "wg_mesh_cloud_init_templates_dir": ""} for s in net.servers[:3]}
    inventory = net.inventory(extra)
    hosts = inventory["all"]["children"]["vpc"]["hosts"]
    for server in net.servers[3:]:
        del hosts[server.name]
    return inventory


def test_the_installed_copy_is_the_tarball_and_nothing_of_the_checkout(project):
    assert check_build(project.tarball).returncode == 0
    shipped = set(members(project.tarball))
    assert {str(p.relative_to(project.installed)) for p in project.installed.rglob("*") if p.is_file()} == shipped
    listed = project.run("ansible-galaxy", "collection", "list", "fakevpc.vpc", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert list(json.loads(listed.stdout)) == [str(project.collections / "ansible_collections")]


def test_ansible_doc_renders_every_module_filter_and_role(project):
    expected = {
        "module": {p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"},
        "filter": None,  # every filter the installed plugins define, at least one per filter file
        "role": {p.name for p in (REPO_ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists()},
    }
    for kind, names in expected.items():
        listed = project.run("ansible-doc", "-t", kind, "-l", "fakevpc.vpc", "--json")
        assert listed.returncode == 0, listed.stderr
        found = {fqcn.rsplit(".", 1)[1] for fqcn in json.loads(listed.stdout)}
        if kind == "filter":
            assert len(found) >= len(list((REPO_ROOT / "plugins" / "filter").glob("*.py"))), found
        else:
            assert found == names, (kind, found)
        fqcns = ["fakevpc.vpc." + name for name in sorted(found)]
        doc = project.run("ansible-doc", "-t", kind, "--json", *fqcns)
        assert doc.returncode == 0 and "ERROR" not in doc.stderr and "WARNING" not in doc.stderr, doc.stderr
        rendered = json.loads(doc.stdout)
        assert sorted(rendered) == fqcns
        for fqcn, data in rendered.items():
            if kind == "role":
                assert data["entry_points"]["main"]["short_description"], fqcn
                assert str(project.installed) in data["path"], data["path"]
            else:
                assert data["doc"]["short_description"] and data["examples"], fqcn
                assert data["doc"]["filename"].startswith(str(project.installed)), data["doc"]["filename"]


def test_site_from_a_users_project_pings_every_pair_and_reruns_with_no_change(project, make_simnet_module):
    net = make_simnet_module(3)
    before = project.fingerprint()
    inventory = project.dir / "hosts.json"
    inventory.write_text(json.dumps(_mesh_inventory(net)))
    first, recap = project.playbook("-i", str(inventory), "fakevpc.vpc.site")
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr
    unreachable = [(a.name, b.index) for a in net.servers for b in net.servers
                   if a is not b and not a.ping("%s.vpcdomain" % b.name)]
    assert unreachable == []
    second, recap = project.playbook("-i", str(inventory), "fakevpc.vpc.site")
    assert second.returncode == 0 and sum(h["changed"] for h in recap.values()) == 0, second.stdout[-6000:]
    # The keys are the project's (next to its inventory), never the collection's.
    assert sorted(p.name for p in (project.dir / "wg_keys").iterdir())
    status, recap = project.playbook("-i", str(inventory), "fakevpc.vpc.status")
    assert status.returncode == 0 and "down" not in status.stdout.split("Show the matrix")[1].split("TASK")[0], \
        status.stdout[-6000:]
    # The key rotation, by the installed playbook's name: the server's key file changes, nothing stays staged, and
    # site.yml then has nothing to change.
    rotated = net.servers[1].name
    old_key = (project.dir / "wg_keys" / ("%s.key" % rotated)).read_bytes()
    rotation, recap = project.playbook("-i", str(inventory), "fakevpc.vpc.rotate_keys", "-e", "wg_mesh_rotate=" + rotated)
    assert rotation.returncode == 0, rotation.stdout[-6000:] + rotation.stderr
    assert (project.dir / "wg_keys" / ("%s.key" % rotated)).read_bytes() != old_key
    assert [p.name for p in (project.dir / "wg_keys").iterdir() if p.name.endswith((".next", ".staged"))] == []
    third, recap = project.playbook("-i", str(inventory), "fakevpc.vpc.site")
    assert third.returncode == 0 and sum(h["changed"] for h in recap.values()) == 0, third.stdout[-6000:]
    # The README's playbook of the user's own: the collection's playbook imported by name, then a play of theirs.
    readme = (REPO_ROOT / "README.md").read_text()
    (project.dir / "vpc.yml").write_text(readme.split("```yaml\n# vpc.yml\n", 1)[1].split("```", 1)[0])
    own, recap = project.playbook("-i", str(inventory), "vpc.yml")
    assert own.returncode == 0 and sum(h["changed"] for h in recap.values()) == 0, own.stdout[-6000:]
    assert "TASK [Reach the group's first server by name over the mesh]" in own.stdout
    assert project.fingerprint() == before


def test_netns_vpc_from_a_users_project(project, make_simnet_module):
    net = make_simnet_module(2, prefix="iv", underlay=sim.UNDERLAY)
    host, _upstream = sim.prepare(net)
    vpc = {"name": "solo", "cidr": "10.30.0.0/16",
           "subnets": [{"name": "web", "cidr": "10.30.1.0/24", "type": "public"}]}
    inventory = sim.inventory(net, host, {"netns_vpc_vpcs": [vpc]})
    built, _recap = project.playbook("-i", str(inventory), "fakevpc.vpc.netns_vpc")
    assert built.returncode == 0, built.stdout[-6000:] + built.stderr
    assert "ns-solo-web" in host.run(["ip", "netns", "list"]).stdout
    removed, _recap = project.playbook("-i", str(inventory), "fakevpc.vpc.netns_vpc", "-e", "netns_vpc_state=absent")
    assert removed.returncode == 0, removed.stdout[-6000:]
    assert "ns-solo-web" not in host.run(["ip", "netns", "list"]).stdout


def test_the_lab_inventory_belongs_to_the_users_project_never_to_the_collection(project):
    """fakevpc.vpc.lab_destroy (no VM is started) finds the lab inventory in the project's inventories/lab and
    refuses an inventory directory inside the installed collection."""
    cache = project.work / "lab-cache"  # no lab there: nothing of a real lab is touched
    lab_inventory = project.dir / "inventories" / "lab" / "hosts.yml"
    lab_inventory.parent.mkdir(parents=True)
    lab_inventory.write_text("vpc: {}\n")
    destroyed, _recap = project.playbook("fakevpc.vpc.lab_destroy", "-e", f"qemu_lab_cache_dir={cache}")
    assert destroyed.returncode == 0, destroyed.stdout[-4000:] + destroyed.stderr
    assert not lab_inventory.exists()
    inside = project.installed / "inventories" / "lab"
    refused, _recap = project.playbook("fakevpc.vpc.lab_destroy", "-e", f"qemu_lab_cache_dir={cache}",
                                       "-e", f"qemu_lab_inventory_dir={inside}")
    assert refused.returncode != 0 and "is inside the installed collection" in refused.stdout, refused.stdout[-4000:]
    assert not inside.exists()
