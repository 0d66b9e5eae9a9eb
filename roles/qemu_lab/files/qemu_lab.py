#!/usr/bin/env python
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the qemu lab's VMs: the helper behind the fakevpc.vpc.qemu_lab role.

    qemu_lab.py accel --qemu BIN (--kernel FILE | --disk FILE) [--want auto|kvm|tcg] [--cache FILE]
                      [--timeout S]     KVM or TCG, by a real test boot under KVM
    qemu_lab.py up SPEC.json            start every VM of the spec that is not running (a dead one again),
                                        remove VMs the spec no longer lists
    qemu_lab.py wait SPEC.json NAME [--deadline EPOCH] [--status WHAT-UP-DID]
                                        wait until NAME accepts an SSH login
    qemu_lab.py down STATE_DIR [--destroy] [--only NAME]...
                                        stop the VMs; --destroy also removes disks, seeds, logs

A VM is tracked only by its pid file, <state_dir>/<name>.pid, and a pid counts as the VM only while
/proc/<pid>/cmdline names that pid file: processes are never looked up by name.
Success prints one JSON object on stdout, exit 0. Failure prints one plain message on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

SERIAL_TAIL_LINES = 25
# A VM whose disk never serves a request: its kernel times out every I/O of the root disk, resets the NVMe
# controller, times out again and never mounts its root. Seen only on a VM started again right after a kill -9,
# 3 of about 10 molecule runs (qemu 7.2, TCG): qemu idle (8 s of CPU in 15 min), the controller's admin queue
# answering, its I/O queue never served. Not the guest's doing (nothing of it ran yet): `wait` starts such a VM
# again, once, and says so.
DISK_NEVER_ANSWERS = re.compile(r"nvme nvme\d+: I/O \d+ QID \d+ timeout, reset controller")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class LabError(Exception):
    """A failure to report as one plain message."""


def vm_paths(state_dir, name):
    """Return the files of VM name in state_dir."""
    base = os.path.join(state_dir, name)
    return {
        "disk": base + ".qcow2",
        "pid": base + ".pid",
        "serial": base + ".serial.log",
        "seed": base + ".seed.iso",
        "fw_cfg": base + ".fw_cfg",
    }


def running_pid(pid_file):
    """Return the pid recorded in pid_file if that process is alive and is the VM of this pid file."""
    try:
        with open(pid_file, encoding="ascii") as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv = handle.read().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if os.fsencode(pid_file) in argv else None


def process_report(pid):
    """How a process stands, from /proc: its state and the CPU time it has used (a VM silent on its console that
    used no CPU never ran its guest; one that used minutes ran it), or why that cannot be told."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return "qemu (pid %d) is gone" % pid
    ticks = os.sysconf("SC_CLK_TCK")
    return "qemu (pid %d): state %s, %.1f s of CPU (user %.1f, system %.1f)" % (
        pid, fields[0], (int(fields[11]) + int(fields[12])) / ticks, int(fields[11]) / ticks, int(fields[12]) / ticks)


def serial_tail(path, lines=SERIAL_TAIL_LINES):
    """Return the last lines of a serial console log, without terminal escapes."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no serial console log at %s)" % path
    text = ANSI_ESCAPE.sub("", text).replace("\r", "")
    tail = [line for line in text.split("\n") if line.strip()][-lines:]
    return "\n".join("    " + line for line in tail) or "    (the VM wrote nothing to its serial console)"


def require_tool(tool, package):
    """Return the path of tool, or fail naming the package that provides it."""
    path = shutil.which(tool)
    if not path:
        raise LabError("%s not found in PATH: install the %s package (Debian/Ubuntu), "
                       "or run `make lab`, which installs it" % (tool, package))
    return path


def run(argv, what, timeout=60):
    """Run argv and return its stdout; fail with its own error output."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LabError("%s: %s did not finish within %d s" % (what, argv[0], timeout)) from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip() or "exit status %d" % done.returncode
        raise LabError("%s: %s failed: %s" % (what, os.path.basename(argv[0]), detail))
    return done.stdout


# --- acceleration -------------------------------------------------------------------------------

def host_boot_id():
    """Return an identifier that changes when the host reboots."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def probe_kvm(qemu, kernel, disk, timeout):
    """Boot a guest kernel under KVM until it gets past early boot, which proves KVM really runs guests.

    With kernel: boot it with no root filesystem; its root-mount panic is the proof.
    With disk: boot the disk (a snapshot, nothing written) until its kernel starts init.
    Returns (works, reason). A hang (KVM that opens but cannot run a guest) ends at the timeout.
    """
    argv = [qemu, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-accel", "kvm", "-cpu", "host", "-m", "512", "-serial", "stdio"]
    if kernel:
        argv += ["-kernel", kernel, "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent"]
        marker = re.compile(rb"Kernel panic|VFS: (Cannot open|Unable to mount) root")
    else:
        argv += ["-drive", "file=%s,if=virtio,snapshot=on" % disk]
        marker = re.compile(rb"Freeing unused kernel|Run /init|Run /sbin/init")
    started = time.monotonic()
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        output = b""
        deadline = started + timeout
        while time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                chunk = os.read(proc.stdout.fileno(), 65536)
                output += chunk
                if marker.search(output):
                    proc.kill()
                    return True, "a KVM guest kernel booted in %.1f s" % (time.monotonic() - started)
                if not chunk:
                    break
        proc.kill()
        error = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
    if proc.returncode not in (None, -signal.SIGKILL) and error:
        return False, "a KVM test boot failed: %s" % error[-1]
    return False, ("a KVM guest kernel did not boot within %d s (nested KVM that opens but cannot "
                   "run guests)" % timeout)


def cmd_accel(args):
    """Choose KVM or TCG; in auto mode by a real (cached) boot, never by /dev/kvm alone."""
    if args.want != "auto":
        return {"accel": args.want, "reason": "set by qemu_lab_accel", "probed": False}
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return {"accel": "tcg", "reason": "no usable /dev/kvm", "probed": False}
    guest = os.path.realpath(args.kernel or args.disk)
    key = {"boot_id": host_boot_id(), "guest": guest, "qemu": shutil.which(args.qemu) or args.qemu}
    if args.cache:
        try:
            with open(args.cache, encoding="utf-8") as handle:
                cached = json.load(handle)
            if cached.get("key") == key:
                return dict(cached["result"], probed=False, cached=True)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    works, reason = probe_kvm(require_tool(args.qemu, "qemu-system-x86"), args.kernel, args.disk,
                              args.timeout)
    result = {"accel": "kvm" if works else "tcg", "reason": reason}
    if args.cache:
        with open(args.cache, "w", encoding="utf-8") as handle:
            json.dump({"key": key, "result": result}, handle)
    return dict(result, probed=True, cached=False)


# --- start --------------------------------------------------------------------------------------

def port_free(address, port, kind):
    """Return True when nothing else holds address:port for kind (SOCK_STREAM or SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def extra_tcp_forwards(spec, server):
    """Return (host port, guest port) of each extra TCP forward of one server (spec's tcp_forwards)."""
    return [(int(forward["host_port_base"]) + server["index"], int(forward["guest_port"]))
            for forward in spec.get("tcp_forwards", [])]


def host_ports(spec, server):
    """Return (protocol, host port, guest port, purpose) of every forward of one server: none for the
    WireGuard port of a server behind NAT (it can only dial out, through qemu's user networking)."""
    ports = [("tcp", server["ssh_port"], 22, "SSH")]
    if not server.get("nat"):
        ports.append(("udp", server["wg_port"], server["wg_port"], "WireGuard"))
    ports += [("tcp", host_port, guest_port, "TCP %d" % guest_port)
              for host_port, guest_port in extra_tcp_forwards(spec, server)]
    return ports


def check_ports(spec, to_start):
    """Fail, naming VM, port and purpose, if any port of a VM about to start is taken."""
    problems = []
    seen = {}
    for server in spec["servers"]:
        for proto, port, _guest_port, purpose in host_ports(spec, server):
            where = (proto, port)
            if where in seen:
                problems.append("%s and %s both use %s port %d" % (seen[where], server["name"], proto, port))
            seen[where] = server["name"]
            if server["name"] not in to_start:
                continue
            kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
            if not port_free(spec["listen"], port, kind):
                problems.append(
                    "%s: %s:%d/%s (its %s forward) is already in use by another program (see `ss -lnp "
                    "'sport = :%d'`)" % (server["name"], spec["listen"], port, proto, purpose, port))
    if problems:
        raise LabError("cannot start the lab: " + "; ".join(problems))


def write_identity(spec, server, paths):
    """Write what the VM learns about itself: fw_cfg files, or a cloud-init NoCloud seed (once)."""
    with open(spec["public_key_file"], encoding="utf-8") as handle:
        public_key = handle.read().strip()
    if server["identity"] == "fw_cfg":
        os.makedirs(paths["fw_cfg"], mode=0o700, exist_ok=True)
        for item, value in (("hostname", server["name"]), ("user", spec["user"]),
                            ("authorized_keys", public_key + "\n")):
            with open(os.path.join(paths["fw_cfg"], item), "w", encoding="utf-8") as handle:
                handle.write(value)
        return
    if os.path.exists(paths["seed"]):
        return
    if spec["user"] == "root":
        account = {"disable_root": False, "ssh_authorized_keys": [public_key]}
    else:
        account = {"disable_root": True,
                   "users": [{"name": spec["user"], "shell": "/bin/bash", "sudo": "ALL=(ALL) NOPASSWD:ALL",
                              "ssh_authorized_keys": [public_key]}]}
    user_data = dict({"hostname": server["name"], "manage_etc_hosts": False, "ssh_pwauth": False,
                      "ssh_genkeytypes": ["ed25519"], "locale": "C.UTF-8"}, **account)
    seed_dir = paths["seed"] + ".d"
    os.makedirs(seed_dir, exist_ok=True)
    try:
        with open(os.path.join(seed_dir, "user-data"), "w", encoding="utf-8") as handle:
            handle.write("#cloud-config\n" + json.dumps(user_data, indent=2) + "\n")
        with open(os.path.join(seed_dir, "meta-data"), "w", encoding="utf-8") as handle:
            json.dump({"instance-id": "fakevpc-%s-%s" % (spec["name"], server["name"]),
                       "local-hostname": server["name"]}, handle)
        run([require_tool("genisoimage", "genisoimage"), "-quiet", "-output", paths["seed"],
             "-volid", "cidata", "-joliet", "-rock", os.path.join(seed_dir, "user-data"),
             os.path.join(seed_dir, "meta-data")], "%s: cloud-init seed" % server["name"])
    finally:
        shutil.rmtree(seed_dir, ignore_errors=True)


def qemu_argv(spec, server, paths):
    """Return the qemu command line of one VM."""
    if spec["accel"] == "kvm":
        accel = ["-accel", "kvm", "-cpu", "host"]
    else:
        accel = ["-accel", "tcg,thread=multi,tb-size=256"]
    forwards = ",".join("hostfwd={0}:{1}:{2}-:{3}".format(proto, spec["listen"], host_port, guest_port)
                        for proto, host_port, guest_port, _purpose in host_ports(spec, server))
    argv = [spec["qemu"], "-name", server["name"], "-nodefaults", "-no-user-config",
            "-display", "none", "-daemonize", "-pidfile", paths["pid"]] + accel + [
        "-smp", str(spec["cpus"]), "-m", str(spec["memory"]),
        "-netdev", "user,id=net0," + forwards, "-device", "virtio-net-pci,netdev=net0",
        "-device", "virtio-rng-pci", "-serial", "file:" + paths["serial"]]
    if spec.get("kernel"):
        # Direct kernel boot from an NVMe disk: the Debian cloud kernel has NVMe and ext4 built in.
        append = spec["kernel_args"]
        if server["identity"] != "cloud_init":
            append += " cloud-init=disabled"
        argv += ["-kernel", spec["kernel"], "-append", append,
                 "-drive", "file=%s,if=none,id=disk0,format=qcow2" % paths["disk"],
                 "-device", "nvme,drive=disk0,serial=%s" % server["name"]]
    else:
        argv += ["-drive", "file=%s,if=virtio,format=qcow2" % paths["disk"]]
    if server["identity"] == "fw_cfg":
        for item in ("hostname", "user", "authorized_keys"):
            argv += ["-fw_cfg", "name=opt/fakevpc/%s,file=%s" % (item, os.path.join(paths["fw_cfg"], item))]
    else:
        argv += ["-drive", "file=%s,if=virtio,format=raw,readonly=on" % paths["seed"]]
    return argv


def start_vm(spec, server):
    """Start one VM; return True if its disk was created now."""
    paths = vm_paths(spec["state_dir"], server["name"])
    created = not os.path.exists(paths["disk"])
    if created:
        argv = [spec["qemu_img"], "create", "-q", "-f", "qcow2", "-F", spec["base_format"],
                "-b", spec["base_image"], paths["disk"]]
        if spec.get("disk_size"):
            argv.append(spec["disk_size"])
        run(argv, "%s: disk" % server["name"])
    try:
        write_identity(spec, server, paths)
        for stale in (paths["pid"], paths["serial"]):
            if os.path.exists(stale):
                os.unlink(stale)
        run(qemu_argv(spec, server, paths), "%s: qemu" % server["name"])
        if running_pid(paths["pid"]) is None:
            raise LabError("%s: qemu exited right after starting; serial console %s:\n%s"
                           % (server["name"], paths["serial"], serial_tail(paths["serial"])))
    except LabError:
        if created:
            remove_vm(spec["state_dir"], server["name"])
        raise
    return created


def cmd_up(args):
    """Make the running VMs match the spec; on any failure stop what this run started."""
    with open(args.spec, encoding="utf-8") as handle:
        spec = json.load(handle)
    # The VMs inherit this process's CPU affinity: let them use every CPU, whatever this helper was
    # pinned to (mitogen pins its workers to one CPU).
    try:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    except OSError:
        pass
    for key, package in (("qemu", "qemu-system-x86"), ("qemu_img", "qemu-utils")):
        spec[key] = require_tool(spec[key], package)
    for key in ("base_image", "kernel", "public_key_file"):
        if spec.get(key) and not os.path.exists(spec[key]):
            raise LabError("%s %s does not exist" % (key.replace("_", " "), spec[key]))

    wanted = [server["name"] for server in spec["servers"]]
    removed = [name for name in known_vms(spec["state_dir"]) if name not in wanted]
    for name in removed:
        remove_vm(spec["state_dir"], name)

    status = {}
    for server in spec["servers"]:
        paths = vm_paths(spec["state_dir"], server["name"])
        if running_pid(paths["pid"]) is not None:
            status[server["name"]] = "running"
        elif os.path.exists(paths["pid"]):
            status[server["name"]] = "restarted (it had died)"
        elif os.path.exists(paths["disk"]):
            status[server["name"]] = "started"
        else:
            status[server["name"]] = "created"
    to_start = [name for name, state in status.items() if state != "running"]
    check_ports(spec, to_start)

    started = []
    try:
        for server in spec["servers"]:
            if server["name"] in to_start:
                start_vm(spec, server)
                started.append(server["name"])
    except LabError:
        for name in started:
            if status[name] == "created":
                remove_vm(spec["state_dir"], name)
            else:
                stop_vm(spec["state_dir"], name)
        raise
    return {"changed": bool(to_start or removed), "vms": status, "removed": removed,
            "deadline": time.time() + spec["ssh_timeout"]}


# --- wait ---------------------------------------------------------------------------------------

def ssh_banner(address, port):
    """Return True if an SSH server answers on address:port (qemu accepts before the guest listens)."""
    try:
        with socket.create_connection((address, port), timeout=5) as sock:
            sock.settimeout(5)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def ssh_login(spec, server):
    """Return True if the lab user can log in with the lab key."""
    argv = ["ssh", "-i", spec["private_key_file"], "-p", str(server["ssh_port"]), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=10", "%s@%s" % (spec["user"], spec["listen"]), "true"]
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                              check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def disk_never_answers(serial_path):
    """Whether the serial console at serial_path shows a root disk that never served a request (DISK_NEVER_ANSWERS)."""
    try:
        with open(serial_path, encoding="utf-8", errors="replace") as handle:
            return DISK_NEVER_ANSWERS.search(handle.read()) is not None
    except OSError:
        return False


def cmd_wait(args):
    """Wait until one VM accepts an SSH login; on failure name it and show its serial console."""
    with open(args.spec, encoding="utf-8") as handle:
        spec = json.load(handle)
    server = next((s for s in spec["servers"] if s["name"] == args.name), None)
    if server is None:
        raise LabError("%s is not a VM of this lab (%s)" % (args.name, args.spec))
    paths = vm_paths(spec["state_dir"], server["name"])
    started = time.time()
    deadline = args.deadline or started + spec["ssh_timeout"]
    restarted = ""
    while True:
        if not restarted and disk_never_answers(paths["serial"]):
            pid = running_pid(paths["pid"])
            restarted = " (started again once: its disk never answered; %s)" % (
                process_report(pid) if pid else "qemu had stopped")
            stop_vm(spec["state_dir"], server["name"])
            spec["qemu"] = require_tool(spec["qemu"], "qemu-system-x86")
            start_vm(spec, server)
        if running_pid(paths["pid"]) is None:
            raise LabError(
                "%s: the VM stopped while booting (pid file %s). Last lines of its serial console %s:\n%s"
                % (server["name"], paths["pid"], paths["serial"], serial_tail(paths["serial"])))
        if ssh_banner(spec["listen"], server["ssh_port"]) and ssh_login(spec, server):
            # qemu writes the pid file as it starts: its age is the VM's time to a working SSH login.
            booted = round(time.time() - os.path.getmtime(paths["pid"]), 1)
            if args.status == "running":
                when = "already running (for %d s)" % booted
            else:
                when = "%s, answered %.1f s after its start" % (args.status or "started", booted)
            return {"name": server["name"], "seconds_since_start": booted,
                    "seconds_waited": round(time.time() - started, 1),
                    "line": "%s: SSH %s:%d, %s%s" % (server["name"], spec["listen"], server["ssh_port"], when, restarted)}
        if time.time() >= deadline:
            break
        time.sleep(1)
    pid = running_pid(paths["pid"])
    raise LabError("%s: no SSH login on %s:%d after %d s (%s); %s. Last lines of its serial console %s:\n%s"
                   % (server["name"], spec["listen"], server["ssh_port"],
                      time.time() - os.path.getmtime(paths["pid"]), spec["accel"].upper(),
                      process_report(pid) if pid else "qemu is gone", paths["serial"], serial_tail(paths["serial"])))


# --- stop and destroy ---------------------------------------------------------------------------

def known_vms(state_dir):
    """Return the names of the VMs that have a disk or a pid file in state_dir."""
    try:
        entries = os.listdir(state_dir)
    except FileNotFoundError:
        return []
    names = {entry.rsplit(".", 1)[0] for entry in entries if entry.endswith((".pid", ".qcow2"))}
    return sorted(names)


def stop_vm(state_dir, name):
    """Stop one VM (TERM, then KILL); return True if it was running."""
    pid_file = vm_paths(state_dir, name)["pid"]
    pid = running_pid(pid_file)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while running_pid(pid_file) == pid and time.monotonic() < deadline:
            time.sleep(0.1)
        if running_pid(pid_file) == pid:
            os.kill(pid, signal.SIGKILL)
            while running_pid(pid_file) == pid:
                time.sleep(0.1)
    if os.path.exists(pid_file):
        os.unlink(pid_file)
    return pid is not None


def remove_vm(state_dir, name):
    """Stop one VM and remove every file it had; return True if anything was there."""
    found = stop_vm(state_dir, name)
    for path in vm_paths(state_dir, name).values():
        if os.path.isdir(path):
            shutil.rmtree(path)
            found = True
        elif os.path.exists(path):
            os.unlink(path)
            found = True
    return found


def cmd_down(args):
    """Stop every VM of a lab; with --destroy remove all its files and its state directory."""
    changed = []
    for name in args.only or known_vms(args.state_dir):
        if (remove_vm if args.destroy else stop_vm)(args.state_dir, name):
            changed.append(name)
    if args.destroy and not args.only and os.path.isdir(args.state_dir):
        shutil.rmtree(args.state_dir)
        changed = changed or ["state directory"]
    return {"changed": bool(changed), "vms": changed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    accel = commands.add_parser("accel")
    accel.add_argument("--qemu", default="qemu-system-x86_64")
    guest = accel.add_mutually_exclusive_group(required=True)
    guest.add_argument("--kernel")
    guest.add_argument("--disk")
    accel.add_argument("--want", choices=("auto", "kvm", "tcg"), default="auto")
    accel.add_argument("--cache")
    accel.add_argument("--timeout", type=int, default=20)
    up = commands.add_parser("up")
    up.add_argument("spec")
    wait = commands.add_parser("wait")
    wait.add_argument("spec")
    wait.add_argument("name")
    wait.add_argument("--deadline", type=float, help="give up at this time (seconds since the epoch)")
    wait.add_argument("--status", help="what `up` did to the VM (running, created, started...)")
    down = commands.add_parser("down")
    down.add_argument("state_dir")
    down.add_argument("--destroy", action="store_true")
    down.add_argument("--only", action="append", metavar="NAME", help="only this VM (repeatable)")
    args = parser.parse_args()
    handlers = {"accel": cmd_accel, "up": cmd_up, "wait": cmd_wait, "down": cmd_down}
    try:
        result = handlers[args.command](args)
    except LabError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print("qemu lab: %s" % exc, file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
