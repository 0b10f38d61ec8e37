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


class Registry:
    def __init__(self) -> None:
        self.kinds: dict[str, ComponentKind] = {}
        self.options: dict[str, Option] = {}
        self.verbs: dict[str, list[Verb]] = {}
        self.board_dirs: list[Path] = []
        self.current_plugin = ""

    def add_component_kind(self, name: str, declare: Callable, help: str = "") -> None:
        if name in self.kinds:
            raise PolyboardError(
                f"component kind {name!r} is registered twice (by {self.kinds[name].plugin} and {self.current_plugin})",
                where=f"plugin {self.current_plugin}")
        self.kinds[name] = ComponentKind(name, declare, help, self.current_plugin)

    def add_option(self, name: str, help: str, default: str = "", choices: tuple[str, ...] = ()) -> None:
        if name in self.options:
            raise PolyboardError(f"option {name!r} is registered twice", where=f"plugin {self.current_plugin}")
        self.options[name] = Option(name, help, default, tuple(choices), self.current_plugin)

    def add_verb(self, name: str, run: Callable, help: str = "") -> None:
        """``scons <name>`` calls ``run(builds, root)`` (see :class:`Verb`)."""
        self.verbs.setdefault(name, []).append(Verb(name, run, help, self.current_plugin))

    def add_board_dir(self, path: str | Path) -> None:
        """A folder of board files, e.g. shipped inside a pip-installed board pack."""
        self.board_dirs.append(Path(path))
