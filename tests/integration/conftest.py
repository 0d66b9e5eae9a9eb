# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the "simulated servers" tier: throwaway namespaces reached by Ansible through nsenter.

* ``make_simnet(n)``        -- function scope: N fresh servers, torn down after the test.
* ``make_simnet_module(n)`` -- the same, torn down after the test module (share one mesh across tests).

Teardown runs from a finalizer, so it happens whether the test passed, failed or errored.
"""

from __future__ import annotations

import os
import shutil

import pytest

import simservers

os.environ["ANSIBLE_CONFIG"] = str(simservers.REPO_ROOT / "ansible.cfg")


def _why_not_runnable() -> str | None:
    if os.geteuid() != 0:
        return "simulated servers need root: network/mount/UTS/PID namespaces, veth pairs and bind mounts"
    for tool in ("unshare", "nsenter", "ip", "ping"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    if not os.path.exists(simservers.SYSTEM_PYTHON):
        return f"{simservers.SYSTEM_PYTHON} not found (PID 1 of each simulated server)"
    return None


def _why_no_wireguard() -> str | None:
    for tool in ("wireguard-go", "wg"):
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install wireguard-go wireguard-tools)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun missing"
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "root: needs root to create namespaces (skipped otherwise, with the reason)")
    config.addinivalue_line("markers", "wireguard: needs wireguard-go, wg and /dev/net/tun")


def pytest_collection_modifyitems(config, items):
    root_reason = _why_not_runnable()
    wg_reason = _why_no_wireguard()
    for item in items:
        if root_reason and "root" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=root_reason))
        elif wg_reason and "wireguard" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=wg_reason))


def _factory(request, tmp_path_factory):
    nets: list[simservers.SimNet] = []

    def make(count: int, **kwargs) -> simservers.SimNet:
        net = simservers.SimNet(count, tmp_path_factory.mktemp("sim"), **kwargs)
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
            raise simservers.SimError("; ".join(errors))

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
