# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Replace a file whole: the private file writer of the fakevpc.vpc modules; its interface may change."""

from __future__ import annotations

import os
import tempfile


def replace_file(path, data, mode=0o600, owner=None):
    """Write data (str or bytes) to path through a temporary file beside it, renamed over it.

    Readers see the old file or the new one, never part of either. The temporary file is created 0600 and gets
    mode (and owner, a (uid, gid) pair) before the rename, so a secret is never readable by others. On error the
    temporary file is removed and the error raised.
    """
    directory, name = os.path.split(path)
    descriptor, temporary = tempfile.mkstemp(dir=directory or ".", prefix=".%s." % name)
    try:
        with os.fdopen(descriptor, "wb" if isinstance(data, bytes) else "w") as handle:
            handle.write(data)
        if mode != 0o600:
            os.chmod(temporary, mode)
        if owner is not None:
            os.chown(temporary, *owner)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
