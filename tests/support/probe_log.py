# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ping probes of the molecule scenarios (molecule/shared/tasks/probes_*.yml) and of the fleet test: read their logs.

A probe is one `ping -D -n -i 0.1` (ten requests a second, timestamped) from one server to another by name, once
a first request of its echo flow was answered (molecule/shared/files/probe.sh says why); its log is fetched to
<record>/<phase>/<source>/<target>.log. molecule/default's verify and the fleet test import this
module; molecule/wg_mesh_reboot's verify runs it as a command (it imports nothing of the package):

    python3 probe_log.py RECORD PHASE [--after UNIX_TIME]

prints, as JSON, one object per probe of the phase: source, target, sent, lost (the icmp_seq of each request
lost), unanswered_tail (requests after the last one answered), and with --after, first_reply_after: the unix
time (the source's clock) of its first reply later than UNIX_TIME, or null.
"""

from __future__ import annotations

import argparse
import json
import os
import re

_REPLY = re.compile(r"^\[(?P<time>[0-9.]+)\] \d+ bytes from .*icmp_seq=(?P<seq>\d+)")
_SUMMARY = re.compile(r"^(?P<sent>\d+) packets transmitted, (?P<received>\d+) received")


class Probe:
    """One `ping -D -i 0.1` log of a side effect: what was sent, what came back, when."""

    def __init__(self, record, phase, source, target):
        self.phase, self.source, self.target = phase, source, target
        self.path = os.path.join(record, phase, source, "%s.log" % target)
        self.replies = {}  # icmp_seq -> unix time of the reply (the source's clock)
        self.sent = None
        with open(self.path) as stream:
            for line in stream:
                reply = _REPLY.match(line)
                if reply:
                    self.replies[int(reply["seq"])] = float(reply["time"])
                summary = _SUMMARY.match(line)
                if summary:
                    self.sent = int(summary["sent"])
        assert self.sent is not None, "%s: no summary (the probe did not end cleanly)" % self.path

    def __repr__(self):
        return "%s %s->%s" % (self.phase, self.source, self.target)

    @property
    def lost(self):
        """Requests without a reply sent before the last request that had one (those after it may still have
        been in flight when the probe stopped: under load, round trips reach half a second)."""
        last = max(self.replies, default=0)
        return sorted(set(range(1, last)) - set(self.replies))

    @property
    def unanswered_tail(self):
        """Requests sent after the last one answered."""
        return self.sent - max(self.replies, default=0)

    def when_lost(self):
        """Per lost request, the unix time it was sent, told from the replies around it (ten requests a second)."""
        if not self.replies:
            return {}
        first = min(self.replies)
        start = self.replies[first] - (first - 1) * 0.1
        return {seq: round(start + (seq - 1) * 0.1, 1) for seq in self.lost}

    def first_reply_after(self, when):
        """Unix time of the first reply later than `when` (same clock), or None."""
        later = [time for time in self.replies.values() if time > when]
        return min(later) if later else None


def probes(record, phase):
    """Every probe log of a phase."""
    found = []
    for source in sorted(os.listdir(os.path.join(record, phase))):
        for log in sorted(os.listdir(os.path.join(record, phase, source))):
            found.append(Probe(record, phase, source, log[:-len(".log")]))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description="Read the probe logs of one phase as JSON.")
    parser.add_argument("record")
    parser.add_argument("phase")
    parser.add_argument("--after", type=float, help="also give each probe's first reply later than this unix time")
    args = parser.parse_args(argv)
    report = []
    for probe in probes(args.record, args.phase):
        entry = {"source": probe.source, "target": probe.target, "sent": probe.sent, "lost": probe.lost,
                 "when_lost": probe.when_lost(), "unanswered_tail": probe.unanswered_tail}
        if args.after is not None:
            entry["first_reply_after"] = probe.first_reply_after(args.after)
        report.append(entry)
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
