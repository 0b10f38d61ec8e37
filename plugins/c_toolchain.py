"""C toolchain plugin: configures SCons's own ``cc``/``ar``/``link`` tools from the board data.

Only these tools are loaded (no default tool probing, no ``gcc --version``). Every command writes
``$TARGET.tmp`` and then commits it with an in-process rename (see :mod:`polyboard.spawn`).
Absolute paths are kept out of command signatures with SCons's ``$( ... $)`` markers, so a
checkout at another path has the same signatures (shared CacheDir) and the same bytes.
"""

from __future__ import annotations

import SCons.Tool

from polyboard import hookimpl, spawn


def cpu_flags(board) -> list[str]:
    """Code-generation flags: the CPU, plus the float ABI that must agree with Rust and Go."""
    flags = []
    if board.cpu.name:
        flags.append(f"-mcpu={board.cpu.name}")
    flags.extend(board.cpu.flags)
    if board.cpu.arch == "arm":
        flags.append(f"-mfloat-abi={board.cpu.float_abi}")
        if board.cpu.float_abi != "soft" and board.cpu.fpu:
            flags.append(f"-mfpu={board.cpu.fpu}")
    return flags


@hookimpl
def polyboard_configure_board(build):
    env = build.env
    board = build.board
    for tool in ("cc", "ar", "link"):
        env.Tool(tool)
    prefix = board.c.prefix
    compiler = build.require_tool(f"{prefix}gcc", board.c.packages, f"to compile C for board {board.id}")
    build.uses_tool(f"{prefix}gcc", compiler)
    env.Replace(
        CC=f"{prefix}gcc", LINK=f"{prefix}gcc", AR=f"{prefix}ar", RANLIB=f"{prefix}ranlib",
        OBJCOPY=f"{prefix}objcopy",
        ARFLAGS=["rcD"],  # D: deterministic archives (no timestamps, uids)
        CPU_FLAGS=cpu_flags(board),
        CFLAGS=list(board.c.cflags),
        LINKFLAGS=["$CPU_FLAGS", *board.c.linkflags],
        LIBS=list(board.c.libs),
        CPPDEFINES=[*board.defines, ("BOARD_NAME", f'\\"{board.id}\\"')],
        PREFIX_MAP=f"-ffile-prefix-map={build.root}=.",
    )
    env.SetDefault(CPPPATH=[])  # appended to by other plugins (hooks run in any order)
    env["CCFLAGS"] = ["$CPU_FLAGS", "$(", "$PREFIX_MAP", "$)"]
    env["CCCOM"] = "$CC -o ${TARGET}.tmp -c $CFLAGS $CCFLAGS $_CCCOMCOM $SOURCES"
    env["ARCOM"] = "$AR $ARFLAGS ${TARGET}.tmp $SOURCES"
    static_obj, _ = SCons.Tool.createObjBuilders(env)
    static_obj.add_action(".c", spawn.committed("$CCCOM", "$CCCOMSTR"))
    SCons.Tool.createStaticLibBuilder(env).action = spawn.committed("$ARCOM", "$ARCOMSTR")
    env["CCCOMSTR"] = f"CC      [{board.id}] $TARGET"
    env["ARCOMSTR"] = f"AR      [{board.id}] $TARGET"
    env["LINKCOMSTR"] = f"LINK    [{board.id}] $TARGET"
