# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""hosts_block: the block in the hosts file and in cloud-init's templates (real files in a temp dir)."""

from __future__ import annotations

import pytest

from ansible_collections.fakevpc.vpc.plugins.modules import hosts_block

MARKER = "# {mark} fakevpc.vpc wg_mesh"
LINES = ["127.0.0.1 server2 server2.vpc.internal", "192.168.1.1 server1 server1.vpc.internal"]
BLOCK = "# BEGIN fakevpc.vpc wg_mesh\n%s\n%s\n# END fakevpc.vpc wg_mesh\n" % tuple(LINES)
TEMPLATE = "## template:jinja\n127.0.1.1 {{fqdn}} {{hostname}}\n"


@pytest.fixture
def files(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost")  # no final newline
    hosts.chmod(0o644)
    templates = tmp_path / "templates"
    templates.mkdir()
    for family in ("debian", "redhat"):
        (templates / ("hosts.%s.tmpl" % family)).write_text(TEMPLATE)
    (templates / "sources.list.debian.tmpl").write_text("deb x\n")
    return hosts, templates


def args(files, **overrides):
    hosts, templates = files
    return dict({"path": str(hosts), "marker": MARKER, "lines": LINES, "templates_dir": str(templates)}, **overrides)


def test_adds_the_block_everywhere_once_then_changes_nothing(run_module, files):
    hosts, templates = files
    result, failed = run_module(hosts_block, args(files))
    assert not failed and result["changed"]
    assert result["changed_files"] == [str(hosts), str(templates / "hosts.debian.tmpl"), str(templates / "hosts.redhat.tmpl")]
    assert hosts.read_text() == "127.0.0.1 localhost\n" + BLOCK
    assert (templates / "hosts.redhat.tmpl").read_text() == TEMPLATE + BLOCK
    assert (templates / "sources.list.debian.tmpl").read_text() == "deb x\n"
    assert oct(hosts.stat().st_mode & 0o777) == "0o644"
    again, _failed = run_module(hosts_block, args(files))
    assert not again["changed"] and again["changed_files"] == []


def test_replaces_the_block_where_it_is_and_keeps_the_rest(run_module, files):
    hosts, _templates = files
    hosts.write_text("127.0.0.1 localhost\n# BEGIN fakevpc.vpc wg_mesh\n10.0.0.9 old\n# END fakevpc.vpc wg_mesh\n::1 ip6-localhost\n")
    run_module(hosts_block, args(files, templates_dir=None))
    assert hosts.read_text() == "127.0.0.1 localhost\n" + BLOCK + "::1 ip6-localhost\n"


@pytest.mark.parametrize("removal", [{"state": "absent"}, {"lines": []}], ids=["state absent", "no lines"])
def test_absent_removes_the_block_from_every_file(run_module, files, removal):
    hosts, templates = files
    run_module(hosts_block, args(files))
    result, failed = run_module(hosts_block, args(files, **removal))
    assert not failed and len(result["changed_files"]) == 3
    assert hosts.read_text() == "127.0.0.1 localhost\n"
    assert (templates / "hosts.debian.tmpl").read_text() == TEMPLATE


def test_check_mode_writes_nothing_and_diff_shows_each_file(run_module, files):
    hosts, templates = files
    result, failed = run_module(hosts_block, args(files), check_mode=True, diff=True)
    assert not failed and result["changed"]
    assert [diff["after_header"] for diff in result["diff"]] == result["changed_files"]
    assert result["diff"][0]["before"] == "127.0.0.1 localhost" and result["diff"][0]["after"].endswith(BLOCK)
    assert hosts.read_text() == "127.0.0.1 localhost"
    assert (templates / "hosts.debian.tmpl").read_text() == TEMPLATE


def test_a_missing_templates_directory_means_no_cloud_init(run_module, files, tmp_path):
    result, failed = run_module(hosts_block, args(files, templates_dir=str(tmp_path / "none")))
    assert not failed and result["changed_files"] == [str(files[0])]


@pytest.mark.parametrize("overrides, message", [
    ({"marker": "# fakevpc"}, "marker: '# fakevpc' has no {mark}"),
    ({"lines": ["ok", "two\nlines"]}, "lines[1]: 'two\\nlines' spans several lines"),
])
def test_bad_input_fails_before_any_write(run_module, files, overrides, message):
    result, failed = run_module(hosts_block, args(files, **overrides))
    assert failed and result["msg"] == message
    assert files[0].read_text() == "127.0.0.1 localhost"
