# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one file writer of the fakevpc.vpc plugins: a file replaced whole, or created only (keys), and directories;
and the one reader of the files the modules keep (text, JSON).

A private module of the fakevpc.vpc collection: its interface may change without notice.

Every write goes through a temporary file beside the target, made with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600
(never an existing file, never through a symlink), written and flushed before it takes the target's name: readers
see the old file or the new one, never part of either, and no content is ever readable by more than its mode allows.
In a module the temporary file takes the name through module.atomic_move (SELinux context kept, a bind-mounted
file written in place with unsafe_writes); on the controller (action plugins) through os.replace.
"""

from __future__ import annotations

import json
import os
import tempfile

PRIVATE = 0o600


def _temporary(directory, name, data, dir_fd=None):
    """The name of a new file in directory (or dir_fd) holding data (str or bytes), mode 0600, flushed to disk."""
    if dir_fd is None:
        descriptor, temporary = tempfile.mkstemp(dir=directory or ".", prefix=".%s." % name)
    else:
        temporary = ".%s.%d.tmp" % (name, os.getpid())
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE, dir_fd=dir_fd)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), PRIVATE)  # the umask may have taken bits: the mode is exactly this
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(temporary, dir_fd=dir_fd)
        raise
    return temporary


def replace_file(path, data, mode=PRIVATE, owner=None, module=None, unsafe_writes=False):
    """Write data (str or bytes) to path whole, with mode and owner (a (uid, gid) pair, or None for the writer's).

    module: the AnsibleModule whose atomic_move puts the file in place; without one (on the controller), os.replace.
    mode None (with a module only): the file keeps the mode and owner of the one it replaces, as atomic_move gives.
    unsafe_writes: write in place where a rename cannot replace the file (a bind mount, as /etc/hosts in `ip netns
    exec`). Before the rename the file is never readable by more than mode, nor than the old file's mode; on error
    the temporary file is removed and the error raised (or the module failed).
    """
    directory, name = os.path.split(path)
    temporary = _temporary(directory, name, data)
    try:
        if module is None:
            os.chmod(temporary, mode)
            if owner is not None:
                os.chown(temporary, *owner)
            os.replace(temporary, path)
            return
        if mode is None:
            module.atomic_move(temporary, path, unsafe_writes=unsafe_writes)
            return
        # atomic_move gives the new file the old one's mode and owner, or, for a new file, 0666 less the umask:
        # narrow both first, so the new content is never more open than either mode, then set what is wanted.
        if os.path.exists(path):
            os.chmod(path, os.stat(path).st_mode & mode & 0o7777)
        umask = os.umask(0o077)
        try:
            module.atomic_move(temporary, path, unsafe_writes=unsafe_writes)
        finally:
            os.umask(umask)
        if owner is not None:
            os.chown(path, *owner)
        os.chmod(path, mode)
    finally:
        if os.path.lexists(temporary):  # still there only when it did not take the name
            os.unlink(temporary)


def create_file(dir_fd, name, data):
    """Create file name in the directory open as dir_fd, holding data, mode 0600; never replace a file, even one that
    appears meanwhile (FileExistsError): the temporary file is hard-linked to the name, which fails when it exists."""
    temporary = _temporary(None, name, data, dir_fd=dir_fd)
    try:
        os.link(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    finally:
        os.unlink(temporary, dir_fd=dir_fd)
    os.fsync(dir_fd)


def make_directories(path, mode):
    """Create path and its missing parents, each with exactly mode (whatever the umask); existing ones are left."""
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for directory in reversed(missing):
        os.mkdir(directory, mode)
        os.chmod(directory, mode)


def read_text(path):
    """The text in path, or None when there is no such file."""
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def read_json_object(path):
    """The JSON object in path ({} for any other JSON value), or None when there is no such file; ValueError when the
    file is not JSON."""
    text = read_text(path)
    if text is None:
        return None
    content = json.loads(text)
    return content if isinstance(content, dict) else {}
