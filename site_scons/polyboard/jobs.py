"""The job budget: ``-j N`` bounds every process the build runs at once, including cargo's and go's.

A GNU make style jobserver (a named pipe holding N one-byte tokens) is created per run, lazily,
the first time an action needs a token (so a null build creates nothing). Every action that
starts a child takes one token for it; cargo is handed the same pipe through
``MAKEFLAGS=--jobserver-auth=fifo:PATH`` and takes more tokens for its parallel rustc processes;
go, which has no jobserver client, is given ``-p`` equal to the tokens it could take at start.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading

_LOCK = threading.Lock()
_POOL: "TokenPool | None" = None
_SIZE = 1


class TokenPool:
    def __init__(self, size: int):
        self.size = size
        self.dir = tempfile.mkdtemp(prefix="polyboard-jobs-")
        self.path = os.path.join(self.dir, "fifo")
        os.mkfifo(self.path, 0o600)
        # Opened read-write so neither side ever sees EOF or blocks on open.
        self.fd = os.open(self.path, os.O_RDWR)
        os.write(self.fd, b"+" * size)
        atexit.register(self.close)

    def take(self) -> bytes:
        return os.read(self.fd, 1)

    def try_take(self) -> bytes | None:
        os.set_blocking(self.fd, False)
        try:
            return os.read(self.fd, 1) or None
        except BlockingIOError:
            return None
        finally:
            os.set_blocking(self.fd, True)

    def give(self, token: bytes) -> None:
        os.write(self.fd, token)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        shutil.rmtree(self.dir, ignore_errors=True)


def configure(size: int) -> None:
    """Set the budget (SCons's ``-j``); the pipe itself is made on first use."""
    global _SIZE
    _SIZE = max(1, size)


def size() -> int:
    """The budget: how many tokens there are in all."""
    return _SIZE


def pool() -> TokenPool:
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = TokenPool(_SIZE)
        return _POOL


@contextlib.contextmanager
def tokens(extra_wanted: int = 0):
    """Hold one token (blocking) plus up to *extra_wanted* more that are free right now.

    Yields the number of tokens held (at least 1).
    """
    jobs = pool()
    held = [jobs.take()]
    for _ in range(extra_wanted):
        token = jobs.try_take()
        if token is None:
            break
        held.append(token)
    try:
        yield len(held)
    finally:
        for token in held:
            jobs.give(token)


def makeflags() -> str:
    """MAKEFLAGS for a jobserver client (cargo, rustc) sharing this run's pool."""
    return f"-j --jobserver-auth=fifo:{pool().path}"
