# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter is the comparison of _unit_files (tested there), with the module's options as Ansible passes them."""

from __future__ import annotations

import hashlib

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.systemd_units_converged import systemd_units_converged

UNIT = {"name": "app.service", "content": "[Service]\n"}
# The unit as written, read by root; it failed.
LIVE = {"unit_dir": "/etc/systemd/system", "patterns": ["app.service"], "paths": [], "owner": [0, 0],
        "files": {"/etc/systemd/system/app.service": {
            "sha256": hashlib.sha256(b"[Service]\n").hexdigest(), "mode": 0o644, "owner": [0, 0]}},
        "states": {"app.service": {"ActiveState": "failed", "UnitFileState": "enabled"}}}


def test_systemctl_as_a_string_is_read_as_a_boolean():
    assert systemd_units_converged([UNIT], LIVE, systemctl="False") is True
    assert systemd_units_converged([UNIT], LIVE, systemctl="True") is False  # it would start the failed unit
    assert systemd_units_converged([UNIT], None) is False


def test_a_unit_the_module_would_refuse_fails_the_filter_naming_it():
    with pytest.raises(AnsibleFilterError, match=r"systemd_units_converged: units\[0\]: 'a/b' is not a unit file name"):
        systemd_units_converged([{"name": "a/b", "content": ""}], LIVE)
