"""GDB command lines: ``gdb-multiarch`` attached to a GDB server, for ``flash`` (method ``gdb``)
and ``debug``. Argument lists only; gdb commands are single ``-ex`` arguments, never a shell line.

Why ``detach`` after a flash: with every GDB server (QEMU's, openocd's, J-Link's, probe-rs's) a
detach lets the target run freely and ends gdb at once, so ``scons flash`` returns as soon as
the image is written and the core reset; ``continue`` would block until the firmware stops,
which for most firmware is never. QEMU resumes the machine on a detach, so the emulated board
then runs the new image to its end, as a real one would.
"""

from __future__ import annotations

import shutil

from .board import Board
from .errors import ToolMissingError

PROGRAM = "gdb-multiarch"
PACKAGES = ("gdb-multiarch",)


def require(board: Board, path: str | None = None) -> str:
    """The gdb program, or a one-line error naming its Debian package."""
    if shutil.which(PROGRAM, path=path) is None:
        raise ToolMissingError(f"{PROGRAM} not found on PATH (needed to talk to a GDB server); "
                               f"install it with: apt-get install {' '.join(PACKAGES)}",
                               where=f"board {board.id} ({board.path})")
    return PROGRAM


def settings() -> list[str]:
    """What every gdb started by polyboard gets first: no ~/.gdbinit, no pager, no questions."""
    return ["-nx", "-q", "-ex", "set pagination off", "-ex", "set confirm off", "-ex", "set width 0"]


def load_argv(elf: str, server: str, reset: tuple[str, ...] | list[str]) -> list[str]:
    """Write *elf* through the GDB server at *server*, reset the core, detach (see above).

    ``load`` alone leaves the core where it was (QEMU: SP = 0, a hang); the board's ``gdb_reset``
    commands make the core take its reset vector from the new image.

    The steps are one command, a line of gdb's Python: ``gdb -batch`` goes on after a failed
    ``-ex`` and exits with the status of the last one only, so a failed ``load`` followed by a
    working ``detach`` would look like a flashed board. ``gdb.execute`` raises on the first
    failing step, which makes that one command, and gdb's exit status, fail. ``repr`` quotes
    the board's commands as Python string literals."""
    steps = ["load", *reset, "detach"]
    return [PROGRAM, "-batch", *settings(), "-ex", f"target remote {server}",
            "-ex", f"python for step in {steps!r}: gdb.execute(step)", elf]


def debug_argv(elf: str, server: str, *, source_dirs: list[str], substitutions: list[tuple[str, str]],
               sysroot: str = "", script: str = "") -> list[str]:
    """Attach to the emulator's GDB server with *elf*'s symbols and sources that resolve.

    The builds write paths relative to the tree (``-ffile-prefix-map=<root>=.``) or to a crate
    (``-Zremap-cwd-prefix=.``), and Go's ``-trimpath`` writes ``<module>/<file>``: ``directory``
    gives gdb the folders those relative names are relative to, ``set substitute-path`` maps
    module paths back to folders. With *script*, gdb runs it in batch mode and exits."""
    argv = [PROGRAM]
    if script:
        argv.append("-batch")
    argv += settings()
    for folder in source_dirs:
        argv += ["-ex", f"directory {folder}"]
    for prefix, folder in substitutions:
        argv += ["-ex", f"set substitute-path {prefix} {folder}"]
    if sysroot:
        argv += ["-ex", f"set sysroot {sysroot}"]
    argv += ["-ex", f"target remote {server}"]
    if script:
        argv += ["-x", script]
    return argv + [elf]
