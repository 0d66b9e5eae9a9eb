# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in-process and capture what it exits with; stand in for a wireguard-go UAPI socket."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading

import pytest

from ansible.module_utils import basic
from ansible_collections.fakevpc.vpc.plugins.module_utils import _wg_interface


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


def _exit_json(self, **result):
    raise ModuleExit(result, failed=False)


def _fail_json(self, msg, **result):
    result["msg"] = msg
    raise ModuleExit(result, failed=True)


@pytest.fixture
def run_module(monkeypatch, module_args):
    """run_module(module, args, check_mode=False, diff=False) -> (result, failed)."""
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)

    def run(module, args, check_mode=False, diff=False):
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with module_args(args), pytest.raises(ModuleExit) as caught:
            module.main()
        return caught.value.result, caught.value.failed

    return run


class UapiSocket:
    """A unix socket where wireguard-go's would be, answering each connection as told (a real socket, no mock)."""

    def __init__(self, directory, name):
        self.path = os.path.join(directory, name + ".sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(4)
        self.requests = []
        self.thread = None

    def serve(self, reply):
        """Answer one connection: read the request, send reply (bytes), close."""
        def answer():
            connection, _address = self.server.accept()
            with connection, connection.makefile("rb") as stream:
                # A request is lines up to an empty one (or the client's end of writing).
                lines = []
                for line in stream:
                    lines.append(line)
                    if line == b"\n":
                        break
                self.requests.append(b"".join(lines))
                connection.sendall(reply)
        self.thread = threading.Thread(target=answer, daemon=True)
        self.thread.start()

    def close(self):
        """The daemon is gone: the file stays, connections are refused."""
        self.server.close()


@pytest.fixture
def uapi(monkeypatch):
    """uapi(name) -> UapiSocket in a short temporary directory that stands for /var/run/wireguard."""
    directory = tempfile.mkdtemp(prefix="uapi-", dir="/tmp")  # a socket path has at most 107 bytes
    monkeypatch.setattr(_wg_interface, "UAPI_DIR", directory)
    monkeypatch.setattr(_wg_interface, "UAPI_TIMEOUT", 5.0)
    sockets = []

    def make(name):
        sockets.append(UapiSocket(directory, name))
        return sockets[-1]

    yield make
    for made in sockets:
        made.close()
        if made.thread is not None:
            made.thread.join(5)
    shutil.rmtree(directory)
