# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_keys_info: the keys live interfaces run, read only (run_command mocked); secrets only when asked."""

from __future__ import annotations

from ansible_collections.fakevpc.vpc.plugins.modules import wg_keys_info

from test_wg_interfaces import DUMP_TWO_PEERS, PEER_A, PRIVATE, PSK, PUBLIC, tools  # noqa: F401  # pylint: disable=unused-import

LIST = ("wg", "show", "interfaces")


def test_reads_public_keys_and_preshared_peers_of_matching_interfaces_only(run_module, tools):
    fake = tools({LIST: (0, "wgvpc0 wgvpc10 office wgvpcx\n", ""),
                  ("wg", "show", "wgvpc0", "dump"): (0, DUMP_TWO_PEERS, ""),
                  ("wg", "show", "wgvpc10", "dump"): (1, "", "Unable to access interface: No such device")})
    result, failed = run_module(wg_keys_info, {"pattern": "wgvpc[0-9]+"})
    assert not failed and not result["changed"]
    assert result["live"] == {"interfaces": ["wgvpc0"], "public_keys": [PUBLIC], "preshared_peers": [PEER_A]}
    assert "secrets" not in result and PRIVATE not in str(result) and PSK not in str(result)
    assert fake.commands == [LIST, ("wg", "show", "wgvpc0", "dump"), ("wg", "show", "wgvpc10", "dump")]


def test_secrets_only_when_asked(run_module, tools):
    tools({LIST: (0, "wgvpc0\n", ""), ("wg", "show", "wgvpc0", "dump"): (0, DUMP_TWO_PEERS, "")})
    result, failed = run_module(wg_keys_info, {"pattern": "wgvpc[0-9]+", "secrets": True}, check_mode=True)
    assert not failed
    assert result["secrets"] == {"private_keys": {PUBLIC: PRIVATE}, "preshared_keys": {PEER_A: PSK}}


def test_a_bad_pattern_fails(run_module, tools):
    tools({})
    result, failed = run_module(wg_keys_info, {"pattern": "wgvpc[0-9"})
    assert failed and result["msg"].startswith("pattern: ")
