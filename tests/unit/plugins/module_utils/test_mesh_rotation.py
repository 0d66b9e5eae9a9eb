# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_keys_rotate (its action's runner) and wg_keys during a rotation, on a real temporary key directory: staging,
resuming at every step, completing only when no server runs an old key, check mode, diff, vault."""

from __future__ import annotations

import os
import stat

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret, is_encrypted
from ansible_collections.fakevpc.vpc.plugins.action.wg_keys import VaultKeys
from ansible_collections.fakevpc.vpc.plugins.module_utils import _mesh_keys, _mesh_rotation, _wg_keys

HOSTS = ["s1", "s2", "s3"]
ROTATED = ["s1+s2.psk", "s2+s3.psk", "s2.key"]


def plain(params):
    return _mesh_keys.PlainKeys


def keys(key_dir, codec_for=plain, **args):
    result = _mesh_keys.run(dict({"path": str(key_dir), "hosts": HOSTS}, **args), False, False, codec_for)
    assert not result.get("failed"), result
    return result


def rotation(key_dir, state, codec_for=plain, check_mode=False, diff=False, **args):
    return _mesh_rotation.run(dict({"path": str(key_dir), "hosts": HOSTS, "state": state}, **args), check_mode, diff,
                              codec_for)


def files(key_dir):
    return dict((name, (key_dir / name).read_bytes()) for name in sorted(os.listdir(key_dir)))


def running(result):
    """What the servers run once converged with the keys wg_keys returned: wg_keys_info's live of each."""
    public = result["public_keys"]
    return dict((host, {"interfaces": ["wgvpc0"], "public_keys": [public[host]],
                        "preshared_peers": sorted(public[peer] for peer in HOSTS if peer != host)}) for host in HOSTS)


@pytest.fixture
def key_dir(tmp_path):
    path = tmp_path / "keys"
    keys(path)
    return path


def test_staging_creates_new_keys_next_to_the_old_ones_and_wg_keys_returns_them(key_dir):
    before = files(key_dir)
    first = keys(key_dir)
    staged = rotation(key_dir, "staged", rotate=["s2"], diff=True)
    assert staged["changed"] and staged["rotating"] == ["s2"] and not staged["resumed"]
    assert staged["staged"] == [str(key_dir / (name + ".next")) for name in ROTATED]
    after = files(key_dir)
    assert sorted(after) == sorted(list(before) + [name + ".next" for name in ROTATED] + ["rotation.staged"])
    assert after["rotation.staged"] == b"s2\n"
    assert all(after[name] == data for name, data in before.items())
    assert {stat.S_IMODE(os.stat(key_dir / name).st_mode) for name in after} == {0o600}
    assert all(after[name + ".next"] != before[name] for name in ROTATED)
    assert all(_wg_keys.decode_key(after[name + ".next"].decode()) for name in ROTATED)
    assert all(data.decode().strip() not in repr(staged) for name, data in after.items() if name != "rotation.staged")
    assert "created %s\n" % (key_dir / "s2.key.next") in staged["diff"]["after"]

    during = keys(key_dir, live=running(first))  # the servers still run the old keys: accepted
    assert during["rotating"] == ["s2"] and not during["changed"]
    assert during["private_key_files"]["s2"] == str(key_dir / "s2.key.next")
    assert during["private_key_files"]["s1"] == str(key_dir / "s1.key")
    assert during["preshared_key_files"]["s3"] == {"s1": str(key_dir / "s1+s3.psk"), "s2": str(key_dir / "s2+s3.psk.next")}
    assert during["public_keys"]["s2"] == _wg_keys.public_key(after["s2.key.next"].decode())
    assert during["public_keys"]["s1"] == first["public_keys"]["s1"]
    assert keys(key_dir, live=running(during))["rotating"] == ["s2"]  # and the new ones too
    stranger = running(first)
    stranger["s2"]["public_keys"] = [_wg_keys.public_key(_wg_keys.generate_private_key())]
    refused = _mesh_keys.run({"path": str(key_dir), "hosts": HOSTS, "live": stranger}, False, False, plain)
    assert refused["failed"] and "host 's2' runs its mesh interfaces with the public key" in refused["msg"]


def test_completion_replaces_the_old_keys_only_once_no_server_runs_them(key_dir):
    first = keys(key_dir)
    rotation(key_dir, "staged", rotate=["s2"])
    during = keys(key_dir)
    staged = files(key_dir)
    half = running(during)
    half["s1"] = running(first)["s1"]  # s1 still peers with s2's old key
    refused = rotation(key_dir, "complete", live=half)
    assert refused["failed"] and "host 's1' still peers with the old public key" in refused["msg"]
    assert "The new keys stay staged" in refused["msg"] and files(key_dir) == staged
    unread = running(during)
    del unread["s3"]
    assert "host 's3': the keys it runs were not read" in rotation(key_dir, "complete", live=unread)["msg"]
    assert rotation(key_dir, "complete", live=running(during), check_mode=True)["changed"]
    checked = rotation(key_dir, "complete", live=half, check_mode=True)  # check mode converged no server
    assert checked["changed"] and checked["replaced"] == [] and "host 's1' still peers" in checked["pending"][0]
    assert files(key_dir) == staged

    done = rotation(key_dir, "complete", live=running(during), diff=True)
    assert done["changed"] and done["rotated"] == ["s2"]
    assert done["replaced"] == [str(key_dir / name) for name in ROTATED]
    assert "replaced %s with %s.next\n" % (key_dir / "s2.key", key_dir / "s2.key") in done["diff"]["after"]
    after = files(key_dir)
    assert sorted(after) == sorted(name for name in staged if not name.endswith(".next") and name != "rotation.staged")
    assert all(after[name] == staged[name + ".next"] for name in ROTATED)
    final = keys(key_dir, live=running(during))
    assert final["rotating"] == [] and final["public_keys"] == during["public_keys"] and not final["changed"]
    assert final["private_key_files"]["s2"] == str(key_dir / "s2.key")
    again = rotation(key_dir, "complete", live=running(during))
    assert not again["changed"] and files(key_dir) == after


def test_a_rerun_resumes_the_staged_rotation_and_never_stages_again(key_dir):
    rotation(key_dir, "staged", rotate=["s2"])
    staged = files(key_dir)
    for request in (["s2"], []):
        resumed = rotation(key_dir, "staged", rotate=request)
        assert not resumed["changed"] and resumed["resumed"] and resumed["rotating"] == ["s2"]
        assert files(key_dir) == staged
    other = rotation(key_dir, "staged", rotate=["s1", "s2"])
    assert other["failed"] and "a rotation of s2 is staged in %s and not complete" % key_dir in other["msg"]
    assert files(key_dir) == staged


def test_a_completion_that_stopped_half_way_is_finished(key_dir):
    rotation(key_dir, "staged", rotate=["s2"])
    during = keys(key_dir)
    os.rename(key_dir / "s1+s2.psk.next", key_dir / "s1+s2.psk")  # the first replacement done, then a crash
    assert keys(key_dir)["public_keys"] == during["public_keys"]
    done = rotation(key_dir, "complete", live=running(during))
    assert done["replaced"] == [str(key_dir / "s2+s3.psk"), str(key_dir / "s2.key")]
    os.rename(key_dir / "s1+s3.psk", key_dir / "rotation.staged")  # any leftover marker: nothing staged
    (key_dir / "rotation.staged").write_bytes(b"s2\n")
    last = rotation(key_dir, "complete", live=running(during))
    assert last["changed"] and last["replaced"] == [] and "rotation.staged" not in os.listdir(key_dir)


def test_a_staging_that_stopped_before_its_marker_is_finished_and_its_strays_removed(key_dir):
    rotation(key_dir, "staged", rotate=["s1"])
    half = files(key_dir)
    os.unlink(key_dir / "rotation.staged")
    os.unlink(key_dir / "s1.key.next")  # staging stopped: some preshared keys staged, no private key, no marker
    assert keys(key_dir)["rotating"] == []  # nothing is used before the marker
    staged = rotation(key_dir, "staged", rotate=["s2"])
    assert staged["removed"] == [str(key_dir / "s1+s3.psk.next")]
    assert staged["staged"] == [str(key_dir / "s2+s3.psk.next"), str(key_dir / "s2.key.next")]
    assert files(key_dir)["s1+s2.psk.next"] == half["s1+s2.psk.next"]  # kept: this request needs it


def test_check_mode_stages_nothing_and_bad_requests_are_refused(key_dir):
    before = files(key_dir)
    check = rotation(key_dir, "staged", rotate=["s3"], check_mode=True, diff=True)
    assert check["changed"] and check["staged"] == [str(key_dir / n) for n in ("s1+s3.psk.next", "s2+s3.psk.next", "s3.key.next")]
    for request, message in (([], "variable wg_mesh_rotate: names no server, and no rotation is staged"),
                             (["s9"], "variable wg_mesh_rotate: s9: not a server of the mesh")):
        refused = rotation(key_dir, "staged", rotate=request)
        assert refused["failed"] and message in refused["msg"]
    assert files(key_dir) == before
    os.unlink(key_dir / "s3.key")
    assert "no key of s3 to rotate" in rotation(key_dir, "staged", rotate=["s3"])["msg"]
    missing = rotation(key_dir.parent / "nowhere", "staged", rotate=["s3"])
    assert missing["failed"] and "no key directory" in missing["msg"]
    assert not rotation(key_dir.parent / "nowhere", "complete")["changed"]


def test_a_vaulted_directory_stages_encrypted_keys_and_completes(tmp_path):
    vault = VaultLib([("test", VaultSecret(b"a test vault password"))])
    key_dir = tmp_path / "keys"

    def codec_for(params):
        return VaultKeys(vault, params.get("vault_id"))

    keys(key_dir, codec_for=codec_for, vault_id="test")
    assert all(is_encrypted(data) for data in files(key_dir).values())
    rotation(key_dir, "staged", codec_for=codec_for, rotate=["s1", "s2", "s3"])
    staged = files(key_dir)
    assert [name for name, data in staged.items() if not is_encrypted(data)] == ["rotation.staged"]
    during = keys(key_dir, codec_for=codec_for)
    done = rotation(key_dir, "complete", codec_for=codec_for, live=running(during))
    assert done["rotated"] == HOSTS and len(done["replaced"]) == 6
    assert all(is_encrypted(data) for data in files(key_dir).values())
    assert keys(key_dir, codec_for=codec_for)["public_keys"] == during["public_keys"]
