"""One build at a time in a tree: a second ``scons`` in the same tree stops with a clear message.

Two builds in one tree write the same targets, cargo target folders and ``.sconsign``; the
second one fails later with a confusing error (``cannot find libkernel.a``) or corrupts the
first one's outputs. The lock is ``flock`` on the tree's top folder itself: no file is created
(a bad command line still leaves the tree untouched), the kernel drops it when the process ends
however it ends, and children never hold it (Python opens it non-inheritable).
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from .errors import PolyboardError

_HELD: dict[str, int] = {}  # folder -> open descriptor, for the life of the process


def lock_tree(root: Path) -> None:
    """Take the tree's lock, or raise a one-line error if another process holds it."""
    key = str(root.resolve())
    if key in _HELD:
        return
    descriptor = os.open(key, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(descriptor)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise PolyboardError("another scons is building in this tree; wait for it to finish (or stop it) "
                                 "and run this again", where=key) from None
        raise PolyboardError(f"cannot lock the tree: {exc.strerror}", where=key) from None
    _HELD[key] = descriptor
