#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: batch
short_description: Run several calls of this collection's host modules in order, in one module run
version_added: 0.3.0
description:
  - Runs each of O(calls) in turn, in one Python process on the target, as that module would run in a task of its own
    with the same options - the same validation of its options against its own argument spec, reads, comparisons and
    changes, in check mode when the task is, with its diff when the task asks for one. A host where a module run
    costs seconds (a small VM) pays that once instead of once per call.
  - The first call that fails stops the batch; the calls before it keep what they changed (as tasks before a failed
    one do), and the message names the failed call by its position and module.
requirements:
  - What each called module requires.
options:
  calls:
    description: The calls, in the order they run.
    type: list
    elements: dict
    required: true
    suboptions:
      module:
        description: The module to call, by its fully qualified name.
        type: str
        required: true
        choices:
          - fakevpc.vpc.netns
          - fakevpc.vpc.netns_host_settings
          - fakevpc.vpc.netns_iptables
          - fakevpc.vpc.netns_link
          - fakevpc.vpc.systemd_units
      options:
        description: The options of the call, as they would be given to that module in a task.
        type: dict
        default: {}
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  check_mode:
    details: Each call runs in check mode, as it would in a task of its own.
  diff_mode:
    details: The diffs of the calls, in order.
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Make two namespaces and a bridge, and put a veth pair between the bridge and each namespace
  fakevpc.vpc.batch:
    calls:
      - module: fakevpc.vpc.netns
        options:
          names: [ns-web, ns-db]
      - module: fakevpc.vpc.netns_link
        options:
          links:
            - {name: br-app, kind: bridge, addresses: [10.10.0.1/24]}
            - {name: v-web, kind: veth, peer: {name: eth0, namespace: ns-web}, master: br-app}
            - {name: eth0, namespace: ns-web, kind: veth, addresses: [10.10.0.2/24], routes: [{dst: default, via: 10.10.0.1}]}
            - {name: v-db, kind: veth, peer: {name: eth0, namespace: ns-db}, master: br-app}
            - {name: eth0, namespace: ns-db, kind: veth, addresses: [10.10.0.3/24], routes: [{dst: default, via: 10.10.0.1}]}
"""

RETURN = r"""
calls:
  description:
    - The result of each call that ran, in order - what that module returns (without its diff), with C(module) and
      C(changed).
    - When a call fails, those of the calls before it.
  returned: always
  type: list
  elements: dict
  sample: [{"module": "fakevpc.vpc.netns", "changed": true, "namespaces": [{"existed": false}]}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fakevpc.vpc.plugins.module_utils._calls import CallFailed, call
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_chain import CHAINS_CALLEE
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_link import LINKS_CALLEE
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_namespace import NAMESPACES_CALLEE
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_settings import HOST_SETTINGS_CALLEE
from ansible_collections.fakevpc.vpc.plugins.module_utils._systemd_units import SYSTEMD_UNITS_CALLEE

CALLEES = {
    "fakevpc.vpc.netns": NAMESPACES_CALLEE,
    "fakevpc.vpc.netns_host_settings": HOST_SETTINGS_CALLEE,
    "fakevpc.vpc.netns_iptables": CHAINS_CALLEE,
    "fakevpc.vpc.netns_link": LINKS_CALLEE,
    "fakevpc.vpc.systemd_units": SYSTEMD_UNITS_CALLEE,
}


def main():
    module = AnsibleModule(
        argument_spec=dict(calls=dict(type="list", elements="dict", required=True, options=dict(
            module=dict(type="str", required=True, choices=sorted(CALLEES)),
            options=dict(type="dict", default={}),
        ))),
        supports_check_mode=True,
    )
    results, diffs = [], []
    for position, wanted in enumerate(module.params["calls"]):
        try:
            result = call(module, CALLEES[wanted["module"]], wanted["options"])
        except CallFailed as failed:
            module.fail_json(**dict(failed.details, calls=results,
                                    changed=bool(failed.details.get("changed")) or any(r["changed"] for r in results),
                                    msg="calls[%d] (%s): %s" % (position, wanted["module"], failed.msg)))
        diff = result.pop("diff", None)
        diffs += diff if isinstance(diff, list) else [diff] if diff else []
        results.append(dict(result, module=wanted["module"], changed=bool(result.get("changed"))))
    outcome = {"calls": results, "changed": any(result["changed"] for result in results)}
    if module._diff:
        outcome["diff"] = diffs
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
