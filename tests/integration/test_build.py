# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The tarball holds the product only (galaxy.yml's manifest, an allowlist) and never anything key-like:
keys planted in every inventory directory and elsewhere stay out, and scripts/check-build.sh refuses a
tarball that holds a key, a vault or a file off the allowlist."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import tarfile

import pytest

from support.collection_build import build, check_build, copy_checkout, members
from support.paths import REPO_ROOT

KEY = base64.b64encode(os.urandom(32)).decode()  # what wg genkey prints
VAULT = "$ANSIBLE_VAULT;1.1;AES256\n6162636465666768696a6b6c6d6e6f70\n"
PRODUCT = ("README.md", "LICENSE", "CHANGELOG.md", "meta/", "plugins/", "playbooks/", "roles/", "docs/",
           "changelogs/changelog.yaml")


def _tracked():
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def _plant(root, relative, content):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return relative


@pytest.fixture(scope="module")
def planted_build(tmp_path_factory):
    """A copy of the checkout with key material in every inventory and in the places a build would skip."""
    work = tmp_path_factory.mktemp("build")
    source = copy_checkout(work / "src")
    planted = []
    inventories = sorted({p.parent for p in (source / "inventories").rglob("*")} | {source / "inventories"})
    for inventory in inventories:
        rel = inventory.relative_to(source)
        planted += [_plant(source, f"{rel}/wg_keys/server1.key", KEY + "\n"),
                    _plant(source, f"{rel}/wg_keys/server1-server2.psk", KEY),
                    _plant(source, f"{rel}/wg_keys/server1.pub", KEY + "\n"),
                    _plant(source, f"{rel}/group_vars/all/vault.yml", VAULT)]
    for rel in ("wg_keys/server1.key", "tests/wg_keys/a.key", "bench/results/wg_keys/b.psk", "molecule/default/c.key",
                "playbooks/wg_keys/server1.key", "playbooks/server1.key", "plugins/modules/leaked.key",
                "roles/wg_mesh/wg_keys/server1.key", "roles/wg_mesh/defaults/server1.psk",
                "roles/netns_vpc/molecule/default/wg_keys/server1.key", "docs/server.pem"):
        planted.append(_plant(source, rel, KEY + "\n"))
    tarball = build(source, work / "out", work)
    return source, planted, tarball


def test_planted_keys_stay_out(planted_build):
    _source, planted, tarball = planted_build
    names = set(members(tarball))
    assert not names & set(planted)
    assert not [n for n in names if "wg_keys/" in n or n.endswith((".key", ".psk", ".pem"))]
    for name, content in members(tarball).items():
        assert KEY.encode() not in content, name
        assert b"$ANSIBLE_VAULT" not in content, name
    result = check_build(tarball)
    assert result.returncode == 0, result.stderr


def test_tarball_is_the_product(planted_build):
    """Every file of the product is in, nothing else: no tests, bench, molecule, scripts, inventories."""
    _source, _planted, tarball = planted_build
    names = set(members(tarball)) - {"MANIFEST.json", "FILES.json"}
    product = {name for name in _tracked() if name.startswith(PRODUCT) and "/molecule/" not in name}
    assert names == product, (sorted(names - product), sorted(product - names))
    assert {"LICENSE", "README.md", "CHANGELOG.md", "meta/runtime.yml", "playbooks/site.yml",
            "changelogs/changelog.yaml"} <= names


@pytest.mark.parametrize("relative, content", [
    ("roles/qemu_lab/files/peer-secret", KEY + "\n"),            # a bare key under an innocent name
    ("roles/wg_mesh/vars/main.yml", VAULT),                       # a vault-encrypted file
    ("roles/wg_mesh/vars/inline.yml", "token: !vault |\n  " + VAULT.replace("\n", "\n  ")),
    ("playbooks/wg0.yml", f"# [Interface]\n# PrivateKey = {KEY}\n"),
    ("roles/wg_mesh/defaults/keys.yml", f"wg_mesh_private_key: x\nprivate_key: '{KEY}'\n"),
    ("roles/qemu_lab/files/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"),
], ids=["bare key", "vaulted file", "inline vault", "wg-quick comment", "key in YAML", "SSH key"])  # never the key
def test_check_build_refuses_key_material_the_manifest_lets_in(tmp_path, relative, content):
    source = copy_checkout(tmp_path / "src")
    _plant(source, relative, content)
    tarball = build(source, tmp_path / "out", tmp_path)
    assert relative in members(tarball)  # the manifest takes it: only the check stands in the way
    result = check_build(tarball)
    assert result.returncode == 1
    assert relative in result.stderr and "key-like" in result.stderr


@pytest.mark.parametrize("relative", ["tests/unit/test_x.py", "Makefile", "inventories/lab/hosts.yml",
                                      "roles/netns_vpc/molecule/default/molecule.yml", "bench/README.md",
                                      "plugins/modules/notes.txt", "roles/wg_mesh/wg_keys/"])
def test_check_build_is_an_allowlist(tmp_path, relative):
    """A tarball made by hand with one entry off the list is refused, naming the entry."""
    tarball = tmp_path / "fakevpc-vpc-0.0.0.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data in (("README.md", b"readme\n"), (relative, b"x\n")):
            info = tarfile.TarInfo(name.rstrip("/"))
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    result = check_build(tarball)
    assert result.returncode == 1
    assert relative.rstrip("/") in result.stderr
