# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""wg_interfaces: every interface in one call, and the prune of the unlisted ones (run_command mocked)."""

from __future__ import annotations

import pytest

from ansible_collections.fakevpc.vpc.plugins.modules import wg_interfaces

from test_wg_interface import ADDRESSES, DUMP_TWO_PEERS, LINK_KERNEL, PEER_A, PEER_B, PRIVATE, PSK, READ, server_args, tools  # noqa: F401  # pylint: disable=unused-import


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
