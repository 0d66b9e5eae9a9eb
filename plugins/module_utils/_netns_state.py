# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the netns modules share: their State things run one (the module's own options) or a batch (a list option) in
one call (a Family), what a call reads kept once (ReadOnce), and asking another module's call, in check mode, whether
a batch would change anything (would_change).

A private module of the fakevpc.vpc collection: its interface may change without notice.
"""

from __future__ import annotations

from collections import namedtuple

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
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


def run_module(family):
    """The main() of family's module: its arguments, then its things (run_one_or_batch). Exits."""
    run_one_or_batch(AnsibleModule(argument_spec=family.spec, required_one_of=family.required_one_of,
                                   mutually_exclusive=family.mutually_exclusive, supports_check_mode=True), family)


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


class WouldFail(Exception):
    """The call asked about (would_change) would fail: that call itself says why."""


class CheckOnly:
    """A module as the things of a batch see it when another module's call asks whether they would change anything:
    check mode, no diff, the options of the call asked about (with their defaults), the asking module's tools; a
    failure raises WouldFail."""

    check_mode = True
    _diff = False

    def __init__(self, module, family, params):
        self.module = module
        checked = ArgumentSpecValidator(family.spec).validate(params)
        if checked.error_messages or params.get(family.key) is None:
            raise WouldFail("; ".join(checked.error_messages) or "no %s" % family.key)
        self.params = checked.validated_parameters

    def fail_json(self, msg, **_details):
        raise WouldFail(msg)

    def warn(self, warning):
        """A warning is the call's own to give when it runs."""

    def run_command(self, *args, **kwargs):
        return self.module.run_command(*args, **kwargs)

    def get_bin_path(self, name, required=False):
        path = self.module.get_bin_path(name, required=False)
        if path is None and required:
            raise WouldFail("%s is not installed" % name)
        return path


def would_change(module, family, params):
    """Whether a call of family's module with params (its options, its list of things given) would change anything now,
    or fail: the reads and comparisons of that call, in check mode, from the call of module."""
    try:
        check = CheckOnly(module, family, params)
        runner = CommandRunner(check)
        live = family.read(check, runner)
        for item in batch_params(check, family.key, family.options, family.name_key, family.problem):
            thing = family.state(check, runner, live, item)
            thing.bring_about()
            if thing.changed:
                return True
    except WouldFail:
        return True
    return False


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
