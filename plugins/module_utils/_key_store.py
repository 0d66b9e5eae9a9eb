# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The mesh's key directory on the controller, trusted only when it is the user's own and private.

A private module of the fakevpc.vpc collection: its interface may change without notice.

* The directory and every key file are opened without following a symlink (O_NOFOLLOW), files relative to the
  directory's own descriptor, so nothing can be swapped under a check.
* A directory or a file owned by another user, or open to the group or to others, is refused with the command that
  fixes it; nothing is ever repaired silently (a 0644 key may already have been read by someone else).
* Keys are created only, never replaced: a temporary file made with O_CREAT|O_EXCL and mode 0600, hard-linked to its
  name (which fails when the name exists), so a reader never sees half a key and two writers never overwrite one.
"""

from __future__ import annotations

import errno
import os
import stat

from ansible_collections.fakevpc.vpc.plugins.module_utils._files import create_file, make_directories

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


class KeyDirectoryError(Exception):
    """The key directory or one of its files cannot be trusted or used; the message says which and how to fix it."""


def _check_owner_and_mode(path, status, mode, kind):
    uid = os.geteuid()
    if status.st_uid != uid:
        raise KeyDirectoryError(
            "%s: the %s is owned by uid %d, not by the user running Ansible (uid %d); key material is used only when it"
            " is yours: check it, then `chown %d %s`" % (path, kind, status.st_uid, uid, uid, path))
    if stat.S_IMODE(status.st_mode) & 0o077:
        raise KeyDirectoryError(
            "%s: the %s has mode %04o, open to the group or others, so its keys may already be known to someone else;"
            " nothing is repaired silently: check it, then `chmod %04o %s`"
            % (path, kind, stat.S_IMODE(status.st_mode), mode, path))


class KeyStore:
    """One key directory: open() it, then read() and create() files in it by name, then close()."""

    def __init__(self, path):
        self.path = path
        self.descriptor = None

    def file_path(self, name):
        return os.path.join(self.path, name)

    def exists(self):
        """Whether the directory exists (a symlink, or a non-directory, is refused)."""
        try:
            status = os.lstat(self.path)
        except FileNotFoundError:
            return False
        if stat.S_ISLNK(status.st_mode):
            raise KeyDirectoryError(
                "%s: the key directory is a symlink (to %s); key material is never followed through a symlink: set"
                " the key directory to the real path" % (self.path, os.readlink(self.path)))
        if not stat.S_ISDIR(status.st_mode):
            raise KeyDirectoryError("%s: exists and is not a directory" % self.path)
        return True

    def open(self, create):
        """Open the directory (creating it, mode 0700, when create is true). Returns whether it is open:
        False when it is missing and create is false."""
        if not self.exists():
            if not create:
                return False
            parent = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(parent):
                os.makedirs(parent)
            make_directories(self.path, DIRECTORY_MODE)  # exactly 0700, whatever the umask
        try:
            self.descriptor = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as error:
            raise KeyDirectoryError("%s: cannot open the key directory: %s" % (self.path, error.strerror))
        _check_owner_and_mode(self.path, os.fstat(self.descriptor), DIRECTORY_MODE, "key directory")
        return True

    def close(self):
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    def read(self, name):
        """The bytes of file name, or None when there is no such file."""
        file_path = self.file_path(name)
        try:
            descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self.descriptor)
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:
                try:
                    target = os.readlink(name, dir_fd=self.descriptor)
                except OSError:
                    target = "?"
                raise KeyDirectoryError(
                    "%s: is a symlink (to %s); key material is never followed through a symlink: replace it with the"
                    " key file itself, or remove it" % (file_path, target))
            raise KeyDirectoryError("%s: cannot open: %s" % (file_path, error.strerror))
        with os.fdopen(descriptor, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise KeyDirectoryError("%s: is not a regular file; remove it" % file_path)
            _check_owner_and_mode(file_path, status, FILE_MODE, "key file")
            return handle.read()

    def create(self, name, data):
        """Create file name holding data (bytes), mode 0600; never replace a file, even one that appeared meanwhile."""
        try:
            create_file(self.descriptor, name, data)
        except FileExistsError:
            raise KeyDirectoryError(
                "%s: appeared while this run was creating it (another run at the same time?): rerun" % self.file_path(name))

    def names(self):
        """The names of the entries of the directory."""
        return sorted(os.listdir(self.descriptor))

    def replace(self, source, name):
        """Rename file source to name, replacing it in one step (a reader sees the old file or the new one)."""
        os.rename(source, name, src_dir_fd=self.descriptor, dst_dir_fd=self.descriptor)
        os.fsync(self.descriptor)

    def remove(self, name):
        """Remove file name (a missing one is not an error)."""
        try:
            os.unlink(name, dir_fd=self.descriptor)
        except FileNotFoundError:
            return
        os.fsync(self.descriptor)
