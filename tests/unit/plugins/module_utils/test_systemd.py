# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit files from hostile strings: quoted by systemd's rules or refused, proven with systemd's own parser.

Every unit the collection writes is rendered here with hostile input and handed to `systemd-analyze verify`
(it parses a unit file without a running systemd). verify checks that a command's executable exists: the
tests create the executables they name, so a clean verify also proves systemd read the path exactly as meant.
The file is then parsed line by line: exactly the intended directives, nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.fakevpc.vpc.plugins.filter.netns_vpc_units import netns_vpc_units
from ansible_collections.fakevpc.vpc.plugins.filter.vpc_service_units import vpc_service_units
from ansible_collections.fakevpc.vpc.plugins.module_utils import _systemd as systemd
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_units import app_unit as netns_app_unit
from ansible_collections.fakevpc.vpc.plugins.module_utils._netns_units import boot_unit
from ansible_collections.fakevpc.vpc.plugins.module_utils._vpc_services import app_unit, forward_unit, iptables_unit

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
CONTROL = ["\n", "\r", "\t", "\x00", "\x0b", "\x0c", "\x1b", "\x7f", "\x85"]
# Words that must each come out of systemd's unquoting exactly as they went in.
HOSTILE_WORDS = [
    "a b", '"', "'", "\\", '\\"', ";", "\\;", "%n", "%%", "a\"b'c\\", "x\" ExecStartPre=+/bin/sh -c id",
    "--", "\u00e9 \u00fcn\u00efc\u00f8d\u00e9", "{}", "*", "#", "=", " lead", "trail\\", "semi;colon", "",
]
# What this systemd (252, Debian 12) says about a User= that is POSIX but not its strict rules: not an error.
RELAXED_USER = "which does not match strict user/group name rules"


def verify(tmp_path, name, content, allowed_warnings=()):
    """Write the unit and run systemd-analyze verify on it: no error, no warning but the allowed ones."""
    assert SYSTEMD_ANALYZE, "systemd-analyze is needed (Debian: the systemd package), see tests/README"
    path = tmp_path / name
    path.write_text(content)
    run = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True,
                         env=dict(os.environ, SYSTEMD_LOG_LEVEL="warning", LC_ALL="C"), check=False)
    lines = [line for line in (run.stdout + run.stderr).splitlines()
             if line.strip() and not any(allowed in line for allowed in allowed_warnings)]
    assert run.returncode == 0 and lines == [], "systemd-analyze verify %s:\n%s\n%s" % (name, content, run.stderr)


def directives(content):
    """[(section, key)] of every directive line, in order; fails on a continued line or a line of neither kind."""
    found, section = [], None
    for line in content.split("\n"):
        assert not line.endswith("\\"), "a line continues on the next: %r" % line
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        assert "=" in line, "not a directive: %r" % line
        found.append((section, line.split("=", 1)[0]))
    return found


def executable(tmp_path, name):
    """A real executable file at tmp_path/name (verify checks that a command's executable exists)."""
    path = tmp_path / "bin" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


# -- the quoting itself ----------------------------------------------------------------------------

def test_words_are_double_quoted_with_escapes_specifiers_and_dollars_doubled():
    assert systemd.quote_word("plain") == '"plain"'
    assert systemd.quote_word('a "b" \\c') == '"a \\"b\\" \\\\c"'
    assert systemd.quote_word("%n $USER ${X} ;") == '"%%n $$USER $${X} ;"'
    assert systemd.exec_line("/bin/echo 'a b' ; %n") == '"/bin/echo" "a b" ";" "%%n"'
    assert systemd.exec_line(["socat", "TCP-LISTEN:1,fork", ""]) == '"socat" "TCP-LISTEN:1,fork" ""'


@pytest.mark.parametrize("word", HOSTILE_WORDS, ids=repr)
def test_systemd_reads_each_hostile_word_back_exactly(tmp_path, word):
    """Where systemd allows it in an executable's name (no quote, no backslash), the word is part of the name of
    the executable: verify finds the file only if systemd unquoted it exactly. Everywhere, the word is also an
    argument before and after a ';': a quote or a backslash let through would unbalance the line (verify fails),
    a ';' read as a separator would make two commands (verify refuses that for Type=simple)."""
    safe = not any(char in word for char in "\"'\\")
    path = executable(tmp_path, "x" + word if safe else "x")
    content = systemd.render_unit([], [("Service", [("Type", "simple"),
                                                    ("ExecStart", systemd.exec_line([path, word, ";", word]))])])
    verify(tmp_path, "word.service", content)
    assert directives(content) == [("Service", "Type"), ("Service", "ExecStart")]


@pytest.mark.parametrize("char", CONTROL, ids=repr)
@pytest.mark.parametrize("place", ["executable", "argument", "string"])
def test_control_characters_are_refused_never_escaped(char, place):
    command = {"executable": ["/bin/echo" + char + "ExecStartPre=+/bin/sh"],
               "argument": ["/bin/echo", "x" + char + "ExecStartPre=+/bin/sh -c id"],
               "string": "/bin/echo x" + char + "ExecStartPre=+/bin/sh -c id"}[place]
    with pytest.raises(systemd.UnitError, match="control characters"):
        systemd.exec_line(command)
    with pytest.raises(systemd.UnitError, match="control characters"):
        systemd.value("Description" + char + "ExecStartPre=+/bin/sh")


@pytest.mark.parametrize("command, message", [
    ("+/bin/sh -c id", "systemd's prefixes"),
    ("'+/bin/sh' -c id", "systemd's prefixes"),
    ("-/bin/false", "systemd's prefixes"),
    ("@/bin/sh sh", "systemd's prefixes"),
    (":/bin/sh", "systemd's prefixes"),
    ("!/bin/sh", "systemd's prefixes"),
    ("!!/bin/sh", "systemd's prefixes"),
    ("$SHELL -c id", "cannot be a variable"),
    ("./run.sh", "relative path"),
    ("/usr/bin/../bin/sh", "not a normalized path"),
    ("/usr//bin/sh", "not a normalized path"),
    ("/usr/bin/", "not a normalized path"),
    ("'/bin/sh\"' -c id", "a quote or a backslash"),
    ("'/bin/s\\h'", "a quote or a backslash"),
    ("bin/run", "relative path"),
    ("'' x", "is empty"),
    ("", "is empty"),
    ("   ", "is empty"),
    ("/bin/echo 'unbalanced", "cannot be split"),
    (42, "a command line"),
    ([], "is empty"),
    (["/bin/echo", 3], "must be a string"),
    ("/bin/echo \udcff", "not valid UTF-8"),
])
def test_commands_systemd_would_read_otherwise_are_refused(command, message):
    with pytest.raises(systemd.UnitError, match=message):
        systemd.exec_line(command)


@pytest.mark.parametrize("name", ["root", "_apt", "www-data", "a" * 32, "smb$", "user_1", "x-"])
def test_posix_user_names(name):
    assert systemd.is_user_name(name)


@pytest.mark.parametrize("name", ["", "Root", "1user", "-x", "a" * 33, "user\n", "user\r", "user ExecStartPre=x",
                                  "us$er", "user$$", "u.ser", "%n", "user\nExecStartPre=+/bin/sh", None, 0])
def test_anything_else_is_no_user_name(name):
    assert not systemd.is_user_name(name)
    with pytest.raises(systemd.UnitError, match="not a POSIX user name"):
        systemd.user_value(name)


def test_plain_values_double_percent_and_refuse_a_line_continuation():
    assert systemd.value("50% of %n") == "50%% of %%n"
    assert systemd.value(8888) == "8888"
    with pytest.raises(systemd.UnitError, match="backslash"):
        systemd.value("C:\\")
    with pytest.raises(systemd.UnitError, match="not a unit name"):
        systemd.unit_list(["wg-quick@wg0.service", "x.service ExecStart=/bin/sh"])
    with pytest.raises(systemd.UnitError, match="not a directive name"):
        systemd.render_unit([], [("Service", [("Exec\nStart", "x")])])
    with pytest.raises(systemd.UnitError, match="control characters"):
        systemd.render_unit(["header\n[Service]"], [])


# -- every unit of the collection, rendered from hostile input -----------------------------------------

def hostile_command(tmp_path):
    """A command whose every word tries to break out of its quotes, or start a directive or a second command."""
    return [executable(tmp_path, "x y%n;"), "a b", ";", 'x" ExecStartPre=+/bin/sh -c id', "%n", "$USER",
            "back\\", "\\;", "'", "#"]


def hostile_command_line(tmp_path):
    """The same as one string, as an inventory gives it (split like a shell would)."""
    return " ".join(__import__("shlex").quote(word) for word in hostile_command(tmp_path))


@pytest.mark.parametrize("form", [hostile_command, hostile_command_line], ids=["words", "string"])
def test_vpc_service_app_unit(tmp_path, form):
    content = app_unit({"name": "myecho", "port": 8888, "command": form(tmp_path)})
    verify(tmp_path, "fakevpc-app-myecho.service", content)
    assert directives(content) == [
        ("Unit", "Description"), ("Unit", "After"),
        ("Service", "ExecStart"), ("Service", "DynamicUser"), ("Service", "Restart"), ("Service", "RestartSec"),
        ("Install", "WantedBy")]
    assert systemd.exec_line(hostile_command(tmp_path)) in content


def test_vpc_service_forward_and_iptables_units(tmp_path):
    if not os.path.exists(forward_unit.__globals__["SOCAT"]):
        pytest.skip("socat is not installed here (systemd-analyze verify checks the executable exists)")
    forward = forward_unit({"name": "fakevpc-svc-db-192.168.1.2.service", "address": "192.168.1.2",
                            "protocol": "udp", "port": 5353, "service": "db"})
    verify(tmp_path, "fakevpc-svc-db-192.168.1.2.service", forward)
    assert '"/usr/bin/socat" "UDP-LISTEN:5353,bind=192.168.1.2,reuseaddr,fork" "UDP:127.0.0.1:5353"' in forward
    assert directives(forward) == [
        ("Unit", "Description"), ("Unit", "After"), ("Unit", "Wants"), ("Unit", "StartLimitIntervalSec"),
        ("Service", "ExecStart"), ("Service", "DynamicUser"), ("Service", "AmbientCapabilities"),
        ("Service", "Restart"), ("Service", "RestartSec"), ("Install", "WantedBy")]


def test_vpc_service_iptables_unit_runs_its_script(tmp_path, monkeypatch):
    from ansible_collections.fakevpc.vpc.plugins.module_utils import _vpc_services
    monkeypatch.setattr(_vpc_services, "IPTABLES_SCRIPT", executable(tmp_path, "vpc-services"))
    content = iptables_unit(["wgvpc0", "wgvpc1"])
    verify(tmp_path, "fakevpc-vpc-services.service", content)
    assert directives(content) == [
        ("Unit", "Description"), ("Unit", "After"), ("Unit", "Wants"),
        ("Service", "Type"), ("Service", "RemainAfterExit"), ("Service", "ExecStart"), ("Service", "ExecReload"),
        ("Service", "ExecStop"), ("Install", "WantedBy")]
    assert "Wants=wg-quick@wgvpc0.service wg-quick@wgvpc1.service\n" in content
    with pytest.raises(systemd.UnitError, match="not a unit name"):
        iptables_unit(["wg0.service ExecStartPre=+/bin/sh"])


def netns_app(tmp_path, **changes):
    app = {"name": "web", "vpc": "my-vpc", "subnet": "public", "address": "10.0.1.2", "namespace": "ns-my-vpc-public",
           "unit": "netns-vpc-app-my-vpc-web.service", "command": hostile_command_line(tmp_path), "user": None}
    app.update(changes)
    return app


@pytest.mark.parametrize("persist", [True, False])
@pytest.mark.parametrize("user", [None, "www-data", "smb$"])
def test_netns_vpc_app_unit(tmp_path, persist, user):
    content = netns_app_unit(netns_app(tmp_path, user=user), persist, "netns-vpc")
    if persist:  # the unit it requires, next to it (verify looks for it there)
        (tmp_path / "netns-vpc.service").write_text(boot_unit(executable(tmp_path, "netns-vpc-up")))
    verify(tmp_path, "netns-vpc-app-my-vpc-web.service", content, allowed_warnings=[RELAXED_USER] if user else [])
    assert directives(content) == [("Unit", "Description")] + ([("Unit", "Requires"), ("Unit", "After")] if persist else []) + [
        ("Service", "NetworkNamespacePath"), ("Service", "ExecStart"), ("Service", "Restart"),
        ("Service", "RestartSec")] + ([("Service", "User")] if user else []) + [("Install", "WantedBy")]


@pytest.mark.parametrize("changes, message", [
    ({"user": "root\nExecStartPre=+/bin/sh -c id"}, "not a POSIX user name"),
    ({"user": "root\r"}, "not a POSIX user name"),
    ({"user": "Root"}, "not a POSIX user name"),
    ({"command": "/bin/sleep 1\rExecStartPre=+/bin/sh -c id"}, "control characters"),
    ({"command": "/bin/sleep 1\nExecStartPre=+/bin/sh -c id"}, "control characters"),
    ({"command": "+/bin/sh -c id"}, "systemd's prefixes"),
    ({"namespace": "ns\nExecStartPre=/bin/sh"}, "control characters"),
    ({"name": "web\r\nUser=root"}, "control characters"),
])
def test_netns_vpc_app_unit_refuses(tmp_path, changes, message):
    app = netns_app(tmp_path, **changes)
    with pytest.raises(systemd.UnitError, match=message):
        netns_app_unit(app, True, "netns-vpc")
    with pytest.raises(AnsibleFilterError, match="VPC 'my-vpc' app 'web"):
        netns_vpc_units({"apps": [app]}, True, "netns-vpc", "/usr/local/sbin/netns-vpc-up")


def test_netns_vpc_boot_unit(tmp_path):
    script = executable(tmp_path, "netns vpc %i; up")
    content = boot_unit(script)
    verify(tmp_path, "netns-vpc.service", content)
    assert directives(content) == [
        ("Unit", "Description"), ("Unit", "DefaultDependencies"), ("Unit", "After"), ("Unit", "Before"),
        ("Unit", "Wants"), ("Service", "Type"), ("Service", "RemainAfterExit"), ("Service", "ExecStart"),
        ("Install", "WantedBy")]
    for bad, message in (("relative/netns-vpc-up", "absolute path"), ("/usr/sbin/up\nExecStartPre=/bin/sh", "control")):
        with pytest.raises(AnsibleFilterError, match="variable netns_vpc_boot_script: .*%s" % message):
            netns_vpc_units({"apps": []}, True, "netns-vpc", bad)


def test_the_filters_render_every_unit_of_a_view():
    view = {"apps": [{"name": "a", "unit": "fakevpc-app-a.service", "command": "/bin/cat", "port": 1}],
            "socat_units": [{"name": "fakevpc-svc-a-192.168.1.2.service", "address": "192.168.1.2", "protocol": "tcp",
                             "port": 1, "service": "a"}],
            "iptables_rules": [], "services": ["a"]}
    units = vpc_service_units(view, ["wgvpc0"])
    assert [unit["name"] for unit in units["units"]] == ["fakevpc-app-a.service", "fakevpc-svc-a-192.168.1.2.service"]
    assert units["remove_files"] == ["/usr/local/lib/fakevpc/vpc-services"]
    units = vpc_service_units(dict(view, iptables_rules=["-d 192.168.1.2/32 -j DNAT"]), ["wgvpc0"])
    iptables = units["units"][-1]
    assert (iptables["name"], iptables["on_change"], units["remove_files"]) == ("fakevpc-vpc-services.service", "reload", [])
    assert "ExecStart=\"/usr/local/lib/fakevpc/vpc-services\" \"start\"" in iptables["content"]
    assert [(script["path"], script["mode"]) for script in iptables["files"]] == [("/usr/local/lib/fakevpc/vpc-services", "0755")]
    assert "-A FAKEVPC-SVC -d 192.168.1.2/32 -j DNAT -m comment --comment fakevpc:" in iptables["files"][0]["content"]
    with pytest.raises(AnsibleFilterError, match="vpc_service_units: a unit cannot be written: .*control characters"):
        vpc_service_units(dict(view, apps=[dict(view["apps"][0], command="/bin/cat\rExecStartPre=+/bin/sh")]),
                          ["wgvpc0"])
    for prefix in ("wg\nExecStartPre=+/bin/sh", 'wg"; $X', "wg'", "averyveryverylongprefix"):
        with pytest.raises(AnsibleFilterError, match="vpc_service_units: a unit cannot be written: iface_prefix "):
            vpc_service_units(dict(view, iptables_rules=["-d 192.168.1.2/32 -j DNAT"]), ["wgvpc0"], iface_prefix=prefix)
