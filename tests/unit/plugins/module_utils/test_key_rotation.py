# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_key_rotation: which servers a request names, which files rotate in which order, when a rotation is complete."""

from __future__ import annotations

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._key_rotation import (
    RotationError,
    completion_problems,
    parse_marker,
    render_marker,
    rotation_files,
    rotation_request,
    same_request,
    stray_staged,
)

SERVERS = ["s1", "s2", "s3"]


@pytest.mark.parametrize("value, expected", [
    (None, []), ("", []), ([], []), ("s2", ["s2"]), ("s3, s1", ["s1", "s3"]), (["s2", "s1", "s2"], ["s1", "s2"]),
    ("all", SERVERS), (["all"], SERVERS),
])
def test_a_request_names_servers(value, expected):
    assert rotation_request(value, SERVERS) == expected


@pytest.mark.parametrize("value, message", [
    ("s9", "variable wg_mesh_rotate: 's9': not a server of the mesh (its servers: s1, s2, s3)"),
    (["s1", "external-laptop"], "'external-laptop': not a server of the mesh"),
    ("s2\n", "'s2\\n' is not an inventory host name"),
    ("s1,,s2", "'' is not an inventory host name"),
    ([1], "1 is not an inventory host name"),
    ({"s1": True}, "must be a server name, a list of them, or 'all'"),
    (True, "must be a server name, a list of them, or 'all'"),
    ("all,s1", "'all' stands alone"),
])
def test_a_bad_request_is_refused_naming_the_variable(value, message):
    with pytest.raises(RotationError) as caught:
        rotation_request(value, SERVERS)
    assert message in str(caught.value) and str(caught.value).startswith("variable wg_mesh_rotate: ")


def test_every_host_must_ask_for_the_same_rotation():
    assert same_request({"s1": ["s2"], "s2": ["s2"]}) == ["s2"]
    assert same_request({}) == []
    with pytest.raises(RotationError, match="host 's1' asks for none and host 's3' for \\['s2'\\]"):
        same_request({"s3": ["s2"], "s1": [], "s2": []})


def test_the_files_of_a_rotation_are_its_pairs_preshared_keys_then_its_private_keys():
    holders = ["s1", "s2", "s3", "external-x"]
    assert rotation_files(["s2"], holders) == ["external-x+s2.psk", "s1+s2.psk", "s2+s3.psk", "s2.key"]
    assert rotation_files(["s1", "s3"], ["s1", "s2", "s3"]) == ["s1+s2.psk", "s1+s3.psk", "s2+s3.psk", "s1.key", "s3.key"]
    assert rotation_files([], holders) == []


def test_the_marker_names_the_rotating_servers():
    assert parse_marker(render_marker(["s3", "s1"]), "m") == ["s1", "s3"]
    for bad in (b"", b"\n", b"s1\n../s2\n", b"\xff\n"):
        with pytest.raises(RotationError, match="m: is not a rotation marker"):
            parse_marker(bad, "m")


def test_staged_files_a_request_does_not_use_are_strays():
    names = ["s1.key", "s1.key.next", "s2.key.next", "s1+s2.psk.next", "rotation.staged", ".s1.key.next.12.tmp"]
    assert stray_staged(names, ["s1+s2.psk", "s1.key"]) == ["s2.key.next"]


def live(public_keys, preshared_peers):
    return {"interfaces": ["wgvpc0"], "public_keys": public_keys, "preshared_peers": preshared_peers}


def test_a_rotation_is_complete_when_every_server_was_read_and_none_runs_an_old_key():
    everyone = {"s1": live(["P1"], ["NEW2", "P3"]), "s2": live(["NEW2"], ["P1", "P3"]), "s3": live(["P3"], ["NEW2", "P1"])}
    assert completion_problems(["s2"], {"s2": "NEW2"}, {"s2": "OLD2"}, everyone, SERVERS) == []
    # Its private key file already replaced (a completion that stopped half-way): only the new key is checked.
    assert completion_problems(["s2"], {"s2": "NEW2"}, {}, everyone, SERVERS) == []
    # A server with no mesh interface runs no old key.
    assert completion_problems(["s2"], {"s2": "NEW2"}, {"s2": "OLD2"}, dict(everyone, s2=live([], [])), SERVERS) == []


def test_a_rotation_is_not_complete_while_a_server_is_unread_or_runs_or_peers_with_an_old_key():
    stale = {"s1": live(["P1"], ["OLD2", "P3"]), "s2": live(["OLD2", "NEW2"], ["P1", "P3"])}
    assert completion_problems(["s2"], {"s2": "NEW2"}, {"s2": "OLD2"}, stale, SERVERS) == [
        "host 's3': the keys it runs were not read (unreachable, failed, or outside --limit)",
        "host 's2' runs the public key OLD2, NEW2, not its new one NEW2",
        "host 's1' still peers with the old public key OLD2 of host 's2'",
    ]
    both = {"s1": live(["P1"], ["OLD2"]), "s3": live(["P3"], ["OLD2"]), "s2": live(["NEW2"], [])}
    assert completion_problems(["s2"], {"s2": "NEW2"}, {"s2": "OLD2"}, both, SERVERS) == [
        "hosts 's1', 's3' still peer with the old public key OLD2 of host 's2'"]
