# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter adapts inventory variables to the plan and names the variable in every error."""

from __future__ import annotations

import re

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.wg_mesh_plan import FilterModule, wg_mesh_plan

HOSTVARS = {
    "a": {"wg_mesh_index": 1, "ansible_host": "198.51.100.1"},
    "b": {"wg_mesh_index": "2", "wg_mesh_endpoint": "198.51.100.2", "wg_mesh_port": "51999"},
    "c": {"wg_mesh_index": 3},
}


def test_filter_is_registered():
    assert FilterModule().filters()["wg_mesh_plan"] is wg_mesh_plan


def test_endpoint_defaults_to_ansible_host_and_strings_become_integers():
    plan = wg_mesh_plan(HOSTVARS, ["a", "b", "c"], iface_ip_offset="3")["servers"]
    assert plan["b"]["interfaces"][1]["peers"][0]["endpoint"] == "198.51.100.1:51820"
    assert plan["c"]["interfaces"][2]["peers"][0]["endpoint"] == "198.51.100.2:51999"
    assert plan["c"]["interfaces"][0]["address"] == "192.168.5.1/24"


def test_only_the_given_hosts_are_planned():
    assert sorted(wg_mesh_plan(HOSTVARS, ["a", "c"])["servers"]) == ["a", "c"]


def test_hosts_marked_absent_are_left_out():
    hostvars = dict(HOSTVARS, b=dict(HOSTVARS["b"], wg_mesh_state="absent"))
    plan = wg_mesh_plan(hostvars, ["a", "b", "c"])["servers"]
    assert sorted(plan) == ["a", "c"]
    assert [i["name"] for i in plan["c"]["interfaces"]] == ["wgvpc0", "wgvpc1"]


def test_a_server_that_cannot_be_dialled_ignores_ansible_host_and_booleans_may_be_strings():
    hostvars = {"a": {"wg_mesh_index": 1, "ansible_host": "127.0.0.1", "wg_mesh_dialable": "false"},
                "b": {"wg_mesh_index": 2, "ansible_host": "198.51.100.2", "wg_mesh_aliases": ["bee"]}}
    plan = wg_mesh_plan(hostvars, ["a", "b"], external_peers=[{"name": "laptop", "index": 3}])
    assert plan["servers"]["a"]["interfaces"][0]["peers"][0]["endpoint"] == "198.51.100.2:51820"
    assert plan["servers"]["a"]["hosts_lines"][1] == "192.168.1.2 b b.vpcdomain bee bee.vpcdomain"
    assert plan["relayed"] == [{"hosts": ["a", "external-laptop"], "relay": "b"}]
    named, default = wg_mesh_plan(hostvars, ["a", "b"], relay="b"), wg_mesh_plan(hostvars, ["a", "b"])
    assert named["settings"].pop("relay") == "b" and default["settings"].pop("relay") == ""
    assert named == default


@pytest.mark.parametrize("hostvars, hosts, kwargs, message", [
    ({"a": {"wg_mesh_index": 1, "wg_mesh_dialable": "maybe"}}, ["a"], {}, "host 'a': variable wg_mesh_dialable:"),
    ({"a": {"wg_mesh_index": 1, "wg_mesh_aliases": ["A"]}}, ["a"], {}, "host 'a': variable wg_mesh_aliases:"),
    ({"a": {"wg_mesh_index": 1, "wg_mesh_dialable": False}, "b": {"wg_mesh_index": 2, "wg_mesh_dialable": False}},
     ["a", "b"], {}, "host 'a': variable wg_mesh_dialable: neither 'a' nor 'b' can be dialled"),
    (HOSTVARS, ["a"], {"relay": "zz"}, "wg_mesh_plan: variable wg_mesh_relay:"),
    (HOSTVARS, ["a"], {"external_peers": [{"name": "x"}]}, "wg_mesh_plan: variable wg_mesh_external_peers: entry 0 (x): index"),
    ({"a": {"wg_mesh_index": 1, "wg_mesh_state": "gone"}}, ["a"], {},
     "wg_mesh_plan: host 'a': variable wg_mesh_state: must be present or absent"),
    ({"a": {}}, ["a"], {}, "wg_mesh_plan: host 'a': variable wg_mesh_index: is missing"),
    (HOSTVARS, ["a", "b", "c", "d"], {}, "wg_mesh_plan: host 'd': not in the inventory"),
    ({"a": {"wg_mesh_index": 1}, "b": {"wg_mesh_index": 2}}, ["a", "b"], {},
     "wg_mesh_plan: host 'a': variable wg_mesh_endpoint: is missing"),
    ({"a": {"wg_mesh_index": 1, "wg_mesh_port": 0}}, ["a"], {}, "host 'a': variable wg_mesh_port:"),
    ({"a": {"wg_mesh_index": 1, "wg_mesh_name": "A!"}}, ["a"], {}, "host 'a': variable wg_mesh_name:"),
    (HOSTVARS, ["a"], {"iface_ip_offset": 300}, "wg_mesh_plan: variable wg_mesh_iface_ip_offset:"),
    (HOSTVARS, ["a"], {"domain": "x y"}, "wg_mesh_plan: variable wg_mesh_domain:"),
    (HOSTVARS, ["a"], {"iface_prefix": "toolong-prefix"}, "wg_mesh_plan: variable wg_mesh_iface_prefix:"),
    (HOSTVARS, ["a"], {"domain": "x y", "settings_host": "a"}, "wg_mesh_plan: host 'a': variable wg_mesh_domain:"),
    # Integers are ASCII digits: '²' is refused naming host and variable (never a bare ValueError), '٣' is not 3.
    ({"a": {"wg_mesh_index": "\u00b2"}}, ["a"], {}, "host 'a': variable wg_mesh_index: must be an integer from 1 to 254"),
    ({"a": {"wg_mesh_index": "\u0663"}}, ["a"], {}, "host 'a': variable wg_mesh_index: must be an integer from 1 to 254"),
    ({"a": {"wg_mesh_index": " 1"}}, ["a"], {}, "host 'a': variable wg_mesh_index:"),
    ({"a": {"wg_mesh_index": 1, "wg_mesh_port": "\u00b2"}}, ["a"], {}, "host 'a': variable wg_mesh_port:"),
    (HOSTVARS, ["a"], {"keepalive": "\u0663"}, "variable wg_mesh_keepalive:"),
    (HOSTVARS, ["a"], {"iface_ip_offset": "\u00b2"}, "variable wg_mesh_iface_ip_offset:"),
    # An endpoint read from ansible_host says so.
    ({"a": {"wg_mesh_index": 1, "ansible_host": "127.0.0.1"}}, ["a"], {},
     "host 'a': variable wg_mesh_endpoint (from ansible_host): 127.0.0.1 is a loopback address"),
    ({"a": {"wg_mesh_index": 1, "wg_mesh_endpoint": "10.213.0.010"}}, ["a"], {},
     "host 'a': variable wg_mesh_endpoint: '10.213.0.010' is neither an IPv4 address"),
])
def test_errors_name_host_and_variable(hostvars, hosts, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        wg_mesh_plan(hostvars, hosts, **kwargs)
