#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netns_iptables
short_description: Keep iptables chains of our own, on the host or inside network namespaces
version_added: 0.1.0
description:
  - Manages one user-defined chain as a whole - exactly the rules given, in that order - and the plain
    jumps C(-j CHAIN) that lead to it from built-in chains. Rules of other chains are never touched, so
    removing the chain removes exactly what this module added.
  - Every rule gets a comment C(fakevpc:<hash of its arguments>). Live rules are recognised by that tag, in
    order, then confirmed together with C(iptables -C) lines in one C(iptables-restore --noflush) (which checks and
    changes nothing), so a rerun adds nothing twice.
  - A call reads each namespace's backend once, and each table once (again after it changed it).
  - A chain that differs in any way is rewritten whole in one C(iptables-restore --noflush) transaction
    (atomic for the table); a missing jump is inserted at position 1 of its built-in chain.
  - With O(namespace), every command runs inside that network namespace (C(ip netns exec)). A namespace that
    does not exist has no chain to remove; in check mode, the chain is reported as to be created in it.
  - With O(chains), a host's whole set of chains (on the host and in its namespaces) in one call, in order.
requirements:
  - C(iptables) and C(iptables-restore) (nft or legacy) on the target; C(ip) with O(namespace);
    C(nft) with O(remove_empty_table) or O(remove_empty_builtin_chains).
options:
  chain:
    description:
      - The user-defined chain, at most 28 characters, not a built-in chain name.
      - One of O(chain) and O(chains) is required.
    type: str
  chains:
    description:
      - Several chains in one call, in order, each a mapping of the options of one chain (O(chain), O(table),
        O(rules), O(jump_from), O(state), O(namespace), O(remove_empty_table), O(remove_empty_builtin_chains)),
        with the same defaults; O(backend) and O(keep_tables) apply to all. The other options of the task are
        then not given.
    type: list
    elements: dict
    version_added: 0.3.0
  keep_tables:
    description:
      - Tables that O(remove_empty_table) never deletes, whatever a chain asks - those that existed before the
        chains were first added (as M(fakevpc.vpc.netns_host_settings) remembers them).
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  table:
    description: The table of the chain.
    type: str
    choices: [filter, nat, mangle, raw]
    default: filter
  rules:
    description:
      - Every rule of the chain, in order; each is the matches and the target of one rule as a command
        line fragment, without C(-A CHAIN), for example C(-s 10.0.1.0/24 -o eth0 -j MASQUERADE).
      - Two identical rules are refused.
    type: list
    elements: str
    default: []
  jump_from:
    description:
      - Built-in chains of O(table) that jump to O(chain) (C(-j CHAIN) inserted at position 1). Plain jumps
        to O(chain) from chains not listed, and duplicates, are deleted.
    type: list
    elements: str
    default: []
  state:
    description: V(absent) deletes the jumps and the chain.
    type: str
    choices: [present, absent]
    default: present
  namespace:
    description: The named network namespace (C(ip netns)) to work in; the host's when omitted.
    type: str
  backend:
    description:
      - Which iptables to run. V(auto) runs C(iptables) (whatever it points to); V(nft) and V(legacy) run
        C(iptables-nft) and C(iptables-legacy). Never mix the two backends in one namespace.
    type: str
    choices: [auto, nft, legacy]
    default: auto
  remove_empty_table:
    description:
      - With O(state=absent) and the nft backend, delete the table itself when nothing is left in it (no rule,
        no other chain, no set), so that C(iptables-save) prints what it printed before the table was first
        used. Only ask for this when the table did not exist before you added the chain.
      - The legacy backend cannot remove a table; this option then does nothing.
    type: bool
    default: false
  remove_empty_builtin_chains:
    description:
      - With O(state=absent) and the nft backend, delete the built-in chains of O(jump_from) that are left with no
        rule and policy C(accept) once the jumps are gone (C(iptables-nft) creates a built-in chain when a rule is
        first added to it), and then the table when no chain and nothing else is left in it, whether or not it
        existed before. An empty built-in chain with policy C(accept) has no effect on any packet.
      - The legacy backend cannot remove a chain it has built in; this option then does nothing.
    type: bool
    default: false
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  diff_mode:
    details: The chain's rules and jumps, before and after.
notes:
  - IPv4 only (C(iptables)); the comment match needs the C(xt_comment) kernel module, present in every
    distribution kernel.
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Masquerade a public subnet out of the uplink
  fakevpc.vpc.netns_iptables:
    table: nat
    chain: NVPC-POSTROUTING
    jump_from: [POSTROUTING]
    rules:
      - -s 10.0.1.0/24 -o eth0 -j MASQUERADE

- name: Refuse SSH inside a subnet's namespace, allow HTTP
  fakevpc.vpc.netns_iptables:
    namespace: ns-my-vpc-public
    chain: NVPC-INPUT
    jump_from: [INPUT]
    rules:
      - -i lo -j ACCEPT
      - -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
      - -p tcp -m tcp --dport 80 -j ACCEPT
      - -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset

- name: A host's chains and its namespaces' in one call
  fakevpc.vpc.netns_iptables:
    chains:
      - {table: nat, chain: NVPC-POSTROUTING, jump_from: [POSTROUTING], rules: [-s 10.0.1.0/24 -o eth0 -j MASQUERADE]}
      - {namespace: ns-my-vpc-public, chain: NVPC-INPUT, jump_from: [INPUT], rules: [-i lo -j ACCEPT, -j REJECT]}

- name: Remove the chain, and the nat table if it was created for it
  fakevpc.vpc.netns_iptables:
    table: nat
    chain: NVPC-POSTROUTING
    state: absent
    remove_empty_table: true
"""

RETURN = r"""
chains:
  description: With O(chains), the result of each chain in order (RV(backend), RV(rules), RV(batch), RV(table_removed), RV(chains_removed)).
  returned: with O(chains)
  type: list
  elements: dict
  version_added: 0.3.0
backend:
  description: The backend of the iptables that ran, C(nft) or C(legacy); null when the namespace does not exist.
  returned: with O(chain)
  type: str
  sample: nft
rules:
  description: The wanted rules as added, C(-A CHAIN ...) with their tags; empty with O(state=absent).
  returned: with O(chain)
  type: list
  elements: str
batch:
  description: The C(iptables-restore --noflush) input that was (or in check mode would be) applied; empty when nothing changed.
  returned: with O(chain)
  type: str
table_removed:
  description: Whether the (empty) table was, or in check mode would be, deleted.
  returned: with O(chain)
  type: bool
chains_removed:
  description: The empty built-in chains that were, or in check mode would be, deleted (O(remove_empty_builtin_chains)).
  returned: with O(chain)
  type: list
  elements: str
"""

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_chain import main

if __name__ == "__main__":
    main()
