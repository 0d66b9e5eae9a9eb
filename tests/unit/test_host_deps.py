# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host's dependencies and the rule of skips: scripts/deps.txt is well formed and agrees with the qemu lab's
own tool check; `install-deps.sh --check` names each missing command and its package; a test that cannot run
is skipped with its reason, and fails under CI (tests/conftest.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPS = REPO / "scripts" / "deps.txt"
TIERS = {"netns", "wireguard", "lab", "unit", "tooling"}


def entries(text):
    return [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_every_line_is_a_command_its_debian_package_and_a_tier():
    rows = entries(DEPS.read_text())
    assert len(rows) > 30
    for row in rows:
        assert len(row) == 3, row
        command, package, tier = row
        assert re.fullmatch(r"/?[a-z0-9][a-z0-9._/-]*", command), row
        assert re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", package), row
        assert tier in TIERS, row
    commands = [row[0] for row in rows]
    assert len(commands) == len(set(commands)), "a command listed twice"
    assert {"nft", "wg", "wireguard-go", "qemu-system-x86_64", "mmdebstrap"} <= set(commands)


def test_the_lab_names_the_same_package_for_each_tool_it_checks():
    tasks = yaml.safe_load((REPO / "roles" / "qemu_lab" / "tasks" / "present.yml").read_text())
    report = next(task for task in tasks if task["name"] == "Report missing tools")
    listed = {row[0]: row[1] for row in entries(DEPS.read_text())}
    for command, package in report["vars"]["qemu_lab__known_packages"].items():
        assert listed.get(command) == package, command


def run_check(tmp_path, deps_text):
    """install-deps.sh --check on a copy of the script that reads deps_text as its list."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "install-deps.sh", tmp_path / "scripts")
    (tmp_path / "scripts" / "deps.txt").write_text(deps_text)
    return subprocess.run(["bash", str(tmp_path / "scripts" / "install-deps.sh"), "--check"],
                          capture_output=True, text=True, check=False)


def test_the_check_names_each_missing_command_and_its_package(tmp_path):
    run = run_check(tmp_path, "# a comment\nsh dash netns\n\nfakevpc-no-such-a pkg-a lab\n"
                              "fakevpc-no-such-b pkg-b tooling\n/no/such/fakevpc pkg-c netns\n")
    assert run.returncode == 1, run
    assert run.stderr.splitlines() == [
        "install-deps: fakevpc-no-such-a is missing: Debian package pkg-a",
        "install-deps: fakevpc-no-such-b is missing: Debian package pkg-b",
        "install-deps: /no/such/fakevpc is missing: Debian package pkg-c",
        "install-deps: 3 of the 4 commands of scripts/deps.txt missing",
    ]


def test_the_check_passes_when_every_command_is_there(tmp_path):
    run = run_check(tmp_path, "sh dash netns\n%s python3 netns\n" % sys.executable)
    assert run.returncode == 0, run
    assert run.stdout == "install-deps: every command of scripts/deps.txt is here (2 commands, 2 packages)\n"


def test_a_malformed_line_is_refused_with_its_number(tmp_path):
    run = run_check(tmp_path, "sh dash netns\nnft nftables\n")
    assert run.returncode == 1
    assert "scripts/deps.txt line 2: want COMMAND PACKAGE TIER" in run.stderr


SKIPPING = """
import pytest

def test_needs_a_widget():
    pytest.skip("no widget on this machine")

@pytest.mark.skip(reason="not root")
def test_needs_root():
    pass

def test_runs():
    pass
"""


@pytest.mark.parametrize("ci, outcome", [(None, "skipped"), ("", "skipped"), ("false", "skipped"),
                                         ("true", "failed"), ("1", "failed"), ("woodpecker", "failed")])
def test_a_skip_says_why_and_fails_under_ci(tmp_path, ci, outcome):
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_widget.py").write_text(SKIPPING)
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "PYTEST_ADDOPTS")}
    if ci is not None:
        env["CI"] = ci
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    summary = run.stdout.splitlines()[-1]
    if outcome == "skipped":
        assert run.returncode == 0, run.stdout
        assert "SKIPPED [1] test_widget.py:5: no widget on this machine" in run.stdout
        assert "SKIPPED [1] test_widget.py:7: not root" in run.stdout
        assert re.fullmatch(r"1 passed, 2 skipped in .*", summary), summary
    else:
        assert run.returncode == 1, run.stdout
        assert "CI=%s: a test that cannot run fails under CI: Skipped: no widget on this machine" % ci in run.stdout
        assert "CI=%s: a test that cannot run fails under CI: Skipped: not root" % ci in run.stdout
        # A skip at setup (a marker, as the integration tiers skip) fails as an error.
        assert re.fullmatch(r"1 failed, 1 passed, 1 error in .*", summary), summary
