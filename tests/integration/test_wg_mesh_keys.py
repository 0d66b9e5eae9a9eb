# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Keys users can trust (site.yml on simulated servers): one key directory per mesh, never a silent re-key, vault.

The tests of this module share one set of three servers and run in order.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import shutil
import stat

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from support.mesh import Mesh
from support.paths import REPO_ROOT, SITE
from support.pings import start_pinging, stop_pinging
from support.playbook import run_playbook

pytestmark = [pytest.mark.root, pytest.mark.wireguard]


@pytest.fixture(scope="module")
def mesh(make_simnet_module, tmp_path_factory):
    return Mesh(make_simnet_module(4), tmp_path_factory.mktemp("keys"))


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


def running_keys(mesh):
    """The key files the servers' running interfaces imply: {file name: bytes}, as wg_keys writes them."""
    public, private, psks = {}, {}, {}
    for server in mesh.net.servers:
        for line in server.run(["wg", "show", "all", "dump"], check=False).stdout.splitlines():
            fields = line.split("\t")
            if len(fields) == 5:
                private[server.name], public[server.name] = fields[1], fields[2]
            else:
                psks.setdefault(server.name, {})[fields[1]] = fields[2]
    host_of = dict((key, host) for host, key in public.items())
    files = dict(("%s.key" % host, (key + "\n").encode()) for host, key in private.items())
    for host, peers in psks.items():
        for peer_key, psk in peers.items():
            name = "%s+%s.psk" % tuple(sorted((host, host_of[peer_key])))
            assert files.setdefault(name, (psk + "\n").encode()) == (psk + "\n").encode(), name
    return files


def key_files(key_dir):
    return dict((path.name, path.read_bytes()) for path in sorted(key_dir.iterdir()))


def test_a_deleted_key_directory_is_refused_then_adopted_with_no_tunnel_touched(mesh):
    first = mesh.site(3)
    assert first.rc == 0, first.describe()
    original = key_files(mesh.key_dir)
    assert running_keys(mesh) == original and len(original) == 3 + 3
    shutil.rmtree(mesh.key_dir)
    before = mesh.snapshot()
    indices = dict((server.name, mesh.interface_indices(server)) for server in mesh.net.servers[:3])

    refused = mesh.site(3, verbose=0)
    assert refused.rc != 0, refused.describe()
    assert "host 'vpc1' already runs mesh interfaces with a key (public key " in refused.stdout, refused.describe()
    assert "that the key directory %s does not have" % mesh.key_dir in refused.stdout
    assert refused.changed() == 0 and mesh.snapshot() == before and not mesh.key_dir.exists()

    one, two, three, _four = mesh.net.servers
    pingers = [start_pinging(two, "server1.vpcdomain"), start_pinging(three, "server2.vpcdomain"),
               start_pinging(three, "server1.vpcdomain")]
    try:
        adopted = mesh.site(3, verbose=3, diff=True, extra_args=["-e", "wg_mesh_adopt_keys=true"])
    finally:
        pinged = [stop_pinging(pinger) for pinger in pingers]
    assert adopted.rc == 0, adopted.describe()
    for answered, lost, output in pinged:
        assert answered > 20 and lost == [], output[-2000:]
    assert key_files(mesh.key_dir) == original
    assert stat.S_IMODE(os.stat(mesh.key_dir).st_mode) == 0o700
    assert {stat.S_IMODE(os.stat(mesh.key_dir / name).st_mode) for name in original} == {0o600}
    assert mesh.snapshot() == before
    assert dict((server.name, mesh.interface_indices(server)) for server in mesh.net.servers[:3]) == indices
    output = adopted.stdout + adopted.stderr
    assert [name for name, data in original.items() if data.decode().strip() in output] == []

    again = mesh.site(3)
    assert again.rc == 0 and again.changed() == 0, again.describe()


def vault_key_directory(mesh, tmp_path):
    """Encrypt every key file of the mesh with a new test vault password (vault id `test`, its file in tmp_path):
    the password, the ansible-playbook arguments that give it, and the key files as they were in plain."""
    password = "vault-test-" + secrets.token_hex(16)
    password_file = tmp_path / "vault-password"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    vault_args = ["--vault-id", "test@%s" % password_file]
    plain = key_files(mesh.key_dir)
    subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "ansible-vault"), "encrypt"] + vault_args
                   + [str(mesh.key_dir / name) for name in plain], check=True, capture_output=True)
    return password, vault_args, plain


def test_a_vault_encrypted_key_directory_converges_and_grows_encrypted(mesh, tmp_path):
    password, vault_args, plain = vault_key_directory(mesh, tmp_path)
    header = b"$ANSIBLE_VAULT;1.2;AES256;test\n"
    assert all(data.startswith(header) for data in key_files(mesh.key_dir).values())
    assert {stat.S_IMODE(os.stat(mesh.key_dir / name).st_mode) for name in plain} == {0o600}
    runs = [mesh.site(3, extra_args=vault_args, verbose=3)]
    assert runs[-1].rc == 0 and runs[-1].changed() == 0, runs[-1].describe()

    runs.append(mesh.site(4, extra_args=vault_args, verbose=3, diff=True))
    assert runs[-1].rc == 0, runs[-1].describe()
    encrypted = key_files(mesh.key_dir)
    assert sorted(encrypted) == sorted(list(plain) + ["vpc4.key", "vpc1+vpc4.psk", "vpc2+vpc4.psk", "vpc3+vpc4.psk"])
    assert all(data.startswith(header) for data in encrypted.values())
    assert {stat.S_IMODE(os.stat(mesh.key_dir / name).st_mode) for name in encrypted} == {0o600}
    vault = VaultLib([("test", VaultSecret(password.encode()))])
    decrypted = dict((name, vault.decrypt(data)) for name, data in encrypted.items())
    assert dict((name, decrypted[name]) for name in plain) == plain
    assert running_keys(mesh) == decrypted  # what every server runs, vpc4 included
    servers = mesh.net.servers
    assert all(a.ping("server%d.vpcdomain" % b.index) for a in servers for b in servers if a is not b)

    runs.append(mesh.site(4, extra_args=vault_args, verbose=3))
    assert runs[-1].rc == 0 and runs[-1].changed() == 0, runs[-1].describe()
    output = "".join(run.stdout + run.stderr for run in runs)
    assert password not in output
    assert [name for name, data in decrypted.items() if data.decode().strip() in output] == []
