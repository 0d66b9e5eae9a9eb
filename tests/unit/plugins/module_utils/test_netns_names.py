# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Interface names within 15 characters: short names kept, long ones hashed, stable and distinct."""

from __future__ import annotations

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils import _netns_names as names


def test_a_name_that_fits_is_kept():
    assert names.interface_name("br-", "my-vpc") == "br-my-vpc"
    assert names.interface_name("v-", "my-vpc", "public") == "v-my-vpc-public"  # exactly 15


def test_a_long_name_is_hashed_to_15_characters_stably():
    name = names.interface_name("v-", "company-a", "public-web")
    assert len(name) == 15 and name.startswith("v-company-")
    assert name == names.interface_name("v-", "company-a", "public-web")
    assert names.is_interface_name(name)


def test_long_names_that_share_a_head_differ():
    first = names.interface_name("v-", "production-east", "web")
    second = names.interface_name("v-", "production-east", "db")
    assert first != second and len(first) == len(second) == 15


def test_the_head_never_ends_with_a_separator_before_the_hash():
    name = names.interface_name("v-", "abcdefg", "xyzxyzxyz")
    assert "--" not in name and len(name) <= 15


@pytest.mark.parametrize("name, ok", [("eth0", True), ("br-a_b", True), ("", False), ("a" * 16, False),
                                      ("a b", False), ("a/b", False), ("a.b", True), (".", False),
                                      ("..", False), ("a:b", False), ("a+", False), (None, False)])
def test_interface_names(name, ok):
    assert names.is_interface_name(name) is ok


@pytest.mark.parametrize("name, ok", [("ns-my-vpc-public", True), ("a.b", True), (".", False), ("..", False),
                                      ("a/b", False), ("-x", False), ("x" * 129, False)])
def test_namespace_names(name, ok):
    assert names.is_namespace_name(name) is ok


@pytest.mark.parametrize("name, ok", [("NVPC-FORWARD", True), ("FORWARD", False), ("INPUT", False),
                                      ("X" * 28, True), ("X" * 29, False), ("A B", False)])
def test_chain_names(name, ok):
    assert names.is_chain_name(name) is ok


def test_sysctl_keys_use_slashes():
    assert names.sysctl_interface_key("br-a", "rp_filter") == "net/ipv4/conf/br-a/rp_filter"
