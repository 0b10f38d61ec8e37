"""Every polyboard hook specification, in one module (as pytest does in ``_pytest/hookspec.py``).

Hooks are called with keyword arguments; an implementation may accept fewer arguments than the
specification lists, so a specification can grow without breaking existing plugins.
Core code never calls ``pm.hook.*`` directly: :class:`polyboard.plugins.Hooks` is the facade.

Plugins are modules (or objects) registered from the ``polyboard`` entry-point group or from the
firmware tree's ``plugins/`` folder, and decorate their functions with :data:`hookimpl`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .board import Board
    from .context import BoardBuild
    from .registry import Registry

PROJECT = "polyboard"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def polyboard_register(registry: "Registry") -> None:
    """Add component kinds, command-line options and board search folders.

    Called once per run, before any board is loaded. Plugins call methods of the registry
    (``registry.add_component_kind(...)``, ``registry.add_option(...)``,
    ``registry.add_board_dir(...)``) instead of returning loose values.

    :param registry: the run's registry.
    """


@hookspec
def polyboard_configure_board(build: "BoardBuild") -> None:
    """Prepare a board's SCons environment before any of its components is declared.

    Toolchain plugins set compilers and flags from the board data here; the linker plugin
    declares the generated linker script, ``memory.x`` and C memory-map header. Called once per
    selected board, in plugin registration order.

    :param build: the board's build context (board data, environment, variant directory).
    """


@hookspec
def polyboard_after_link(build: "BoardBuild", component: str, elf: Any) -> list:
    """Declare what follows a linked program: images, listings, size reports.

    :param build: the board's build context.
    :param component: the component's name.
    :param elf: the SCons node of the linked ELF file.
    :return: a list of extra nodes built alongside the ELF (all results are concatenated).
    """


@hookspec
def polyboard_after_components(builds: list, root: Any) -> list:
    """Declare what summarises whole boards once the SConstruct declared every component (the
    artifact manifest): called once, from ``project.finish()``, when there is something to build.

    :param builds: every selected board's build context (``build.artifacts`` is complete).
    :param root: the tree's root folder (a ``pathlib.Path``).
    :return: a list of nodes built by default (all results are concatenated).
    """


@hookspec(firstresult=True)
def polyboard_cpu_flags(board: "Board") -> list[str] | None:
    """The code-generation flags for the board's CPU and float ABI (``-mcpu=... -mfloat-abi=...``):
    what the C compiler, cgo and a Rust program's link must agree on. The core stores the answer
    in ``build.cpu_flags`` before ``polyboard_configure_board``.

    ``firstresult``: the C toolchain plugin answers; a plugin for another compiler family may
    answer first (``tryfirst``).

    :param board: the board.
    """


@hookspec(firstresult=True)
def polyboard_go_backend(build: "BoardBuild") -> Any:
    """The function that declares Go components on a board the ``go`` command cannot target
    (a microcontroller), called as ``backend(build, component, mode)`` with mode ``"build"`` or
    ``"test"``; ``None`` when this plugin has no backend for the board.

    ``firstresult``: the TinyGo plugin answers for bare-metal boards when it can.

    :param build: the board's build context.
    """


@hookspec(firstresult=True)
def polyboard_run_command(board: "Board", program: str, args: list[str]) -> list[str] | None:
    """Return the argument list that runs *program* for *board* (e.g. under QEMU).

    ``firstresult``: the first plugin that knows how to run programs for this board answers;
    the others return ``None``.

    :param board: the board.
    :param program: absolute path of the program or firmware image.
    :param args: arguments for the program itself.
    """


@hookspec(firstresult=True)
def polyboard_debug_server(board: "Board", program: str, args: list[str], port: int) -> list[str] | None:
    """Return the argument list that starts *program* under the board's emulator, stopped before
    its first instruction, with a GDB server listening on ``127.0.0.1:<port>`` (``scons debug``).

    ``firstresult``: the first plugin that can debug programs for this board answers; the
    others return ``None``. No plugin answering means the board cannot be debugged.

    :param board: the board.
    :param program: absolute path of the program or firmware image.
    :param args: arguments for the program itself.
    :param port: the TCP port the GDB server must listen on.
    """


@hookspec(firstresult=True)
def polyboard_flash_command(board: "Board", elf: str, server: str, dry_run: bool) -> list[list[str]] | None:
    """Return the commands (argument lists, run in order) that program *elf* onto the board
    with the method of its ``[flash]`` table (``scons flash``).

    ``firstresult``: the first plugin that knows the board's flash method answers. A missing
    tool is a :class:`polyboard.PolyboardError` naming its package, unless *dry_run*.

    :param board: the board (``board.flash`` is not ``None``).
    :param elf: absolute path of the linked firmware.
    :param server: ``host:port`` from the command line's ``server=``, or ``""`` for the board's.
    :param dry_run: ``True`` when the commands are only printed (the tools need not exist).
    """


@hookspec
def polyboard_editor_settings(build: "BoardBuild", components: list) -> dict:
    """Contribute editor settings for the board (``scons ide``): keys of ``.vscode/settings.json``
    that configure a language server for this board's target (rust-analyzer, gopls).

    :param build: the board's build context (its ``artifacts`` say what the board builds).
    :param components: every :class:`polyboard.Component` the SConstruct declared.
    :return: a dict of settings; the results of all plugins are merged (a key set twice is an error).
    """


@hookspec
def polyboard_summary(results: list) -> None:
    """Report the results of ``run``/``test`` verbs after the build (e.g. a summary table).

    :param results: :class:`polyboard.verbs.RunResult` objects, one per board and component.
    """
