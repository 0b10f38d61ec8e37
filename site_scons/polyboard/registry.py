"""The registry object that ``polyboard_register`` hands to each plugin.

Component kinds are what a firmware tree's SConstruct can declare (``project.rust_staticlib``,
``project.c_firmware``, ...). Each kind is a function that declares the SCons nodes for one board.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import attrs

from .errors import PolyboardError


@attrs.frozen
class Option:
    """A ``key=value`` command-line option (SCons ARGUMENTS) contributed by a plugin."""

    name: str
    help: str
    default: str = ""
    choices: tuple[str, ...] = ()
    plugin: str = ""
    # Called with the value when the SConstruct is read; raises PolyboardError(message) for a bad
    # one, so a value that a tool would refuse stops the build before anything runs.
    check: Callable[[str], None] | None = None
    # Declared by several plugins that read the same value (``baseline=``: a manifest for
    # size-diff and abi-diff); each validates it where it uses it.
    shared: bool = False


@attrs.frozen
class ComponentKind:
    """How to build one kind of component for one board.

    ``declare(build, component)`` returns a :class:`polyboard.context.Artifact`, or raises
    :class:`polyboard.context.Skip` with the reason the board cannot build it.
    """

    name: str
    declare: Callable
    help: str = ""
    plugin: str = ""
    # The options project.<kind>() accepts (polyboard.component_options.ComponentOption); None:
    # not declared, so not checked (kinds written before options could be declared).
    options: tuple | None = None


@attrs.frozen
class Verb:
    """A command-line target a plugin implements (``scons vendor``, ``scons verify-deps``).

    ``run(builds, root)`` is called once, as an always-built action, with every selected board's
    :class:`polyboard.context.BoardBuild` and the tree's root; it returns an exit status and
    raises :class:`polyboard.PolyboardError` for a user error. Several plugins may implement
    the same verb (cargo and go both vendor); they run in registration order."""

    name: str
    run: Callable
    help: str = ""
    plugin: str = ""


@attrs.frozen
class BoardTable:
    """A board-file table a plugin adds to the schema (``[jlink]``)."""

    name: str
    cls: type
    check: Callable | None = None
    help: str = ""
    plugin: str = ""


class Registry:
    def __init__(self, reserved_options: tuple[str, ...] = ()) -> None:
        self.reserved_options = tuple(reserved_options)
        self.kinds: dict[str, ComponentKind] = {}
        self.options: dict[str, Option] = {}
        self.verbs: dict[str, list[Verb]] = {}
        self.board_dirs: list[Path] = []
        # folder -> who added it: "pack <distribution>" for a pip-installed plugin (the built-ins'
        # is "pack polyboard"), "plugin <name>" for a tree's own plugins/ file.
        self.board_dir_owners: dict[Path, str] = {}
        self.board_tables: dict[str, BoardTable] = {}
        self.current_plugin = ""
        self.current_distribution = ""  # the pip distribution of current_plugin ("" for a tree plugin)

    def add_component_kind(self, name: str, declare: Callable, help: str = "", options=None) -> None:
        """A kind the SConstruct declares as ``project.<name>(...)``: an identifier that is not one
        of the project's own attributes (``add``, ``finish``, ...).

        *options*: the options it accepts, a list of ``polyboard.component_options.option(name,
        type, help, default)``; the core refuses any other, and adds the board filters (``os``,
        ``arch``, ``boards``, ``when``) to every kind."""
        from .component_options import FILTER_NAMES, ComponentOption

        from .project import Project  # the project's own names are what a kind must not shadow

        if not isinstance(name, str) or not name.isidentifier() or not name.isascii() or name.startswith("_"):
            raise PolyboardError(f"component kind {name!r} is not a valid name (an ASCII identifier not "
                                 "starting with '_')", where=f"plugin {self.current_plugin}")
        if hasattr(Project, name) or name in Project.INSTANCE_ATTRIBUTES:
            raise PolyboardError(f"component kind {name!r} is reserved (project.{name} is polyboard's own)",
                                 where=f"plugin {self.current_plugin}")
        if name in self.kinds:
            raise PolyboardError(
                f"component kind {name!r} is registered twice (by {self.kinds[name].plugin} and {self.current_plugin})",
                where=f"plugin {self.current_plugin}")
        if options is not None:
            options = tuple(options)
            for spec in options:
                if not isinstance(spec, ComponentOption):
                    raise PolyboardError(f"component kind {name!r}: options must be made with "
                                         f"polyboard.component_options.option(...), got {spec!r}",
                                         where=f"plugin {self.current_plugin}")
                if spec.name in FILTER_NAMES:
                    raise PolyboardError(f"component kind {name!r}: option {spec.name!r} is one of the core's "
                                         f"board filters ({', '.join(FILTER_NAMES)})", where=f"plugin {self.current_plugin}")
        self.kinds[name] = ComponentKind(name, declare, help, self.current_plugin, options)

    def add_option(self, name: str, help: str, default: str = "", choices: tuple[str, ...] = (),
                   check: Callable[[str], None] | None = None, shared: bool = False) -> None:
        """A ``name=value`` option; *check* validates a given value before anything is built.

        ``shared=True``: other plugins may declare the same option with ``shared=True`` too (one
        value, read by each; the help texts are joined, every check runs)."""
        if name in self.reserved_options:
            raise PolyboardError(f"option {name!r} is one of polyboard's own options and cannot be redefined",
                                 where=f"plugin {self.current_plugin}")
        first = self.options.get(name)
        if first is not None and first.shared and shared and not choices and not first.choices \
                and default == first.default:
            checks = [c for c in (first.check, check) if c is not None]

            def both(value: str, checks=tuple(checks)) -> None:
                for one in checks:
                    one(value)
            self.options[name] = attrs.evolve(first, help=f"{first.help}; {help}", check=both if checks else None,
                                              plugin=f"{first.plugin}, {self.current_plugin}")
            return
        if name in self.options:
            raise PolyboardError(f"option {name!r} is registered twice (by {self.options[name].plugin} and "
                                 f"{self.current_plugin})", where=f"plugin {self.current_plugin}")
        self.options[name] = Option(name, help, default, tuple(choices), self.current_plugin, check, shared)

    def add_verb(self, name: str, run: Callable, help: str = "") -> None:
        """``scons <name>`` calls ``run(builds, root)`` (see :class:`Verb`)."""
        self.verbs.setdefault(name, []).append(Verb(name, run, help, self.current_plugin))

    def add_board_table(self, name: str, cls: type, check: Callable | None = None, help: str = "") -> None:
        """Make ``[name]`` a valid board-file table, structured into *cls* (an attrs class).

        It is inherited and merged like the built-in tables, and checked as strictly: unknown
        keys, wrong types and missing required keys are one line naming the file and the key
        path. ``check(value, board)`` may raise ``PolyboardError(message, key="name.field")``
        for rules a type cannot say. A plugin reads it as ``build.board.table(name)``."""
        from .board_files import BUILT_IN_KEYS

        if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
            raise PolyboardError(f"board table {name!r} is not a valid name (an ASCII identifier)",
                                 where=f"plugin {self.current_plugin}")
        if name in BUILT_IN_KEYS:
            raise PolyboardError(f"board table {name!r} already exists (polyboard's own key)",
                                 where=f"plugin {self.current_plugin}")
        if name in self.board_tables:
            raise PolyboardError(f"board table {name!r} already exists (added by {self.board_tables[name].plugin})",
                                 where=f"plugin {self.current_plugin}")
        if not attrs.has(cls):
            raise PolyboardError(f"board table {name!r}: {cls!r} is not an attrs class",
                                 where=f"plugin {self.current_plugin}")
        self.board_tables[name] = BoardTable(name, cls, check, help, self.current_plugin)

    def add_board_dir(self, path: str | Path) -> None:
        """A folder of board files (``*.toml``), e.g. shipped inside a pip-installed board pack.

        Its boards are listed under the plugin's distribution (``scons boards``), and every error
        about one of its files names that pack. Precedence (docs/board-vendors.md): the tree's own
        ``boards/`` overrides any pack; two packs giving one board id is an error naming both."""
        folder = Path(path)
        self.board_dirs.append(folder)
        owner = f"pack {self.current_distribution}" if self.current_distribution else \
            f"plugin {self.current_plugin}" if self.current_plugin else ""
        if owner:
            self.board_dir_owners[folder] = owner
