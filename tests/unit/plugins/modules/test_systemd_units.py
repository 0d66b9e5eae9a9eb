# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""systemd_units: the exact systemctl commands for each situation (run_command mocked, files in a temp dir)."""

from __future__ import annotations

import os

import pytest

from ansible.module_utils import basic
from ansible_collections.fakevpc.vpc.plugins.modules import systemd_units

SHOW = ("systemctl", "show", "-p", "Id,ActiveState,UnitFileState")
APP = "fakevpc-app-myecho.service"
SOCAT = "fakevpc-svc-myecho-192.168.1.2.service"
RULES_UNIT = "fakevpc-vpc-services.service"
PATTERNS = ["fakevpc-svc-*.service", "fakevpc-app-*.service", "fakevpc-vpc-services.service"]


class FakeSystemd:
    """A systemctl that keeps each unit's (ActiveState, UnitFileState) and records every command line."""

    def __init__(self, states=None, failures=None):
        self.states = dict(states or {})
        self.failures = failures or {}
        self.commands = []
        self.on_disable = None

    def __call__(self, args, data=None, environ_update=None, **kwargs):
        assert environ_update == {"LC_ALL": "C", "LANG": "C"}
        assert args[0] == "/usr/bin/systemctl"
        command = ("systemctl",) + tuple(args[1:])
        self.commands.append(command)
        if command in self.failures:
            return self.failures[command]
        verb, units = command[1], [arg for arg in command[2:] if arg.endswith(".service")]
        if verb == "show":
            return 0, "\n".join(self.show(unit) for unit in units), ""
        if verb == "disable" and self.on_disable:
            self.on_disable()
        for unit in units:
            active, enabled = self.states.get(unit, ("inactive", ""))
            self.states[unit] = {
                "enable": (active, "enabled"), "start": ("active", enabled), "restart": ("active", enabled),
                "reload": ("active", enabled), "disable": ("inactive", "disabled"),
            }[verb]
        return 0, "", ""

    def show(self, unit):
        active, enabled = self.states.get(unit, ("inactive", ""))
        return "Id=%s\nActiveState=%s\nUnitFileState=%s\n" % (unit, active, enabled)

    def mutating(self):
        return [command for command in self.commands if command[1] != "show"]


@pytest.fixture
def systemd(monkeypatch):
    def install(states=None, failures=None):
        fake = FakeSystemd(states, failures)
        monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, args, **kwargs: fake(args, **kwargs))
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False: "/usr/bin/" + name)
        return fake
    return install


def unit_text(description):
    return "[Unit]\nDescription=%s\n\n[Service]\nExecStart=/bin/true\n" % description


def service_args(tmp_path, rules="*nat\nCOMMIT\n", script="#!/bin/sh\n", app=unit_text("app")):
    return {
        "unit_dir": str(tmp_path / "units"),
        "units": [
            {"name": APP, "content": app},
            {"name": SOCAT, "content": unit_text("socat")},
            {"name": RULES_UNIT, "content": unit_text("rules"), "on_change": "reload", "files": [
                {"path": str(tmp_path / "etc" / "fakevpc" / "vpc-services.rules"), "content": rules},
                {"path": str(tmp_path / "lib" / "fakevpc" / "vpc-services"), "content": script, "mode": "0755"},
            ]},
        ],
        "prune_patterns": PATTERNS,
    }


def mode_of(path):
    return oct(os.stat(path).st_mode & 0o7777)


def converged(run_module, systemd, tmp_path):
    """A host where service_args was applied: every unit enabled and active."""
    fake = systemd()
    result, failed = run_module(systemd_units, service_args(tmp_path))
    assert not failed and result["changed"]
    fake.commands.clear()
    return fake


def test_first_run_writes_everything_then_enables_and_starts_every_unit(run_module, systemd, tmp_path):
    fake = systemd()
    result, failed = run_module(systemd_units, service_args(tmp_path))
    assert not failed and result["changed"]
    # The state read before any change; one daemon-reload, for the unit files and the links together.
    assert fake.commands == [
        SHOW + (APP, SOCAT, RULES_UNIT),
        ("systemctl", "enable", "--no-reload", APP, SOCAT, RULES_UNIT),
        ("systemctl", "daemon-reload"),
        ("systemctl", "start", APP, SOCAT, RULES_UNIT),
    ]
    units, rules, script = tmp_path / "units", tmp_path / "etc/fakevpc/vpc-services.rules", tmp_path / "lib/fakevpc/vpc-services"
    assert result["written"] == [str(units / APP), str(units / SOCAT), str(units / RULES_UNIT), str(rules), str(script)]
    assert (units / APP).read_text() == unit_text("app") and rules.read_text() == "*nat\nCOMMIT\n"
    assert [mode_of(units / APP), mode_of(rules), mode_of(script)] == ["0o644", "0o644", "0o755"]
    assert [mode_of(rules.parent), mode_of(rules.parent.parent), mode_of(units)] == ["0o755"] * 3
    assert result["started"] == result["enabled"] == [APP, SOCAT, RULES_UNIT]
    assert result["restarted"] == result["reloaded"] == result["pruned"] == result["removed"] == []
    assert sorted(os.listdir(units)) == sorted([APP, SOCAT, RULES_UNIT]), "a temporary file was left behind"


def test_rerun_changes_nothing_and_only_reads_the_units_state(run_module, systemd, tmp_path):
    fake = converged(run_module, systemd, tmp_path)
    result, failed = run_module(systemd_units, service_args(tmp_path), diff=True)
    assert not failed and not result["changed"]
    assert fake.commands == [SHOW + (APP, SOCAT, RULES_UNIT)]
    assert result["diff"] == []


def test_a_changed_unit_is_rewritten_and_restarted_after_a_daemon_reload(run_module, systemd, tmp_path):
    fake = converged(run_module, systemd, tmp_path)
    result, failed = run_module(systemd_units, service_args(tmp_path, app=unit_text("app v2")))
    assert not failed and result["changed"]
    assert fake.commands == [SHOW + (APP, SOCAT, RULES_UNIT), ("systemctl", "daemon-reload"), ("systemctl", "restart", APP)]
    assert result["written"] == [str(tmp_path / "units" / APP)] and result["restarted"] == [APP]


def test_a_rewritten_unit_is_enabled_unless_its_links_say_it_is(run_module, systemd, tmp_path):
    # Static (no [Install]) was the old unit file's state: the new one's [Install] is known only once enabled.
    fake = converged(run_module, systemd, tmp_path)
    fake.states[APP] = ("active", "static")
    result, failed = run_module(systemd_units, service_args(tmp_path, app=unit_text("app v2")))
    assert not failed and result["enabled"] == [APP] and result["restarted"] == [APP]
    assert fake.mutating() == [("systemctl", "enable", "--no-reload", APP), ("systemctl", "daemon-reload"),
                               ("systemctl", "restart", APP)]


def test_a_changed_file_of_a_reload_unit_reloads_it_without_a_daemon_reload(run_module, systemd, tmp_path):
    fake = converged(run_module, systemd, tmp_path)
    result, failed = run_module(systemd_units, service_args(tmp_path, rules="*nat\n-A X\nCOMMIT\n"))
    assert not failed and result["changed"]
    assert fake.commands == [SHOW + (APP, SOCAT, RULES_UNIT), ("systemctl", "reload", RULES_UNIT)]
    assert result["reloaded"] == [RULES_UNIT] and result["restarted"] == []


def test_a_file_with_the_wrong_mode_is_rewritten_and_its_unit_reloaded(run_module, systemd, tmp_path):
    fake = converged(run_module, systemd, tmp_path)
    script = tmp_path / "lib/fakevpc/vpc-services"
    os.chmod(script, 0o644)
    result, failed = run_module(systemd_units, service_args(tmp_path), diff=True)
    assert not failed and fake.mutating() == [("systemctl", "reload", RULES_UNIT)]
    assert mode_of(script) == "0o755"
    assert result["diff"] == [{"before_header": "%s (mode 0644)" % script, "after_header": "%s (mode 0755)" % script,
                               "before": "#!/bin/sh\n", "after": "#!/bin/sh\n"}]


def test_a_stopped_or_disabled_unit_is_started_or_enabled_and_a_changed_stopped_one_only_started(run_module, systemd, tmp_path):
    fake = converged(run_module, systemd, tmp_path)
    fake.states[APP] = ("failed", "enabled")
    fake.states[SOCAT] = ("active", "disabled")
    fake.states[RULES_UNIT] = ("inactive", "enabled")
    result, failed = run_module(systemd_units, service_args(tmp_path, rules="*nat\n-A X\nCOMMIT\n"))
    assert not failed
    assert fake.mutating() == [("systemctl", "enable", SOCAT), ("systemctl", "start", APP, RULES_UNIT)]
    assert result["reloaded"] == [] and result["started"] == [APP, RULES_UNIT]


def test_units_no_longer_listed_are_stopped_disabled_and_removed_then_the_files_to_remove(run_module, systemd, tmp_path):
    fake = converged(run_module, systemd, tmp_path)
    units, rules, script = tmp_path / "units", tmp_path / "etc/fakevpc/vpc-services.rules", tmp_path / "lib/fakevpc/vpc-services"
    (units / "other.service").write_text(unit_text("not ours"))
    # The rules unit's ExecStop needs its script and rules: they are removed after it stops.
    fake.on_disable = lambda: pytest.fail("files removed before the unit stopped") if not script.exists() else None
    args = service_args(tmp_path)
    args["units"] = args["units"][:1]
    args["remove_files"] = [str(rules), str(script), str(tmp_path / "never-there")]
    result, failed = run_module(systemd_units, args, diff=True)
    assert not failed and result["changed"]
    assert fake.commands == [
        SHOW + (APP,),
        ("systemctl", "disable", "--now", "--no-reload", SOCAT, RULES_UNIT),
        ("systemctl", "daemon-reload"),
    ]
    assert result["pruned"] == [SOCAT, RULES_UNIT]
    assert result["removed"] == [str(units / SOCAT), str(units / RULES_UNIT), str(rules), str(script)]
    assert sorted(os.listdir(units)) == [APP, "other.service"] and not rules.exists() and not script.exists()
    assert [(entry["before_header"], entry["after_header"], entry["after"]) for entry in result["diff"]][-1] == \
        ("%s (mode 0755)" % script, "%s (absent)" % script, "")


def test_check_mode_changes_no_file_runs_only_show_and_reports_the_diff(run_module, systemd, tmp_path):
    fake = converged(run_module, systemd, tmp_path)
    units = tmp_path / "units"
    (units / "fakevpc-app-old.service").write_text(unit_text("old"))
    before = dict((name, (units / name).read_text()) for name in os.listdir(units))
    result, failed = run_module(systemd_units, service_args(tmp_path, app=unit_text("app v2"), rules="*nat\n-A X\nCOMMIT\n"),
                                check_mode=True, diff=True)
    assert not failed and result["changed"]
    assert fake.commands == [SHOW + (APP, SOCAT, RULES_UNIT)]
    assert dict((name, (units / name).read_text()) for name in os.listdir(units)) == before
    assert (tmp_path / "etc/fakevpc/vpc-services.rules").read_text() == "*nat\nCOMMIT\n"
    assert result["restarted"] == [APP] and result["reloaded"] == [RULES_UNIT] and result["pruned"] == ["fakevpc-app-old.service"]
    assert [entry["after_header"] for entry in result["diff"]] == [
        "%s (mode 0644)" % (units / APP), "%s (mode 0644)" % (tmp_path / "etc/fakevpc/vpc-services.rules"),
        "%s (absent)" % (units / "fakevpc-app-old.service")]
    assert result["diff"][0]["before"] == unit_text("app") and result["diff"][0]["after"] == unit_text("app v2")


def test_check_mode_on_a_new_host_writes_nothing(run_module, systemd, tmp_path):
    fake = systemd()
    result, failed = run_module(systemd_units, service_args(tmp_path), check_mode=True, diff=True)
    assert not failed and result["changed"] and result["started"] == [APP, SOCAT, RULES_UNIT]
    assert fake.commands == [SHOW + (APP, SOCAT, RULES_UNIT)]
    assert not (tmp_path / "units").exists() and not (tmp_path / "etc").exists()
    assert result["diff"][0]["before_header"] == "%s (absent)" % (tmp_path / "units" / APP)


@pytest.mark.parametrize("unit_dir_exists", [True, False])
def test_nothing_to_do_runs_no_systemctl_at_all(run_module, systemd, tmp_path, unit_dir_exists):
    fake = systemd()
    if unit_dir_exists:
        (tmp_path / "units").mkdir()
        (tmp_path / "units" / "ssh.service").write_text(unit_text("ssh"))
    result, failed = run_module(systemd_units, {"unit_dir": str(tmp_path / "units"), "prune_patterns": PATTERNS,
                                                "remove_files": [str(tmp_path / "absent")]})
    assert not failed and not result["changed"] and fake.commands == []


def test_a_failed_start_names_the_unit_and_its_journal(run_module, systemd, tmp_path):
    stderr = ("Job for %s failed because the control process exited with error code.\n"
              "See \"systemctl status %s\" and \"journalctl -xeu %s\" for details.\n") % ((RULES_UNIT,) * 3)
    systemd(failures={("systemctl", "start", APP, SOCAT, RULES_UNIT): (1, "", stderr)})
    result, failed = run_module(systemd_units, service_args(tmp_path))
    assert failed and result["changed"]
    assert result["msg"].startswith("systemctl start failed for %s: Job for %s failed" % (RULES_UNIT, RULES_UNIT))
    assert result["msg"].endswith("; see journalctl -u %s" % RULES_UNIT)


def test_a_failure_that_names_no_unit_names_them_all(run_module, systemd, tmp_path):
    systemd(failures={("systemctl", "enable", "--no-reload", APP, SOCAT, RULES_UNIT): (1, "", "Failed to connect to bus\n")})
    result, failed = run_module(systemd_units, service_args(tmp_path))
    assert failed and result["msg"] == "systemctl enable failed for %s, %s, %s: Failed to connect to bus" % (APP, SOCAT, RULES_UNIT)


def test_an_integer_mode_is_the_mode_yaml_read(run_module, systemd, tmp_path):
    systemd()
    args = service_args(tmp_path)
    args["units"][2]["files"][1]["mode"] = 0o750
    _result, failed = run_module(systemd_units, args)
    assert not failed and mode_of(tmp_path / "lib/fakevpc/vpc-services") == "0o750"


@pytest.mark.parametrize("change, message", [
    (lambda args: args["units"][0].update(name="-x.service"), "units[0]: '-x.service' is not a unit file name"),
    (lambda args: args["units"][0].update(name="../x.service"), "units[0]: '../x.service' is not a unit file name"),
    (lambda args: args["units"][1].update(name=APP), "units: a unit name is listed twice"),
    (lambda args: args["units"][2]["files"][0].update(path="relative/rules"), "units[2].files[0]: 'relative/rules' is not an absolute path"),
    (lambda args: args["units"][2]["files"][1].update(mode="u=rwx"), "units[2].files[1]: mode must be an octal string"),
    (lambda args: args["units"][2]["files"][1].update(mode="644"), None),
    (lambda args: args.update(remove_files=[args["units"][2]["files"][0]["path"]]), "remove_files[0]: "),
    (lambda args: args.update(prune_patterns=["../*.service"]), "prune_patterns[0]: '../*.service' is a path"),
])
def test_invalid_arguments_fail_before_any_change(run_module, systemd, tmp_path, change, message):
    fake = systemd()
    args = service_args(tmp_path)
    change(args)
    result, failed = run_module(systemd_units, args)
    if message is None:
        assert not failed
        return
    assert failed and result["msg"].startswith(message)
    assert fake.commands == [] and not (tmp_path / "units").exists()


def test_without_systemctl_the_files_are_written_and_pruned_and_no_systemctl_runs(run_module, systemd, tmp_path):
    fake = systemd()
    result, failed = run_module(systemd_units, dict(service_args(tmp_path), systemctl=False))
    assert not failed and result["changed"] and fake.commands == []
    assert (tmp_path / "units" / APP).exists() and result["started"] == result["enabled"] == []
    result, failed = run_module(systemd_units, dict(service_args(tmp_path), systemctl=False))
    assert not failed and not result["changed"] and fake.commands == []
    args = dict(service_args(tmp_path), systemctl=False)
    args["units"] = args["units"][:1]
    result, failed = run_module(systemd_units, args)
    assert not failed and result["changed"] and fake.commands == []
    assert result["pruned"] == [SOCAT, RULES_UNIT] and sorted(os.listdir(tmp_path / "units")) == [APP]
