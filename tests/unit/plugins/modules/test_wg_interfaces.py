# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_interfaces: the exact commands it runs for each situation, one interface and several, and the prune of the
unlisted ones (run_command mocked, files in a temp dir)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._wireguard import clamped_private_key
from ansible_collections.fakevpc.vpc.plugins.module_utils import _wg_interface
from ansible_collections.fakevpc.vpc.plugins.modules import wg_interfaces

from fake_tools import FakeTools, install

PRIVATE = "SJ64ZXQO5IKAeVjUZnMAseojmdGHwVGhvw5ch1FoN0E="
PUBLIC = "5pGSl99oWkrQkKbLqtxXIL5SgjH7nDNwe8OV7snUGhI="
PEER_A = "f1K41Ot08U5qRgb2zOS7XOnSEeRgEePnTvaefHmY1gQ="
PEER_B = "hxo5Srz2pFi0Z1kyJdVYZ5eaWAq0jvTE0Sv0OgwG2Ac="
PEER_C = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
PSK = "E1xd2CpCXsU2Vp6kLx6g2yVdJ6U4lnKmyGqKqx6N7bA="

LINK_KERNEL = json.dumps([{"ifname": "wgvpc0", "mtu": 1420, "flags": ["POINTOPOINT", "NOARP", "UP", "LOWER_UP"],
                           "linkinfo": {"info_kind": "wireguard"}}])
LINK_DOWN = json.dumps([{"ifname": "wgvpc0", "mtu": 1420, "flags": ["POINTOPOINT", "NOARP"],
                         "linkinfo": {"info_kind": "wireguard"}}])
ADDRESSES = json.dumps([{"addr_info": [{"family": "inet", "local": "192.168.1.1", "prefixlen": 24, "scope": "global"}]}])
NO_ADDRESSES = json.dumps([{"addr_info": []}])
DUMP_EMPTY = "(none)\t(none)\t0\toff\n"
DUMP_TWO_PEERS = (
    "%s\t%s\t51821\toff\n" % (PRIVATE, PUBLIC)
    + "%s\t%s\t10.0.2.2:40000\t192.168.1.2/32\t1700000000\t10\t20\toff\n" % (PEER_A, PSK)
    + "%s\t(none)\t(none)\t192.168.1.3/32\t0\t0\t0\toff\n" % PEER_B
)

READ = [
    ("ip", "-j", "-d", "link", "show", "dev", "wgvpc0"),
    ("wg", "show", "wgvpc0", "dump"),
    ("ip", "-j", "address", "show", "dev", "wgvpc0"),
    ("ip", "-j", "route", "show", "dev", "wgvpc0"),
]


@pytest.fixture
def tools(monkeypatch, tmp_path):
    def make(answers, systemd=False):
        systemd_dir = tmp_path / "run-systemd"
        if systemd:
            systemd_dir.mkdir()
        monkeypatch.setattr(_wg_interface, "SYSTEMD_RUNNING", str(systemd_dir))
        reads = READ + [("wg", "show", "interfaces"), ("systemctl", "is-enabled", "--quiet"), ("systemctl", "is-active", "--quiet")]
        return install(monkeypatch, FakeTools(answers, reads=reads, only_tool=True))
    return make


def server_args(tmp_path, **overrides):
    args = {
        "name": "wgvpc0", "private_key": PRIVATE, "listen_port": 51821, "addresses": ["192.168.1.1/24"],
        "config_dir": str(tmp_path / "wireguard"),
        "peers": [
            {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32"]},
            {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32"]},
        ],
    }
    args.update(overrides)
    return args


COMMON = ("config_dir", "persist", "implementation")


def one(run_module, args, check_mode=False, diff=False):
    """Run wg_interfaces on the one interface of args (its options and the module's common ones, as server_args
    gives them); the result is the interface's own, with the module's changed, msg and first diff."""
    options = {key: value for key, value in args.items() if key not in COMMON}
    common = {key: args[key] for key in COMMON if key in args}
    result, failed = run_module(wg_interfaces, dict(common, interfaces=[options]), check_mode=check_mode, diff=diff)
    own = dict(result.get("interfaces", {}).get(args["name"], {}), changed=result.get("changed"))
    if "msg" in result:
        own["msg"] = result["msg"]
    if result.get("diff"):
        own["diff"] = result["diff"][0]
    return own, failed


def absent(run_module, name, config_dir):
    """Remove interface name as wg_interfaces does an unlisted one that matches its prune_pattern."""
    return run_module(wg_interfaces, {"interfaces": [], "prune_pattern": name, "config_dir": config_dir})


def existing(dump=DUMP_TWO_PEERS, link=LINK_KERNEL, addresses=ADDRESSES):
    return {READ[0]: (0, link, ""), READ[1]: (0, dump, ""), READ[2]: (0, addresses, "")}


def test_creates_a_kernel_interface_and_keys_go_through_stdin_only(run_module, tools, tmp_path):
    fake = tools({
        READ[0]: [(1, "", 'Device "wgvpc0" does not exist.'), (0, LINK_DOWN, "")],
        READ[1]: (0, DUMP_EMPTY, ""), READ[2]: (0, NO_ADDRESSES, ""),
    })
    result, failed = one(run_module, server_args(tmp_path))
    assert not failed and result["changed"] and result["implementation"] == "kernel"
    assert fake.mutating() == [
        ("ip", "link", "add", "dev", "wgvpc0", "type", "wireguard"),
        ("wg", "set", "wgvpc0", "peer", PEER_A, "preshared-key", "/dev/stdin", "allowed-ips", "192.168.1.2/32"),
        ("wg", "set", "wgvpc0", "peer", PEER_B, "allowed-ips", "192.168.1.3/32"),
        ("wg", "set", "wgvpc0", "private-key", "/dev/stdin", "listen-port", "51821"),
        ("ip", "address", "add", "192.168.1.1/24", "dev", "wgvpc0"),
        ("ip", "link", "set", "dev", "wgvpc0", "up"),
    ]
    data = dict(fake.calls)
    assert data[fake.mutating()[3]] == PRIVATE and data[fake.mutating()[1]] == PSK
    assert all(PRIVATE not in arg and PSK not in arg for command in fake.commands for arg in command)
    assert result["peers_added"] == [PEER_A, PEER_B]
    config = tmp_path / "wireguard" / "wgvpc0.conf"
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    assert "PrivateKey = %s\n" % PRIVATE in config.read_text() and "Table = off\n" in config.read_text()


def no_kernel_wireguard():
    return {
        READ[0]: [(1, "", ""), (0, LINK_DOWN.replace('"wireguard"', '"tun"'), "")],
        ("ip", "link", "add", "dev", "wgvpc0", "type", "wireguard"): (2, "", "Error: Unknown device type."),
        READ[1]: (0, DUMP_EMPTY, ""), READ[2]: (0, NO_ADDRESSES, ""),
    }


def test_falls_back_to_wireguard_go_when_the_kernel_has_no_wireguard(run_module, tools, uapi, tmp_path):
    fake = tools(no_kernel_wireguard())
    daemon = uapi("wgvpc0")
    daemon.serve(b"private_key=0000\nlisten_port=0\nerrno=0\n\n")
    result, failed = one(run_module, server_args(tmp_path, peers=[], persist=False))
    assert not failed and result["implementation"] == "userspace"
    assert fake.mutating()[:2] == [("ip", "link", "add", "dev", "wgvpc0", "type", "wireguard"), ("setsid", "--wait", "/usr/bin/wireguard-go", "wgvpc0")]
    assert daemon.requests == [b"get=1\n\n"]


@pytest.mark.parametrize("daemon_end", ["closes at once", "refuses", "no socket", "answers an error"])
def test_fails_clearly_when_the_wireguard_go_daemon_does_not_serve(
        run_module, tools, uapi, tmp_path, monkeypatch, daemon_end):
    fake = tools(no_kernel_wireguard())
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    monkeypatch.setattr(_wg_interface, "INOTIFY_INSTANCES", str(limit))
    if daemon_end != "no socket":
        daemon = uapi("wgvpc0")
        if daemon_end == "closes at once":
            daemon.serve(b"")
        elif daemon_end == "answers an error":
            daemon.serve(b"errno=1\n\n")
        else:
            daemon.close()
    result, failed = one(run_module, server_args(tmp_path, peers=[], persist=False))
    assert failed
    assert result["msg"].startswith("cannot create wgvpc0: wireguard-go started but its daemon does not answer on ")
    assert "this user may have 128 (fs.inotify.max_user_instances)" in result["msg"]
    assert "`LOG_LEVEL=verbose wireguard-go --foreground wgvpc0`" in result["msg"]
    assert fake.mutating() == [("ip", "link", "add", "dev", "wgvpc0", "type", "wireguard"), ("setsid", "--wait", "/usr/bin/wireguard-go", "wgvpc0")]


def test_kernel_only_fails_clearly_without_kernel_wireguard(run_module, tools, tmp_path):
    tools({READ[0]: (1, "", ""),
           ("ip", "link", "add", "dev", "wgvpc0", "type", "wireguard"): (2, "", "Error: Unknown device type.")})
    result, failed = one(run_module, server_args(tmp_path, implementation="kernel"))
    assert failed and "the kernel has no WireGuard (Error: Unknown device type.)" in result["msg"]


def test_matching_interface_is_left_alone(run_module, tools, tmp_path):
    fake = tools(existing())
    one(run_module, server_args(tmp_path))
    fake.calls.clear()
    result, failed = one(run_module, server_args(tmp_path))
    assert not failed and not result["changed"]
    assert fake.commands == READ


def test_one_peer_changes_without_touching_the_others(run_module, tools, tmp_path):
    fake = tools(existing())
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32"], "persistent_keepalive": 25},
        {"public_key": PEER_C, "allowed_ips": ["192.168.1.4/32"], "endpoint": "198.51.100.4:51824"},
    ])
    result, failed = one(run_module, args)
    assert not failed and result["changed"]
    assert fake.mutating() == [
        ("wg", "set", "wgvpc0", "peer", PEER_B, "remove"),
        ("wg", "set", "wgvpc0", "peer", PEER_A, "persistent-keepalive", "25"),
        ("wg", "set", "wgvpc0", "peer", PEER_C, "endpoint", "198.51.100.4:51824", "allowed-ips", "192.168.1.4/32"),
    ]
    assert (result["peers_added"], result["peers_updated"], result["peers_removed"]) == ([PEER_C], [PEER_A], [PEER_B])


def test_a_rotation_changes_the_preshared_keys_before_the_private_key(run_module, tools, tmp_path):
    fake = tools(existing())
    other_key, other_psk = "QDbZ6bqvfPLB0fXQyF7Zr3v7uBQ6pNwm2zIkY4Mb2V8=", "a" * 43 + "="
    args = server_args(tmp_path, persist=False, private_key=other_key, peers=[
        {"public_key": PEER_A, "preshared_key": other_psk, "allowed_ips": ["192.168.1.2/32"]},
        {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32"]},
    ])
    result, failed = one(run_module, args)
    assert not failed and result["changed"]
    assert fake.mutating() == [
        ("wg", "set", "wgvpc0", "peer", PEER_A, "preshared-key", "/dev/stdin"),
        ("wg", "set", "wgvpc0", "private-key", "/dev/stdin"),
    ]
    assert [data for _command, data in fake.calls if data] == [other_psk, clamped_private_key(other_key)]


def test_a_peer_under_a_new_key_keeps_its_roaming_endpoint(run_module, tools, tmp_path):
    fake = tools(existing())
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_C, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32"]},
        {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32"]},
    ])
    result, failed = one(run_module, args)
    assert not failed and result["changed"]
    assert fake.mutating() == [
        ("wg", "set", "wgvpc0", "peer", PEER_A, "remove"),
        ("wg", "set", "wgvpc0", "peer", PEER_C, "preshared-key", "/dev/stdin", "allowed-ips", "192.168.1.2/32",
         "endpoint", "10.0.2.2:40000"),
    ]


def test_a_peer_that_only_gains_allowed_ips_gets_them_in_place(run_module, tools, tmp_path, monkeypatch):
    """`wg set ... allowed-ips` would empty the list while swapping it: added in place, the old ones kept."""
    fake = tools(existing())
    added = []
    monkeypatch.setattr(_wg_interface._wg_allowed_ips, "add_allowed_ips", lambda *args: added.append(args))
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32", "192.168.7.1/32", "192.168.2.2/32"]},
        {"public_key": PEER_B, "allowed_ips": []},
    ])
    result, failed = one(run_module, args)
    assert not failed and result["changed"]
    # PEER_A only gains: nothing through wg; PEER_B loses its only one: replaced (its traffic stops anyway).
    assert fake.mutating() == [("wg", "set", "wgvpc0", "peer", PEER_B, "allowed-ips", "")]
    assert added == [("wgvpc0", "kernel", PEER_A, ["192.168.2.2/32", "192.168.7.1/32"], _wg_interface.UAPI_DIR)]
    assert result["peers_updated"] == [PEER_A, PEER_B]


def test_allowed_ips_a_peer_loses_go_through_a_throwaway_peer_before_any_is_added(run_module, tools, tmp_path, monkeypatch):
    """A prefix moving from PEER_A to PEER_B: PEER_A keeps its own address all along, and the prefix is taken from
    it before PEER_B gains it in place (taken after, it would be taken from PEER_B)."""
    moving = DUMP_TWO_PEERS.replace("\t192.168.1.2/32\t", "\t192.168.1.2/32,10.30.1.0/24\t")
    fake = tools(existing(dump=moving))
    added = []
    monkeypatch.setattr(_wg_interface._wg_allowed_ips, "add_allowed_ips", lambda *args: added.append(fake.mutating()))
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32"]},
        {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32", "10.30.1.0/24"]},
    ])
    result, failed = one(run_module, args)
    assert not failed and result["changed"] and result["peers_updated"] == [PEER_A, PEER_B]
    (give, sink_key, allowed, networks), (remove, removed_key, word) = [
        (command[:3], command[4], command[5], command[6]) if len(command) == 7 else (command[:3], command[4], command[5])
        for command in fake.mutating()]
    assert give == remove == ("wg", "set", "wgvpc0") and allowed == "allowed-ips" and networks == "10.30.1.0/24"
    assert sink_key == removed_key and word == "remove" and sink_key not in (PEER_A, PEER_B, PUBLIC)
    assert len(base64.b64decode(sink_key)) == 32
    assert added == [fake.mutating()]  # PEER_B gains it after the throwaway peer is gone
    # in check mode nothing runs, and the change is reported
    fake = tools(existing(dump=moving))
    result, failed = one(run_module, args, check_mode=True)
    assert not failed and result["changed"] and fake.mutating() == []


def test_a_peer_gaining_allowed_ips_in_check_mode_changes_nothing(run_module, tools, tmp_path, monkeypatch):
    fake = tools(existing())
    monkeypatch.setattr(_wg_interface._wg_allowed_ips, "add_allowed_ips", lambda *args: pytest.fail("changed in check mode"))
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32", "192.168.7.1/32"]},
        {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32"]},
    ])
    result, failed = one(run_module, args, check_mode=True)
    assert not failed and result["changed"] and result["peers_updated"] == [PEER_A]
    assert fake.mutating() == []


def test_a_failed_in_place_addition_fails_the_module_naming_peer_and_interface(run_module, tools, tmp_path, monkeypatch):
    tools(existing())

    def refuse(*args):
        raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(_wg_interface._wg_allowed_ips, "add_allowed_ips", refuse)
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32", "192.168.7.1/32"]},
        {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32"]},
    ])
    result, failed = one(run_module, args)
    assert failed
    assert result["msg"] == "cannot add allowed IPs 192.168.7.1/32 to peer %s of wgvpc0: [Errno 1] Operation not permitted" % PEER_A


def test_addresses_mtu_port_and_key_changes(run_module, tools, tmp_path):
    fake = tools(existing())
    other_key = "QDbZ6bqvfPLB0fXQyF7Zr3v7uBQ6pNwm2zIkY4Mb2V8="
    args = server_args(tmp_path, persist=False, private_key=other_key, listen_port=51900, mtu=1380,
                       addresses=["192.168.5.1/24"])
    result = one(run_module, args)[0]
    assert fake.mutating() == [
        ("wg", "set", "wgvpc0", "private-key", "/dev/stdin", "listen-port", "51900"),
        ("ip", "address", "del", "192.168.1.1/24", "dev", "wgvpc0"),
        ("ip", "address", "add", "192.168.5.1/24", "dev", "wgvpc0"),
        ("ip", "link", "set", "dev", "wgvpc0", "mtu", "1380"),
    ]
    assert dict(fake.calls)[fake.mutating()[0]] == clamped_private_key(other_key)


ROUTES = json.dumps([
    {"dst": "192.168.1.0/24", "protocol": "kernel", "scope": "link", "prefsrc": "192.168.1.1", "flags": []},
    {"dst": "192.168.5.7", "protocol": "boot", "scope": "link", "prefsrc": "192.168.5.1", "flags": []},
    {"dst": "10.9.9.0/24", "protocol": "static", "scope": "link", "flags": []},
])
WANTED_ROUTES = [{"to": "192.168.5.7/32", "src": "192.168.5.1"}, {"to": "192.168.9.0/24"}]


def test_routes_are_the_modules_but_the_kernels_and_forwarding_is_per_interface(run_module, tools, tmp_path, monkeypatch):
    monkeypatch.setattr(_wg_interface, "FORWARDING", str(tmp_path / "%s"))
    (tmp_path / "wgvpc0").write_text("0\n")
    answers = {**existing(), READ[3]: (0, ROUTES, "")}
    fake = tools(answers)
    args = server_args(tmp_path, routes=WANTED_ROUTES, forwarding=True)
    result, failed = one(run_module, dict(args, persist=False), check_mode=True, diff=True)
    assert not failed and result["changed"] and fake.mutating() == []
    assert (tmp_path / "wgvpc0").read_text() == "0\n"
    assert "PostUp = ip route replace 192.168.9.0/24 dev %i\n" in result["diff"]["after"]
    assert "PostUp = ip route replace 10.9.9.0/24 dev %i\n" in result["diff"]["before"]
    fake.calls.clear()
    result, failed = one(run_module, args)
    assert not failed and result["changed"]
    assert fake.mutating() == [
        ("ip", "route", "del", "10.9.9.0/24", "dev", "wgvpc0"),
        ("ip", "route", "replace", "192.168.9.0/24", "dev", "wgvpc0"),
    ]
    assert (tmp_path / "wgvpc0").read_text() == "1\n"
    config = (tmp_path / "wireguard" / "wgvpc0.conf").read_text()
    assert ("Table = off\nPostUp = ip route replace 192.168.5.7/32 dev %i src 192.168.5.1\n"
            "PostUp = ip route replace 192.168.9.0/24 dev %i\nPostUp = sysctl -q -w net/ipv4/conf/%i/forwarding=1\n") in config
    # once there, nothing changes; without forwarding, the interface forwards as a new one would (default)
    live = json.dumps([{"dst": "192.168.5.7", "protocol": "boot", "prefsrc": "192.168.5.1"}, {"dst": "192.168.9.0/24", "protocol": "boot"}])
    fake = tools({**existing(), READ[3]: (0, live, "")})
    assert one(run_module, args)[0]["changed"] is False
    (tmp_path / "default").write_text("1\n")
    assert one(run_module, dict(args, forwarding=False, persist=False))[0]["changed"] is False
    (tmp_path / "default").write_text("0\n")
    assert one(run_module, dict(args, forwarding=False, persist=False))[0]["changed"] is True
    assert fake.mutating() == [] and (tmp_path / "wgvpc0").read_text() == "0\n"


def test_unclamped_private_key_compares_equal_to_what_wireguard_shows(run_module, tools, tmp_path):
    raw = bytearray(base64.b64decode(PRIVATE))
    raw[0] |= 7
    fake = tools(existing())
    result = one(run_module, server_args(tmp_path, persist=False, private_key=base64.b64encode(bytes(raw)).decode()))[0]
    assert not result["changed"] and fake.mutating() == []


def test_preshared_key_removal_and_endpoint_by_name(run_module, tools, tmp_path):
    fake = tools(existing())
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "allowed_ips": ["192.168.1.2/32"], "endpoint": "localhost:40000"},
        {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32"]},
    ])
    one(run_module, args)
    assert fake.mutating() == [
        ("wg", "set", "wgvpc0", "peer", PEER_A, "preshared-key", "/dev/null", "endpoint", "localhost:40000"),
    ]


def test_a_peer_that_dialled_and_is_now_dialled_gets_a_fresh_session(run_module, tools, tmp_path):
    # PEER_A dialled this end from 10.0.2.2:40000; now this end dials it (it became the listener of the pair)
    fake = tools(existing())
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32"], "endpoint": "10.0.2.2:52302",
         "persistent_keepalive": 25},
        {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32"]},
    ])
    result = one(run_module, args)[0]
    assert fake.mutating() == [
        ("wg", "set", "wgvpc0", "peer", PEER_A, "remove"),
        ("wg", "set", "wgvpc0", "peer", PEER_A, "preshared-key", "/dev/stdin", "endpoint", "10.0.2.2:52302",
         "persistent-keepalive", "25", "allowed-ips", "192.168.1.2/32"),
    ]
    assert result["peers_updated"] == [PEER_A] and dict(fake.calls)[fake.mutating()[1]] == PSK
    # a peer this end dialled already only gets its new endpoint: its session with the same interface stays
    dialling = DUMP_TWO_PEERS.replace("1700000000\t10\t20\toff", "1700000000\t10\t20\t25")
    fake = tools(existing(dump=dialling))
    one(run_module, args)
    assert fake.mutating() == [("wg", "set", "wgvpc0", "peer", PEER_A, "endpoint", "10.0.2.2:52302")]


def test_check_mode_runs_nothing_that_changes_and_diff_hides_keys(run_module, tools, tmp_path):
    fake = tools(existing())
    args = server_args(tmp_path, peers=[{"public_key": PEER_C, "preshared_key": PSK, "allowed_ips": ["192.168.1.9/32"]}])
    result, failed = one(run_module, args, check_mode=True, diff=True)
    assert not failed and result["changed"]
    assert fake.mutating() == [] and not (tmp_path / "wireguard").exists()
    diff = json.dumps(result)
    assert PRIVATE not in diff and PSK not in diff
    assert "PresharedKey = (hidden, changes)" in result["diff"]["after"]
    assert "PublicKey = %s" % PEER_B in result["diff"]["before"] and PEER_B not in result["diff"]["after"]


def test_check_mode_on_a_missing_interface_creates_nothing(run_module, tools, tmp_path):
    fake = tools({READ[0]: (1, "", "")})
    result = one(run_module, server_args(tmp_path), check_mode=True, diff=True)[0]
    assert result["changed"] and fake.commands == [READ[0]]
    assert result["diff"]["before"] == "" and "PrivateKey = (hidden, changes)" in result["diff"]["after"]


def test_persistence_enables_the_unit_where_systemd_runs(run_module, tools, tmp_path):
    answers = existing()
    answers[("systemctl", "is-enabled", "--quiet", "wg-quick@wgvpc0.service")] = (1, "", "")
    fake = tools(answers, systemd=True)
    result = one(run_module, server_args(tmp_path))[0]
    assert result["changed"] and fake.mutating() == [("systemctl", "enable", "wg-quick@wgvpc0.service")]


@pytest.mark.parametrize("unit_active, removal", [
    (3, [("ip", "link", "del", "dev", "wgvpc0")]),
    (0, [("systemctl", "stop", "wg-quick@wgvpc0.service")]),
], ids=["unit inactive: the link is deleted", "unit active: stopping it deletes the link"])
def test_absent_deletes_link_unit_and_file(run_module, tools, tmp_path, unit_active, removal):
    config_dir = tmp_path / "wireguard"
    config_dir.mkdir()
    (config_dir / "wgvpc0.conf").write_text("x")
    (config_dir / "wgvpc0.endpoints").write_text("%s\t10.0.2.2:40000\n" % PEER_A)  # kept by wg-quick down
    answers = existing()
    answers[READ[0]] = [answers[READ[0]], (1, "", "Device \"wgvpc0\" does not exist.")]
    answers[("systemctl", "is-enabled", "--quiet", "wg-quick@wgvpc0.service")] = (0, "", "")
    answers[("systemctl", "is-active", "--quiet", "wg-quick@wgvpc0.service")] = (unit_active, "", "")
    answers[("wg", "show", "interfaces")] = (0, "wgvpc0\n", "")
    fake = tools(answers, systemd=True)
    result = absent(run_module, "wgvpc0", str(config_dir))[0]
    assert result["changed"] and result["removed"] == ["wgvpc0"]
    assert fake.mutating() == removal + [("systemctl", "disable", "wg-quick@wgvpc0.service")]
    assert os.listdir(config_dir) == []


def test_absent_when_already_gone_changes_nothing(run_module, tools, tmp_path):
    fake = tools({("wg", "show", "interfaces"): (0, "wgvpc1\n", "")})
    result = absent(run_module, "wgvpc0", str(tmp_path))[0]
    assert not result["changed"] and fake.commands == [("wg", "show", "interfaces")]


def test_refuses_a_link_that_is_not_wireguard(run_module, tools, tmp_path):
    tools(existing(link=LINK_KERNEL.replace('"wireguard"', '"veth"')))
    result, failed = one(run_module, server_args(tmp_path))
    assert failed and "is not a WireGuard interface (kind veth)" in result["msg"]


@pytest.mark.parametrize("overrides, message", [
    ({"name": "a-name-too-long-for-linux"}, "is not an interface name"),
    ({"private_key": "short"}, "private_key: not a WireGuard key"),
    ({"addresses": ["192.168.1.300/24"]}, "addresses:"),
    ({"peers": [{"public_key": PEER_A, "endpoint": "no-port"}]},
     "interface wgvpc0: interfaces[0].peers[0].endpoint: expected host:port, got 'no-port'"),
    ({"peers": [{"public_key": PEER_A, "endpoint": "fd00::1:51820"}]}, "peers[0].endpoint: bracket an IPv6 address"),
    ({"peers": [{"public_key": PEER_A, "allowed_ips": ["10.0.0.0/33"]}]}, "interface wgvpc0: interfaces[0].peers[0].allowed_ips: "),
    ({"peers": [{"public_key": PEER_A}, {"public_key": PEER_A}]}, "peers[1].public_key: %s is listed twice" % PEER_A),
    ({"peers": [{"public_key": "not-a-key"}]}, "interface wgvpc0: interfaces[0].peers[0].public_key: not a WireGuard key"),
    ({"peers": [{"public_key": PEER_A, "preshared_key": "bad"}]}, "interface wgvpc0: interfaces[0].peers[0].preshared_key: not a WireGuard key"),
    ({"peers": [{"public_key": PEER_A, "persistent_keepalive": 70000}]},
     "interface wgvpc0: interfaces[0].peers[0].persistent_keepalive: must be an integer from 0 to 65535, got 70000"),
    ({"mtu": 70000}, "interface wgvpc0: interfaces[0].mtu: must be an integer from 1280 to 65535, got 70000"),
    ({"mtu": 100}, "interface wgvpc0: interfaces[0].mtu: must be an integer from 1280 to 65535, got 100"),
    ({"listen_port": 70000}, "interface wgvpc0: interfaces[0].listen_port: must be an integer from 1 to 65535, got 70000"),
])
def test_bad_input_fails_before_any_command(run_module, tools, tmp_path, overrides, message):
    fake = tools({})
    result, failed = one(run_module, server_args(tmp_path, **overrides))
    assert failed and message in result["msg"]
    assert fake.mutating() == []


def reads(name):
    return [tuple(name if part == "wgvpc0" else part for part in command) for command in READ]


def existing_as(name):
    """The answers of an existing, matching interface called name."""
    link = LINK_KERNEL.replace("wgvpc0", name)
    return dict(zip(reads(name), [(0, link, ""), (0, DUMP_TWO_PEERS, ""), (0, ADDRESSES, "")]))


def changes(fake):
    """The commands run, less the reads of any interface and of systemd."""
    return [command for command in fake.commands
            if command[:2] not in (("ip", "-j"), ("wg", "show")) and command[:2] != ("systemctl", "is-enabled")]


def interface(tmp_path, name="wgvpc0", **overrides):
    options = server_args(tmp_path, name=name, **overrides)
    for common in ("config_dir", "persist", "implementation"):
        options.pop(common, None)
    return options


def test_matching_interfaces_are_read_once_each_and_left_alone(run_module, tools, tmp_path):
    answers = {**existing_as("wgvpc0"), **existing_as("wgvpc2")}
    answers[("wg", "show", "interfaces")] = (0, "wgvpc0 wgvpc2 wg-other\n", "")
    fake = tools(answers)
    args = {"interfaces": [interface(tmp_path), interface(tmp_path, name="wgvpc2")], "prune_pattern": "wgvpc[0-9]+",
            "persist": False}
    result, failed = run_module(wg_interfaces, args)
    assert not failed and not result["changed"] and result["removed"] == []
    assert sorted(result["interfaces"]) == ["wgvpc0", "wgvpc2"]
    assert fake.commands == [("wg", "show", "interfaces")] + reads("wgvpc0") + reads("wgvpc2")


def test_unlisted_interfaces_of_the_pattern_go_first_and_others_stay(run_module, tools, tmp_path):
    config_dir = tmp_path / "wireguard"
    config_dir.mkdir()
    (config_dir / "wgvpc5.conf").write_text("left by a server that crashed before it was removed")
    (config_dir / "office.conf").write_text("not ours")
    answers = {**existing_as("wgvpc0"), **existing_as("wgvpc3")}
    answers[reads("wgvpc3")[0]] = [answers[reads("wgvpc3")[0]], (1, "", "")]
    answers[reads("wgvpc5")[0]] = (1, "", "")
    answers[("wg", "show", "interfaces")] = (0, "wgvpc0 wgvpc3 wgvpc30x office\n", "")
    fake = tools(answers)
    args = {"interfaces": [interface(tmp_path)], "prune_pattern": "wgvpc[0-9]+", "persist": False,
            "config_dir": str(config_dir)}
    result, failed = run_module(wg_interfaces, args, diff=True)
    assert not failed and result["changed"] and result["removed"] == ["wgvpc3", "wgvpc5"]
    assert changes(fake) == [("ip", "link", "del", "dev", "wgvpc3")]
    assert not (config_dir / "wgvpc5.conf").exists() and (config_dir / "office.conf").exists()
    assert [diff["before_header"] for diff in result["diff"]] == ["wgvpc3 (live)", "wgvpc5 (live)"]
    assert PRIVATE not in str(result) and PSK not in str(result)


def test_without_a_pattern_nothing_is_listed_or_removed(run_module, tools, tmp_path):
    fake = tools(existing_as("wgvpc0"))
    result, failed = run_module(wg_interfaces, {"interfaces": [interface(tmp_path)], "persist": False})
    assert not failed and not result["changed"] and fake.commands == reads("wgvpc0")


def test_check_mode_changes_nothing_and_reports_each_interface(run_module, tools, tmp_path):
    answers = existing_as("wgvpc0")
    answers[("wg", "show", "interfaces")] = (0, "wgvpc0 wgvpc4\n", "")
    answers.update(existing_as("wgvpc4"))
    fake = tools(answers)
    args = {"interfaces": [interface(tmp_path, peers=[{"public_key": PEER_A, "allowed_ips": ["192.168.1.2/32"]}])],
            "prune_pattern": "wgvpc[0-9]+", "persist": False}
    result, failed = run_module(wg_interfaces, args, check_mode=True, diff=True)
    assert not failed and result["changed"] and result["removed"] == ["wgvpc4"]
    assert result["interfaces"]["wgvpc0"]["peers_removed"] == [PEER_B]
    assert len(result["diff"]) == 2
    assert changes(fake) == []


@pytest.mark.parametrize("args, message", [
    ({"interfaces": [{"name": "a-name-too-long-for-linux", "private_key": PRIVATE}]}, "interfaces[0].name: "),
    ({"interfaces": [{"name": "wgvpc0", "private_key": PRIVATE}, {"name": "wgvpc0", "private_key": PRIVATE}]},
     "interfaces[1].name: wgvpc0 is listed twice"),
    ({"interfaces": [{"name": "wgvpc0", "private_key": PRIVATE, "addresses": ["192.168.1.300/24"]}]}, "interfaces[0].addresses: "),
    ({"interfaces": [{"name": "wgvpc0", "private_key": PRIVATE, "peers": [{"public_key": PEER_A, "endpoint": "x"}]}]},
     "interface wgvpc0: interfaces[0].peers[0].endpoint: expected host:port, got 'x'"),
    ({"interfaces": [{"name": "wgvpc0", "private_key": PRIVATE}, {"name": "wgvpc3", "private_key": PRIVATE, "mtu": 70000}]},
     "interface wgvpc3: interfaces[1].mtu: must be an integer from 1280 to 65535, got 70000"),
    ({"prune_pattern": "wgvpc[0-9"}, "prune_pattern: "),
])
def test_bad_input_names_the_interface_and_changes_nothing(run_module, tools, tmp_path, args, message):
    fake = tools({})
    result, failed = run_module(wg_interfaces, dict(args, config_dir=str(tmp_path)))
    assert failed and message in result["msg"]
    assert changes(fake) == []


@pytest.mark.parametrize("interface_options, message", [
    ({"mtu": 70000}, "interface wgvpc1: interfaces[0].mtu: must be an integer"),
    ({"peers": [{"public_key": PEER_A, "preshared_key": PSK, "endpoint": "nowhere"}]},
     "interface wgvpc1: interfaces[0].peers[0].endpoint: expected host:port, got 'nowhere'"),
    ({"private_key": PRIVATE[:-4], "peers": [{"public_key": PEER_A, "preshared_key": PSK}]},
     "interface wgvpc1: interfaces[0].private_key: not a WireGuard key"),
])
def test_ansible_masks_every_key_of_a_failure_even_in_suboptions(capsys, module_args, interface_options, message):
    """The real AnsibleModule (no patched fail_json): what a task without no_log prints holds no key, at any depth."""
    import json
    options = dict({"name": "wgvpc1", "private_key": PRIVATE}, **interface_options)
    with module_args({"interfaces": [options], "config_dir": "/nonexistent"}), pytest.raises(SystemExit):
        wg_interfaces.main()
    printed = capsys.readouterr().out
    result = json.loads(printed)
    assert result["failed"] and message in result["msg"]
    secrets = [options["private_key"], PSK]
    assert [secret for secret in secrets if secret in printed] == []
    shown = result["invocation"]["module_args"]["interfaces"][0]
    assert shown["private_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    for peer in shown["peers"]:
        assert peer["preshared_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_a_listening_interface_keeps_its_peers_endpoints_across_a_reboot(run_module, tools, tmp_path):
    # PEER_B has no endpoint (it dials this end): the file gets the hooks; an interface whose every peer has one, none
    def created():
        return {READ[0]: [(1, "", 'Device "wgvpc0" does not exist.'), (0, LINK_DOWN, "")],
                READ[1]: (0, DUMP_EMPTY, ""), READ[2]: (0, NO_ADDRESSES, "")}
    tools(created())
    one(run_module, server_args(tmp_path))
    text = (tmp_path / "wireguard" / "wgvpc0.conf").read_text()
    saved = "%s/%%i.endpoints" % (tmp_path / "wireguard")
    assert "PreDown = umask 077; wg show %%i endpoints > %s || true\n" % saved in text
    assert "\nPostUp = test -s %s && wg show %%i endpoints" % saved in text
    dialing = server_args(tmp_path, peers=[{"public_key": PEER_A, "allowed_ips": ["192.168.1.2/32"],
                                            "endpoint": "10.0.2.2:51822", "persistent_keepalive": 25}])
    tools(created())
    one(run_module, dialing)
    assert "PreDown" not in (tmp_path / "wireguard" / "wgvpc0.conf").read_text()


@pytest.mark.parametrize("config_dir", ["/etc/wire\nPostUp = id", "/etc/wire#guard", "/etc/%i"])
def test_a_config_dir_that_cannot_go_into_a_hook_is_refused_before_any_change(run_module, tools, config_dir):
    fake = tools({})
    result, failed = one(run_module, server_args(Path("/nonexistent"), config_dir=config_dir))
    assert failed and result["msg"].startswith("config_dir: ") and fake.commands == []


def test_where_systemd_runs_a_new_interface_is_brought_up_by_its_unit(run_module, tools, tmp_path):
    # so the unit is active and takes it down at shutdown, keeping the endpoints its peers came from
    fake = tools({
        READ[0]: [(1, "", 'Device "wgvpc0" does not exist.')] + [(0, LINK_KERNEL, "")] * 2,
        READ[1]: (0, DUMP_EMPTY, ""), READ[2]: (0, NO_ADDRESSES, ""),
        ("systemctl", "is-enabled", "--quiet", "wg-quick@wgvpc0.service"): [(1, "", ""), (0, "", "")],
    }, systemd=True)
    result, failed = one(run_module, server_args(tmp_path, peers=[]))
    assert not failed and result["changed"] and result["implementation"] == "kernel"
    assert fake.mutating()[:2] == [("systemctl", "enable", "wg-quick@wgvpc0.service"),
                                   ("systemctl", "start", "wg-quick@wgvpc0.service")]
    assert ("ip", "link", "add", "dev", "wgvpc0", "type", "wireguard") not in fake.commands
    assert "PrivateKey = %s\n" % PRIVATE in (tmp_path / "wireguard" / "wgvpc0.conf").read_text()


@pytest.mark.parametrize("implementation", ["kernel", "userspace"])
def test_an_implementation_asked_for_is_created_live_even_where_systemd_runs(run_module, tools, tmp_path,
                                                                             implementation):
    # wg-quick would pick the kernel's or wireguard-go itself
    answers = no_kernel_wireguard() if implementation == "userspace" else {
        READ[0]: [(1, "", 'Device "wgvpc0" does not exist.'), (0, LINK_DOWN, "")],
        READ[1]: (0, DUMP_EMPTY, ""), READ[2]: (0, NO_ADDRESSES, "")}
    fake = tools(answers, systemd=True)
    one(run_module, server_args(tmp_path, peers=[], implementation=implementation))
    assert ("systemctl", "start", "wg-quick@wgvpc0.service") not in fake.commands
