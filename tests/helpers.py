"""Shared helpers for the test suite: copying the reference tree and running scons on a copy.

Tests never build inside the repository: every scons run happens in a copy under pytest's
temporary directory, started as a child process with a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
SCONS = Path(sys.executable).parent / "scons"
TREE_PARTS = ("SConstruct", "site_scons", "plugins", "boards", "src")
# A clean tree has no build products: SCons's and cargo's outputs, Python caches.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "target", "build", ".sconsign*")
SCONS_TIMEOUT = 1800  # seconds; a first build compiles Rust's core (and std for tests) for each target, and
# a cold five-board build took more than 600 s on a 2-core machine shared by several builds


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def copy_tree(dest: Path) -> Path:
    """Copy the reference firmware tree (sources only) into *dest* and return it."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in TREE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, dest / part, ignore=_IGNORED)
        else:
            shutil.copy2(source, dest / part)
    return dest


#: A built tree's tool caches, relative to the tree: cargo's target folders and Go's cache.
TOOL_CACHES = ("build/.cargo", "build/.gocache", "build/.gopath")


def copy_built_tree(source: Path, dest: Path) -> Path:
    """Copy a built tree whole, with SCons's state and the tools' caches (``build/.cargo``,
    ``build/.gocache``), keeping modification times: SCons and cargo then see it up to date,
    and RUSTFLAGS carry no path, so an edit rebuilds only the edited crate, never ``core``.
    ``cp -a`` copies the ~1 GB of a five-board tree in about two seconds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(source), str(dest)], check=True, timeout=300)
    return dest


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SCONS_CACHE_DIR", None)
    env.pop("SCONSFLAGS", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(overrides)
    return env


def run_scons(tree: Path, *args: str, timeout: float = SCONS_TIMEOUT, env: dict | None = None) -> Result:
    """Run the venv's scons in *tree*; a run that outlives *timeout* fails the test."""
    completed = subprocess.run([str(SCONS), *args], cwd=tree, env=env or child_env(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               timeout=timeout)
    return Result(completed.returncode, completed.stdout, completed.stderr)


def spawned(log: Path) -> str:
    """What polyboard's spawn log (``POLYBOARD_SPAWN_LOG``) recorded: "" when nothing started."""
    return log.read_text() if log.exists() else ""


def spawned_processes(log: Path) -> list[dict]:
    """Every child process the spawn log recorded, in order: ``{"argv": [...], "env": {...}}``."""
    import json
    return [json.loads(line) for line in spawned(log).splitlines() if line.strip()]


def snapshot(folder: Path) -> dict[str, tuple[int, int]] | None:
    """Every file under *folder* with its size and modification time (None if it is missing)."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def one_error_line(result: Result) -> str:
    """A user error as polyboard gives it: exit 2, one ``scons: ***`` line on stderr, no traceback."""
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("scons: *** "), result.stderr
    return lines[0]


def sconstruct_only(folder: Path) -> Path:
    """A firmware tree of the reference SConstruct alone: no boards/ and no plugins/ of its own, so
    every board comes from the installed polyboard (and board packs)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "SConstruct", folder / "SConstruct")
    return folder
