"""Toolchain pinning: ``scons lock-toolchains`` writes ``toolchains.lock``; every build checks it.

Plugins say which tools a board builds or runs with (``build.uses_tool(name, path)``: the C
compiler, cargo, rustc, the Rust sources build-std compiles, go, the emulator). The lock records
each tool's resolved path, the first line of its ``--version`` and the sha256 of the file.

A build compares the tools it uses with the lock when a ``toolchains.lock`` exists at the tree's
root (``toolchains=error``, the default: a one-line error and a table of what differs, exit 2;
``warn``: the same table, then the build goes on; ``off``: no check). It must stay cheap: a
null build starts no process, so fingerprints are cached in ``build/.polyboard/toolchains.json``
by (resolved path, size, mtime_ns); a version probe runs (through :func:`polyboard.spawn.run`)
only for a binary that changed since the cache was written.

What the fingerprint covers: the program file itself (``rustc`` is a small driver that loads
``librustc_driver-*.so``; a changed shared library with the same driver and version line is
not noticed), and for build-std the standard library's own ``Cargo.lock``.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path

import attrs

from .dependencies import sha256_file
from .errors import PolyboardError
from . import spawn

LOCK_NAME = "toolchains.lock"
CACHE = Path("build") / ".polyboard" / "toolchains.json"
MODES = ("error", "warn", "off")


@attrs.frozen
class ToolUse:
    """A tool one board uses: its name, the path it is run as, and how to ask its version
    (``()``: a file that is not a program; *version* then says what it is)."""

    name: str
    path: str
    version_argv: tuple = ()
    version: str = ""


@attrs.frozen
class Fingerprint:
    name: str
    path: str
    version: str
    sha256: str
    boards: tuple = ()


def used_tools(builds) -> dict[str, tuple[ToolUse, tuple[str, ...]]]:
    """Every tool the boards use, by lock name, with the boards that use it. Two different files
    under one name (the host's cargo and Debian's) are told apart as ``name@resolved-path``."""
    by_path: dict[str, tuple[ToolUse, list[str]]] = {}
    for build in builds:
        for use in build.tools.values():
            real = os.path.realpath(use.path)
            entry = by_path.setdefault(real, (use, []))
            if build.board.id not in entry[1]:
                entry[1].append(build.board.id)
    names: dict[str, int] = {}
    for use, _ in by_path.values():
        names[use.name] = names.get(use.name, 0) + 1
    tools = {}
    for real, (use, boards) in sorted(by_path.items()):
        label = use.name if names[use.name] == 1 else f"{use.name}@{real}"
        tools[label] = (use, tuple(sorted(boards)))
    return dict(sorted(tools.items()))


def _probe_version(use: ToolUse, env: dict) -> str:
    if not use.version_argv:
        return use.version
    try:
        result = spawn.run(list(use.version_argv), env=env, capture=True, timeout=60)
    except (OSError, ValueError) as exc:
        return f"(not runnable: {exc})"
    for line in (result.stdout or "").splitlines() + (result.stderr or "").splitlines():
        if line.strip():
            return line.strip()
    return "(no version output)"


class FingerprintCache:
    """``build/.polyboard/toolchains.json``: what was measured for (path, size, mtime_ns)."""

    def __init__(self, root: Path):
        self.path = root / CACHE
        try:
            self.entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}
        self.changed = False

    def fingerprint(self, label: str, use: ToolUse, boards: tuple, env: dict) -> Fingerprint:
        real = os.path.realpath(use.path)
        try:
            stat = os.stat(real)
        except OSError:
            return Fingerprint(label, real, "(missing)", "(missing)", boards)
        key = [stat.st_size, stat.st_mtime_ns, list(use.version_argv[1:]), use.version]
        entry = self.entries.get(real)
        if entry is None or entry.get("key") != key:
            entry = {"key": key, "sha256": sha256_file(real), "version": _probe_version(use, env)}
            self.entries[real] = entry
            self.changed = True
        return Fingerprint(label, real, entry["version"], entry["sha256"], boards)

    def save(self) -> None:
        if not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.entries, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)
        self.changed = False


def fingerprints(root: Path, builds, env: dict) -> list[Fingerprint]:
    cache = FingerprintCache(root)
    found = [cache.fingerprint(label, use, boards, env) for label, (use, boards) in used_tools(builds).items()]
    cache.save()
    return found


# -- the lock file ------------------------------------------------------------------------------

def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def render_lock(found: list[Fingerprint]) -> str:
    lines = ["# Written by `scons lock-toolchains`: the tools this tree was built with.",
             "# Every build compares its tools with this file (toolchains=error|warn|off; docs/toolchains.md).",
             "version = 1", ""]
    for tool in found:
        lines += [f"[tools.{_toml_string(tool.name)}]",
                  f"path = {_toml_string(tool.path)}",
                  f"version = {_toml_string(tool.version)}",
                  f"sha256 = {_toml_string(tool.sha256)}",
                  "boards = [" + ", ".join(_toml_string(b) for b in tool.boards) + "]", ""]
    return "\n".join(lines)


def read_lock(path: Path) -> dict[str, dict]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise PolyboardError(f"malformed TOML ({exc}); rewrite it with: scons lock-toolchains",
                             where=LOCK_NAME) from None
    tools = data.get("tools", {})
    if data.get("version") != 1 or not isinstance(tools, dict):
        raise PolyboardError("not a version 1 lock file; rewrite it with: scons lock-toolchains", where=LOCK_NAME)
    for name, entry in tools.items():
        for key in ("path", "version", "sha256"):
            if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
                raise PolyboardError("expected a string; rewrite the file with: scons lock-toolchains",
                                     where=LOCK_NAME, key=f"tools.{name}.{key}")
    return tools


def differences(locked: dict[str, dict], found: list[Fingerprint]) -> list[tuple[str, str, str, str]]:
    """(tool, what, locked, now) for every tool this build uses that differs from the lock."""
    rows = []
    for tool in found:
        entry = locked.get(tool.name)
        if entry is None:
            rows.append((tool.name, "tool", "(not locked)", tool.path))
            continue
        for key in ("path", "version", "sha256"):
            if entry[key] != getattr(tool, key):
                rows.append((tool.name, key, entry[key], getattr(tool, key)))
    return rows


def table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("tool", "differs", LOCK_NAME, "this build")
    shown = [header] + [(t, w, _short(a, w), _short(b, w)) for t, w, a, b in rows]
    widths = [max(len(row[i]) for row in shown) for i in range(3)]
    return "\n".join("  " + "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row))
                     for row in shown)


def _short(value: str, what: str) -> str:
    return value[:16] + "..." if what == "sha256" and len(value) > 19 else value


def check(root: Path, builds, mode: str, env: dict) -> None:
    """Compare the tools of *builds* with ``toolchains.lock`` (nothing without one)."""
    lock = root / LOCK_NAME
    if mode == "off" or not lock.is_file():
        return
    locked = read_lock(lock)
    rows = differences(locked, fingerprints(root, builds, env))
    if not rows:
        return
    tools = sorted({row[0] for row in rows})
    message = (f"{len(tools)} tool(s) differ from the lock: {', '.join(tools)}; if the change is intended, "
               f"run: scons lock-toolchains (or build with toolchains=warn)")
    if mode == "warn":
        sys.stderr.write(f"polyboard: warning: {LOCK_NAME}: {message}\n{table(rows)}\n")
        sys.stderr.flush()
        return
    raise PolyboardError(message, where=LOCK_NAME, details=table(rows))


def write_lock(root: Path, builds, env: dict) -> Path:
    found = fingerprints(root, builds, env)
    lock = root / LOCK_NAME
    temporary = lock.with_suffix(".tmp")
    temporary.write_text(render_lock(found), encoding="utf-8")
    os.replace(temporary, lock)
    return lock
