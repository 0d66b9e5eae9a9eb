#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: systemd_units
short_description: Manage a set of systemd units and their files exclusively, in one call
version_added: 0.1.0
description:
  - Writes the unit files of O(units) (mode C(0644)) and the files they use, starts and enables the units,
    and restarts or reloads (O(units[].on_change)) the running ones whose unit file or files changed.
  - Units of O(unit_dir) that match O(prune_patterns) and are not listed are stopped, disabled and removed;
    then the files of O(remove_files) are removed.
  - Reads every file first and writes only those whose content, mode or owner differ, each through a
    temporary file renamed over it. Runs one C(systemctl show) for the state of every listed unit, before any
    change (so that check mode decides as a real run does). When a unit file was written or removed, it enables
    and disables units without a reload (C(--no-reload)), then runs C(systemctl daemon-reload) once, before it
    starts, restarts or reloads any unit; each further C(systemctl) verb runs once for all the units it applies
    to.
  - With no unit listed and no unit file to prune or remove, runs no C(systemctl) command at all.
requirements:
  - systemd (C(systemctl)) on the target, unless O(units) is empty and nothing matches O(prune_patterns), or
    O(systemctl=false).
options:
  units:
    description: Every unit to install and run.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The unit file name, such as C(myapp.service), written to O(unit_dir).
        type: str
        required: true
      content:
        description: The unit file's content.
        type: str
        required: true
      on_change:
        description:
          - What a running unit gets when its unit file or one of its O(units[].files) changed.
          - A unit that is not running is started instead.
        type: str
        choices: [restart, reload]
        default: restart
      files:
        description: Files the unit uses (a script, a rules file); a change to one is a change to the unit.
        type: list
        elements: dict
        default: []
        suboptions:
          path:
            description: Absolute path of the file. Missing parent directories are created with mode C(0755).
            type: path
            required: true
          content:
            description: The file's content. It is shown in the diff.
            type: str
            required: true
          mode:
            description: The file's mode, as an octal string such as V("0755") (quote it in YAML).
            type: raw
            default: "0644"
  prune_patterns:
    description:
      - Shell patterns of unit file names in O(unit_dir), such as C(myapp-*.service). A unit file that matches
        one and is not in O(units) is stopped and disabled (C(systemctl disable --now)), then removed.
    type: list
    elements: str
    default: []
  remove_files:
    description: Absolute paths of files to remove, after pruning (the files of a pruned unit, for instance).
    type: list
    elements: path
    default: []
  unit_dir:
    description: The directory of the unit files; systemd must load units from it.
    type: path
    default: /etc/systemd/system
  systemctl:
    description:
      - Whether to run C(systemctl) at all. With V(false), for a host that systemd does not run (a container, a
        chroot), the files are written and removed as with V(true), and no unit is enabled, started, restarted,
        reloaded, stopped or disabled.
    type: bool
    default: true
    version_added: 0.3.0
extends_documentation_fragment:
  - fakevpc.vpc.attributes
attributes:
  check_mode:
    details: C(systemctl show) still runs in check mode, to tell which units would be enabled, started, restarted or reloaded.
  diff_mode:
    details: One before/after entry per file written or removed, its mode in the header.
notes:
  - Files are owned by the user the module runs as (root, with C(become)).
  - A running unit is one whose C(ActiveState) is C(active), C(activating) or C(reloading); an enabled unit is
    one that C(systemctl is-enabled) would call enabled (C(enabled), C(enabled-runtime), C(static), C(alias),
    C(indirect), C(generated), C(transient)).
author:
  - fakevpc developers (@fakevpc)
"""

EXAMPLES = r"""
- name: Run an app and a firewall unit that reloads when its rules change, and remove the units of old apps
  fakevpc.vpc.systemd_units:
    units:
      - name: myapp-web.service
        content: "{{ lookup('ansible.builtin.template', 'myapp-web.service.j2') }}"
      - name: myapp-firewall.service
        content: "{{ lookup('ansible.builtin.template', 'myapp-firewall.service.j2') }}"
        on_change: reload
        files:
          - path: /etc/myapp/firewall.rules
            content: "{{ lookup('ansible.builtin.template', 'firewall.rules.j2') }}"
          - path: /usr/local/lib/myapp/firewall
            content: "{{ lookup('ansible.builtin.file', 'firewall', rstrip=false) }}"
            mode: "0755"
    prune_patterns: [myapp-*.service]

- name: Stop, disable and remove every unit of the app and its files
  fakevpc.vpc.systemd_units:
    prune_patterns: [myapp-*.service]
    remove_files: [/etc/myapp/firewall.rules, /usr/local/lib/myapp/firewall]
"""

RETURN = r"""
written:
  description: Paths of the files written (unit files and the units' files), in the order of O(units).
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/myapp-web.service]
removed:
  description: Paths of the files removed (the unit files of the pruned units, then O(remove_files)).
  returned: always
  type: list
  elements: str
pruned:
  description: Units stopped, disabled and removed.
  returned: always
  type: list
  elements: str
enabled:
  description: Units enabled.
  returned: always
  type: list
  elements: str
started:
  description: Units started (they were not running).
  returned: always
  type: list
  elements: str
restarted:
  description: Running units restarted because their unit file or files changed.
  returned: always
  type: list
  elements: str
reloaded:
  description: Running units reloaded because their unit file or files changed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.fakevpc.vpc.plugins.module_utils._systemd_units import main

if __name__ == "__main__":
    main()
