# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/support/probe_log.py, which both molecule scenarios judge their ping probes with: loss counted by
sequence number up to the last answered request, the unanswered tail, the first reply after a moment, the JSON
of its command line."""

from __future__ import annotations

import json

import pytest

from support import probe_log

START = 1700000000.0


def reply(seq, delay=0.02):
    return "[%.6f] 64 bytes from 192.168.3.5: icmp_seq=%d ttl=64 time=%.1f ms\n" % (
        START + (seq - 1) * 0.1 + delay, seq, delay * 1000)


def write_log(record, phase, source, target, answered, sent):
    path = record / phase / source
    path.mkdir(parents=True, exist_ok=True)
    text = "PING %s.vpcdomain (192.168.3.5) 56(84) bytes of data.\n" % target
    text += "".join(reply(seq) for seq in answered)
    text += "\n--- %s.vpcdomain ping statistics ---\n" % target
    text += "%d packets transmitted, %d received, 0%% packet loss, time 1000ms\n" % (sent, len(answered))
    (path / ("%s.log" % target)).write_text(text)


def test_loss_is_counted_up_to_the_last_answered_request(tmp_path):
    write_log(tmp_path, "add", "web01", "office", [1, 2, 4, 5, 8], sent=12)
    (probe,) = probe_log.probes(str(tmp_path), "add")
    assert (probe.source, probe.target, probe.sent) == ("web01", "office", 12)
    assert probe.lost == [3, 6, 7]
    assert probe.unanswered_tail == 4
    assert probe.when_lost() == {3: round(START + 0.2, 1), 6: round(START + 0.5, 1), 7: round(START + 0.6, 1)}
    assert probe.first_reply_after(START + 0.35) == pytest.approx(START + 0.4 + 0.02)  # seq 5's
    assert probe.first_reply_after(START + 1) is None


def test_a_probe_that_never_ended_cleanly_is_refused(tmp_path):
    path = tmp_path / "add" / "web01"
    path.mkdir(parents=True)
    (path / "office.log").write_text(reply(1))
    with pytest.raises(AssertionError, match="no summary"):
        probe_log.probes(str(tmp_path), "add")


def test_the_command_line_prints_every_probe_of_the_phase(tmp_path, capsys):
    write_log(tmp_path, "reboot", "office", "web01", list(range(1, 11)), sent=10)
    write_log(tmp_path, "reboot", "web01", "office", [1, 2, 9, 10], sent=11)
    probe_log.main([str(tmp_path), "reboot", "--after", str(START + 0.5)])
    report = json.loads(capsys.readouterr().out)
    assert [(entry["source"], entry["target"], entry["lost"], entry["unanswered_tail"]) for entry in report] == [
        ("office", "web01", [], 0), ("web01", "office", [3, 4, 5, 6, 7, 8], 1)]
    assert report[0]["first_reply_after"] == pytest.approx(START + 0.5 + 0.02)
    assert report[1]["first_reply_after"] == pytest.approx(START + 0.8 + 0.02)
