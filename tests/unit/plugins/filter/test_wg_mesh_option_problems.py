# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The per-host options filter names the host and the variable in every problem and compares with the plan."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_option_problems import FilterModule, wg_mesh_option_problems
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_plan import wg_mesh_plan

PLAN = wg_mesh_plan({"a": {"wg_mesh_index": 1}}, ["a"])


def test_filter_is_registered():
    assert FilterModule().filters()["wg_mesh_option_problems"] is wg_mesh_option_problems


def test_good_options_have_no_problem():
    options = {"wg_mesh_mtu": "1420", "wg_mesh_domain": "vpcdomain", "wg_mesh_keepalive": 25,
               "wg_mesh_implementation": "auto", "wg_mesh_packages": ["wireguard-tools"]}
    assert wg_mesh_option_problems(PLAN, "a", options) == []


def test_every_problem_names_the_host_and_the_variable():
    options = {"wg_mesh_mtu": 70000, "wg_mesh_implementation": "kernal", "wg_mesh_domain": "other"}
    assert wg_mesh_option_problems(PLAN, "b", options) == [
        "host 'b': variable wg_mesh_domain: 'other' differs from the 'vpcdomain' the mesh plan was computed with: "
        "set it once for the whole group",
        "host 'b': variable wg_mesh_mtu: must be 0 (WireGuard's default, 1420) or an MTU from 1280 to 65535, got 70000",
        "host 'b': variable wg_mesh_implementation: must be one of auto, kernel, userspace, got 'kernal'",
    ]


@pytest.mark.parametrize("name", ["wg_mesh_group", "mtu", "wg_mesh_nope"])
def test_a_variable_without_a_rule_is_a_mistake_of_the_caller(name):
    with pytest.raises(AnsibleFilterError, match="no rule for the variables %s" % name):
        wg_mesh_option_problems(PLAN, "a", {name: 1})
