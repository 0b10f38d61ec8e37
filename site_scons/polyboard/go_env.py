"""What every Go backend shares: the Go package a component asked for, and cgo's environment.

The Go plugin (``go``, Linux boards) decides WHAT to build: the module, the package, the build
tags, the libraries and the files SCons watches (:class:`GoPackage`); a backend for other boards
(the TinyGo plugin, through the ``polyboard_go_backend`` hook) receives that and decides only HOW.
So no backend imports the Go plugin's module, and a tree that overrides ``go_builder.py`` in its
``plugins/`` folder changes what TinyGo builds too. The helpers below are the part of cgo's
environment both backends give their tool: pure functions of their arguments.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import attrs

from . import dependencies
from .errors import PolyboardError


@attrs.frozen
class GoPackage:
    """One Go component's package on one board, as the Go plugin resolved it."""

    module_dir: Path       # the folder holding the module's go.mod
    package_dir: Path      # the package's folder (absolute, inside the module)
    package: str           # the package argument, relative to module_dir (``.``, ``./kern``)
    tags: tuple            # the build tags (board's go.tags, then tags=)
    libs: tuple            # the artifacts of libs= (each with .library and .include_dirs)
    sources: tuple         # every file the build reads (SCons nodes): Go files, headers, libraries

    @property
    def libraries(self) -> tuple:
        """The static libraries' SCons nodes."""
        return tuple(lib.library for lib in self.libs if lib.library is not None)

    @property
    def include_dirs(self) -> tuple:
        """The libraries' header folders (absolute paths), for ``-I`` in ``CGO_CFLAGS``."""
        return tuple(d.abspath for lib in self.libs for d in lib.include_dirs)


def cgo_flag_list(args: list[str], where: str) -> str:
    """Arguments as one ``CGO_CFLAGS``/``CGO_LDFLAGS`` value, the way go splits it again.

    go splits these variables on white space and takes a field wrapped in ``'...'`` or ``"..."``
    as it is (cmd/internal/quoted.Split: no escapes). So an argument with white space is wrapped
    in a quote it does not contain; one that has white space and both quotes cannot be said."""
    fields = []
    for arg in args:
        if arg and not any(c.isspace() for c in arg) and arg[0] not in "'\"":
            fields.append(arg)
        elif '"' not in arg:
            fields.append(f'"{arg}"')
        elif "'" not in arg:
            fields.append(f"'{arg}'")
        else:
            raise PolyboardError(f"{arg!r} has white space and both kinds of quote, which go's cgo flag "
                                 "variables cannot carry", where=where)
    return " ".join(fields)


def link_name(library: str) -> str:
    """``-l`` name of a static library file: ``libkernel.a`` -> ``kernel``."""
    stem = os.path.basename(library)
    stem = stem[3:] if stem.startswith("lib") else stem
    return stem[:-2] if stem.endswith(".a") else stem


def content_hash(path: str) -> str:
    return dependencies.sha256_file(path)[:16]


def stage_library(library: str, stage_dir: Path) -> Path:
    """Copy *library* to ``<stage_dir>/<content hash>/`` (once): TinyGo's way to a relink (its
    link flags are not verified here); go itself uses the hash in ``-ldflags``."""
    digest = content_hash(library)
    directory = stage_dir / digest
    staged = directory / os.path.basename(library)
    if not staged.exists():
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(library, str(staged) + ".tmp")
        os.replace(str(staged) + ".tmp", staged)
    return directory


def mod_mode(module_dir: Path | None, offline: bool) -> str:
    """``-mod=`` for a module: go.mod and go.sum are never rewritten by a build (``readonly``);
    a module with a ``vendor/`` folder, and every module of an ``offline=1`` build, builds from
    its vendored copies (``vendor``)."""
    if offline or (module_dir is not None and (module_dir / "vendor").is_dir()):
        return "vendor"
    return "readonly"


def tool_env(root: Path, module_dir: Path | None = None, *, offline: bool = False) -> dict[str, str]:
    """Where go keeps its caches (under build/, shared by every board: Go's cache is
    content-addressed), and no user or workspace setting that could change the build.
    ``offline=1``: ``GOPROXY=off`` too, so nothing is ever downloaded."""
    shared = root / "build"
    env = {
        "GOCACHE": str(shared / ".gocache"), "GOPATH": str(shared / ".gopath"),
        "GOFLAGS": f"-mod={mod_mode(module_dir, offline)} -modcacherw",
        "GOTOOLCHAIN": "local", "GOWORK": "off", "GOENV": "off", "GO111MODULE": "on",
    }
    if offline:
        env["GOPROXY"] = "off"
    return env
