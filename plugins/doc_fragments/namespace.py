# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The namespace option of the modules that work in a named network namespace."""

    DOCUMENTATION = r"""
options:
  namespace:
    description: The named network namespace (C(ip netns)) to work in; the host's when omitted.
    type: str
"""
