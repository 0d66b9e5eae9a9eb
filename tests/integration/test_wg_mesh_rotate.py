# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Key rotation (playbooks/rotate_keys.yml) on simulated servers, under pings ten times a second on every pair.

The tests of this module share one mesh of three servers and run in order.
"""

from __future__ import annotations

import os
import re
import stat

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from support.mesh import converged_mesh
from support.paths import REPO_ROOT
from support.pings import start_pinging, stop
from support.playbook import run_playbook
from test_wg_mesh_keys import key_files, running_keys, vault_key_directory

pytestmark = [pytest.mark.root, pytest.mark.wireguard]

ROTATE = REPO_ROOT / "playbooks" / "rotate_keys.yml"
PAIRS = [(1, 2), (1, 3), (2, 3)]


@pytest.fixture(scope="module")
def mesh(make_simnet_module, tmp_path_factory):
    return converged_mesh(make_simnet_module(3), tmp_path_factory.mktemp("rotate"))


def rotate(mesh, request, overrides=None, **kwargs):
    extra_args = kwargs.pop("extra_args", []) + (["-e", "wg_mesh_rotate=%s" % request] if request else [])
    return run_playbook(ROTATE, mesh.write_inventory(3, **(overrides or {})), extra_args=extra_args, **kwargs)


class Pings:
    """ping from the lower server of every pair to the other by name, ten times a second, with timestamps."""

    def __init__(self, mesh):
        servers = mesh.net.servers
        self.pingers = dict(((a, b), start_pinging(servers[a - 1], "server%d.vpcdomain" % b, interval="0.1", timestamps=True))
                            for a, b in PAIRS)

    def stop(self):
        """{pair: (answered, lost, longest gap in ms between two answers, output)}."""
        results = {}
        for pair, pinger in self.pingers.items():
            output = stop(pinger)
            answers = sorted((int(sequence), float(stamp)) for stamp, sequence in
                             re.findall(r"^\[(\d+\.\d+)\] .*icmp_seq=(\d+)", output, re.MULTILINE))
            sequences = [sequence for sequence, _stamp in answers]
            # Every request sent but the last one, which may still be in flight when ping is stopped.
            sent = int(re.search(r"^(\d+) packets transmitted", output, re.MULTILINE).group(1))
            stamps = [stamp for _sequence, stamp in answers]
            gap = max((b - a for a, b in zip(stamps, stamps[1:])), default=0.0) * 1000
            results[pair] = (len(answers), sorted(set(range(1, sent)) - set(sequences)), gap, output)
        return results


def rotate_while_pinging(mesh, request, **kwargs):
    """rotate(mesh, request, **kwargs) while Pings run: the run must succeed; returns it and what the pings saw
    (printed)."""
    pings = Pings(mesh)
    try:
        run = rotate(mesh, request, **kwargs)
    finally:
        pinged = pings.stop()
    assert run.rc == 0, run.describe()
    for pair, (answered, lost, gap, _output) in sorted(pinged.items()):
        print("rotate %s: pair server%d-server%d: %d answered, %d lost, longest gap %.0f ms"
              % ((request,) + pair + (answered, len(lost), gap)))
    return run, pinged


def staged(key_dir):
    return sorted(name for name in os.listdir(key_dir) if name.endswith(".next") or name == "rotation.staged")


def conf_keys(server):
    """{interface: (private key, [peer public keys])} of the server's wg-quick files."""
    result = {}
    for path in sorted(server.etc_wireguard.glob("*.conf")):
        text = path.read_text()
        result[path.stem] = (re.search(r"^PrivateKey = (\S+)$", text, re.MULTILINE).group(1),
                             sorted(re.findall(r"^PublicKey = (\S+)$", text, re.MULTILINE)))
    return result


def live_public(mesh):
    return dict((server.name, server.run(["wg", "show", "wgvpc0", "public-key"]).stdout.strip())
                for server in mesh.net.servers)


def check_converged(mesh):
    """Every server runs, and its wg-quick files hold, exactly the keys of the key directory; nothing is staged."""
    files = key_files(mesh.key_dir)
    assert staged(mesh.key_dir) == []
    assert running_keys(mesh) == files
    public = live_public(mesh)
    for server in mesh.net.servers:
        private = files["%s.key" % server.name].decode().strip()
        for interface, (conf_private, peers) in conf_keys(server).items():
            assert conf_private == private, (server.name, interface)
            assert all(peer in public.values() and peer != public[server.name] for peer in peers)
    assert all(a.ping("server%d.vpcdomain" % b.index) for a in mesh.net.servers for b in mesh.net.servers if a is not b)


def test_rotating_server2_touches_only_its_pairs_and_loses_no_ping_elsewhere(mesh):
    before = key_files(mesh.key_dir)
    indices = dict((server.name, mesh.interface_indices(server)) for server in mesh.net.servers)
    run, pinged = rotate_while_pinging(mesh, "vpc2", diff=True)
    answered, lost, _gap, output = pinged[(1, 3)]
    assert answered > 20 and lost == [], output[-2000:]
    for pair in ((1, 2), (2, 3)):
        assert pinged[pair][0] > 20, pinged[pair][3][-2000:]

    after = key_files(mesh.key_dir)
    assert sorted(after) == sorted(before)
    rotated = ["vpc2.key", "vpc1+vpc2.psk", "vpc2+vpc3.psk"]
    assert [name for name in sorted(after) if after[name] != before[name]] == sorted(rotated)
    assert {stat.S_IMODE(os.stat(mesh.key_dir / name).st_mode) for name in after} == {0o600}
    check_converged(mesh)
    assert dict((server.name, mesh.interface_indices(server)) for server in mesh.net.servers) == indices
    output = run.stdout + run.stderr
    assert [name for name in before if before[name].decode().strip() in output] == []
    assert [name for name in after if after[name].decode().strip() in output] == []
    assert "replaced %s with %s.next" % (mesh.key_dir / "vpc2.key", mesh.key_dir / "vpc2.key") in run.stdout

    again = mesh.site(3)
    assert again.rc == 0 and again.changed() == 0, again.describe()
    assert key_files(mesh.key_dir) == after


def test_check_mode_and_a_bad_request_change_nothing(mesh):
    before, snapshot = key_files(mesh.key_dir), mesh.snapshot()
    check = rotate(mesh, "vpc1", check=True, diff=True)
    assert check.rc == 0, check.describe()
    assert "created %s" % (mesh.key_dir / "vpc1.key.next") in check.stdout
    for request, message in (("vpc9", "host 'vpc1': variable wg_mesh_rotate: 'vpc9': not a server of the mesh"),
                             ("vpc1,all", "variable wg_mesh_rotate: 'all' stands alone"),
                             ("", "variable wg_mesh_rotate: names no server, and no rotation is staged")):
        refused = rotate(mesh, request, verbose=0)
        assert refused.rc != 0 and message in refused.stdout, refused.describe()
        assert refused.changed() == 0
    assert key_files(mesh.key_dir) == before and mesh.snapshot() == snapshot


def test_a_rotation_interrupted_by_a_failing_server_completes_on_the_rerun(mesh):
    before = key_files(mesh.key_dir)
    # vpc1 fails after its live change, writing its wg-quick files (their directory is a file): the rotation stops.
    failed = rotate(mesh, "vpc3", overrides={"vpc1": {"wg_mesh_config_dir": "/etc/hosts"}}, verbose=0)
    assert failed.rc != 0, failed.describe()
    assert "vpc1" in failed.stdout and failed.recap["vpc1"]["failed"] == 1, failed.describe()
    pending = key_files(mesh.key_dir)
    assert staged(mesh.key_dir) == ["rotation.staged", "vpc1+vpc3.psk.next", "vpc2+vpc3.psk.next", "vpc3.key.next"]
    assert dict((name, data) for name, data in pending.items() if name in before) == before

    # Meanwhile site.yml converges with the staged keys (never back to the old ones); it never completes a rotation.
    site = mesh.site(3)
    assert site.rc == 0, site.describe()
    assert staged(mesh.key_dir) == ["rotation.staged", "vpc1+vpc3.psk.next", "vpc2+vpc3.psk.next", "vpc3.key.next"]
    refused = rotate(mesh, "vpc2", verbose=0)
    assert refused.rc != 0 and "a rotation of vpc3 is staged" in refused.stdout, refused.describe()

    resumed = rotate(mesh, "vpc3")
    assert resumed.rc == 0, resumed.describe()
    after = key_files(mesh.key_dir)
    assert dict((name, after[name]) for name in ("vpc3.key", "vpc1+vpc3.psk", "vpc2+vpc3.psk")) == dict(
        (name, pending[name + ".next"]) for name in ("vpc3.key", "vpc1+vpc3.psk", "vpc2+vpc3.psk"))
    check_converged(mesh)
    again = mesh.site(3)
    assert again.rc == 0 and again.changed() == 0, again.describe()


def test_a_vaulted_key_directory_rotates_all_encrypted_and_prints_no_secret(mesh, tmp_path):
    password, vault_args, plain = vault_key_directory(mesh, tmp_path)
    header = b"$ANSIBLE_VAULT;1.2;AES256;test\n"
    run, pinged = rotate_while_pinging(mesh, "all", extra_args=vault_args, verbose=3, diff=True)
    encrypted = key_files(mesh.key_dir)
    assert sorted(encrypted) == sorted(plain) and all(data.startswith(header) for data in encrypted.values())
    vault = VaultLib([("test", VaultSecret(password.encode()))])
    decrypted = dict((name, vault.decrypt(data)) for name, data in encrypted.items())
    assert all(decrypted[name] != plain[name] for name in plain)
    assert running_keys(mesh) == decrypted
    assert staged(mesh.key_dir) == []
    servers = mesh.net.servers
    assert all(a.ping("server%d.vpcdomain" % b.index) for a in servers for b in servers if a is not b)
    again = mesh.site(3, extra_args=vault_args, verbose=3)
    assert again.rc == 0 and again.changed() == 0, again.describe()
    output = "".join(r.stdout + r.stderr for r in (run, again))
    assert password not in output
    assert [name for name in plain if plain[name].decode().strip() in output] == []
    assert [name for name in decrypted if decrypted[name].decode().strip() in output] == []
