# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns_iptables: recognise our rules by tag and -C, rewrite a chain atomically, jumps, removal, empty tables."""

from __future__ import annotations

import json

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_rules import rule_tag
from ansible_collections.fakevpc.vpc.plugins.modules import netns_iptables

from fake_tools import FakeTools, install

VERSION = ("iptables", "--version")
NFT_VERSION = (0, "iptables v1.8.9 (nf_tables)\n", "")
SAVE_NAT = ("iptables", "-w", "-t", "nat", "-S")
NAT_EMPTY = "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n"
RULES = ["-s 10.0.1.0/24 -o eth0 -j MASQUERADE", "-o br-a -d 10.0.1.2 -p tcp --dport 80 -m conntrack --ctstate DNAT -j MASQUERADE"]
TAGS = [rule_tag(rule.split()) for rule in RULES]
# How iptables -S prints those two rules once added (its own normal form, with the tags).
LIVE = (
    "-N NVPC-POST\n"
    "-A POSTROUTING -j NVPC-POST\n"
    '-A NVPC-POST -s 10.0.1.0/24 -o eth0 -m comment --comment "%s" -j MASQUERADE\n'
    '-A NVPC-POST -d 10.0.1.2/32 -o br-a -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m comment --comment "%s" -j MASQUERADE\n'
) % tuple(TAGS)


RESTORE = ("iptables-restore", "-w", "--noflush")
# The one iptables-restore that confirms both rules of LIVE (nft: evaluated without --test).
CHECKS = "*nat\n%sCOMMIT\n" % "".join(
    "-C NVPC-POST %s -m comment --comment %s\n" % (rule, tag) for rule, tag in zip(RULES, TAGS))


def is_check(batch):
    return all(line.startswith("-C ") for line in batch.splitlines()[1:-1])


class IptablesTools(FakeTools):
    def batches(self):
        """The iptables-restore batches that change something, in order."""
        return [data for command, data in self.calls if "--noflush" in command and not is_check(data)]

    def checks(self):
        """The iptables-restore batches of -C lines, in order."""
        return [data for command, data in self.calls if "--noflush" in command and is_check(data)]


@pytest.fixture
def tools(monkeypatch):
    def make(answers, nft=True):
        table = {VERSION: NFT_VERSION}
        table.update(answers)
        return install(monkeypatch, IptablesTools(table), missing=() if nft else ("nft",))
    return make


def post_args(**overrides):
    return dict({"table": "nat", "chain": "NVPC-POST", "jump_from": ["POSTROUTING"], "rules": RULES}, **overrides)


def test_creates_the_chain_its_rules_and_the_jump_in_one_transaction(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY, "")})
    result, failed = run_module(netns_iptables, post_args(), diff=True)
    assert not failed and result["changed"] and result["backend"] == "nft"
    assert fake.batches() == [
        "*nat\n"
        ":NVPC-POST - [0:0]\n"
        "-F NVPC-POST\n"
        "-A NVPC-POST -s 10.0.1.0/24 -o eth0 -j MASQUERADE -m comment --comment %s\n"
        "-A NVPC-POST -o br-a -d 10.0.1.2 -p tcp --dport 80 -m conntrack --ctstate DNAT -j MASQUERADE -m comment --comment %s\n"
        "-I POSTROUTING 1 -j NVPC-POST\n"
        "COMMIT\n" % tuple(TAGS)
    ]
    assert ("iptables-restore", "-w", "--noflush") in fake.commands
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"].splitlines()[-1] == "-A POSTROUTING -j NVPC-POST"


def test_an_up_to_date_chain_is_confirmed_with_check_lines_in_one_restore_and_left_alone(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + LIVE, "")})
    result, failed = run_module(netns_iptables, post_args(), diff=True)
    assert not failed and not result["changed"] and result["batch"] == ""
    assert fake.commands == [VERSION, SAVE_NAT, RESTORE] and fake.checks() == [CHECKS]
    assert result["diff"]["before"] == result["diff"]["after"]


def test_a_rule_that_fails_the_check_gets_the_chain_rewritten(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + LIVE, ""), RESTORE: [(1, "", "iptables-restore: line 3 failed"), (0, "", "")]})
    result, failed = run_module(netns_iptables, post_args())
    assert not failed and result["changed"] and fake.checks() == [CHECKS]
    assert fake.batches()[0].startswith("*nat\n:NVPC-POST - [0:0]\n-F NVPC-POST\n")
    assert "-I POSTROUTING" not in fake.batches()[0]


def test_the_legacy_backend_confirms_with_test_which_commits_nothing(run_module, tools):
    fake = tools({("iptables-legacy", "--version"): (0, "iptables v1.8.9 (legacy)\n", ""),
                  ("iptables-legacy", "-w", "-t", "nat", "-S"): (0, NAT_EMPTY + LIVE, "")})
    result, failed = run_module(netns_iptables, post_args(backend="legacy"))
    assert not failed and not result["changed"]
    assert fake.calls[-1] == (("iptables-legacy-restore", "-w", "--noflush", "--test"), CHECKS)


def test_a_new_order_rewrites_the_chain_in_the_new_order(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + LIVE, "")})
    result, failed = run_module(netns_iptables, post_args(rules=list(reversed(RULES))))
    assert not failed and result["changed"]
    lines = fake.batches()[0].splitlines()
    assert lines[3].endswith(TAGS[1]) and lines[4].endswith(TAGS[0])
    assert fake.checks() == []


def test_a_rule_added_by_hand_to_our_chain_is_removed(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + LIVE + "-A NVPC-POST -j ACCEPT\n", "")})
    result, failed = run_module(netns_iptables, post_args())
    assert not failed and result["changed"]
    assert "-j ACCEPT\n" not in fake.batches()[0]


def test_missing_and_duplicate_jumps_are_fixed_without_touching_the_rules(run_module, tools):
    live = LIVE + "-A OUTPUT -j NVPC-POST\n-A POSTROUTING -j NVPC-POST\n"
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + live, "")})
    result, failed = run_module(netns_iptables, post_args(jump_from=["POSTROUTING", "PREROUTING"]))
    assert not failed and result["changed"]
    assert fake.batches() == ["*nat\n-D OUTPUT -j NVPC-POST\n-D POSTROUTING -j NVPC-POST\n-I PREROUTING 1 -j NVPC-POST\nCOMMIT\n"]


def test_check_mode_never_calls_restore(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY, "")})
    result, failed = run_module(netns_iptables, post_args(), check_mode=True)
    assert not failed and result["changed"] and result["batch"].startswith("*nat\n")
    assert fake.batches() == [] and fake.commands == [VERSION, SAVE_NAT]


def test_inside_a_namespace_every_command_goes_through_ip_netns_exec(run_module, tools):
    exec_prefix = ("ip", "netns", "exec", "ns-a")
    save = exec_prefix + ("iptables", "-w", "-t", "filter", "-S")
    fake = tools({exec_prefix + VERSION: NFT_VERSION, save: (0, "-P INPUT ACCEPT\n", "")})
    result, failed = run_module(netns_iptables, {"namespace": "ns-a", "chain": "NVPC-INPUT", "jump_from": ["INPUT"],
                                                 "rules": ["-p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset"]})
    assert not failed and result["changed"]
    assert all(c[:4] == exec_prefix for c in fake.commands)
    assert fake.commands[-1] == exec_prefix + ("iptables-restore", "-w", "--noflush")


def test_backend_legacy_runs_iptables_legacy(run_module, tools):
    legacy_save = ("iptables-legacy", "-w", "-t", "nat", "-S")
    fake = tools({("iptables-legacy", "--version"): (0, "iptables v1.8.9 (legacy)\n", ""), legacy_save: (0, NAT_EMPTY, "")})
    result, failed = run_module(netns_iptables, post_args(backend="legacy"))
    assert not failed and result["backend"] == "legacy"
    assert fake.commands[-1] == ("iptables-legacy-restore", "-w", "--noflush")


def test_comments_with_spaces_are_quoted_for_restore(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY, "")})
    result, failed = run_module(netns_iptables, post_args(rules=['-m comment --comment "vpc a" -j RETURN']))
    assert not failed
    assert '-A NVPC-POST -m comment --comment "vpc a" -j RETURN -m comment --comment fakevpc:' in fake.batches()[0]


@pytest.mark.parametrize("args, message", [
    (post_args(chain="FORWARD"), "chain: 'FORWARD' is not a user chain name"),
    (post_args(chain="X" * 29), "is not a user chain name"),
    (post_args(rules=RULES + [RULES[0]]), "is listed twice"),
    (post_args(rules=["-A FORWARD -j ACCEPT"]), "give only matches and a target, not -A"),
    (post_args(rules=['-m comment --comment "open']), "cannot parse rule"),
    (post_args(jump_from=["NVPC-POST"]), "cannot jump to itself"),
    (post_args(namespace="a b"), "namespace"),
])
def test_bad_input_fails_before_any_change(run_module, tools, args, message):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY, "")})
    result, failed = run_module(netns_iptables, args)
    assert failed and message in result["msg"]
    assert fake.batches() == []


def test_absent_deletes_jumps_then_the_chain(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + LIVE, "")})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent"}, diff=True)
    assert not failed and result["changed"]
    assert fake.batches() == ["*nat\n-D POSTROUTING -j NVPC-POST\n-F NVPC-POST\n-X NVPC-POST\nCOMMIT\n"]
    assert result["diff"]["after"] == "" and "-A POSTROUTING -j NVPC-POST" in result["diff"]["before"]


def test_absent_when_already_gone_changes_nothing(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY, "")})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent"})
    assert not failed and not result["changed"] and fake.batches() == []


def test_absent_refuses_while_rules_of_others_use_the_chain(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + LIVE + "-A PREROUTING -i eth1 -j NVPC-POST\n", "")})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent"})
    assert failed and "PREROUTING: -i eth1 -j NVPC-POST" in result["msg"]
    assert fake.batches() == []


NFT_LIST = ("nft", "-j", "list", "table", "ip", "nat")


def nft_listing(*extra):
    objects = [{"metainfo": {}}, {"table": {"family": "ip", "name": "nat"}},
               {"chain": {"family": "ip", "table": "nat", "name": "POSTROUTING"}}]
    return (0, json.dumps({"nftables": objects + list(extra)}), "")


def test_absent_removes_the_table_it_left_empty(run_module, tools):
    fake = tools({SAVE_NAT: [(0, NAT_EMPTY + LIVE, ""), (0, NAT_EMPTY, "")], NFT_LIST: nft_listing()})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "remove_empty_table": True})
    assert not failed and result["changed"] and result["table_removed"]
    assert fake.commands[-1] == ("nft", "delete", "table", "ip", "nat")


def test_absent_in_check_mode_predicts_the_table_removal(run_module, tools):
    ours = [{"chain": {"family": "ip", "table": "nat", "name": "NVPC-POST"}},
            {"rule": {"chain": "NVPC-POST", "expr": [{"masquerade": None}]}},
            {"rule": {"chain": "POSTROUTING", "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"jump": {"target": "NVPC-POST"}}]}}]
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + LIVE, ""), NFT_LIST: nft_listing(*ours)})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "remove_empty_table": True}, check_mode=True)
    assert not failed and result["changed"] and result["table_removed"]
    assert fake.batches() == [] and ("nft", "delete", "table", "ip", "nat") not in fake.commands


def test_a_table_with_other_rules_is_kept(run_module, tools):
    other = "-A PREROUTING -p tcp -j REDIRECT --to-ports 3128\n"
    fake = tools({SAVE_NAT: [(0, NAT_EMPTY + LIVE + other, ""), (0, NAT_EMPTY + other, "")], NFT_LIST: nft_listing()})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "remove_empty_table": True})
    assert not failed and result["changed"] and not result["table_removed"]
    assert ("nft", "delete", "table", "ip", "nat") not in fake.commands


def test_a_table_with_native_nft_objects_is_kept(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY, ""), NFT_LIST: nft_listing({"set": {"name": "blocked"}})})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "remove_empty_table": True})
    assert not failed and not result["changed"] and not result["table_removed"]


def test_a_missing_table_is_not_removed_again(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY, ""), NFT_LIST: (1, "", "No such file or directory")})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "remove_empty_table": True})
    assert not failed and not result["changed"]
    assert fake.commands[-1] == NFT_LIST


def test_legacy_tables_are_never_removed(run_module, tools):
    fake = tools({("iptables-legacy", "--version"): (0, "iptables v1.8.9 (legacy)\n", ""),
                  ("iptables-legacy", "-w", "-t", "nat", "-S"): (0, NAT_EMPTY, "")})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "remove_empty_table": True, "backend": "legacy"})
    assert not failed and not result["changed"]
    assert not any(c[0] == "nft" for c in fake.commands)


def test_without_nft_installed_the_table_stays_with_a_warning(run_module, tools):
    fake = tools({SAVE_NAT: (0, NAT_EMPTY, "")}, nft=False)
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "remove_empty_table": True})
    assert not failed and not result["changed"]
    assert not any(c[0] == "nft" for c in fake.commands)


def test_a_missing_namespace_is_a_chain_to_create_in_check_mode_and_nothing_to_remove(run_module, tools):
    missing = (255, "", 'Cannot open network namespace "ns-a": No such file or directory')
    version = ("ip", "netns", "exec", "ns-a") + VERSION
    args = {"namespace": "ns-a", "chain": "NVPC-INPUT", "jump_from": ["INPUT"], "rules": ["-j ACCEPT"]}
    fake = tools({version: missing})
    result, failed = run_module(netns_iptables, args, check_mode=True)
    assert not failed and result["changed"] and result["backend"] is None
    assert result["batch"].endswith("-I INPUT 1 -j NVPC-INPUT\nCOMMIT\n") and fake.commands == [version]
    result, failed = run_module(netns_iptables, args)
    assert failed and result["msg"] == "namespace ns-a does not exist"
    result, failed = run_module(netns_iptables, dict(args, state="absent"))
    assert not failed and not result["changed"]


def base_chain(name, policy="accept"):
    return {"chain": {"family": "ip", "table": "nat", "name": name, "type": "nat", "hook": name.lower(),
                      "prio": 100, "policy": policy}}


def test_the_empty_builtin_chain_it_jumped_from_goes_and_the_table_when_nothing_is_left(run_module, tools):
    # the nat table existed before (another tool's OUTPUT chain was in it), then that tool removed its chain
    fake = tools({SAVE_NAT: [(0, NAT_EMPTY + LIVE, ""), (0, NAT_EMPTY, "")],
                  NFT_LIST: (0, json.dumps({"nftables": [{"table": {"name": "nat"}}, base_chain("POSTROUTING")]}), "")})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "jump_from": ["POSTROUTING"], "remove_empty_builtin_chains": True})
    assert not failed and result["table_removed"] and fake.commands[-1] == ("nft", "delete", "table", "ip", "nat")


def test_only_the_empty_builtin_chain_goes_while_another_chain_is_left(run_module, tools):
    listing = {"nftables": [{"table": {"name": "nat"}}, base_chain("POSTROUTING"), base_chain("PREROUTING"),
                            {"rule": {"chain": "PREROUTING", "expr": [{"jump": {"target": "FAKEVPC-SVC"}}]}},
                            {"chain": {"family": "ip", "table": "nat", "name": "FAKEVPC-SVC"}}]}
    fake = tools({SAVE_NAT: [(0, NAT_EMPTY + LIVE, ""), (0, NAT_EMPTY, "")], NFT_LIST: (0, json.dumps(listing), "")})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "jump_from": ["POSTROUTING"], "remove_empty_builtin_chains": True})
    assert not failed and not result["table_removed"] and result["chains_removed"] == ["POSTROUTING"]
    assert fake.commands[-1] == ("nft", "delete", "chain", "ip", "nat", "POSTROUTING")


def test_a_builtin_chain_with_rules_or_a_drop_policy_or_not_jumped_from_is_kept(run_module, tools):
    listing = {"nftables": [{"table": {"name": "nat"}}, base_chain("POSTROUTING", policy="drop"), base_chain("OUTPUT"),
                            base_chain("PREROUTING"),
                            {"rule": {"chain": "PREROUTING", "expr": [{"masquerade": None}]}}]}
    fake = tools({SAVE_NAT: [(0, NAT_EMPTY + LIVE, ""), (0, NAT_EMPTY, "")], NFT_LIST: (0, json.dumps(listing), "")})
    result, failed = run_module(netns_iptables, {"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                 "jump_from": ["POSTROUTING", "PREROUTING"],
                                                 "remove_empty_builtin_chains": True})
    assert not failed and not result["table_removed"] and result["chains_removed"] == []
    assert not any(c[0] == "nft" and c[1] == "delete" for c in fake.commands)


def test_chains_keeps_the_host_chain_and_a_namespace_chain_in_one_call(run_module, tools):
    inside = ("ip", "netns", "exec", "ns-a")
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + LIVE, ""), inside + VERSION: NFT_VERSION,
                  inside + ("iptables", "-w", "-t", "filter", "-S"): (0, "-P INPUT ACCEPT\n", "")})
    result, failed = run_module(netns_iptables, {"chains": [
        post_args(), {"namespace": "ns-a", "chain": "NVPC-INPUT", "jump_from": ["INPUT"], "rules": ["-j REJECT"]},
    ]}, diff=True)
    assert not failed and result["changed"]
    assert [item["batch"] == "" for item in result["chains"]] == [True, False]
    assert fake.batches() == [result["chains"][1]["batch"]]
    assert ("ip", "netns", "exec", "ns-a", "iptables-restore", "-w", "--noflush") in fake.commands
    assert result["diff"]["after"].count("-N ") == 2 and "commands" not in result


def test_chains_read_each_backend_and_table_once_and_a_changed_table_again(run_module, tools):
    save_filter = ("iptables", "-w", "-t", "filter", "-S")
    fake = tools({SAVE_NAT: (0, NAT_EMPTY + LIVE, ""), save_filter: (0, "-P FORWARD ACCEPT\n", "")})
    other = {"table": "nat", "chain": "NVPC-PRE", "jump_from": ["PREROUTING"], "rules": ["-j RETURN"]}
    forward = {"chain": "NVPC-FWD", "jump_from": ["FORWARD"], "rules": ["-j ACCEPT"]}
    result, failed = run_module(netns_iptables, {"chains": [post_args(), other, forward, dict(forward, chain="NVPC-FWD2")]})
    assert not failed and result["changed"]
    # nat read once for the first two (the first changed nothing), filter again after the third changed it
    assert [c for c in fake.commands if c != RESTORE] == [VERSION, SAVE_NAT, save_filter, save_filter]
    assert len(fake.batches()) == 3 and fake.checks() == [CHECKS]


def test_keep_tables_keeps_a_table_that_existed_before(run_module, tools):
    fake = tools({SAVE_NAT: [(0, NAT_EMPTY + LIVE, ""), (0, NAT_EMPTY, "")], NFT_LIST: nft_listing()})
    result, failed = run_module(netns_iptables, {"chains": [{"table": "nat", "chain": "NVPC-POST", "state": "absent",
                                                             "remove_empty_table": True}], "keep_tables": ["nat"]})
    assert not failed and result["changed"] and not result["chains"][0]["table_removed"]
    assert ("nft", "delete", "table", "ip", "nat") not in fake.commands


@pytest.mark.parametrize("args, message", [
    ({"chains": [post_args(), post_args(chain="INPUT")]}, "chains[1] (INPUT)"),
    ({"chains": [post_args(colour="red")]}, "chains[0] (NVPC-POST)"),
    ({"chains": [post_args()], "chain": "NVPC-X"}, "mutually exclusive"),
])
def test_bad_chains_fail_before_any_change(run_module, tools, args, message):
    fake = tools({})
    result, failed = run_module(netns_iptables, args)
    assert failed and message in result["msg"] and fake.commands == []
