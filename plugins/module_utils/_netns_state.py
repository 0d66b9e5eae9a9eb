# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the netns modules share: their State things run one (the module's own options) or a batch (a list option) in
one call (a Family, a Callee of _calls), and what a call reads kept once (ReadOnce).

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

from collections import namedtuple

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.fakevpc.vpc.plugins.module_utils._calls import Callee
from ansible_collections.fakevpc.vpc.plugins.module_utils._command import CommandRunner

# What ip (and so ip netns exec) prints when the named namespace does not exist.
MISSING_NAMESPACE = "Cannot open network namespace"

# A batch module's family of things: its list option (key) of things, each with the options of one thing (options),
# named by name_key and checked by problem(params) (a message or None); read(module, runner) reads the host once for
# a call, state(module, runner, live, params) is one thing's State; spec, required_one_of and mutually_exclusive are
# the module's argument spec.
Family = namedtuple("Family", "key name_key options problem read state spec required_one_of mutually_exclusive")


class ReadOnce:
    """What one call reads of the system, each read once by key, again only after the call forgot it (it changed what
    the read returned)."""

    def __init__(self):
        self.kept = {}

    def get(self, key, read):
        """The value read() returned for key, read now unless kept."""
        if key not in self.kept:
            self.kept[key] = read()
        return self.kept[key]

    def forget(self, key=None):
        """Read key again when next asked; every key when None."""
        if key is None:
            self.kept.clear()
        else:
            self.kept.pop(key, None)


def batch_params(module, key, options, name_key, problem):
    """The options of each item of the module's list option key, validated against options (those of one thing, with
    their defaults), then by problem(params), a message or None; the module fails naming the item."""
    validator = ArgumentSpecValidator(options)
    items = []
    for position, item in enumerate(module.params[key]):
        checked = validator.validate(item)
        message = "; ".join(checked.error_messages) or problem(checked.validated_parameters)
        if message:
            module.fail_json(msg="%s[%d] (%s): %s" % (key, position, item.get(name_key), message))
        items.append(checked.validated_parameters)
    return items


def family_callee(family):
    """Family's module as a Callee (_calls): its argument spec, and its things run one or as a batch."""
    return Callee(family.spec, family.required_one_of, family.mutually_exclusive,
                  lambda module: run_one_or_batch(module, family))


def run_one_or_batch(module, family):
    """Run the module's one thing (its own options), or each item of its list option: each the State of one thing,
    with one command runner and one read of the host for all of them. Exits."""
    runner = CommandRunner(module)
    live = family.read(module, runner)

    def make(params):
        return family.state(module, runner, live, params)

    if module.params[family.key] is not None:
        run_batch(module, [make(params) for params in batch_params(
            module, family.key, family.options, family.name_key, family.problem)], family.key)
    message = family.problem(module.params)
    if message:
        module.fail_json(msg=message)
    make(module.params).run_and_exit()


def run_batch(module, things, key):
    """Bring about the state of each thing in turn (each a State with its own params) and exit once, with every
    thing's result in a list under key, the commands of all of them in order (when they report commands), and one diff
    joining theirs."""
    changed, results, commands, before, after = False, [], [], [], []
    for thing in things:
        thing.bring_about()
        changed = changed or thing.changed
        diff = thing.result.pop("diff", None)
        if diff:
            before.append(diff["before"])
            after.append(diff["after"])
        commands += thing.result.get("commands", [])
        results.append(thing.result)
    result = {key: results}
    if any("commands" in item for item in results):
        result["commands"] = commands
    if module._diff:
        result["diff"] = {"before": "".join(before), "after": "".join(after)}
    module.exit_json(changed=changed, **result)
