# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the WireGuard interface modules accept: ASCII port digits, whole interface names."""

from __future__ import annotations

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_names import is_interface_name
from ansible_collections.fakevpc.vpc.plugins.module_utils._wireguard import (
    endpoint_hooks,
    endpoints_directory_problem,
    inherited_endpoint,
    split_endpoint,
)


@pytest.mark.parametrize("endpoint, expected", [
    ("203.0.113.1:51820", ("203.0.113.1", 51820)),
    ("[2001:db8::1]:1", ("2001:db8::1", 1)),
    ("vpn.example.com:65535", ("vpn.example.com", 65535)),
])
def test_endpoints_split_into_host_and_port(endpoint, expected):
    assert split_endpoint(endpoint) == expected


@pytest.mark.parametrize("endpoint", [
    "203.0.113.1:\u00b2", "203.0.113.1:\u0663", "203.0.113.1:51820\n", "203.0.113.1: 51820", "203.0.113.1:0",
    "203.0.113.1:65536", "203.0.113.1", ":51820", "2001:db8::1:51820",
])
def test_bad_endpoints_raise_the_modules_value_error(endpoint):
    with pytest.raises(ValueError, match="expected host:port|bracket an IPv6 address"):
        split_endpoint(endpoint)


@pytest.mark.parametrize("name, valid", [
    ("wgvpc0", True), ("a.b_c-d", True), ("x" * 15, True), ("x" * 16, False), ("wgvpc0\n", False), ("wg vpc", False),
    ("", False),
])
def test_interface_names_match_whole(name, valid):
    assert is_interface_name(name) == valid


def peer(endpoint, allowed_ips):
    return {"endpoint": endpoint, "allowed_ips": allowed_ips, "preshared_key": None, "persistent_keepalive": None}


def test_a_peer_under_a_new_key_takes_over_the_endpoint_of_the_peer_it_replaces():
    removed = {"OLD": peer("10.0.2.2:40000", ["192.168.1.2/32"]), "OTHER": peer("10.0.2.2:40001", ["192.168.1.3/32"])}
    assert inherited_endpoint(removed, peer(None, ["192.168.1.2/32"])) == "10.0.2.2:40000"
    assert inherited_endpoint(removed, peer("203.0.113.1:51820", ["192.168.1.2/32"])) is None  # its own wins
    assert inherited_endpoint(removed, peer(None, ["192.168.1.4/32"])) is None
    assert inherited_endpoint({"OLD": peer(None, ["192.168.1.2/32"])}, peer(None, ["192.168.1.2/32"])) is None
    assert inherited_endpoint(removed, peer(None, [])) is None


@pytest.mark.parametrize("directory, problem", [
    ("/etc/wireguard", None),
    ("/srv/my wireguard", None),
    ("/etc/wire\nPostUp = id", "a control character cannot go into a wg-quick file"),
    ("/etc/wire\rguard", "a control character cannot go into a wg-quick file"),
    ("/etc/wire#guard", "'#' and '%' cannot go into a wg-quick hook"),
    ("/etc/%i", "'#' and '%' cannot go into a wg-quick hook"),
])
def test_a_directory_goes_into_a_hook_only_when_wg_quick_reads_it_back_whole(directory, problem):
    assert endpoints_directory_problem(directory) == problem


def test_the_hooks_quote_the_directory_and_never_fail_wg_quick():
    down, up = endpoint_hooks("/srv/my wireguard")
    assert down == "PreDown = umask 077; wg show %i endpoints > '/srv/my wireguard'/%i.endpoints || true"
    assert up.startswith("PostUp = test -s '/srv/my wireguard'/%i.endpoints && ") and up.endswith(" || true")
    assert "#" not in up and up.count("%i") == 7
