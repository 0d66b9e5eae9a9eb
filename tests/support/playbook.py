# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible-playbook as the tests, molecule's verify and the benchmarks run it: argv, environment, output, recap."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from support.paths import ANSIBLE_BIN, CONNECTION_PLUGINS, PLAYBOOKS, REPO_ROOT

# A task's line of the default callback for one host: "changed: [host]", "ok: [host] => ...", "fatal: [host]: ...".
_STATUS = re.compile(r"(ok|changed|skipping|fatal|failed): \[([^\]]+)\]")


@dataclass
class PlaybookRun:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    seconds: float
    recap: dict[str, dict[str, int]]

    def changed(self, host: str | None = None) -> int:
        if host is not None:
            return self.recap[host]["changed"]
        return sum(h["changed"] for h in self.recap.values())

    def failed(self) -> int:
        return sum(h["failed"] + h["unreachable"] for h in self.recap.values())

    def statuses(self, host: str) -> dict[str, str]:
        """{task name: what the default callback printed of it for host (ok, changed, skipping...)}, the last run of
        each name."""
        statuses, task = {}, None
        for line in self.stdout.splitlines():
            if line.startswith("TASK ["):
                task = line[len("TASK ["):line.rindex("]")]
            match = _STATUS.match(line)
            if task is not None and match and match.group(2) == host:
                statuses[task] = match.group(1)
        return statuses

    def result(self, host: str, task: str) -> dict | None:
        """What the last run of task returned for host, as the default callback printed it with -v (YAML results);
        None when it printed none (a skipped task, a run without -v)."""
        result, current, lines = None, None, self.stdout.splitlines()
        for position, line in enumerate(lines):
            if line.startswith("TASK ["):
                current = line[len("TASK ["):line.rindex("]")]
                result = None if current == task else result
            match = _STATUS.match(line)
            if current == task and match and match.group(2) == host and line.rstrip().endswith("=>"):
                block = itertools.takewhile(lambda text: text.startswith(" "), lines[position + 1:])
                result = yaml.safe_load(textwrap.dedent("\n".join(block)))
        return result

    def describe(self) -> str:
        return f"$ {' '.join(self.argv)}\nrc={self.rc} ({self.seconds:.1f}s)\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def parse_recap(stdout: str) -> dict[str, dict[str, int]]:
    """Per host counters of the PLAY RECAP of the default callback."""
    recap: dict[str, dict[str, int]] = {}
    lines = stdout.splitlines()
    try:
        start = max(i for i, line in enumerate(lines) if line.startswith("PLAY RECAP"))
    except ValueError:
        return recap
    for line in lines[start + 1:]:
        if ":" not in line or "=" not in line:
            continue
        host, dummy, counters = line.partition(":")
        values = {}
        for item in counters.split():
            key, dummy, val = item.partition("=")
            if val.isdigit():
                values[key] = int(val)
        if values:
            recap[host.strip()] = values
    return recap


def ansible_env(extra: dict | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_CONNECTION_PLUGINS": str(CONNECTION_PLUGINS),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def run_playbook(playbook: str | Path | list[str | Path], inventory: str | Path | list[str | Path],
                 extra_vars: dict | None = None, check: bool = False, diff: bool = False, verbose: int = 1,
                 timeout: float | None = 300, env: dict | None = None, extra_args: list[str] | None = None,
                 cwd: str | Path = REPO_ROOT, environ: dict | None = None, log: str | Path | None = None,
                 bindir: Path = ANSIBLE_BIN) -> PlaybookRun:
    """Run ansible-playbook of bindir (the repository's venv, or FAKEVPC_ANSIBLE_BIN); returns output and the parsed
    recap. A relative playbook is one of tests/integration/playbooks; playbook and inventory may be lists (one -i
    each inventory); the environment is ansible_env(env), or environ whole (molecule's, the bench's, the core
    matrix's). With log, stdout and stderr go to that file as the run goes (a long run can be watched), and the
    run's stdout is the file's text."""
    argv = [str(bindir / "ansible-playbook")]
    for path in inventory if isinstance(inventory, list) else [inventory]:
        argv += ["-i", str(path)]
    for path in playbook if isinstance(playbook, list) else [playbook]:
        argv.append(str(path if Path(path).is_absolute() else PLAYBOOKS / path))
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if verbose:
        argv.append("-" + "v" * verbose)
    argv += extra_args or []
    options = dict(text=True, timeout=timeout, env=environ or ansible_env(env), cwd=str(cwd), stdin=subprocess.DEVNULL)
    t0 = time.monotonic()
    if log is None:
        proc = subprocess.run(argv, capture_output=True, check=False, **options)
        seconds = time.monotonic() - t0
        stdout, stderr = proc.stdout, proc.stderr
    else:
        with open(log, "w", encoding="utf-8") as output:
            proc = subprocess.run(argv, stdout=output, stderr=subprocess.STDOUT, check=False, **options)
        seconds = time.monotonic() - t0
        stdout, stderr = Path(log).read_text(encoding="utf-8"), ""
    return PlaybookRun(argv=argv, rc=proc.returncode, stdout=stdout, stderr=stderr, seconds=seconds,
                       recap=parse_recap(stdout))
