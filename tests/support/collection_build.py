# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the collection tarball as a release would (ansible-galaxy collection build) and check it
(scripts/check-build.sh), from the checkout or from a copy of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from support.paths import ANSIBLE_BIN, REPO_ROOT

CHECK_BUILD = REPO_ROOT / "scripts" / "check-build.sh"


def clean_env(workdir: Path, **extra: str) -> dict[str, str]:
    """An environment that knows nothing of the checkout: an empty ansible.cfg, no collections path of ours."""
    config = workdir / "empty-ansible.cfg"
    config.touch()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("ANSIBLE_") and name != "PYTHONPATH"}
    env.update({"ANSIBLE_CONFIG": str(config), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp"), "HOME": os.environ.get("HOME", "/root")})
    env.update(extra)
    return env


def copy_checkout(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked, and untracked but not ignored), without collections/."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO_ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        source = REPO_ROOT / name
        if name.split("/")[0] == "collections" or not source.is_file() or source.is_symlink():
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / name)
    return dest


def build(source: Path, output: Path, workdir: Path) -> Path:
    """ansible-galaxy collection build of source into output; returns the tarball."""
    output.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(ANSIBLE_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(output),
                    str(source)], cwd=workdir, env=clean_env(workdir), capture_output=True, text=True, check=True)
    (tarball,) = output.glob("fakevpc-vpc-*.tar.gz")
    return tarball


def check_build(tarball: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CHECK_BUILD), str(tarball)], capture_output=True, text=True, check=False)


def members(tarball: Path) -> dict[str, bytes]:
    """Regular files of the tarball: name -> content."""
    with tarfile.open(tarball) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
