"""QEMU runner plugin: how a board's programs run, from the board's ``[emulator]`` table.

System emulation (``machine`` set): ``qemu-system-* -M <machine> <args> -kernel <elf>`` with
semihosting, so the firmware's ``exit(n)`` becomes QEMU's exit status. User mode (``sysroot``
set): ``qemu-<arch> -L <sysroot> <program>``.

For ``scons debug`` the same command line gets QEMU's GDB server, with the CPU stopped before
the first instruction: ``-S -gdb tcp:127.0.0.1:<port>`` in system emulation, ``-g <port>`` in
user mode (QEMU 7.2's user-mode stub listens on every interface; it has no address option).
"""

from __future__ import annotations

import shutil

from polyboard import PolyboardError, hookimpl


def _require_emulator(board) -> None:
    emulator = board.emulator
    if shutil.which(emulator.program) is None:
        raise PolyboardError(f"{emulator.program} not found on PATH; install it with: apt-get install "
                             f"{' '.join(emulator.packages) or emulator.program}", where=board.path, key="emulator.program")


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
    _require_emulator(board)
    if emulator.machine:
        return [emulator.program, "-M", emulator.machine, *emulator.args, "-kernel", program, *args]
    if emulator.sysroot:
        import os
        if not os.path.isdir(emulator.sysroot):
            raise PolyboardError(f"sysroot {emulator.sysroot} does not exist; install it with: apt-get install "
                                 f"{' '.join(emulator.packages)}", where=board.path, key="emulator.sysroot")
        return [emulator.program, "-L", emulator.sysroot, *emulator.args, program, *args]
    return [emulator.program, *emulator.args, program, *args]


@hookimpl
def polyboard_debug_server(board, program, args, port):
    emulator = board.emulator
    if emulator is None:
        return None
    argv = polyboard_run_command(board, program, args)
    if emulator.machine:  # before -kernel: the options are QEMU's, not the firmware's
        kernel = argv.index("-kernel")
        return argv[:kernel] + ["-S", "-gdb", f"tcp:127.0.0.1:{port}"] + argv[kernel:]
    return [argv[0], "-g", str(port), *argv[1:]]
