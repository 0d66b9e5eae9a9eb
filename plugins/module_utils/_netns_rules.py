# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""iptables rules kept in chains of our own: tags, parsing of ``iptables -S``, restore batches, and the lines of
the shell scripts that load them at boot (pure).

A private module of the fakevpc.vpc collection: its interface may change without notice.

Every rule we add carries a comment ``fakevpc:<hash>`` where the hash covers the rule's
arguments. ``iptables -S`` prints rules in its own normal form (``-d 10.0.0.2`` becomes
``-d 10.0.0.2/32``, ``-p tcp --dport 80`` gains ``-m tcp``), so live rules are recognised
by their tag, in order, and then confirmed with ``-C`` lines, all in one
``iptables-restore`` (iptables compares them itself). A chain that differs in any way is rewritten whole, in one
``iptables-restore --noflush`` transaction, so its order is exactly the wanted order and
no packet ever sees a half-written chain.
"""

from __future__ import annotations

import hashlib
import re
import shlex

TAG_PREFIX = "fakevpc:"
# The iptables and iptables-restore that each backend choice runs.
IPTABLES_TOOLS = {
    "auto": ("iptables", "iptables-restore"),
    "nft": ("iptables-nft", "iptables-nft-restore"),
    "legacy": ("iptables-legacy", "iptables-legacy-restore"),
}
_TAG = re.compile(r"fakevpc:[0-9a-f]{12}")


class RuleError(ValueError):
    pass


def split_rule(text):
    """The arguments of one rule written as a command line fragment (shell quoting)."""
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        raise RuleError("cannot parse rule %r: %s" % (text, error))
    if not tokens:
        raise RuleError("empty rule")
    for token in tokens:
        if token in ("-A", "--append", "-I", "--insert", "-D", "--delete", "-C", "--check", "-t", "--table"):
            raise RuleError("rule %r: give only matches and a target, not %s" % (text, token))
        if "\n" in token:
            raise RuleError("rule %r: newline in an argument" % text)
    return tokens


def rule_tag(tokens):
    """The comment that identifies this rule: fakevpc:<12 hex digits of sha256 of its arguments>."""
    digest = hashlib.sha256("\0".join(tokens).encode("utf-8")).hexdigest()[:12]
    return TAG_PREFIX + digest


def tagged(tokens):
    """The rule's arguments followed by its tag comment (what is added and what -C checks)."""
    return list(tokens) + ["-m", "comment", "--comment", rule_tag(tokens)]


def parse_table(text):
    """Parse ``iptables -t TABLE -S``: {'policies': {chain: policy}, 'chains': [user chains], 'rules': {chain: [tokens]}}."""
    table = {"policies": {}, "chains": [], "rules": {}}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        tokens = shlex.split(line)
        if tokens[0] == "-P" and len(tokens) >= 3:
            table["policies"][tokens[1]] = tokens[2]
            table["rules"].setdefault(tokens[1], [])
        elif tokens[0] == "-N" and len(tokens) >= 2:
            table["chains"].append(tokens[1])
            table["rules"].setdefault(tokens[1], [])
        elif tokens[0] == "-A" and len(tokens) >= 2:
            table["rules"].setdefault(tokens[1], []).append(tokens[2:])
    return table


def tag_of(tokens):
    """The fakevpc tag of a live rule, or None."""
    for position, token in enumerate(tokens[:-1]):
        if token == "--comment" and _TAG.fullmatch(tokens[position + 1]):
            return tokens[position + 1]
    return None


def jump_target(tokens):
    for position, token in enumerate(tokens[:-1]):
        if token in ("-j", "--jump", "-g", "--goto"):
            return tokens[position + 1]
    return None


def plain_jumps(table, chain):
    """{chain: count} of the plain jumps ``-A X -j CHAIN`` to chain (the ones this collection adds)."""
    found = {}
    for source, rules in table["rules"].items():
        for tokens in rules:
            if tokens == ["-j", chain]:
                found[source] = found.get(source, 0) + 1
    return found


def other_references(table, chain):
    """Rules, other than plain jumps, that jump or go to chain: ['SOURCE: rule', ...]."""
    found = []
    for source, rules in table["rules"].items():
        for tokens in rules:
            if tokens != ["-j", chain] and jump_target(tokens) == chain and source != chain:
                found.append("%s: %s" % (source, " ".join(tokens)))
    return found


def quote_restore(token):
    """Quote an argument for iptables-restore, which understands double quotes only."""
    if token and not re.search(r'[\s"\'\\]', token):
        return token
    return '"%s"' % token.replace("\\", "\\\\").replace('"', '\\"')


def restore_line(command, chain, tokens):
    return " ".join([command, chain] + [quote_restore(token) for token in tokens])


def render_chain(table, chain, rules, add_jumps=(), delete_jumps=(), delete_chain=False):
    """An iptables-restore --noflush batch for one table.

    Present (delete_chain False): declare (and so flush) chain, append every rule tagged,
    insert the missing jumps at position 1, delete the unwanted ones.
    Absent: delete the jumps, flush and delete the chain.
    """
    lines = ["*%s" % table]
    if delete_chain:
        lines += ["-D %s -j %s" % (source, chain) for source in delete_jumps]
        lines += ["-F %s" % chain, "-X %s" % chain]
    else:
        lines.append(":%s - [0:0]" % chain)
        lines.append("-F %s" % chain)
        lines += [restore_line("-A", chain, tagged(tokens)) for tokens in rules]
        lines += ["-D %s -j %s" % (source, chain) for source in delete_jumps]
        lines += ["-I %s 1 -j %s" % (source, chain) for source in add_jumps]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def render_checks(table, chain, rules):
    """An iptables-restore batch that asks, with -C, whether each rule (tagged) is in chain; it changes nothing."""
    lines = ["*%s" % table] + [restore_line("-C", chain, tagged(tokens)) for tokens in rules] + ["COMMIT"]
    return "\n".join(lines) + "\n"


def display_rule(chain, tokens):
    """How a wanted rule is shown in a diff: as given, with its tag."""
    return " ".join(["-A", chain] + [shlex.quote(token) for token in tagged(tokens)])


def display_live_rule(chain, tokens):
    return " ".join(["-A", chain] + [shlex.quote(token) for token in tokens])


# -- shell scripts -------------------------------------------------------------------------------
# The boot scripts (netns_vpc's, and the iptables mode's of vpc_service) load chains with these lines: the same
# tagged rules as the module adds, so that a run after a boot finds nothing to change.

def shell_restore(restore_tool, table, chains, netns=None):
    """A shell command loading chains (each {'chain', 'rules'}) of table with one iptables-restore --noflush (atomic
    for the table): each declared (and so flushed) with its rules, tagged, in a quoted here-document."""
    batch = "".join(render_chain(table, chain["chain"], [split_rule(rule) for rule in chain["rules"]])
                    for chain in chains)
    return "%s%s -w --noflush <<'EOF'\n%sEOF" % (_in_netns(netns), restore_tool, batch)


def shell_jump(iptables, table, source, chain, matches=(), netns=None):
    """A shell command inserting the jump ``-I SOURCE 1 MATCHES -j CHAIN`` unless iptables -C finds it."""
    command = "%s%s -w -t %s" % (_in_netns(netns), iptables, table)
    check, insert = jump_rule(source, chain, matches), jump_rule(source, chain, matches, position=1)
    return "%s -C %s >/dev/null 2>&1 || %s -I %s" % (command, check, command, insert)


def jump_rule(source, chain, matches=(), position=None):
    """``SOURCE [POSITION] MATCHES -j CHAIN``, each word quoted for the shell."""
    words = [source] + ([str(position)] if position else []) + list(matches) + ["-j", chain]
    return " ".join(shlex.quote(word) for word in words)


def _in_netns(netns):
    return "ip netns exec %s " % shlex.quote(netns) if netns else ""
