#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netns
short_description: Create or delete named network namespaces, matched by their exact names
version_added: 0.1.0
description:
  - Creates the named network namespace (C(ip netns add)) when it is missing and brings its loopback up;
    deletes it with O(state=absent). With O(names), every namespace of the list, in one call.
  - The namespace is found by its exact name in C(ip -j netns list), never by a substring, so C(web) and
    C(web2) are different namespaces. Nothing is reported as changed unless something was, or in check mode
    would be, done.
  - A namespace in which processes still run is not deleted, since the namespace would live on with them,
    and so would its interfaces. The module fails and lists their PIDs, unless O(kill_processes) is set.
    Processes are found by the namespace they are in (C(ip netns pids)), never by their name.
  - The kernel tears a deleted namespace down after C(ip netns delete) returns, and with it the host's ends of its
    veth pairs. The module returns once those ends are gone (at most 30 seconds), so that what comes next (the
    same veth made again, a listing of the host's links) never finds them.
requirements:
  - C(ip) (iproute2) on the target.
options:
  name:
    description: The namespace name, as in C(ip netns list). One of O(name) and O(names) is required.
    type: str
  names:
    description:
      - Several namespaces in one call (a host's whole list), each with the other options of the task, in order.
    type: list
    elements: str
    version_added: 0.3.0
  state:
    description: Whether the namespace should exist.
    type: str
    choices: [present, absent]
    default: present
  loopback:
    description: Keep the namespace's C(lo) interface up (a new namespace has it down).
    type: bool
    default: true
  kill_processes:
    description:
      - With O(state=absent), end the processes that run in the namespace (C(SIGTERM), then C(SIGKILL) after
        O(kill_timeout) seconds) before deleting it. Only those processes, found by namespace.
    type: bool
    default: false
  kill_timeout:
    description: Seconds to wait after C(SIGTERM) before C(SIGKILL).
    type: int
    default: 5
  etc_dir:
    description:
      - The directory of the namespaces' own files (C(ip netns exec NAME) bind-mounts the files of
        C(<etc_dir>/NAME/) over those of C(/etc)), normally C(/etc/netns).
      - With O(state=absent), C(<etc_dir>/NAME) goes with the namespace. Unset leaves those files alone.
    type: path
    version_added: 0.3.0
  hosts_files:
    description:
      - With O(state=present), the content of C(<etc_dir>/NAME/hosts) of some of the namespaces, by name, written
        whole when it differs (mode C(0644), its directory C(0755) created when missing); in place when a rename
        cannot replace it (bind-mounted by C(ip netns exec)). The files of namespaces not named here are left alone.
      - Requires O(etc_dir). A content with a control character other than newline and tab is refused.
    type: dict
    default: {}
    version_added: 0.3.0
extends_documentation_fragment:
  - fakevpc.vpc.attributes
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Create the namespace of a subnet
  fakevpc.vpc.netns:
    name: ns-my-vpc-public

- name: Create the namespaces of every subnet in one call
  fakevpc.vpc.netns:
    names: [ns-my-vpc-public, ns-my-vpc-private]

- name: Create a namespace with its own hosts file (/etc/hosts inside ip netns exec)
  fakevpc.vpc.netns:
    name: ns-my-vpc-app
    etc_dir: /etc/netns
    hosts_files:
      ns-my-vpc-app: "10.10.1.10 db\n"

- name: Delete it, ending whatever still runs inside
  fakevpc.vpc.netns:
    name: ns-my-vpc-public
    state: absent
    kill_processes: true
"""

RETURN = r"""
existed:
  description: Whether the namespace existed before the module ran.
  returned: with O(name)
  type: bool
processes:
  description: PIDs of the processes found in the namespace when it was (or would be) deleted.
  returned: with O(name)
  type: list
  elements: int
namespaces:
  description: With O(names), the result of each namespace in order (RV(existed), RV(processes), RV(commands)).
  returned: with O(names)
  type: list
  elements: dict
  version_added: 0.3.0
commands:
  description: The commands that changed (or in check mode would change) something.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_namespace import main

if __name__ == "__main__":
    main()
