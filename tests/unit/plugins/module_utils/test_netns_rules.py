# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""iptables rule helpers: tags, parsing `iptables -S`, jumps, restore quoting and batches."""

from __future__ import annotations

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_rules as rules


def test_split_rule_uses_shell_quoting_and_refuses_commands():
    assert rules.split_rule('-m comment --comment "a b" -j ACCEPT') == ["-m", "comment", "--comment", "a b", "-j", "ACCEPT"]
    for bad in ("", "-I FORWARD -j ACCEPT", "-t nat -j ACCEPT", '-j "x'):
        with pytest.raises(rules.RuleError):
            rules.split_rule(bad)


def test_tags_are_stable_and_depend_on_every_argument():
    first = rules.rule_tag(["-s", "10.0.1.0/24", "-j", "ACCEPT"])
    assert first == rules.rule_tag(["-s", "10.0.1.0/24", "-j", "ACCEPT"])
    assert first != rules.rule_tag(["-s", "10.0.1.0/24", "-j", "DROP"])
    assert first != rules.rule_tag(["-s", "10.0.1.0/2", "4-j", "ACCEPT"])
    assert len(first) == len("fakevpc:") + 12


def test_parse_table_and_find_tags_and_jumps():
    tag = rules.rule_tag(["-j", "ACCEPT"])
    table = rules.parse_table(
        "-P FORWARD DROP\n-N NVPC-FWD\n-N OTHER\n-A FORWARD -j NVPC-FWD\n-A FORWARD -j NVPC-FWD\n"
        "-A FORWARD -i eth1 -j NVPC-FWD\n-A OTHER -g NVPC-FWD\n"
        '-A NVPC-FWD -m comment --comment "%s" -j ACCEPT\n-A NVPC-FWD -j DROP\n' % tag)
    assert table["policies"] == {"FORWARD": "DROP"} and table["chains"] == ["NVPC-FWD", "OTHER"]
    assert [rules.tag_of(t) for t in table["rules"]["NVPC-FWD"]] == [tag, None]
    assert rules.plain_jumps(table, "NVPC-FWD") == {"FORWARD": 2}
    assert rules.other_references(table, "NVPC-FWD") == ["FORWARD: -i eth1 -j NVPC-FWD", "OTHER: -g NVPC-FWD"]


def test_a_comment_that_only_looks_like_a_tag_is_not_one():
    assert rules.tag_of(["-m", "comment", "--comment", "fakevpc:nothex"]) is None


@pytest.mark.parametrize("token, quoted", [("ACCEPT", "ACCEPT"), ("a b", '"a b"'), ('say "hi"', '"say \\"hi\\""'),
                                           ("", '""'), ("back\\slash", '"back\\\\slash"')])
def test_restore_quoting(token, quoted):
    assert rules.quote_restore(token) == quoted


def test_render_chain_present_and_absent():
    tokens = ["-j", "ACCEPT"]
    assert rules.render_chain("filter", "C", [tokens], add_jumps=["FORWARD"], delete_jumps=["INPUT"]) == (
        "*filter\n:C - [0:0]\n-F C\n-A C -j ACCEPT -m comment --comment %s\n-D INPUT -j C\n-I FORWARD 1 -j C\nCOMMIT\n"
        % rules.rule_tag(tokens))
    assert rules.render_chain("nat", "C", [], delete_jumps=["POSTROUTING"], delete_chain=True) == (
        "*nat\n-D POSTROUTING -j C\n-F C\n-X C\nCOMMIT\n")


def test_shell_lines_of_the_boot_scripts():
    assert rules.shell_jump("iptables", "nat", "PREROUTING", "FAKEVPC-SVC", ["-i", "wg vpc+"], netns="ns-a") == (
        "ip netns exec ns-a iptables -w -t nat -C PREROUTING -i 'wg vpc+' -j FAKEVPC-SVC >/dev/null 2>&1 || "
        "ip netns exec ns-a iptables -w -t nat -I PREROUTING 1 -i 'wg vpc+' -j FAKEVPC-SVC")
    assert rules.shell_restore("iptables-legacy-restore", "filter", [{"chain": "C1", "rules": ["-s 10.0.0.1 -j DROP"]},
                                                                     {"chain": "C2", "rules": []}]) == (
        "iptables-legacy-restore -w --noflush <<'EOF'\n"
        + rules.render_chain("filter", "C1", [["-s", "10.0.0.1", "-j", "DROP"]])
        + rules.render_chain("filter", "C2", []) + "EOF")
