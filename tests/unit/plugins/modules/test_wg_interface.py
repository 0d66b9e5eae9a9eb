# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_interface: the exact commands it runs for each situation (run_command mocked, files in a temp dir)."""

from __future__ import annotations

import base64
import json
import os

import pytest

from ansible.module_utils import basic
from ansible_collections.fakevpc.vpc.plugins.module_utils._wireguard import clamped_private_key
from ansible_collections.fakevpc.vpc.plugins.module_utils import _wg_interface
from ansible_collections.fakevpc.vpc.plugins.modules import wg_interface

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


class FakeTools:
    """Answers run_command from a table of (command without binary path) -> (rc, stdout, stderr)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, args, data=None, environ_update=None, **kwargs):
        assert environ_update == {"LC_ALL": "C", "LANG": "C"}
        command = (os.path.basename(args[0]),) + tuple(args[1:])
        self.calls.append((command, data))
        answer = self.answers.get(command, (0, "", ""))
        return answer.pop(0) if isinstance(answer, list) else answer

    @property
    def commands(self):
        return [command for command, _data in self.calls]

    def mutating(self):
        return [c for c in self.commands if c not in READ and c[:3] not in (("systemctl", "is-enabled", "--quiet"), ("systemctl", "is-active", "--quiet"))]


@pytest.fixture
def tools(monkeypatch, tmp_path):
    def install(answers, systemd=False):
        fake = FakeTools(answers)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, args, **kwargs: fake(args, **kwargs))
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False: "/usr/bin/" + name)
        systemd_dir = tmp_path / "run-systemd"
        if systemd:
            systemd_dir.mkdir()
        monkeypatch.setattr(_wg_interface, "SYSTEMD_RUNNING", str(systemd_dir))
        return fake
    return install


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


def existing(dump=DUMP_TWO_PEERS, link=LINK_KERNEL, addresses=ADDRESSES):
    return {READ[0]: (0, link, ""), READ[1]: (0, dump, ""), READ[2]: (0, addresses, "")}


def test_creates_a_kernel_interface_and_keys_go_through_stdin_only(run_module, tools, tmp_path):
    fake = tools({
        READ[0]: [(1, "", 'Device "wgvpc0" does not exist.'), (0, LINK_DOWN, "")],
        READ[1]: (0, DUMP_EMPTY, ""), READ[2]: (0, NO_ADDRESSES, ""),
    })
    result, failed = run_module(wg_interface, server_args(tmp_path))
    assert not failed and result["changed"] and result["implementation"] == "kernel"
    assert fake.mutating() == [
        ("ip", "link", "add", "dev", "wgvpc0", "type", "wireguard"),
        ("wg", "set", "wgvpc0", "private-key", "/dev/stdin", "listen-port", "51821"),
        ("wg", "set", "wgvpc0", "peer", PEER_A, "preshared-key", "/dev/stdin", "allowed-ips", "192.168.1.2/32"),
        ("wg", "set", "wgvpc0", "peer", PEER_B, "allowed-ips", "192.168.1.3/32"),
        ("ip", "address", "add", "192.168.1.1/24", "dev", "wgvpc0"),
        ("ip", "link", "set", "dev", "wgvpc0", "up"),
    ]
    data = dict(fake.calls)
    assert data[fake.mutating()[1]] == PRIVATE and data[fake.mutating()[2]] == PSK
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
    result, failed = run_module(wg_interface, server_args(tmp_path, peers=[], persist=False))
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
    result, failed = run_module(wg_interface, server_args(tmp_path, peers=[], persist=False))
    assert failed
    assert result["msg"].startswith("cannot create wgvpc0: wireguard-go started but its daemon does not answer on ")
    assert "this user may have 128 (fs.inotify.max_user_instances)" in result["msg"]
    assert "`LOG_LEVEL=verbose wireguard-go --foreground wgvpc0`" in result["msg"]
    assert fake.mutating() == [("ip", "link", "add", "dev", "wgvpc0", "type", "wireguard"), ("setsid", "--wait", "/usr/bin/wireguard-go", "wgvpc0")]


def test_kernel_only_fails_clearly_without_kernel_wireguard(run_module, tools, tmp_path):
    tools({READ[0]: (1, "", ""),
           ("ip", "link", "add", "dev", "wgvpc0", "type", "wireguard"): (2, "", "Error: Unknown device type.")})
    result, failed = run_module(wg_interface, server_args(tmp_path, implementation="kernel"))
    assert failed and "the kernel has no WireGuard (Error: Unknown device type.)" in result["msg"]


def test_matching_interface_is_left_alone(run_module, tools, tmp_path):
    fake = tools(existing())
    run_module(wg_interface, server_args(tmp_path))
    fake.calls.clear()
    result, failed = run_module(wg_interface, server_args(tmp_path))
    assert not failed and not result["changed"]
    assert fake.commands == READ


def test_one_peer_changes_without_touching_the_others(run_module, tools, tmp_path):
    fake = tools(existing())
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32"], "persistent_keepalive": 25},
        {"public_key": PEER_C, "allowed_ips": ["192.168.1.4/32"], "endpoint": "198.51.100.4:51824"},
    ])
    result, failed = run_module(wg_interface, args)
    assert not failed and result["changed"]
    assert fake.mutating() == [
        ("wg", "set", "wgvpc0", "peer", PEER_B, "remove"),
        ("wg", "set", "wgvpc0", "peer", PEER_A, "persistent-keepalive", "25"),
        ("wg", "set", "wgvpc0", "peer", PEER_C, "endpoint", "198.51.100.4:51824", "allowed-ips", "192.168.1.4/32"),
    ]
    assert (result["peers_added"], result["peers_updated"], result["peers_removed"]) == ([PEER_C], [PEER_A], [PEER_B])


def test_a_peer_that_only_gains_allowed_ips_gets_them_in_place(run_module, tools, tmp_path, monkeypatch):
    """`wg set ... allowed-ips` would empty the list while swapping it: added in place, the old ones kept."""
    fake = tools(existing())
    added = []
    monkeypatch.setattr(_wg_interface._wg_allowed_ips, "add_allowed_ips", lambda *args: added.append(args))
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32", "192.168.7.1/32", "192.168.2.2/32"]},
        {"public_key": PEER_B, "allowed_ips": []},
    ])
    result, failed = run_module(wg_interface, args)
    assert not failed and result["changed"]
    # PEER_A only gains: nothing through wg; PEER_B loses its only one: replaced (its traffic stops anyway).
    assert fake.mutating() == [("wg", "set", "wgvpc0", "peer", PEER_B, "allowed-ips", "")]
    assert added == [("wgvpc0", "kernel", PEER_A, ["192.168.2.2/32", "192.168.7.1/32"], _wg_interface.UAPI_DIR)]
    assert result["peers_updated"] == [PEER_A, PEER_B]


def test_a_peer_gaining_allowed_ips_in_check_mode_changes_nothing(run_module, tools, tmp_path, monkeypatch):
    fake = tools(existing())
    monkeypatch.setattr(_wg_interface._wg_allowed_ips, "add_allowed_ips", lambda *args: pytest.fail("changed in check mode"))
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "preshared_key": PSK, "allowed_ips": ["192.168.1.2/32", "192.168.7.1/32"]},
        {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32"]},
    ])
    result, failed = run_module(wg_interface, args, check_mode=True)
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
    result, failed = run_module(wg_interface, args)
    assert failed
    assert result["msg"] == "cannot add allowed IPs 192.168.7.1/32 to peer %s of wgvpc0: [Errno 1] Operation not permitted" % PEER_A


def test_addresses_mtu_port_and_key_changes(run_module, tools, tmp_path):
    fake = tools(existing())
    other_key = "QDbZ6bqvfPLB0fXQyF7Zr3v7uBQ6pNwm2zIkY4Mb2V8="
    args = server_args(tmp_path, persist=False, private_key=other_key, listen_port=51900, mtu=1380,
                       addresses=["192.168.5.1/24"])
    result = run_module(wg_interface, args)[0]
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
    result, failed = run_module(wg_interface, dict(args, persist=False), check_mode=True, diff=True)
    assert not failed and result["changed"] and fake.mutating() == []
    assert (tmp_path / "wgvpc0").read_text() == "0\n"
    assert "PostUp = ip route replace 192.168.9.0/24 dev %i\n" in result["diff"]["after"]
    assert "PostUp = ip route replace 10.9.9.0/24 dev %i\n" in result["diff"]["before"]
    fake.calls.clear()
    result, failed = run_module(wg_interface, args)
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
    assert run_module(wg_interface, args)[0]["changed"] is False
    (tmp_path / "default").write_text("1\n")
    assert run_module(wg_interface, dict(args, forwarding=False, persist=False))[0]["changed"] is False
    (tmp_path / "default").write_text("0\n")
    assert run_module(wg_interface, dict(args, forwarding=False, persist=False))[0]["changed"] is True
    assert fake.mutating() == [] and (tmp_path / "wgvpc0").read_text() == "0\n"


def test_unclamped_private_key_compares_equal_to_what_wireguard_shows(run_module, tools, tmp_path):
    raw = bytearray(base64.b64decode(PRIVATE))
    raw[0] |= 7
    fake = tools(existing())
    result = run_module(wg_interface, server_args(tmp_path, persist=False, private_key=base64.b64encode(bytes(raw)).decode()))[0]
    assert not result["changed"] and fake.mutating() == []


def test_preshared_key_removal_and_endpoint_by_name(run_module, tools, tmp_path):
    fake = tools(existing())
    args = server_args(tmp_path, persist=False, peers=[
        {"public_key": PEER_A, "allowed_ips": ["192.168.1.2/32"], "endpoint": "localhost:40000"},
        {"public_key": PEER_B, "allowed_ips": ["192.168.1.3/32"]},
    ])
    run_module(wg_interface, args)
    assert fake.mutating() == [
        ("wg", "set", "wgvpc0", "peer", PEER_A, "preshared-key", "/dev/null", "endpoint", "localhost:40000"),
    ]


def test_check_mode_runs_nothing_that_changes_and_diff_hides_keys(run_module, tools, tmp_path):
    fake = tools(existing())
    args = server_args(tmp_path, peers=[{"public_key": PEER_C, "preshared_key": PSK, "allowed_ips": ["192.168.1.9/32"]}])
    result, failed = run_module(wg_interface, args, check_mode=True, diff=True)
    assert not failed and result["changed"]
    assert fake.mutating() == [] and not (tmp_path / "wireguard").exists()
    diff = json.dumps(result)
    assert PRIVATE not in diff and PSK not in diff
    assert "PresharedKey = (hidden, changes)" in result["diff"]["after"]
    assert "PublicKey = %s" % PEER_B in result["diff"]["before"] and PEER_B not in result["diff"]["after"]


def test_check_mode_on_a_missing_interface_creates_nothing(run_module, tools, tmp_path):
    fake = tools({READ[0]: (1, "", "")})
    result = run_module(wg_interface, server_args(tmp_path), check_mode=True, diff=True)[0]
    assert result["changed"] and fake.commands == [READ[0]]
    assert result["diff"]["before"] == "" and "PrivateKey = (hidden, changes)" in result["diff"]["after"]


def test_persistence_enables_the_unit_where_systemd_runs(run_module, tools, tmp_path):
    answers = existing()
    answers[("systemctl", "is-enabled", "--quiet", "wg-quick@wgvpc0.service")] = (1, "", "")
    fake = tools(answers, systemd=True)
    result = run_module(wg_interface, server_args(tmp_path))[0]
    assert result["changed"] and fake.mutating() == [("systemctl", "enable", "wg-quick@wgvpc0.service")]


@pytest.mark.parametrize("unit_active, removal", [
    (3, [("ip", "link", "del", "dev", "wgvpc0")]),
    (0, [("systemctl", "stop", "wg-quick@wgvpc0.service")]),
], ids=["unit inactive: the link is deleted", "unit active: stopping it deletes the link"])
def test_absent_deletes_link_unit_and_file(run_module, tools, tmp_path, unit_active, removal):
    config_dir = tmp_path / "wireguard"
    config_dir.mkdir()
    (config_dir / "wgvpc0.conf").write_text("x")
    answers = existing()
    answers[READ[0]] = [answers[READ[0]], (1, "", "Device \"wgvpc0\" does not exist.")]
    answers[("systemctl", "is-enabled", "--quiet", "wg-quick@wgvpc0.service")] = (0, "", "")
    answers[("systemctl", "is-active", "--quiet", "wg-quick@wgvpc0.service")] = (unit_active, "", "")
    fake = tools(answers, systemd=True)
    result = run_module(wg_interface, {"name": "wgvpc0", "state": "absent", "config_dir": str(config_dir)})[0]
    assert result["changed"] and result["peers_removed"] == [PEER_A, PEER_B]
    assert fake.mutating() == removal + [("systemctl", "disable", "wg-quick@wgvpc0.service")]
    assert not (config_dir / "wgvpc0.conf").exists()


def test_absent_when_already_gone_changes_nothing(run_module, tools, tmp_path):
    fake = tools({READ[0]: (1, "", "")})
    result = run_module(wg_interface, {"name": "wgvpc0", "state": "absent", "config_dir": str(tmp_path)})[0]
    assert not result["changed"] and fake.commands == [READ[0]]


def test_refuses_a_link_that_is_not_wireguard(run_module, tools, tmp_path):
    tools(existing(link=LINK_KERNEL.replace('"wireguard"', '"veth"')))
    result, failed = run_module(wg_interface, server_args(tmp_path))
    assert failed and "is not a WireGuard interface (kind veth)" in result["msg"]


@pytest.mark.parametrize("overrides, message", [
    ({"name": "a-name-too-long-for-linux"}, "is not an interface name"),
    ({"private_key": "short"}, "private_key: not a WireGuard key"),
    ({"addresses": ["192.168.1.300/24"]}, "addresses:"),
    ({"peers": [{"public_key": PEER_A, "endpoint": "no-port"}]},
     "interface wgvpc0: peers[0].endpoint: expected host:port, got 'no-port'"),
    ({"peers": [{"public_key": PEER_A, "endpoint": "fd00::1:51820"}]}, "peers[0].endpoint: bracket an IPv6 address"),
    ({"peers": [{"public_key": PEER_A, "allowed_ips": ["10.0.0.0/33"]}]}, "interface wgvpc0: peers[0].allowed_ips: "),
    ({"peers": [{"public_key": PEER_A}, {"public_key": PEER_A}]}, "peers[1].public_key: %s is listed twice" % PEER_A),
    ({"peers": [{"public_key": "not-a-key"}]}, "interface wgvpc0: peers[0].public_key: not a WireGuard key"),
    ({"peers": [{"public_key": PEER_A, "preshared_key": "bad"}]}, "interface wgvpc0: peers[0].preshared_key: not a WireGuard key"),
    ({"peers": [{"public_key": PEER_A, "persistent_keepalive": 70000}]},
     "interface wgvpc0: peers[0].persistent_keepalive: must be an integer from 0 to 65535, got 70000"),
    ({"mtu": 70000}, "interface wgvpc0: mtu: must be an integer from 1280 to 65535, got 70000"),
    ({"mtu": 100}, "interface wgvpc0: mtu: must be an integer from 1280 to 65535, got 100"),
    ({"listen_port": 70000}, "interface wgvpc0: listen_port: must be an integer from 1 to 65535, got 70000"),
])
def test_bad_input_fails_before_any_command(run_module, tools, tmp_path, overrides, message):
    fake = tools({})
    result, failed = run_module(wg_interface, server_args(tmp_path, **overrides))
    assert failed and message in result["msg"]
    assert fake.mutating() == []
