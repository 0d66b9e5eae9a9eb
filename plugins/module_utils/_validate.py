# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's one validation style for hostile input, as pure functions (no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

* Patterns match the whole string (re.fullmatch): `^...$` would accept a trailing newline.
* Integers are Python ints (never bools) or strings of ASCII digits only: str.isdigit() also accepts
  '²' and '٣', which int() then reads or refuses with a bare ValueError.
* Control characters (C0, DEL and C1) never reach a file, a command line or a unit file.
"""

from __future__ import annotations

import re

_ASCII_DIGITS = re.compile(r"[0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def is_int(value):
    """True for a Python int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def as_int(value):
    """An int, or a string of ASCII digits (inventory values given with -e arrive as strings), as an int.

    Anything else comes back unchanged, for the caller's range check to refuse with its own message.
    """
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        return int(value)
    return value


# Booleans given with -e arrive as strings.
_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}


def as_bool(value):
    """A bool, or a string true/yes/false/no in any case (as -e gives them), as a bool; anything else unchanged."""
    if isinstance(value, str) and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    return value


def int_in_range(value, low, high):
    """True when value is an int (see is_int) from low to high inclusive."""
    return is_int(value) and low <= value <= high


def fullmatch(pattern, value):
    """True when value is a str and the compiled pattern matches all of it."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def control_characters(value):
    """The control characters in a string (as their repr, in order), empty when it has none."""
    return [repr(char) for char in _CONTROL.findall(value)]
