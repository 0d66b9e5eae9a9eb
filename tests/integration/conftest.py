# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the "simulated servers" tier: throwaway namespaces reached by Ansible through nsenter.

* ``make_simnet(n)``        -- function scope: N fresh servers, torn down after the test.
* ``make_simnet_module(n)`` -- the same, torn down after the test module (share one mesh across tests).

A test marked ``root`` or ``wireguard`` that cannot run here (not root, a tool of its tier in
scripts/deps.txt missing, no /dev/net/tun) is skipped with the reason, or fails under CI (tests/conftest.py).

Teardown runs from a finalizer, so it happens whether the test passed, failed or errored.
"""

from __future__ import annotations

import os
import shutil

import pytest

from support.paths import REPO_ROOT
from support.simnet import SimError, SimNet

os.environ["ANSIBLE_CONFIG"] = str(REPO_ROOT / "ansible.cfg")


DEPS = REPO_ROOT / "scripts" / "deps.txt"
# Ansible's get_bin_path looks in the sbin directories too, which a user's PATH may lack.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/local/sbin", "/usr/sbin", "/sbin"])


def tier_commands(tier: str) -> list[tuple[str, str]]:
    """(command, Debian package) of every command of scripts/deps.txt that the tier needs."""
    found = []
    for line in DEPS.read_text().splitlines():
        words = line.split()
        if words and not words[0].startswith("#") and words[2] == tier:
            found.append((words[0], words[1]))
    return found


def _found(command: str) -> bool:
    if os.path.isabs(command):
        return os.access(command, os.X_OK)
    return shutil.which(command, path=SEARCH_PATH) is not None


def _missing(tier: str) -> str | None:
    missing = ["%s (package %s)" % (command, package) for command, package in tier_commands(tier) if not _found(command)]
    if missing:
        return "missing: %s; `make check-deps` installs them" % ", ".join(missing)
    return None


def _why_not_runnable() -> str | None:
    if os.geteuid() != 0:
        return "simulated servers need root: network/mount/UTS/PID namespaces, veth pairs and bind mounts"
    return _missing("netns")


def _why_no_wireguard() -> str | None:
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun missing (wireguard-go needs it)"
    return _missing("wireguard")


def pytest_configure(config):
    config.addinivalue_line("markers", "root: needs root and the netns tools of scripts/deps.txt (simulated servers)")
    config.addinivalue_line("markers", "wireguard: needs the wireguard tools of scripts/deps.txt and /dev/net/tun")


def pytest_collection_modifyitems(config, items):
    root_reason = _why_not_runnable()
    wg_reason = _why_no_wireguard()
    for item in items:
        if root_reason and "root" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=root_reason))
        elif wg_reason and "wireguard" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=wg_reason))


def _factory(request, tmp_path_factory):
    nets: list[SimNet] = []

    def make(count: int, **kwargs) -> SimNet:
        net = SimNet(count, tmp_path_factory.mktemp("sim"), **kwargs)
        nets.append(net)  # registered before start(): a half-started net is torn down too
        net.start()
        return net

    def fin():
        errors = []
        for net in reversed(nets):
            try:
                net.teardown()
                left = net.leftovers()
                if left:
                    errors.append(f"{net.workdir}: processes left in its namespaces: {left}")
            except Exception as exc:  # keep tearing the others down
                errors.append(f"{net.workdir}: {exc}")
        if errors:
            raise SimError("; ".join(errors))

    request.addfinalizer(fin)
    return make


@pytest.fixture
def make_simnet(request, tmp_path_factory):
    """Factory: make_simnet(n) -> SimNet with n servers, torn down after the test."""
    return _factory(request, tmp_path_factory)


@pytest.fixture(scope="module")
def make_simnet_module(request, tmp_path_factory):
    """Factory: like make_simnet, torn down after the test module."""
    return _factory(request, tmp_path_factory)
