"""Per-board build context handed to plugins, and the artifacts components produce.

A :class:`BoardBuild` owns one board's SCons environment and variant directory
(``build/<board>/``). Plugins declare nodes through it; they never reach other boards' state.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import attrs

from .board import Board
from .errors import PolyboardError, ToolMissingError
from .profiles import PROFILES, DEFAULT as DEFAULT_PROFILE, Profile


class Skip(Exception):
    """Raised by a component kind when a board cannot build that component (with the reason).

    ``quiet=True`` when the SConstruct itself limited the component to other boards (nothing
    the user needs to be told about on every run)."""

    def __init__(self, reason: str, *, quiet: bool = False):
        super().__init__(reason)
        self.quiet = quiet


@attrs.define
class Artifact:
    """What a component produced on one board.

    ``program`` is what ``run``/``test`` executes (an ELF or a Linux executable); ``library``
    and ``include_dirs`` are what dependants link and compile against.
    """

    component: str
    kind: str
    nodes: list = attrs.field(factory=list)
    program: Any = None
    test: bool = False
    library: Any = None
    include_dirs: list = attrs.field(factory=list)
    runner: str = "emulator"  # "emulator": through the board's emulator; "host": run directly
    args: list = attrs.field(factory=list)  # arguments for the program itself (e.g. -test.v)
    # Where a debugger finds the sources of this artifact's debug info: (prefix, folder) pairs.
    # prefix "": the recorded names are relative to folder (a crate built with -Zremap-cwd-prefix);
    # otherwise names start with prefix (Go's -trimpath: the module path) and live in folder.
    debug_sources: list = attrs.field(factory=list)
    # The file with the symbols and debug info of ``program`` when the program ships stripped
    # (profile release/size: ``<name>.debug``); None when ``program`` itself has them.
    symbols: Any = None
    # The folder whose manifest pins the component's dependencies (a crate's Cargo.toml and
    # Cargo.lock, a Go module's go.mod and go.sum): what `scons vendor`/`verify-deps` work on.
    package_dir: Any = None


@attrs.frozen
class Component:
    """A component as the SConstruct declared it: a kind, a name and the kind's options."""

    kind: str
    name: str
    options: dict = attrs.field(factory=dict, hash=False)


@attrs.define
class BoardBuild:
    board: Board
    env: Any
    root: Path
    options: dict
    hooks: Any = None
    artifacts: dict = attrs.field(factory=dict)
    skipped: dict = attrs.field(factory=dict)
    extra: dict = attrs.field(factory=dict)  # a plugin's own per-board notes (not a contract between plugins)
    # What plugins provide to each other, typed (the seams; docs/plugins.md):
    cpu_flags: list = attrs.field(factory=list)  # polyboard_cpu_flags: what C, cgo and Rust's link agree on
    linker_script: Any = None  # the SCons node of the board's linker script (generated or the board's own)
    memory_x: Any = None       # the SCons node of the generated memory.x (cortex-m-rt's memory map)
    generated: list = attrs.field(factory=list)  # every file generated from the board's [memory] table
    # Switches plugins turn on in every language at once (polyboard_switches, e.g. trace=1):
    defines: list = attrs.field(factory=list)         # C: -D on every C/assembly file and the ABI probe
    go_tags: list = attrs.field(factory=list)         # Go: build tags of every Go program and test
    cargo_features: list = attrs.field(factory=list)  # Rust: features, for the crates that define them
    go_flags: list = attrs.field(factory=list)        # Go: build flags of every Go program and test (-cover)
    rust_cache: Any = None  # remote_cache=: the Rust layer (sccache_layer.SccacheLayer) cargo runs rustc through
    offline: bool = False  # offline=1: no network; tools build from vendored sources (docs/dependencies.md)
    # The build profile (profile=debug|release|size), resolved for this board (profiles.py):
    profile: Profile = PROFILES[DEFAULT_PROFILE]
    tools: dict = attrs.field(factory=dict)  # name -> ToolUse: what toolchains.lock pins (toolchains.py)
    go_cache: Any = None  # remote_cache=: the Go layer, a go_cache_layer.GoCacheLayer (GOCACHEPROG)

    def uses_tool(self, name: str, path: str, version_argv: list[str] | None = None, version: str = "") -> None:
        """Record that this board builds or runs with *path* (pinned by ``scons lock-toolchains``).

        *version_argv* prints the version on its first line (default ``[path, "--version"]``);
        ``[]`` for a file that is not a program, with *version* saying what it is."""
        from .toolchains import ToolUse
        argv = tuple([path, "--version"] if version_argv is None else version_argv)
        self.tools[f"{name}\0{path}"] = ToolUse(name, path, argv, version)

    @property
    def variant(self) -> str:
        """The variant directory as an SCons top-relative path (``#build/<board>``; another profile
        than release: ``#build/<board>@<profile>``, so profiles never overwrite each other)."""
        return f"#build/{self.folder}"

    @property
    def folder(self) -> str:
        """The variant directory's name under ``build/`` (``<board>`` or ``<board>@<profile>``)."""
        return self.board.id + self.profile.folder_suffix

    def path(self, *parts: str) -> str:
        return "/".join((self.variant,) + parts)

    def abspath(self, *parts: str) -> Path:
        return self.root / "build" / self.folder / Path(*parts)

    def source(self, relative: str, *, key: str = "") -> Path:
        """Resolve a path from the SConstruct or a board file, refusing anything outside the tree."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise PolyboardError(f"path {relative!r} leaves the source tree", where=key or self.board.path)
        return path

    def require_tool(self, program: str, packages: tuple[str, ...] | list[str], why: str) -> str:
        """Find *program* on the environment's PATH (or at the path given) or fail with how to install it
        (no child process)."""
        how = f"install it with: apt-get install {' '.join(packages)}" if packages else "install it and put it on PATH"
        where = f"board {self.board.id} ({self.board.path})"
        if os.sep in program:  # a path, e.g. go=/usr/lib/go-1.22/bin/go: that file, not PATH
            if os.path.isfile(program) and os.access(program, os.X_OK):
                return program
            if os.path.exists(program):
                raise ToolMissingError(f"{program} is not an executable file (needed {why})", where=where)
            raise ToolMissingError(f"{program} not found: no such file (needed {why}); {how}", where=where)
        found = shutil.which(program, path=self.env["ENV"].get("PATH"))
        if found is None:
            raise ToolMissingError(f"{program} not found on PATH (needed {why}); {how}", where=where)
        return found

    def after_link(self, component: str, elf) -> list:
        """Ask every plugin what follows a linked program (images, size reports).

        A node built with ``POLYBOARD_CHECK=1`` is a check of the program (the memory report):
        the other nodes are built only after it passed (an order-only ``Requires``, so a new
        report never rebuilds an image by itself). A failed check removes the program, and a
        build that keeps going would otherwise try to make images of a file that is gone."""
        nodes = self.hooks.after_link(self, component, elf) if self.hooks is not None else []
        checks = [n for n in nodes if _is_check(n)]
        if checks:
            for node in nodes:
                if not _is_check(node):
                    self.env.Requires(node, checks)
        return nodes

    def dependency(self, component, why: str) -> Artifact:
        """The artifact of a component declared earlier for this board, or Skip if it was skipped."""
        name = component if isinstance(component, str) else component.name
        if name in self.skipped:
            raise Skip(f"it needs {name!r}, which is skipped on this board")
        if name not in self.artifacts:
            raise PolyboardError(f"{why} needs component {name!r}, which is not declared before it")
        return self.artifacts[name]


def _is_check(node) -> bool:
    from .scons_compat import build_env_of
    env = build_env_of(node)
    return bool(env is not None and env.get("POLYBOARD_CHECK"))
