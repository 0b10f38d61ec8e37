"""C toolchain plugin: configures SCons's own ``cc``/``ar``/``link`` tools from the board data.

Also an SCons tool (:func:`generate`/:func:`exists`): it loads only these tools (no default tool
probing, no ``gcc --version``) and sets the command templates a SConstruct may override
(``$CCCOM``, ``$ASCOM``, ``$ASPPCOM``, ``$ARCOM``, ``$LINKCOM``: the firmware link) and their
display strings (``$CCCOMSTR``, ..., ``$LINKCOMSTR``). Every command writes ``$TARGET.tmp`` and
then commits it with an in-process rename (see :mod:`polyboard.spawn`). Absolute paths are kept
out of command signatures with SCons's ``$( ... $)`` markers, so a checkout at another path has
the same signatures (shared CacheDir) and the same bytes.
"""

from __future__ import annotations

import shutil

from polyboard import hookimpl, scons_compat, spawn
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


TEMPLATES = {
    # $CCACHE: ccache with remote_cache= (polyboard/ccache_layer.py); outside the signature
    "CCCOM": "$( $CCACHE $) $CC -o ${TARGET}.tmp -c $CFLAGS $CCFLAGS $_CCCOMCOM $SOURCES",
    "ARCOM": "$AR $ARFLAGS ${TARGET}.tmp $SOURCES",
    # Assembly (vendor SDK and TinyGo startup files): through the same gcc driver, which
    # preprocesses .S and only assembles .s, with the CPU and board flags (not the C-only CFLAGS).
    "ASCOM": "$CC -o ${TARGET}.tmp -c $CCFLAGS $ASFLAGS $SOURCES",
    "ASPPCOM": "$CC -o ${TARGET}.tmp -c $CCFLAGS $ASFLAGS $_CCCOMCOM $SOURCES",
    # The firmware link (``c_firmware``): targets are the ELF and its map, both written as
    # ``.tmp`` and renamed; ``$LINKSCRIPT`` is the board's linker script.
    "LINKCOM": ("$LINK -o ${TARGETS[0]}.tmp $LINKFLAGS -T $LINKSCRIPT -Wl,-Map=${TARGETS[1]}.tmp "
                "-Wl,--noinhibit-exec $SOURCES $_LIBFLAGS $BOARD_LIBFLAGS"),
}


def generate(env) -> None:
    """SCons tool: SCons's ``cc``/``ar``/``link``, with polyboard's command templates.

    SCons's own tools set ``$CCCOM``, ``$ARCOM`` and ``$LINKCOM`` unconditionally; a template
    that was set before this tool loaded (by a plugin whose ``configure_board`` ran first) is
    kept, as ``SetDefault`` keeps any other value. A SConstruct overrides any of them with
    ``polyboard.start(env={...})`` (applied after every plugin)."""
    given = {name: env[name] for name in TEMPLATES if name in env}
    for tool in ("cc", "ar", "link"):
        env.Tool(tool)
    env.Replace(**TEMPLATES)
    env.Replace(**given)
    env.Replace(ARFLAGS=["rcD"],  # D: deterministic archives (no timestamps, uids)
                CCFLAGS=["$CPU_FLAGS", "$BOARD_DEFINES", "$(", "$PREFIX_MAP", "$)"], ASFLAGS=[])
    env.SetDefault(
        CPPPATH=[],  # appended to by other plugins (hooks run in any order)
        CCCOMSTR="CC      [$POLYBOARD_BOARD_ID] $TARGET",
        ASCOMSTR="AS      [$POLYBOARD_BOARD_ID] $TARGET",
        ASPPCOMSTR="AS      [$POLYBOARD_BOARD_ID] $TARGET",
        ARCOMSTR="AR      [$POLYBOARD_BOARD_ID] $TARGET",
        LINKCOMSTR="LINK    [$POLYBOARD_BOARD_ID] $TARGET",
    )
    static_obj, _ = scons_compat.object_builders(env)
    static_obj.add_action(".c", spawn.committed("$CCCOM", "$CCCOMSTR"))
    for suffix, command in ((".s", "ASCOM"), (".S", "ASPPCOM")):
        static_obj.add_action(suffix, spawn.committed(f"${command}", f"${command}STR"))
        static_obj.add_emitter(suffix, scons_compat.static_object_emitter)
    scons_compat.static_library_builder(env).action = spawn.committed("$ARCOM", "$ARCOMSTR")


def exists(env) -> bool:
    """SCons tool: whether the environment's C compiler is on its PATH (no process started)."""
    return shutil.which(str(env.get("CC", "gcc")), path=env["ENV"].get("PATH")) is not None


@hookimpl
def polyboard_configure_board(build):
    env = build.env
    board = build.board
    env.Tool(generate)
    prefix = board.c.prefix
    compiler = build.require_tool(f"{prefix}gcc", board.c.packages, f"to compile C for board {board.id}")
    build.uses_tool(f"{prefix}gcc", compiler)
    # Every board value and the checkout path enter SCons as literals: never expanded, never
    # split (see polyboard.scons_data); only the command templates in generate() are SCons syntax.
    env.Replace(
        CC=literal(f"{prefix}gcc"), LINK=literal(f"{prefix}gcc"), AR=literal(f"{prefix}ar"),
        RANLIB=literal(f"{prefix}ranlib"), OBJCOPY=literal(f"{prefix}objcopy"),
        CPU_FLAGS=literals(build.cpu_flags),
        # the profile's flags after the board's (gcc takes the last -O); release adds none
        CFLAGS=literals([*board.c.cflags, *build.profile.c_flags]),
        LINKFLAGS=["$CPU_FLAGS", *literals([*board.c.linkflags, *build.profile.link_flags])],
        LIBS=[],
        BOARD_LIBFLAGS=literals(f"-l{lib}" for lib in board.c.libs),
        # -D flags of their own: SCons's CPPDEFINES would expand a define's value again.
        BOARD_DEFINES=literals(f"-D{define}" for define in [*board.defines, *build.defines,
                                                                  f'BOARD_NAME="{board.id}"']),
        PREFIX_MAP=literal(f"-ffile-prefix-map={build.root}=."),
    )
