# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The qemu lab helper's refusals (roles/qemu_lab/files/qemu_lab.py): a port already in use, two VMs on one
port, a missing tool, a pid file that names another process; and the serial console tail of its messages."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket

import pytest

HELPER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "qemu_lab", "files", "qemu_lab.py")
_SPEC = importlib.util.spec_from_file_location("qemu_lab_helper", HELPER)
qemu_lab = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(qemu_lab)


def lab(*ports):
    """A spec of VMs server1..N with the given (ssh, wireguard) host ports on loopback."""
    return {"listen": "127.0.0.1", "servers": [
        {"name": "server%d" % index, "index": index, "ssh_port": ssh, "wg_port": wg}
        for index, (ssh, wg) in enumerate(ports, start=1)]}


@pytest.fixture
def taken_tcp_port():
    """A loopback TCP port held open by this test (by another program, as far as the lab can tell)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_port_in_use_is_named_with_its_vm_and_purpose(taken_tcp_port):
    with pytest.raises(qemu_lab.LabError) as failure:
        qemu_lab.check_ports(lab((taken_tcp_port, free_udp_port())), to_start=["server1"])
    message = str(failure.value)
    assert "server1: 127.0.0.1:%d/tcp (its SSH forward) is already in use" % taken_tcp_port in message


def test_a_port_in_use_by_a_running_vm_of_the_lab_itself_is_fine(taken_tcp_port):
    qemu_lab.check_ports(lab((taken_tcp_port, free_udp_port())), to_start=[])


def test_two_vms_on_one_port_are_refused():
    with pytest.raises(qemu_lab.LabError, match="server1 and server2 both use udp port 51821"):
        qemu_lab.check_ports(lab((5001, 51821), (5002, 51821)), to_start=[])


def test_a_missing_tool_names_its_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(qemu_lab.LabError, match="qemu-system-x86_64 not found in PATH: install the qemu-system-x86 package"):
        qemu_lab.require_tool("qemu-system-x86_64", "qemu-system-x86")


def test_a_pid_file_naming_another_process_is_not_a_vm(tmp_path):
    pid_file = tmp_path / "server1.pid"
    pid_file.write_text("%d\n" % os.getpid())
    assert qemu_lab.running_pid(str(pid_file)) is None
    assert qemu_lab.running_pid(str(tmp_path / "missing.pid")) is None


def test_the_serial_tail_drops_terminal_escapes_and_keeps_the_last_lines(tmp_path):
    log = tmp_path / "server1.serial.log"
    log.write_bytes(b"".join(b"\x1b[0;32m  OK  \x1b[0m] line %d\r\n" % n for n in range(100)))
    tail = qemu_lab.serial_tail(str(log)).splitlines()
    assert len(tail) == qemu_lab.SERIAL_TAIL_LINES
    assert tail[-1] == "      OK  ] line 99" and "\x1b" not in "".join(tail)


def test_a_server_behind_nat_gets_no_wireguard_forward_and_its_port_is_not_checked(tmp_path):
    spec = dict(lab((5001, 51821), (5002, 51822)), tcp_forwards=[{"guest_port": 5201, "host_port_base": 51820}],
                accel="tcg", qemu="qemu-system-x86_64", cpus=1, memory=512)
    spec["servers"][1]["nat"] = True
    for server in spec["servers"]:
        server["identity"] = "cloud_init"
    paths = {"pid": str(tmp_path / "pid"), "serial": str(tmp_path / "serial"), "disk": str(tmp_path / "disk"),
             "seed": str(tmp_path / "seed")}

    def netdev(server):
        argv = qemu_lab.qemu_argv(spec, server, paths)
        return argv[argv.index("-netdev") + 1]

    assert netdev(spec["servers"][0]) == (
        "user,id=net0,hostfwd=tcp:127.0.0.1:5001-:22,hostfwd=udp:127.0.0.1:51821-:51821,"
        "hostfwd=tcp:127.0.0.1:51821-:5201")
    assert netdev(spec["servers"][1]) == (
        "user,id=net0,hostfwd=tcp:127.0.0.1:5002-:22,hostfwd=tcp:127.0.0.1:51822-:5201")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        spec["servers"][1]["wg_port"] = sock.getsockname()[1]
        spec["servers"][1]["ssh_port"] = free_udp_port()
        qemu_lab.check_ports(dict(spec, tcp_forwards=[]), to_start=["server2"])


def test_a_vm_that_never_answered_is_reported_with_its_state_and_cpu_time():
    report = qemu_lab.process_report(os.getpid())
    assert report.startswith("qemu (pid %d): state R, " % os.getpid()) and " s of CPU (user " in report
    assert qemu_lab.process_report(2 ** 22 + 1) == "qemu (pid %d) is gone" % (2 ** 22 + 1)


@pytest.mark.parametrize("console, restarts", [
    ("[   62.39] nvme nvme0: I/O 222 QID 1 timeout, reset controller\n", 1),
    ("[   31.67] nvme nvme0: I/O 222 (I/O Cmd) QID 1 timeout, aborting\n", 0),  # not yet given up on
    ("[    1.36] nvme nvme0: 1/0/0 default/read/poll queues\n", 0),
])
def test_a_vm_whose_disk_never_answers_is_started_again_once_and_said_so(tmp_path, monkeypatch, console, restarts):
    spec = {"state_dir": str(tmp_path), "ssh_timeout": 60, "listen": "127.0.0.1", "qemu": "qemu-system-x86_64",
            "servers": [{"name": "server2", "ssh_port": 5102}]}
    (tmp_path / "lab.json").write_text(json.dumps(spec))
    paths = qemu_lab.vm_paths(str(tmp_path), "server2")
    with open(paths["serial"], "w", encoding="utf-8") as handle:
        handle.write(console)
    with open(paths["pid"], "w", encoding="ascii") as handle:
        handle.write("4242\n")
    calls, answers = [], iter([False, True])

    def start_vm(spec, server):
        calls.append(("start", server["name"], spec["qemu"]))
        os.unlink(paths["serial"])  # as start_vm does: a new console
    monkeypatch.setattr(qemu_lab, "running_pid", lambda pid_file: 4242)
    monkeypatch.setattr(qemu_lab, "process_report", lambda pid: "qemu (pid %d): state S, 8.9 s of CPU" % pid)
    monkeypatch.setattr(qemu_lab, "stop_vm", lambda state_dir, name: calls.append(("stop", name)))
    monkeypatch.setattr(qemu_lab, "start_vm", start_vm)
    monkeypatch.setattr(qemu_lab, "require_tool", lambda tool, package: "/usr/bin/" + tool)
    monkeypatch.setattr(qemu_lab, "ssh_banner", lambda address, port: True)
    monkeypatch.setattr(qemu_lab, "ssh_login", lambda spec, server: next(answers))
    monkeypatch.setattr(qemu_lab.time, "sleep", lambda seconds: None)
    args = argparse.Namespace(spec=str(tmp_path / "lab.json"), name="server2", deadline=None, status="started")
    result = qemu_lab.cmd_wait(args)
    assert calls == [("stop", "server2"), ("start", "server2", "/usr/bin/qemu-system-x86_64")] * restarts
    assert result["line"].endswith("(started again once: its disk never answered; qemu (pid 4242): state S, 8.9 s "
                                   "of CPU)") is bool(restarts)
