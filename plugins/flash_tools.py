"""Flash tools plugin: the commands ``scons flash`` runs, from the board's ``[flash]`` table.

Three methods (docs/flash-debug.md), each an argument list built from board data:

* ``gdb``: ``gdb-multiarch`` loads the ELF through any GDB server (``gdb_server``, or
  ``server=`` on the command line), runs the board's ``gdb_reset`` commands and detaches
  (:mod:`polyboard.gdb` says why it detaches).
* ``openocd``: openocd's ``program`` command (interface and target configs from the board),
  as in openocd's manual, "Flash Programming" (https://openocd.org/doc/html/Flash-Programming.html):
  ``openocd -f board/stm32f3discovery.cfg -c "program filename.elf verify reset exit"``.
* ``probe-rs``: ``probe-rs download --chip <chip> <elf>`` then ``probe-rs reset --chip <chip>``
  (probe-rs-tools, src/bin/probe-rs/cmd/download.rs and cmd/reset.rs: ``download`` writes the
  flash and leaves the core halted; ``reset`` starts it).
"""

from __future__ import annotations

import shutil

from polyboard import PolyboardError, gdb, hookimpl
from polyboard.errors import ToolMissingError

OPENOCD_PACKAGES = ("openocd",)


def _require(board, program: str, how: str) -> None:
    if shutil.which(program) is None:
        raise ToolMissingError(f"{program} not found on PATH (needed by flash method {board.flash.method!r}); {how}",
                               where=f"board {board.id} ({board.path})")


def openocd_argv(flash, elf: str) -> list[str]:
    # {braces}: the -c argument is a Tcl line; braces keep a path with spaces one word.
    return ["openocd", "-f", flash.openocd_interface, "-f", flash.openocd_target,
            "-c", f"program {{{elf}}} verify reset exit"]


def probe_rs_argvs(flash, elf: str) -> list[list[str]]:
    return [["probe-rs", "download", "--chip", flash.probe_rs_chip, elf],
            ["probe-rs", "reset", "--chip", flash.probe_rs_chip]]


@hookimpl
def polyboard_flash_command(board, elf, server, dry_run):
    flash = board.flash
    if flash is None:
        return None
    if server and flash.method != "gdb":
        raise PolyboardError(f"server= is for flash method 'gdb'; board {board.id} flashes with "
                             f"{flash.method!r}", where=f"server={server}")
    if flash.method == "gdb":
        if not dry_run:
            gdb.require(board)
        return [gdb.load_argv(elf, server or flash.gdb_server, flash.gdb_reset)]
    if flash.method == "openocd":
        if not dry_run:
            _require(board, "openocd", f"install it with: apt-get install {' '.join(OPENOCD_PACKAGES)}")
        return [openocd_argv(flash, elf)]
    if flash.method == "probe-rs":
        if not dry_run:
            _require(board, "probe-rs", "Debian has no package for it: install it with "
                     "cargo install probe-rs-tools --locked")
        return probe_rs_argvs(flash, elf)
    return None
