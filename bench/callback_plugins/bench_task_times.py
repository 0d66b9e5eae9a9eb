# SPDX-License-Identifier: GPL-3.0-or-later
"""Callback plugin of `make bench`: wall time of every task of a playbook run, written as JSON.

Enabled only by the bench (ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins, ANSIBLE_CALLBACKS_ENABLED=
bench_task_times); writes nothing unless BENCH_TASK_TIMES_FILE names the output file.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_task_times
type: aggregate
short_description: Wall time of every task, as JSON, for make bench
description:
  - Records when each play and task starts and when the playbook ends, and writes the list of tasks with
    their wall time (start of the task to start of the next one, or to the end) to the file named by the
    E(BENCH_TASK_TIMES_FILE) environment variable. Nothing is written when it is not set.
requirements:
  - enabled in ansible.cfg or with E(ANSIBLE_CALLBACKS_ENABLED)
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Collect task start times; write the durations when the playbook ends."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._started = time.time()
        self._events = []

    def v2_playbook_on_play_start(self, play):
        self._events.append({"kind": "play", "name": play.get_name().strip(), "start": time.time()})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._events.append({"kind": "task", "name": task.get_name().strip(), "start": time.time()})

    def v2_playbook_on_handler_task_start(self, task):
        self._events.append({"kind": "handler", "name": task.get_name().strip(), "start": time.time()})

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BENCH_TASK_TIMES_FILE")
        if not path:
            return
        ended = time.time()
        for event, following in zip(self._events, self._events[1:] + [{"start": ended}]):
            event["seconds"] = round(following["start"] - event["start"], 3)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"callback_loaded": self._started, "ended": ended, "events": self._events}, handle, indent=1)
