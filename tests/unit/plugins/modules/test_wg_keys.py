# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_keys (its action, with plain key files) on a real temporary directory: creation, modes, never regenerating, check mode, refusing untrusted files."""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils import _key_store, _mesh_keys, _wg_keys


@pytest.fixture
def run_keys():
    """run_keys(args, check_mode=False, diff=False) -> (result, failed): what the wg_keys action returns, plain files."""
    def run(args, check_mode=False, diff=False):
        result = _mesh_keys.run(args, check_mode, diff, lambda params: _mesh_keys.PlainKeys)
        return result, bool(result.get("failed"))
    return run


def snapshot(path):
    return {name: open(os.path.join(path, name), "rb").read() for name in sorted(os.listdir(path))}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def private_key_dir(tmp_path, files):
    """The key directory tmp_path/keys (0700) holding files ({name: bytes}), each 0600."""
    key_dir = tmp_path / "keys"
    key_dir.mkdir(mode=0o700)
    for name, data in files.items():
        (key_dir / name).write_bytes(data)
        (key_dir / name).chmod(0o600)
    return key_dir


def test_creates_keys_with_safe_modes(run_keys, tmp_path):
    key_dir = str(tmp_path / "keys")
    result, failed = run_keys({"path": key_dir, "hosts": ["s2", "s1", "s3"]})
    assert not failed and result["changed"]
    assert sorted(os.listdir(key_dir)) == sorted(["s1+s2.psk", "s1+s3.psk", "s2+s3.psk", "s1.key", "s2.key", "s3.key"])
    assert mode(key_dir) == 0o700
    assert all(mode(os.path.join(key_dir, name)) == 0o600 for name in os.listdir(key_dir))
    assert result["preshared_key_files"]["s3"]["s1"] == os.path.join(key_dir, "s1+s3.psk")
    assert result["private_key_files"]["s2"] == os.path.join(key_dir, "s2.key")
    for host in ("s1", "s2", "s3"):
        private = open(os.path.join(key_dir, host + ".key")).read()
        assert _wg_keys.decode_key(private) is not None
        assert result["public_keys"][host] == _wg_keys.public_key(private)
        assert private.strip() not in repr(result)


def test_rerun_and_added_host_leave_existing_keys_byte_identical(run_keys, tmp_path):
    key_dir = str(tmp_path / "keys")
    first = run_keys({"path": key_dir, "hosts": ["s1", "s2"]})[0]
    before = snapshot(key_dir)
    again = run_keys({"path": key_dir, "hosts": ["s1", "s2"]})[0]
    assert not again["changed"] and again["created"] == []
    assert again["public_keys"] == first["public_keys"]
    grown = run_keys({"path": key_dir, "hosts": ["s1", "s2", "s3"]})[0]
    assert grown["changed"]
    assert sorted(os.path.basename(p) for p in grown["created"]) == ["s1+s3.psk", "s2+s3.psk", "s3.key"]
    after = snapshot(key_dir)
    assert {name: after[name] for name in before} == before


def test_check_mode_creates_nothing_and_diff_lists_files(run_keys, tmp_path):
    key_dir = str(tmp_path / "keys")
    result = run_keys({"path": key_dir, "hosts": ["s1", "s2"]}, check_mode=True, diff=True)[0]
    assert result["changed"] and not os.path.exists(key_dir)
    assert result["diff"]["after"].count("created ") == 3
    run_keys({"path": key_dir, "hosts": ["s1"]})
    before = snapshot(key_dir)
    result = run_keys({"path": key_dir, "hosts": ["s1", "s2"]}, check_mode=True)[0]
    assert result["changed"] and snapshot(key_dir) == before
    assert list(result["public_keys"]) == ["s1"]


def converged(run_keys, tmp_path, hosts=("s1", "s2")):
    key_dir = tmp_path / "keys"
    result, failed = run_keys({"path": str(key_dir), "hosts": list(hosts)})
    assert not failed, result
    return key_dir


def refused(run_keys, key_dir, hosts=("s1", "s2")):
    """Run on key_dir, assert it failed and changed nothing in it; return the message."""
    before = {name: (os.lstat(os.path.join(key_dir, name)).st_mode, os.path.islink(os.path.join(key_dir, name)))
              for name in os.listdir(key_dir)} if os.path.isdir(key_dir) else None
    result, failed = run_keys({"path": str(key_dir), "hosts": list(hosts)})
    assert failed, result
    after = {name: (os.lstat(os.path.join(key_dir, name)).st_mode, os.path.islink(os.path.join(key_dir, name)))
             for name in os.listdir(key_dir)} if os.path.isdir(key_dir) else None
    assert after == before
    return result["msg"]


@pytest.mark.parametrize("file_mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_key_open_to_others_is_refused_never_repaired(run_keys, tmp_path, file_mode):
    key_dir = converged(run_keys, tmp_path)
    os.chmod(key_dir / "s2.key", file_mode)
    msg = refused(run_keys, key_dir)
    assert "%s: the key file has mode %04o" % (key_dir / "s2.key", file_mode) in msg
    assert "`chmod 0600 %s`" % (key_dir / "s2.key") in msg
    assert mode(key_dir / "s2.key") == file_mode


@pytest.mark.parametrize("dir_mode", [0o777, 0o755, 0o750, 0o710, 0o701])
def test_a_directory_open_to_others_is_refused_never_repaired(run_keys, tmp_path, dir_mode):
    key_dir = converged(run_keys, tmp_path)
    os.chmod(key_dir, dir_mode)
    msg = refused(run_keys, key_dir)
    assert "%s: the key directory has mode %04o" % (key_dir, dir_mode) in msg
    assert "`chmod 0700 %s`" % key_dir in msg
    assert mode(key_dir) == dir_mode


def test_a_directory_symlink_is_refused(run_keys, tmp_path):
    real = converged(run_keys, tmp_path)
    link = tmp_path / "link"
    link.symlink_to(real)
    msg = refused(run_keys, link)
    assert "%s: the key directory is a symlink (to %s)" % (link, real) in msg


def test_a_symlinked_key_is_refused_and_its_target_untouched(run_keys, tmp_path):
    key_dir = converged(run_keys, tmp_path, hosts=("s1",))
    other = tmp_path / "not-a-key.txt"
    other.write_text("someone else's file\n")
    other.chmod(0o644)
    (key_dir / "s2.key").symlink_to(other)
    msg = refused(run_keys, key_dir)
    assert "%s: is a symlink (to %s)" % (key_dir / "s2.key", other) in msg
    assert mode(other) == 0o644 and other.read_text() == "someone else's file\n"
    assert not (key_dir / "s1+s2.psk").exists()


def test_a_symlink_to_a_good_key_is_refused_too(run_keys, tmp_path):
    key_dir = converged(run_keys, tmp_path)
    (key_dir / "s2.key").rename(tmp_path / "s2.key")
    (key_dir / "s2.key").symlink_to(tmp_path / "s2.key")
    assert "is a symlink" in refused(run_keys, key_dir)


def test_a_dangling_symlink_is_refused_clearly(run_keys, tmp_path):
    key_dir = converged(run_keys, tmp_path, hosts=("s1",))
    (key_dir / "s1+s2.psk").symlink_to(tmp_path / "nowhere")
    msg = refused(run_keys, key_dir)
    assert "%s: is a symlink (to %s)" % (key_dir / "s1+s2.psk", tmp_path / "nowhere") in msg
    assert not (tmp_path / "nowhere").exists()


def test_a_key_that_is_not_a_file_is_refused(run_keys, tmp_path):
    key_dir = converged(run_keys, tmp_path, hosts=("s1",))
    os.mkfifo(key_dir / "s2.key", 0o600)
    assert "%s: is not a regular file" % (key_dir / "s2.key") in refused(run_keys, key_dir)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
@pytest.mark.parametrize("victim", ["s1.key", "s1+s2.psk", "."])
def test_a_key_or_directory_of_another_user_is_refused(run_keys, tmp_path, victim):
    key_dir = converged(run_keys, tmp_path)
    os.chown(key_dir / victim, 65534, -1)
    msg = refused(run_keys, key_dir)
    target = key_dir if victim == "." else key_dir / victim
    assert "%s: the key %s is owned by uid 65534" % (target, "directory" if victim == "." else "file") in msg
    assert "`chown 0 %s`" % target in msg


def test_a_path_that_is_a_file_is_refused(run_keys, tmp_path):
    (tmp_path / "keys").write_text("x")
    result, failed = run_keys({"path": str(tmp_path / "keys"), "hosts": ["s1"]})
    assert failed and "exists and is not a directory" in result["msg"]


def test_keys_are_created_only_never_replaced(tmp_path):
    store = _key_store.KeyStore(str(tmp_path / "keys"))
    with store:
        store.open(create=True)
        store.create("a.key", b"first\n")
        with pytest.raises(_key_store.KeyDirectoryError, match="appeared while this run was creating it"):
            store.create("a.key", b"second\n")
    assert (tmp_path / "keys" / "a.key").read_bytes() == b"first\n"
    assert sorted(os.listdir(tmp_path / "keys")) == ["a.key"]
    assert mode(tmp_path / "keys" / "a.key") == 0o600


def test_new_keys_are_private_whatever_the_umask(run_keys, tmp_path):
    old = os.umask(0)
    try:
        key_dir = converged(run_keys, tmp_path)
    finally:
        os.umask(old)
    assert mode(key_dir) == 0o700
    assert {mode(key_dir / name) for name in os.listdir(key_dir)} == {0o600}


def test_a_damaged_key_file_fails_and_is_not_replaced(run_keys, tmp_path):
    key_dir = private_key_dir(tmp_path, {"s1.key": b"not a key\n"})
    result, failed = run_keys({"path": str(key_dir), "hosts": ["s1"]})
    assert failed and "s1.key is not a WireGuard key" in result["msg"]
    assert (key_dir / "s1.key").read_text() == "not a key\n"


@pytest.mark.parametrize("hosts", [["a/b"], ["../x"], ["a+b"], [".hidden"]])
def test_unsafe_host_names_fail(run_keys, tmp_path, hosts):
    result, failed = run_keys({"path": str(tmp_path), "hosts": hosts})
    assert failed and "hosts:" in result["msg"]


@pytest.mark.skipif(shutil.which("wg") is None, reason="wg (wireguard-tools) is not installed")
def test_keys_are_what_wg_pubkey_derives():
    for _attempt in range(5):
        private = _wg_keys.generate_private_key()
        derived = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True, check=True).stdout
        assert derived.strip() == _wg_keys.public_key(private)
        assert _wg_keys.clamp_private_key(_wg_keys.decode_key(private)) == _wg_keys.decode_key(private)
    assert _wg_keys.decode_key(_wg_keys.generate_preshared_key()) is not None


def running_mesh(hosts=("s1", "s2", "s3")):
    """What wg_keys_info would read from servers running a full mesh: (live, live_secrets, their key files)."""
    private = dict((host, _wg_keys.generate_private_key()) for host in hosts)
    public = dict((host, _wg_keys.public_key(key)) for host, key in private.items())
    psk = dict((pair, _wg_keys.generate_preshared_key()) for pair in itertools.combinations(sorted(hosts), 2))
    live, secrets, files = {}, {}, {}
    for host in hosts:
        peers = dict((public[other], psk[tuple(sorted((host, other)))]) for other in hosts if other != host)
        live[host] = {"interfaces": ["wgvpc0"], "public_keys": [public[host]], "preshared_peers": sorted(peers)}
        secrets[host] = {"private_keys": {public[host]: private[host]}, "preshared_keys": peers}
        files["%s.key" % host] = (private[host] + "\n").encode()
    for (host_a, host_b), key in psk.items():
        files["%s+%s.psk" % (host_a, host_b)] = (key + "\n").encode()
    return live, secrets, files


def test_a_server_running_a_key_the_directory_lacks_is_refused(run_keys, tmp_path):
    live, _secrets, _files = running_mesh()
    key_dir = tmp_path / "keys"
    result, failed = run_keys({"path": str(key_dir), "hosts": ["s1", "s2", "s3"], "live": live})
    assert failed
    assert "host 's1' already runs mesh interfaces with a key (public key %s) that the key directory %s does not have" \
        % (live["s1"]["public_keys"][0], key_dir) in result["msg"]
    assert "wg_mesh_adopt_keys: true" in result["msg"]
    assert not key_dir.exists()


def test_adopt_writes_back_every_key_byte_identical_create_only(run_keys, tmp_path):
    live, secrets, files = running_mesh()
    key_dir = tmp_path / "keys"
    args = {"path": str(key_dir), "hosts": ["s1", "s2", "s3"], "live": live, "live_secrets": secrets, "adopt": True}
    result, failed = run_keys(args, check_mode=True)
    assert not failed and len(result["adopted"]) == 6 and not key_dir.exists()
    result, failed = run_keys(args)
    assert not failed and sorted(result["adopted"]) == sorted(result["created"]) and len(result["created"]) == 6
    assert snapshot(str(key_dir)) == files
    assert {mode(key_dir / name) for name in files} == {0o600}
    assert result["public_keys"] == dict((host, live[host]["public_keys"][0]) for host in live)
    again, failed = run_keys(dict(args, adopt=False))
    assert not failed and not again["changed"]


def test_a_lost_preshared_key_is_refused_then_adopted(run_keys, tmp_path):
    live, secrets, files = running_mesh()
    key_dir = private_key_dir(tmp_path, {name: data for name, data in files.items() if name != "s1+s3.psk"})
    args = {"path": str(key_dir), "hosts": ["s1", "s2", "s3"], "live": live}
    result, failed = run_keys(args)
    assert failed and "hosts 's1' and 's3' already share a preshared key" in result["msg"]
    assert not (key_dir / "s1+s3.psk").exists()
    result, failed = run_keys(dict(args, live_secrets=secrets, adopt=True))
    assert not failed and result["adopted"] == [str(key_dir / "s1+s3.psk")]
    assert snapshot(str(key_dir)) == files


def test_a_key_file_other_than_the_running_key_is_refused_even_when_adopting(run_keys, tmp_path):
    live, secrets, files = running_mesh(("s1", "s2"))
    key_dir = converged(run_keys, tmp_path)
    before = snapshot(str(key_dir))
    for adopt in (False, True):
        result, failed = run_keys({"path": str(key_dir), "hosts": ["s1", "s2"], "live": live,
                                   "live_secrets": secrets, "adopt": adopt})
        assert failed and "host 's1' runs its mesh interfaces with the public key %s, not the one of %s" \
            % (live["s1"]["public_keys"][0], key_dir / "s1.key") in result["msg"]
    assert snapshot(str(key_dir)) == before


def test_new_servers_get_new_keys_and_unread_ones_none(run_keys, tmp_path):
    live, _secrets, files = running_mesh(("s1", "s2"))
    key_dir = private_key_dir(tmp_path, files)
    live["s3"] = {"interfaces": [], "public_keys": [], "preshared_peers": []}
    result, failed = run_keys({"path": str(key_dir), "hosts": ["s1", "s2", "s3"], "live": live})
    assert not failed and sorted(os.path.basename(p) for p in result["created"]) == ["s1+s3.psk", "s2+s3.psk", "s3.key"]
    assert result["adopted"] == []
    del live["s2"]
    result, failed = run_keys({"path": str(key_dir), "hosts": ["s1", "s2", "s3", "s4"], "live": live})
    assert failed and "host 's4': s4.key is not in %s and the keys the server runs were not read" % key_dir in result["msg"]
    assert not (key_dir / "s4.key").exists()


def test_a_new_server_read_outside_the_limit_gets_its_keys_and_unread_servers_keep_theirs(run_keys, tmp_path):
    """--limit s1 adding s4: s1 and s4 are read, s2 and s3 (outside the limit, with their keys) are not."""
    live, _secrets, files = running_mesh(("s1", "s2", "s3"))
    key_dir = private_key_dir(tmp_path, files)
    read = {"s1": live["s1"], "s4": {"interfaces": [], "public_keys": [], "preshared_peers": []}}
    args = {"path": str(key_dir), "hosts": ["s1", "s2", "s3", "s4"], "live": read}
    result, failed = run_keys(args)
    assert not failed and sorted(os.path.basename(p) for p in result["created"]) == [
        "s1+s4.psk", "s2+s4.psk", "s3+s4.psk", "s4.key"]
    assert {name: data for name, data in snapshot(str(key_dir)).items() if name in files} == files
    # A lost preshared key between two servers that already have their keys still needs both ends read.
    os.unlink(key_dir / "s2+s3.psk")
    result, failed = run_keys(args)
    assert failed and "host 's2': s2+s3.psk is not in" in result["msg"]


def test_external_peers_get_keys_without_live_readings_and_servers_stay_checked(run_keys, tmp_path):
    live, _secrets, files = running_mesh(("s1", "s2"))
    key_dir = private_key_dir(tmp_path, files)
    hosts = ["s1", "s2", "external-laptop"]
    args = {"path": str(key_dir), "hosts": hosts, "live": live, "external": ["external-laptop"]}
    result, failed = run_keys(args)
    assert not failed and sorted(os.path.basename(p) for p in result["created"]) == [
        "external-laptop+s1.psk", "external-laptop+s2.psk", "external-laptop.key"]
    again, failed = run_keys(args)
    assert not failed and not again["changed"] and again["public_keys"] == result["public_keys"]
    # Without being named external, the laptop is a server whose keys were not read: refused.
    os.unlink(key_dir / "external-laptop.key")
    result, failed = run_keys(dict(args, external=[]))
    assert failed and "host 'external-laptop': external-laptop.key is not in" in result["msg"]
    result, failed = run_keys(dict(args, external=["s3"]))
    assert failed and "external: s3: not among the hosts" in result["msg"]
    # A server still runs its own key: a key directory lacking it is refused, external peers or not.
    os.unlink(key_dir / "s1.key")
    result, failed = run_keys(args)
    assert failed and "host 's1' already runs mesh interfaces with a key" in result["msg"]


def test_bad_arguments_are_refused_and_never_show_a_secret(run_keys, tmp_path):
    secret = _wg_keys.generate_private_key()
    result, failed = run_keys({"path": str(tmp_path), "hosts": ["s1"], "live_secrets": {"s1": {"private_keys": {"x": secret}}},
                               "adopt": secret})
    # ansible-core < 2.19 says "of type <class 'str'>", 2.19 "of type str".
    assert failed and "argument 'adopt' is of type" in result["msg"] and "unable to convert to bool" in result["msg"]
    assert secret not in result["msg"]
    result, failed = run_keys({"path": str(tmp_path), "hosts": ["s1"], "unknown": 1})
    assert failed and "unknown" in result["msg"]
