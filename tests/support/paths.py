# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where things are: the checkout, the Ansible commands the tests run, the test-only plugins and playbooks."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = REPO_ROOT / "site.yml"
# The venv whose ansible-playbook, ansible-galaxy... the tests run (FAKEVPC_ANSIBLE_BIN: another one).
ANSIBLE_BIN = Path(os.environ.get("FAKEVPC_ANSIBLE_BIN", str(REPO_ROOT / ".venv" / "bin")))
# The simserver connection (tests/support/connection_plugins/simserver.py) and the integration tests' playbooks.
CONNECTION_PLUGINS = Path(__file__).resolve().parent / "connection_plugins"
PLAYBOOKS = REPO_ROOT / "tests" / "integration" / "playbooks"
