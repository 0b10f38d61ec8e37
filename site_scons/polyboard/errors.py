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

from .scons_compat import StopError, build_error

EXIT_USER_ERROR = 2


class PolyboardError(Exception):
    """A user-facing error: bad board data, bad argument, missing tool, broken plugin.

    ``where`` names the file (and ``key`` the dotted key path inside it) so the single line the
    user sees says exactly what to edit.
    """

    def __init__(self, message: str, *, where: str | None = None, key: str | None = None, details: str = ""):
        self.message = message
        self.where = where
        self.key = key
        self.details = details  # printed after the one line (e.g. the toolchains.lock table)
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


def action_error(error: PolyboardError):
    """The same one line from inside a build action: SCons prints ``scons: *** [target] <message>``
    and the build fails (exit status 2), without a traceback."""
    return build_error(" ".join(str(error).split("\n")), EXIT_USER_ERROR)


def report_error(error: PolyboardError) -> None:
    """Print *error* as the one line SCons prints for its own user errors (an error with
    ``details``, such as a table of what differs, prints them below the line)."""
    text = " ".join(str(error).split("\n"))
    sys.stderr.write(f"scons: *** {text}\n")
    details = getattr(error, "details", "")
    if details:
        sys.stderr.write(details.rstrip("\n") + "\n")
    sys.stderr.flush()


class SConstructError(StopError):
    """A :class:`PolyboardError` on its way out of the SConstruct: SCons's own boundary for errors
    while it reads SConscript files prints it as one ``scons: *** <message>  Stop.`` line and
    exits 2 (no traceback, nothing built)."""


def stop(error: PolyboardError) -> NoReturn:
    """The one exit for bad input found while the SConstruct is read: hand it to SCons (an
    error with ``details`` prints the line and its details itself: SCons's line comes last)."""
    if getattr(error, "details", ""):
        report_error(error)
        raise SystemExit(EXIT_USER_ERROR)
    raise SConstructError(" ".join(str(error).split("\n"))) from None
