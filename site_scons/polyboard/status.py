"""A live status line for long tool runs on a terminal (cargo compiling ``core``, for instance).

A first build of a board compiles Rust's ``core`` (and ``std`` for Linux tests) for 20-40 s, with
nothing to print until the library is done. On a terminal the bottom line then shows what is
running, redrawn every second and cleared before anything else is printed, so it never mixes
with the one line per artifact of other boards under ``-j``::

    [stm32f4] kernel: 2 crates compiled (last: core), 14 s | [rpi4] kernel: 31 of 48 crates, 9 s

In CI (stdout not a terminal, or ``TERM=dumb``) nothing here is used: the tools print a plain line
every few seconds instead (cargo_builder's ``Progress``).

Every write to ``sys.stdout`` goes through :class:`StatusStream` while the line is installed:
the stream erases the status line (carriage return, erase-line) before the text and redraws it
after a completed line. Writers need not know about it.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time

REDRAW_EVERY = 1.0  # seconds
SHOW_AFTER = 1.0    # a job shorter than this never appears
ERASE = "\r\x1b[K"

_stream: "StatusStream | None" = None


class StatusStream:
    """``sys.stdout`` with one erasable status line kept below everything written."""

    def __init__(self, stream):
        self._stream = stream
        self._lock = threading.RLock()
        self._jobs: dict[int, tuple[float, callable]] = {}  # id -> (started, text())
        self._shown = ""
        self._next_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._redraw_loop, name="polyboard-status", daemon=True)
        self._thread.start()

    # -- the file interface SCons and print() use ------------------------------------------------

    def write(self, text: str) -> int:
        with self._lock:
            if self._shown:
                self._stream.write(ERASE)
                self._shown = ""
            written = self._stream.write(text)
            if text.endswith("\n"):
                self._draw()
            return written

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def __getattr__(self, name):  # fileno, isatty, encoding, ...
        return getattr(self._stream, name)

    # -- jobs --------------------------------------------------------------------------------------

    def begin(self, text) -> int:
        """Show ``text()`` (a callable, called at each redraw) while the job runs; returns its id."""
        with self._lock:
            self._next_id += 1
            self._jobs[self._next_id] = (time.monotonic(), text)
            return self._next_id

    def end(self, job: int) -> None:
        with self._lock:
            self._jobs.pop(job, None)
            if self._shown:
                self._stream.write(ERASE)
                self._shown = ""
                self._draw()
            self._stream.flush()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._jobs.clear()
            if self._shown:
                self._stream.write(ERASE)
                self._shown = ""
            self._stream.flush()

    def _draw(self) -> None:
        now = time.monotonic()
        parts = []
        for started, text in self._jobs.values():
            if now - started >= SHOW_AFTER:
                try:
                    parts.append(f"{text()}, {now - started:.0f} s")
                except Exception:  # a status text must never break the build
                    continue
        line = " | ".join(parts)
        width = shutil.get_terminal_size((80, 24)).columns - 1
        if len(line) > width:
            line = line[:max(0, width - 3)] + "..."
        if line:
            self._stream.write(ERASE + line)
            self._stream.flush()
        self._shown = line

    def _redraw_loop(self) -> None:
        while not self._stop.wait(REDRAW_EVERY):
            with self._lock:
                if self._shown:
                    self._stream.write(ERASE)
                self._draw()


def wanted(stream=None) -> bool:
    """A terminal that understands erase-line: a status line; anything else: plain lines."""
    stream = stream or sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") not in ("", "dumb")


def install() -> bool:
    """Route ``sys.stdout`` through a status stream when it is a terminal; ``True`` if it is."""
    global _stream
    if _stream is not None:
        return True
    if not wanted():
        return False
    _stream = StatusStream(sys.stdout)
    sys.stdout = _stream
    import atexit
    atexit.register(_stream.close)
    return True


def active() -> bool:
    return _stream is not None


def begin(text) -> int | None:
    """Show ``text()`` on the status line while a job runs (``None`` when there is no terminal)."""
    return _stream.begin(text) if _stream is not None else None


def end(job: int | None) -> None:
    if _stream is not None and job is not None:
        _stream.end(job)
