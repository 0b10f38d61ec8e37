"""The reference firmware polyboard ships, for ``check-board`` in a tree that has none.

check-board's results compare between boards because every board builds the same program: the
reference firmware (this repository's ``SConstruct`` and ``src/``). It ships as the package data
of ``polyboard_reference`` (pyproject.toml), so a board vendor can check boards in the folder of
a board pack, whose SConstruct declares no component (docs/board-vendors.md). There, the shipped
files are copied under ``build/.reference/`` (a file only when its content differs, with its
modification time, so a repeat is a null build and cargo sees nothing new), and the shipped
SConstruct's declarations are replayed with every path option under that folder: the SConstruct
stays the one list of what the reference firmware is.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import types
from pathlib import Path

from .errors import PolyboardError

#: Where the copy lives, tree-relative (a dot folder: no board id can name it).
FOLDER = "build/.reference"
#: The component options that are tree-relative paths (c_firmware, rust_*, go_*).
PATH_OPTIONS = ("sources", "include", "crate", "package_dir")
IGNORED = shutil.ignore_patterns("target", "__pycache__", "*.pyc")


def shipped_tree() -> Path | None:
    """The installed reference tree (a wheel's ``polyboard_reference/``, or this checkout)."""
    spec = importlib.util.find_spec("polyboard_reference")
    candidates = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    candidates.append(Path(__file__).resolve().parent.parent.parent)  # a source checkout on sys.path
    for folder in candidates:
        if (folder / "SConstruct").is_file() and (folder / "src").is_dir():
            return folder
    return None


def _files(tree: Path) -> list[Path]:
    found = [Path("SConstruct")]
    for root, dirs, names in os.walk(tree / "src"):
        ignored = IGNORED(root, dirs + names)
        dirs[:] = sorted(d for d in dirs if d not in ignored)
        found += [Path(root, n).relative_to(tree) for n in sorted(names) if n not in ignored]
    return found


def materialize(tree: Path, root: Path) -> Path:
    """Copy the shipped tree under the firmware tree's ``build/.reference/`` (changed files only)."""
    copy = root / FOLDER
    for relative in _files(tree):
        source, target = tree / relative, copy / relative
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        shutil.copy2(source, temporary)
        os.replace(temporary, target)
    return copy


def declarations(sconstruct: Path) -> list[tuple[str, str, dict]]:
    """The ``project.<kind>(name, **options)`` calls of the reference SConstruct, in order (run with a
    ``polyboard`` whose ``start()`` records them; a component passed to another is its name)."""
    calls: list[tuple[str, str, dict]] = []

    class Recorder:
        def finish(self) -> None:
            pass

        def __getattr__(self, kind: str):
            if kind.startswith("_"):
                raise AttributeError(kind)

            def declare(name: str, **options):
                calls.append((kind, name, options))
                return name
            return declare

    shim = types.ModuleType("polyboard")
    shim.start = lambda **_: Recorder()
    real = sys.modules.get("polyboard")
    sys.modules["polyboard"] = shim
    try:
        exec(compile(sconstruct.read_text(encoding="utf-8"), str(sconstruct), "exec"), {"__name__": "SConstruct"})
    finally:
        sys.modules["polyboard"] = real
    return calls


def declare(project) -> None:
    """Declare the shipped reference firmware in *project* (a tree that declares no component)."""
    tree = shipped_tree()
    if tree is None:
        raise PolyboardError("check-board: this tree declares no component and this polyboard installation ships "
                             "no reference firmware (polyboard_reference); run it in a firmware tree",
                             where="SConstruct")
    copy = materialize(tree, project.root)
    print(f"polyboard: check-board: this tree declares no component; checking with polyboard's reference "
          f"firmware ({FOLDER}/, from {tree})")
    for kind, name, options in declarations(copy / "SConstruct"):
        for key in PATH_OPTIONS:
            if isinstance(options.get(key), str):
                options[key] = f"{FOLDER}/{options[key]}"
            elif isinstance(options.get(key), list):
                options[key] = [f"{FOLDER}/{value}" for value in options[key]]
        project.add(kind, name, **options)
