# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One chain of ours as the netns_iptables module keeps it (read, compare, rewrite), and the
module's options: the module runs it, and the host_networks module asks it, in check mode, whether a recorded call
would change anything.

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

import json

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names
from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_rules as rules_lib
from ansible_collections.fakevpc.vpc.plugins.module_utils._calls import run_as_module
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_state import MISSING_NAMESPACE, Family, ReadOnce, family_callee
from ansible_collections.fakevpc.vpc.plugins.module_utils._state import State

# The tables a chain may be in.
TABLES = ("filter", "nat", "mangle", "raw")

# The options of one chain: the module's own, and those of each item of chains.
CHAIN_OPTIONS = dict(
    chain=dict(type="str", required=True),
    table=dict(type="str", choices=list(TABLES), default="filter"),
    rules=dict(type="list", elements="str", default=[]),
    jump_from=dict(type="list", elements="str", default=[]),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    namespace=dict(type="str"),
    remove_empty_table=dict(type="bool", default=False),
    remove_empty_builtin_chains=dict(type="bool", default=False),
)


class LiveTables:
    """What one call reads of iptables, read once: the backend of each namespace (None where the namespace does not
    exist), and each table of each namespace until something changes it."""

    def __init__(self, module, runner):
        self.module = module
        self.runner = runner
        self.iptables = rules_lib.IPTABLES_TOOLS[module.params["backend"]][0]
        self.reads = ReadOnce()

    def backend(self, netns):
        """nft or legacy; None when the namespace does not exist."""
        return self.reads.get(("backend", netns), lambda: self.read_backend(netns))

    def read_backend(self, netns):
        rc, stdout, stderr = self.runner.run(self.iptables, "--version", netns=netns, check_rc=False)
        if rc != 0 and netns and MISSING_NAMESPACE in stderr:
            return None
        if rc != 0:
            self.module.fail_json(msg="%s --version failed: %s" % (self.iptables, (stderr or stdout).strip()),
                                  rc=rc, stdout=stdout, stderr=stderr)
        return "legacy" if "legacy" in stdout else "nft"

    def table(self, netns, table):
        """The table as rules_lib.parse_table reads it."""
        return self.reads.get(("table", netns, table), lambda: rules_lib.parse_table(
            self.runner.run(self.iptables, "-w", "-t", table, "-S", netns=netns)[1]))

    def changed(self, netns, table):
        """The table was just changed: read it again when next asked."""
        self.reads.forget(("table", netns, table))


class OwnChain(State):
    """One chain of ours: read the table, compare, rewrite the chain when it differs."""

    def __init__(self, module, runner, live, params):
        super().__init__(module, runner, {"rules": [], "batch": "", "table_removed": False, "chains_removed": [],
                                          "backend": None}, params)
        self.live = live
        self.chain = params["chain"]
        self.table = params["table"]
        self.netns = params["namespace"]
        self.remove_empty_table = params["remove_empty_table"] and self.table not in module.params["keep_tables"]
        self.restore = rules_lib.IPTABLES_TOOLS[module.params["backend"]][1]
        self.diff_subject = "%s table %s chain %s" % (
            "namespace %s" % self.netns if self.netns else "host", self.table, self.chain)

    def run(self, tool, *args, **kwargs):
        return self.runner.run(tool, *args, netns=self.netns, **kwargs)

    def act_on_table(self, tool, *args, **kwargs):
        """Change the table (unless in check mode); what the call read of it is then stale."""
        self.act(tool, *args, netns=self.netns, **kwargs)
        self.live.changed(self.netns, self.table)

    # -- reading ------------------------------------------------------------------------------
    def namespace_missing(self):
        """The namespace is not there: nothing to remove; to add, only check mode can go on (it would be created)."""
        if self.params["state"] == "absent":
            self.add_diff(self.diff_subject, "", "")
            return
        if not self.module.check_mode:
            self.module.fail_json(msg="namespace %s does not exist" % self.netns)
        wanted = self.wanted_rules()
        self.changed = True
        self.result["rules"] = [rules_lib.display_rule(self.chain, tokens) for tokens in wanted]
        self.result["batch"] = rules_lib.render_chain(self.table, self.chain, wanted, self.params["jump_from"])
        self.add_diff(self.diff_subject, "", self.describe_wanted(wanted))

    def read_table(self):
        return self.live.table(self.netns, self.table)

    def confirmed(self, wanted):
        """Whether iptables finds every wanted rule in the chain, all asked in one iptables-restore: -C lines change
        nothing; the legacy backend evaluates them only with --test, the nft backend only without it."""
        test = ["--test"] if self.result["backend"] == "legacy" else []
        rc, _stdout, _stderr = self.run(self.restore, "-w", "--noflush", *test,
                                        data=rules_lib.render_checks(self.table, self.chain, wanted), check_rc=False)
        return rc == 0

    def wanted_rules(self):
        wanted, seen = [], set()
        for text in self.params["rules"]:
            try:
                tokens = rules_lib.split_rule(text)
            except rules_lib.RuleError as error:
                self.module.fail_json(msg="rules: %s" % error)
            key = tuple(tokens)
            if key in seen:
                self.module.fail_json(msg="rules: %r is listed twice" % text)
            seen.add(key)
            wanted.append(tokens)
        return wanted

    def jump_changes(self, table, wanted_sources):
        """(sources that need a jump, sources whose jump must go: one entry per rule to delete)."""
        jumps = rules_lib.plain_jumps(table, self.chain)
        add = [source for source in wanted_sources if not jumps.get(source)]
        delete = []
        for source, count in sorted(jumps.items()):
            delete += [source] * (count - 1 if source in wanted_sources else count)
        return add, delete

    # -- acting -------------------------------------------------------------------------------
    def apply(self, batch):
        self.result["batch"] = batch
        self.act_on_table(self.restore, "-w", "--noflush", data=batch)

    def ready(self):
        """Whether the namespace (or the host) is there to work in; when not, namespace_missing() has reported."""
        self.result["backend"] = self.live.backend(self.netns)
        if self.result["backend"] is None:
            self.namespace_missing()
            return False
        return True

    def present(self):
        if self.ready():
            self.keep()

    def absent(self):
        if self.ready():
            self.remove()

    def keep(self):
        wanted = self.wanted_rules()
        for source in self.params["jump_from"]:
            if source == self.chain:
                self.module.fail_json(msg="jump_from: %s cannot jump to itself" % source)
        table = self.read_table()
        exists = self.chain in table["chains"]
        live = table["rules"].get(self.chain, []) if exists else []
        add_jumps, delete_jumps = self.jump_changes(table, self.params["jump_from"])
        live_tags = [rules_lib.tag_of(tokens) for tokens in live]
        wanted_tags = [rules_lib.rule_tag(tokens) for tokens in wanted]
        rules_current = exists and live_tags == wanted_tags and (not wanted or self.confirmed(wanted))
        self.result["rules"] = [rules_lib.display_rule(self.chain, tokens) for tokens in wanted]
        if not rules_current:
            self.apply(rules_lib.render_chain(self.table, self.chain, wanted, add_jumps, delete_jumps))
        elif add_jumps or delete_jumps:
            self.apply(self.jumps_only_batch(add_jumps, delete_jumps))
        self.add_diff(self.diff_subject, self.describe_live(table, exists, live, wanted), self.describe_wanted(wanted))

    def jumps_only_batch(self, add_jumps, delete_jumps):
        lines = ["*%s" % self.table]
        lines += ["-D %s -j %s" % (source, self.chain) for source in delete_jumps]
        lines += ["-I %s 1 -j %s" % (source, self.chain) for source in add_jumps]
        return "\n".join(lines + ["COMMIT"]) + "\n"

    def remove(self):
        table = self.read_table()
        exists = self.chain in table["chains"]
        live = table["rules"].get(self.chain, []) if exists else []
        jumps = rules_lib.plain_jumps(table, self.chain)
        others = rules_lib.other_references(table, self.chain)
        if exists and others:
            self.module.fail_json(msg="chain %s is still used by rules this module did not add: %s"
                                  % (self.chain, "; ".join(others)))
        delete_jumps = []
        for source, count in sorted(jumps.items()):
            delete_jumps += [source] * count
        if exists:
            self.apply(rules_lib.render_chain(self.table, self.chain, [], delete_jumps=delete_jumps, delete_chain=True))
        elif delete_jumps:
            self.apply(self.jumps_only_batch([], delete_jumps))
        if self.remove_empty_table or self.params["remove_empty_builtin_chains"]:
            self.remove_table_if_empty(table)
        self.add_diff(self.diff_subject, self.describe_live(table, exists, live, []), "")

    def remove_table_if_empty(self, table):
        if self.result["backend"] != "nft":
            return
        if not self.runner.binary("nft", required=False):
            self.module.warn("nft is not installed: the empty %s table is left in place" % self.table)
            return
        rc, stdout, _stderr = self.run("nft", "-j", "list", "table", "ip", self.table, check_rc=False)
        if rc != 0:
            return  # the table does not exist
        if not self.module.check_mode:
            table = self.read_table()
        empty_builtins = self.empty_builtin_chains(stdout) if self.params["remove_empty_builtin_chains"] else []
        chains_left = [name for name in self.nft_chains(stdout) if name != self.chain and name not in empty_builtins]
        bare = self.nft_table_is_bare(stdout)
        if bare and ((self.params["remove_empty_builtin_chains"] and not chains_left)
                     or (self.remove_empty_table and not self.left_after_removal(table))):
            self.result["table_removed"] = True
            self.act_on_table("nft", "delete", "table", "ip", self.table)
            return
        for name in empty_builtins:
            self.result["chains_removed"].append(name)
            self.act_on_table("nft", "delete", "chain", "ip", self.table, name)

    @staticmethod
    def nft_objects(listing):
        try:
            return json.loads(listing).get("nftables", [])
        except ValueError:
            return []

    def nft_chains(self, listing):
        return [item["chain"]["name"] for item in self.nft_objects(listing) if "chain" in item]

    def empty_builtin_chains(self, listing):
        """The built-in chains of jump_from with policy accept that hold no rule once our jumps are gone."""
        objects = self.nft_objects(listing)
        used = set(item["rule"].get("chain") for item in objects if "rule" in item and not self.is_ours(item["rule"]))
        return [item["chain"]["name"] for item in objects
                if "chain" in item and "hook" in item["chain"] and item["chain"].get("policy", "accept") == "accept"
                and item["chain"]["name"] in self.params["jump_from"] and item["chain"]["name"] not in used]

    def left_after_removal(self, table):
        """What iptables would still show in the table once our chain and jumps are gone."""
        left = [chain for chain in table["chains"] if chain != self.chain]
        left += ["-P %s %s" % (chain, policy) for chain, policy in table["policies"].items() if policy != "ACCEPT"]
        for chain, rules in table["rules"].items():
            if chain == self.chain:
                continue
            left += [" ".join(tokens) for tokens in rules if tokens != ["-j", self.chain]]
        return left

    def nft_table_is_bare(self, listing):
        """True when the nft table holds nothing but chains (no rule, set, map...) once ours is gone."""
        try:
            objects = json.loads(listing).get("nftables", [])
        except ValueError:
            return False
        for item in objects:
            kind = next(iter(item), None)
            if kind in ("metainfo", "table", "chain"):
                continue
            if kind == "rule" and self.is_ours(item["rule"]):
                continue
            return False
        return True

    def is_ours(self, rule):
        """A rule of our chain, or a plain jump to it (still there in check mode)."""
        if rule.get("chain") == self.chain:
            return True
        expressions = [expr for expr in rule.get("expr", []) if "counter" not in expr]
        return expressions == [{"jump": {"target": self.chain}}]

    # -- diff ---------------------------------------------------------------------------------
    def describe_live(self, table, exists, live, wanted):
        if not exists and not rules_lib.plain_jumps(table, self.chain):
            return ""
        by_tag = dict((rules_lib.rule_tag(tokens), tokens) for tokens in wanted)
        lines = ["-N %s" % self.chain] if exists else []
        for tokens in live:
            tag = rules_lib.tag_of(tokens)
            if tag in by_tag:
                lines.append(rules_lib.display_rule(self.chain, by_tag[tag]))
            else:
                lines.append(rules_lib.display_live_rule(self.chain, tokens))
        for source, count in sorted(rules_lib.plain_jumps(table, self.chain).items()):
            lines += ["-A %s -j %s" % (source, self.chain)] * count
        return "\n".join(lines) + "\n"

    def describe_wanted(self, wanted):
        lines = ["-N %s" % self.chain] + [rules_lib.display_rule(self.chain, tokens) for tokens in wanted]
        lines += ["-A %s -j %s" % (source, self.chain) for source in sorted(self.params["jump_from"])]
        return "\n".join(lines) + "\n"


def chain_problem(params):
    """What is wrong with the names of one chain, or None."""
    if not names.is_chain_name(params["chain"]):
        return "chain: %r is not a user chain name (1 to 28 letters, digits, '_', '-'; not a built-in chain)" % params["chain"]
    if params["namespace"] is not None and not names.is_namespace_name(params["namespace"]):
        return "namespace: %r is not a namespace name" % params["namespace"]
    return None


# The netns_iptables module: one chain (its own options) or a batch (chains).
CHAINS = Family(
    key="chains", name_key="chain", options=CHAIN_OPTIONS, problem=chain_problem, read=LiveTables, state=OwnChain,
    spec=dict(CHAIN_OPTIONS, chain=dict(type="str"), chains=dict(type="list", elements="dict"),
              backend=dict(type="str", choices=["auto", "nft", "legacy"], default="auto"),
              keep_tables=dict(type="list", elements="str", default=[])),
    required_one_of=[("chain", "chains")],
    mutually_exclusive=[("chains", option) for option in ("chain", "namespace")],
)

CHAINS_CALLEE = family_callee(CHAINS)


def main():
    """The netns_iptables module."""
    run_as_module(CHAINS_CALLEE)
