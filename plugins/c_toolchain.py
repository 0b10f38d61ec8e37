"""C toolchain plugin: configures SCons's own ``cc``/``ar``/``link`` tools from the board data.

Only these tools are loaded (no default tool probing, no ``gcc --version``). Every command writes
``$TARGET.tmp`` and then commits it with an in-process rename (see :mod:`polyboard.spawn`).
Absolute paths are kept out of command signatures with SCons's ``$( ... $)`` markers, so a
checkout at another path has the same signatures (shared CacheDir) and the same bytes.
"""

from __future__ import annotations

import SCons.Defaults
import SCons.Tool

from polyboard import hookimpl, spawn
from polyboard.scons_data import literal, literals


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
def polyboard_cpu_flags(board):
    return cpu_flags(board)


@hookimpl
def polyboard_configure_board(build):
    env = build.env
    board = build.board
    for tool in ("cc", "ar", "link"):
        env.Tool(tool)
    prefix = board.c.prefix
    compiler = build.require_tool(f"{prefix}gcc", board.c.packages, f"to compile C for board {board.id}")
    build.uses_tool(f"{prefix}gcc", compiler)
    # Every board value and the checkout path enter SCons as literals: never expanded, never
    # split (see polyboard.scons_data); only the command templates below are SCons syntax.
    env.Replace(
        CC=literal(f"{prefix}gcc"), LINK=literal(f"{prefix}gcc"), AR=literal(f"{prefix}ar"),
        RANLIB=literal(f"{prefix}ranlib"), OBJCOPY=literal(f"{prefix}objcopy"),
        ARFLAGS=["rcD"],  # D: deterministic archives (no timestamps, uids)
        CPU_FLAGS=literals(build.cpu_flags),
        CFLAGS=literals(board.c.cflags),
        LINKFLAGS=["$CPU_FLAGS", *literals(board.c.linkflags)],
        LIBS=[],
        BOARD_LIBFLAGS=literals(f"-l{lib}" for lib in board.c.libs),
        # -D flags of their own: SCons's CPPDEFINES would expand a define's value again.
        BOARD_DEFINES=literals(f"-D{define}" for define in [*board.defines, f'BOARD_NAME="{board.id}"']),
        PREFIX_MAP=literal(f"-ffile-prefix-map={build.root}=."),
    )
    env.SetDefault(CPPPATH=[])  # appended to by other plugins (hooks run in any order)
    env["CCFLAGS"] = ["$CPU_FLAGS", "$BOARD_DEFINES", "$(", "$PREFIX_MAP", "$)"]
    # $CCACHE: ccache with remote_cache= (polyboard/ccache_layer.py); outside the signature
    env["CCCOM"] = "$( $CCACHE $) $CC -o ${TARGET}.tmp -c $CFLAGS $CCFLAGS $_CCCOMCOM $SOURCES"
    env["ARCOM"] = "$AR $ARFLAGS ${TARGET}.tmp $SOURCES"
    # Assembly (vendor SDK and TinyGo startup files): through the same gcc driver, which
    # preprocesses .S and only assembles .s, with the CPU and board flags (not the C-only CFLAGS).
    env["ASFLAGS"] = []
    env["ASCOM"] = "$CC -o ${TARGET}.tmp -c $CCFLAGS $ASFLAGS $SOURCES"
    env["ASPPCOM"] = "$CC -o ${TARGET}.tmp -c $CCFLAGS $ASFLAGS $_CCCOMCOM $SOURCES"
    static_obj, _ = SCons.Tool.createObjBuilders(env)
    static_obj.add_action(".c", spawn.committed("$CCCOM", "$CCCOMSTR"))
    for suffix, command in ((".s", "ASCOM"), (".S", "ASPPCOM")):
        static_obj.add_action(suffix, spawn.committed(f"${command}", f"${command}STR"))
        static_obj.add_emitter(suffix, SCons.Defaults.StaticObjectEmitter)
    SCons.Tool.createStaticLibBuilder(env).action = spawn.committed("$ARCOM", "$ARCOMSTR")
    env["CCCOMSTR"] = f"CC      [{board.id}] $TARGET"
    env["ASCOMSTR"] = f"AS      [{board.id}] $TARGET"
    env["ASPPCOMSTR"] = f"AS      [{board.id}] $TARGET"
    env["ARCOMSTR"] = f"AR      [{board.id}] $TARGET"
    env["LINKCOMSTR"] = f"LINK    [{board.id}] $TARGET"
