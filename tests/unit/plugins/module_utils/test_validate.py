# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import re

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils import _validate


@pytest.mark.parametrize("value, expected", [
    (3, 3), ("3", 3), ("0042", 42), ("²", "²"), ("٣", "٣"), (" 3", " 3"), ("3\n", "3\n"), ("-5", "-5"),
    (True, True), (None, None), ("", ""),
])
def test_as_int_reads_ascii_digits_only(value, expected):
    assert _validate.as_int(value) == expected


@pytest.mark.parametrize("value, ok", [(1, True), (254, True), (0, False), (255, False), (True, False), ("3", False), (3.0, False)])
def test_int_in_range(value, ok):
    assert _validate.int_in_range(value, 1, 254) is ok


@pytest.mark.parametrize("value, ok", [("srv", True), ("srv\n", False), ("\nsrv", False), ("", False), (None, False), (b"srv", False)])
def test_fullmatch_refuses_a_trailing_newline(value, ok):
    assert _validate.fullmatch(re.compile(r"[a-z]+"), value) is ok


@pytest.mark.parametrize("value, found", [
    ("echo hi", []), ("a\rb", ["'\\r'"]), ("a\nb\tc", ["'\\n'", "'\\t'"]), ("\x7f", ["'\\x7f'"]), ("\x85", ["'\\x85'"]),
    ("é ü", []),
])
def test_control_characters(value, found):
    assert _validate.control_characters(value) == found
