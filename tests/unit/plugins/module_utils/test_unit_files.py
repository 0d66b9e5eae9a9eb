# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The read and the comparison systemd_units shares with the read that can prove its call unneeded."""

from __future__ import annotations

import os

import pytest

from ansible_collections.fakevpc.vpc.plugins.module_utils._unit_files import (
    UnitFilesError,
    converged,
    read_units,
    wanted_files,
)

PATTERNS = ("app.service", "app-*.service")
ENABLED_RUNNING = {"ActiveState": "active", "UnitFileState": "enabled"}


def units(script):
    return [{"name": "app.service", "content": "[Service]\nExecStart=%s\n" % script,
             "files": [{"path": script, "content": "#!/bin/sh\necho up\n", "mode": "0755"}]},
            {"name": "app-web.service", "content": "[Service]\nExecStart=/bin/true\n"}]


@pytest.fixture
def host(tmp_path):
    """A host on which the units are written as the module writes them: (unit_dir, script, run, the commands run)."""
    unit_dir, script = tmp_path / "units", str(tmp_path / "app-up")
    unit_dir.mkdir()
    for item in wanted_files(units(script), str(unit_dir)):
        with open(item["path"], "wb") as handle:
            handle.write(item["content"])
        os.chmod(item["path"], item["mode"])
    (unit_dir / "other.service").write_text("not ours")
    commands = []

    def run(*argv, **kwargs):
        commands.append(argv)
        return 0, "\n\n".join("Id=%s\nActiveState=active\nUnitFileState=enabled" % name for name in argv[4:]), ""
    return unit_dir, script, run, commands


def read(host, systemd=True, patterns=PATTERNS):
    unit_dir, script, run, _commands = host
    return read_units(run, str(unit_dir), patterns, [script], systemd)


def is_converged(host, live, **options):
    unit_dir, script, _run, _commands = host
    options.setdefault("prune_patterns", ["app.service"])
    return converged(live, units(script), str(unit_dir), **options)


def test_the_read_lists_the_matching_unit_files_and_the_files_and_one_systemctl_show(host):
    unit_dir, script, _run, commands = host
    live = read(host)
    assert sorted(live["files"]) == sorted([str(unit_dir / "app.service"), str(unit_dir / "app-web.service"), script])
    assert live["files"][script]["mode"] == 0o755 and live["owner"] == [os.geteuid(), os.getegid()]
    assert commands == [("systemctl", "show", "-p", "Id,ActiveState,UnitFileState", "app-web.service", "app.service")]
    assert live["states"] == {"app-web.service": dict(ENABLED_RUNNING, Id="app-web.service"),
                              "app.service": dict(ENABLED_RUNNING, Id="app.service")}
    assert read(host, systemd=False)["states"] is None


def test_units_as_written_enabled_and_running_need_no_call(host):
    assert is_converged(host, read(host))
    assert is_converged(host, read(host, systemd=False), systemctl=False)


@pytest.mark.parametrize("change", ["content", "mode", "missing", "dangling link"])
def test_a_file_changed_by_hand_needs_the_call(host, change):
    unit_dir, script, _run, _commands = host
    path = unit_dir / "app-web.service" if change != "dangling link" else script
    if change == "content":
        path.write_text("[Service]\nExecStart=/bin/false\n")
    elif change == "mode":
        path.chmod(0o600)
    elif change == "missing":
        path.unlink()
    else:
        os.unlink(path)
        os.symlink("/nonexistent", path)
    assert not is_converged(host, read(host))


@pytest.mark.parametrize("state", [{"ActiveState": "failed", "UnitFileState": "enabled"},
                                   {"ActiveState": "active", "UnitFileState": "disabled"}])
def test_a_unit_stopped_or_disabled_needs_the_call_unless_systemctl_is_off(host, state):
    live = read(host)
    live["states"]["app-web.service"] = state
    assert not is_converged(host, live)
    assert is_converged(host, live, systemctl=False)


def test_something_to_prune_or_remove_needs_the_call(host):
    unit_dir, script, _run, _commands = host
    live = read(host)
    assert not converged(live, units(script)[1:], str(unit_dir), prune_patterns=["app.service"])
    assert not converged(live, units(script)[1:], str(unit_dir), remove_files=[script])
    os.unlink(script)
    live = read(host)
    assert converged(live, [], str(unit_dir), remove_files=[script])
    assert not converged(live, [], str(unit_dir), prune_patterns=["app.service"], remove_files=[script])  # its unit
    (unit_dir / "app.service").unlink()
    assert converged(read(host), [], str(unit_dir), prune_patterns=["app.service"], remove_files=[script])


def test_a_read_that_did_not_see_everything_the_call_looks_at_proves_nothing(host):
    unit_dir, script, _run, _commands = host
    assert not is_converged(host, None)
    assert not is_converged(host, read(host, patterns=["app.service"]))  # app-web.service unread
    assert not is_converged(host, read(host), prune_patterns=["app*.service"])  # a pattern it was not given
    assert not converged(read(host), units(script), str(unit_dir / "elsewhere"), prune_patterns=["app.service"])
    assert not is_converged(host, read(host), remove_files=["/etc/unread"])
    live = read(host)
    live["owner"] = [live["owner"][0] + 1, live["owner"][1]]  # read as another user than the call runs as
    assert not is_converged(host, live)


def test_wanted_units_are_checked_as_the_module_checks_them(host):
    unit_dir, _script, _run, _commands = host
    with pytest.raises(UnitFilesError, match=r"units\[0\]: '-x.service' is not a unit file name"):
        converged(None, [{"name": "-x.service", "content": ""}], str(unit_dir))
    with pytest.raises(UnitFilesError, match=r"units\[0\].files\[0\]: mode must be an octal string"):
        converged(None, [{"name": "x.service", "content": "", "files": [{"path": "/x", "content": "", "mode": "rw"}]}],
                  str(unit_dir))
    with pytest.raises(UnitFilesError, match=r"prune_patterns\[0\]: '/etc/x' is a path"):
        converged(None, [], str(unit_dir), prune_patterns=["/etc/x"])


def test_states_systemctl_cannot_tell_are_unknown_and_prove_nothing(host):
    # as another user than root on a host without D-Bus: "Failed to connect to bus"
    unit_dir, script, _run, _commands = host
    live = read_units(lambda *argv, **kwargs: (1, "", "Failed to connect to bus: No such file or directory"),
                      str(unit_dir), PATTERNS, [script], True)
    assert live["states"] is None
    assert not is_converged(host, live) and is_converged(host, live, systemctl=False)
