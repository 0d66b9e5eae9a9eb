# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/check-version-added.py (make changelog-check): version_added against galaxy.yml and the releases."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("check_version_added", ROOT / "scripts" / "check-version-added.py")
check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check)


@pytest.fixture
def tree(tmp_path):
    for name in ("plugins", "roles"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("molecule", "__pycache__"))
    shutil.copytree(ROOT / "changelogs", tmp_path / "changelogs")
    shutil.copy(ROOT / "galaxy.yml", tmp_path)
    return tmp_path


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_checkout_agrees(tree):
    assert check.main(tree) == 0


def test_a_module_of_a_release_must_say_that_release(tree, capsys):
    _edit(tree / "plugins" / "modules" / "netns.py", "version_added: 0.1.0", "version_added: 0.2.0")
    assert check.main(tree) == 1
    assert "module netns: version_added 0.2.0, but it is new in 0.1.0" in capsys.readouterr().err


def test_a_new_module_says_the_version_being_prepared(tree, capsys):
    module = tree / "plugins" / "modules" / "brand_new.py"
    shutil.copy(tree / "plugins" / "modules" / "netns.py", module)
    _edit(module, "module: netns", "module: brand_new")
    assert check.main(tree) == 1
    assert "module brand_new: version_added 0.1.0, but it is new in 0.3.0" in capsys.readouterr().err
    _edit(module, "version_added: 0.1.0", "version_added: 0.3.0")
    assert check.main(tree) == 0


def test_an_option_says_a_release_or_this_version(tree, capsys):
    _edit(tree / "roles" / "wg_mesh" / "meta" / "argument_specs.yml", "version_added: 0.1.0\n      wg_mesh_upgrade",
          "version_added: 0.9.0\n      wg_mesh_upgrade")
    assert check.main(tree) == 1
    assert "option wg_mesh_upgrade_packages: version_added 0.9.0 is neither a release" in capsys.readouterr().err


def test_galaxy_cannot_be_older_than_the_last_release(tree, capsys):
    _edit(tree / "galaxy.yml", "version: 0.3.0", "version: 0.0.9")
    assert check.main(tree) == 1
    assert "older than the latest release" in capsys.readouterr().err
