# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/status.yml on the lab: the matrix of every server in the VPC, and success when all pairs are up."""

from __future__ import annotations

import os

from lab import EPHEMERAL, INVENTORY, REMOVED, SERVERS
from support.playbook import run_playbook

STATUS = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "playbooks", "status.yml")


def test_the_status_matrix_shows_every_server_and_succeeds():
    run = run_playbook(STATUS, INVENTORY, verbose=0, timeout=None, cwd=EPHEMERAL, environ=dict(os.environ))
    assert run.rc == 0, run.stdout + run.stderr
    matrix = run.stdout[run.stdout.index("Show the matrix"):run.stdout.index("PLAY RECAP")]
    assert all(name in matrix for name in SERVERS), matrix
    assert not any(name in matrix for name in REMOVED), matrix
