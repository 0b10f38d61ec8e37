"""The project's error type and the one place that turns it into a user message.

Library code raises :class:`PolyboardError` (never prints, never exits). While the SConstruct is
read, the project's entry points (``start``, ``project.<kind>(...)``, ``finish``) hand it to
SCons as a :class:`SConstructError` (:func:`stop`), which SCons prints as a single line
``scons: *** <message>  Stop.`` with exit status 2, without a traceback, before anything is
built. After SCons has finished (the run summary), :func:`report_error` prints the same line.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from SCons.Errors import StopError

EXIT_USER_ERROR = 2


class PolyboardError(Exception):
    """A user-facing error: bad board data, bad argument, missing tool, broken plugin.

    ``where`` names the file (and ``key`` the dotted key path inside it) so the single line the
    user sees says exactly what to edit.
    """

    def __init__(self, message: str, *, where: str | None = None, key: str | None = None):
        self.message = message
        self.where = where
        self.key = key
        super().__init__(self.render())

    def render(self) -> str:
        prefix = ""
        if self.where:
            prefix = f"{self.where}: "
        if self.key:
            prefix += f"{self.key}: "
        return prefix + self.message


class ToolMissingError(PolyboardError):
    """A required program is not on PATH; the message says how to install it."""


def report_error(error: PolyboardError) -> None:
    """Print *error* as the one line SCons prints for its own user errors."""
    text = " ".join(str(error).split("\n"))
    sys.stderr.write(f"scons: *** {text}\n")
    sys.stderr.flush()


class SConstructError(StopError):
    """A :class:`PolyboardError` on its way out of the SConstruct: SCons's own boundary for errors
    while it reads SConscript files prints it as one ``scons: *** <message>  Stop.`` line and
    exits 2 (no traceback, nothing built)."""


def stop(error: PolyboardError) -> NoReturn:
    """The one exit for bad input found while the SConstruct is read: hand it to SCons."""
    raise SConstructError(" ".join(str(error).split("\n"))) from None
