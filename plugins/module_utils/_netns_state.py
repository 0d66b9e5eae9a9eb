# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The base of the netns modules: a State whose O(state) says which of present() and absent() to run, one or a batch.

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.fakevpc.vpc.plugins.module_utils._state import State

# What ip (and so ip netns exec) prints when the named namespace does not exist.
MISSING_NAMESPACE = "Cannot open network namespace"


class NetnsState(State):
    def run_and_exit(self):
        """Bring about the state the module's O(state) asks for, and exit with the result."""
        if self.params["state"] == "present":
            self.present()
        else:
            self.absent()
        self.module.exit_json(changed=self.changed, **self.result)


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


def run_one_or_batch(module, key, options, name_key, problem, make):
    """Run the module's one thing (its own options), or each item of its list option key; make(params) is the
    NetnsState of one thing; problem(params) as for batch_params. Exits."""
    if module.params[key] is not None:
        run_batch(module, [make(params) for params in batch_params(module, key, options, name_key, problem)], key)
    message = problem(module.params)
    if message:
        module.fail_json(msg=message)
    make(module.params).run_and_exit()


def run_batch(module, things, key):
    """Bring about the state of each thing in turn (each a NetnsState with its own params) and exit once, with every
    thing's result in a list under key, the commands of all of them in order (when they report commands), and one diff
    joining theirs."""
    changed, results, commands, before, after = False, [], [], [], []
    for thing in things:
        thing.present() if thing.params["state"] == "present" else thing.absent()
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
