"""QEMU runner plugin: how a board's programs run, from the board's ``[emulator]`` table.

System emulation (``machine`` set): ``qemu-system-* -M <machine> <args> -kernel <elf>`` with
semihosting, so the firmware's ``exit(n)`` becomes QEMU's exit status. User mode (``sysroot``
set): ``qemu-<arch> -L <sysroot> <program>``.
"""

from __future__ import annotations

import shutil

from polyboard import PolyboardError, hookimpl


@hookimpl
def polyboard_configure_board(build):
    """The emulator is part of the board's toolchain (toolchains.lock), when it is installed."""
    emulator = build.board.emulator
    found = shutil.which(emulator.program, path=build.env["ENV"].get("PATH")) if emulator else None
    if found:
        build.uses_tool(emulator.program, found)


@hookimpl
def polyboard_run_command(board, program, args):
    emulator = board.emulator
    if emulator is None:
        return None
    if shutil.which(emulator.program) is None:
        raise PolyboardError(f"{emulator.program} not found on PATH; install it with: apt-get install "
                             f"{' '.join(emulator.packages) or emulator.program}", where=board.path, key="emulator.program")
    if emulator.machine:
        return [emulator.program, "-M", emulator.machine, *emulator.args, "-kernel", program, *args]
    if emulator.sysroot:
        import os
        if not os.path.isdir(emulator.sysroot):
            raise PolyboardError(f"sysroot {emulator.sysroot} does not exist; install it with: apt-get install "
                                 f"{' '.join(emulator.packages)}", where=board.path, key="emulator.sysroot")
        return [emulator.program, "-L", emulator.sysroot, *emulator.args, program, *args]
    return [emulator.program, *emulator.args, program, *args]
