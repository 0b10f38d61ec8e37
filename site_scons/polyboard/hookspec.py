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
    ``registry.add_board_dir(...)``) instead of returning loose values. A board pack is a
    distribution whose plugin only calls ``registry.add_board_dir(folder)``: its boards are
    listed under the distribution's name (docs/board-vendors.md).

    :param registry: the run's registry.
    """


@hookspec
def polyboard_switches(build: "BoardBuild") -> None:
    """Switch something on in every language of a board at once (e.g. ``trace=1``).

    Called once per selected board before :func:`polyboard_configure_board`, so the toolchain
    plugins see the result. Append to the build context's typed lists, never replace them:
    ``build.defines`` (C defines, ``NAME`` or ``NAME=value``, for every C and assembly file and the
    ABI probe), ``build.go_tags`` (build tags of every Go program and test), ``build.go_flags``
    (more ``go build``/``go test -c`` flags, e.g. ``-cover``) and ``build.cargo_features`` (cargo
    features, enabled for each crate whose Cargo.toml defines them).

    :param build: the board's build context; ``build.options`` holds the command line's options.
    """


@hookspec
def polyboard_configure_board(build: "BoardBuild") -> None:
    """Prepare a board's SCons environment before any of its components is declared.

    Toolchain plugins load their SCons tool here (``env.Tool(generate)``: builders and the
    ``$XCOM``/``$XCOMSTR`` defaults) and set compilers and flags from the board data; the linker
    plugin declares the generated linker script, ``memory.x`` and C memory-map header. Called once
    per selected board, in plugin registration order; then the SConstruct's
    ``polyboard.start(env={...})`` is applied to the environment.

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
    (a microcontroller), called as ``backend(build, component, mode, package)`` with mode
    ``"build"`` or ``"test"`` and *package* the :class:`polyboard.go_env.GoPackage` the Go plugin
    resolved (module, package, build tags, libraries, the files to watch), so a backend never
    imports the Go plugin; ``None`` when this plugin has no backend for the board.

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


@hookspec(firstresult=True)
def polyboard_coverage(build: "BoardBuild", artifact: Any) -> Any:
    """Measure coverage of one ``run``/``test`` of *artifact* (``coverage=1``).

    Called just before the program runs.

    :return: ``None`` (not this plugin's program), or an object with ``env`` (a dict added to the
        program's environment), ``args`` (arguments appended to its command line) and
        ``collect(status) -> polyboard.verbs.Coverage``, called once the program exited.
    """


@hookspec
def polyboard_summary(results: list) -> None:
    """Report the results of ``run``/``test`` verbs after the build (e.g. a summary table).

    :param results: :class:`polyboard.verbs.RunResult` objects, one per board and component.
    """
