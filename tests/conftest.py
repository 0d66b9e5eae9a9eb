# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rule of every test run (unit and integration): a test that cannot run on this machine (not root, a
missing tool, no /dev/net/tun...) is skipped, and the summary lists it with the reason; under CI (the
environment variable CI set, as .ci/run does: CI=true) it fails instead, with the same reason, so a green CI
run has run every test.
"""

from __future__ import annotations

import os

import pytest


def under_ci() -> bool:
    """CI is set to anything but empty, 0 or false."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def pytest_configure(config):
    # -rs: every skip in the short summary, with its reason.
    if not any(char in config.option.reportchars for char in "sSaA"):
        config.option.reportchars += "s"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and under_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = "CI=%s: a test that cannot run fails under CI: %s" % (os.environ["CI"], reason)
    return report
