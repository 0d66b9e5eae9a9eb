#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: hosts_block
short_description: Keep one marked block of names in the hosts file and in cloud-init's hosts templates
version_added: 0.1.0
description:
  - Keeps the lines between two marker lines in O(path) equal to O(lines), as M(ansible.builtin.blockinfile)
    does (the block is replaced where it is, or added at the end), and the same block in every
    C(hosts.*.tmpl) file of O(templates_dir).
  - "With cloud-init's C(manage_etc_hosts: true), cloud-init renders the hosts file from C(hosts.<OS family>.tmpl)
    at every boot: the same block in every such template keeps the names across reboots."
  - Every file in one call; a file is rewritten only when its block differs.
  - A file that cannot be replaced by a rename (a bind mount, as C(/etc/hosts) is in a network namespace) is
    rewritten in place.
options:
  path:
    description: The hosts file.
    type: path
    default: /etc/hosts
  lines:
    description: The lines of the block. An empty list removes the block, as O(state=absent) does.
    type: list
    elements: str
    default: []
  marker:
    description: The marker lines, C({mark}) replaced by C(BEGIN) and C(END).
    type: str
    default: "# {mark} fakevpc.vpc"
  state:
    description: Whether the block should be there.
    type: str
    choices: [present, absent]
    default: present
  templates_dir:
    description:
      - cloud-init's templates directory (C(/etc/cloud/templates) on Debian and Ubuntu). Each C(hosts.*.tmpl) file
        in it gets the same block. A missing directory is not an error (no cloud-init).
      - When omitted, only O(path) is managed.
    type: path
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  diff_mode:
    details: One before/after diff for each file that changes.
seealso:
  - module: ansible.builtin.blockinfile
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Name the VPC's servers as seen from server 2, here and in cloud-init's templates
  fakevpc.vpc.hosts_block:
    marker: "# {mark} fakevpc.vpc wg_mesh"
    lines:
      - 127.0.0.1 server2 server2.vpc.internal
      - 192.168.1.1 server1 server1.vpc.internal
      - 192.168.2.3 server3 server3.vpc.internal
    templates_dir: /etc/cloud/templates

- name: Remove the block
  fakevpc.vpc.hosts_block:
    marker: "# {mark} fakevpc.vpc wg_mesh"
    state: absent
    templates_dir: /etc/cloud/templates
"""

RETURN = r"""
changed_files:
  description: The files whose block was (or, in check mode, would be) written or removed.
  returned: always
  type: list
  elements: str
  sample: [/etc/hosts, /etc/cloud/templates/hosts.debian.tmpl]
"""

import glob
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fakevpc.vpc.plugins.module_utils._files import replace_file


def with_block(text, begin, end, block_lines):
    """text with the lines from begin to end replaced by the block (begin, block_lines, end), or the block added
    at the end when there is none; an empty block_lines removes it."""
    lines = text.splitlines(True)
    stripped = [line.rstrip("\r\n") for line in lines]
    block = ["%s\n" % line for line in [begin] + block_lines + [end]] if block_lines else []
    if begin in stripped and end in stripped[stripped.index(begin):]:
        first = stripped.index(begin)
        last = stripped.index(end, first)
        lines[first:last + 1] = block
    elif block:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines += block
    return "".join(lines)


def read(path):
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return handle.read()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/hosts"),
            lines=dict(type="list", elements="str", default=[]),
            marker=dict(type="str", default="# {mark} fakevpc.vpc"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            templates_dir=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if "{mark}" not in params["marker"]:
        module.fail_json(msg="marker: %r has no {mark}" % params["marker"])
    for position, line in enumerate(params["lines"]):
        if "\n" in line or "\r" in line:
            module.fail_json(msg="lines[%d]: %r spans several lines" % (position, line))
    begin, end = params["marker"].replace("{mark}", "BEGIN"), params["marker"].replace("{mark}", "END")
    block_lines = params["lines"] if params["state"] == "present" else []

    paths = [params["path"]]
    if params["templates_dir"]:
        paths += sorted(glob.glob(os.path.join(glob.escape(params["templates_dir"]), "hosts.*.tmpl")))
    changed_files, diffs = [], []
    for path in paths:
        before = read(path)
        if before is None and not block_lines:
            continue
        after = with_block(before or "", begin, end, block_lines)
        if after == before:
            continue
        changed_files.append(path)
        diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": after})
        if not module.check_mode:
            # Keeping the file's mode and owner; in place when it is a mount point (as in `ip netns exec`).
            replace_file(path, after, mode=None, module=module, unsafe_writes=True)
    result = {"changed": bool(changed_files), "changed_files": changed_files}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
