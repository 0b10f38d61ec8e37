"""Child processes: every command polyboard or SCons starts goes through :func:`run`.

Why our own spawn:

* **no shell**: SCons's default SPAWN runs ``sh -c "<command line>"``; a board value such as a
  C flag would then reach a shell. Our ``ESCAPE`` quotes every argument with :func:`shlex.quote`
  and our ``SPAWN`` splits the line back with :func:`shlex.split` and executes the argument list
  directly, so ``;``, ``$(...)`` or quotes in board data stay literal arguments.
* **atomic outputs**: commands write ``$TARGET.tmp``; :func:`committed` appends a silent
  in-process action that renames every ``.tmp`` into place (:func:`os.replace`), so a build
  killed at any point never leaves a truncated target that a later build considers up to date.
* **counting**: ``POLYBOARD_SPAWN_LOG`` names a file that gets one line per child process, which
  the tests use to prove that a null build starts nothing.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from . import jobs


def escape(arg: str) -> str:
    return shlex.quote(arg)


def _log(argv: list[str]) -> None:
    log = os.environ.get("POLYBOARD_SPAWN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(shlex.join(argv) + "\n")


VERBOSE = False  # verbose=1: print every child's full command line (cargo's and go's too)


def run(argv: list[str], *, env: dict | None = None, cwd: str | None = None,
        capture: bool = False, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Start one child process from an argument list (never a shell)."""
    _log(argv)
    if VERBOSE:
        sys.stdout.write(("cd " + shlex.quote(cwd) + " && " if cwd else "") + shlex.join(argv) + "\n")
        sys.stdout.flush()
    return subprocess.run(argv, env=env, cwd=cwd, text=True, timeout=timeout,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)


def commit(temporary: str | Path, target: str | Path) -> None:
    """Move a finished temporary output into place atomically."""
    os.replace(temporary, target)


def produce(argv: list[str], *, env: dict, cwd: str, temporary: str, target: str, nothing: str) -> int:
    """Run a tool that writes *temporary*, then commit it to *target*.

    On failure (or when the tool wrote nothing; *nothing* says why that happens) both files are
    removed, so an older output never looks like the result of this build."""
    status = run(argv, env=env, cwd=cwd).returncode
    if status == 0 and not os.path.exists(temporary):
        sys.stderr.write(f"polyboard: {nothing}\n")
        status = 1
    if status != 0:
        for path in (temporary, target):
            if os.path.exists(path):
                os.remove(path)
        return status
    commit(temporary, target)
    return 0


def scons_spawn(sh, esc, cmd, args, env) -> int:
    """SCons SPAWN: run the escaped command line as an argument list, without a shell."""
    argv = shlex.split(" ".join(args))
    try:
        with jobs.tokens():
            return run(argv, env={k: str(v) for k, v in env.items()}).returncode
    except FileNotFoundError:
        sys.stderr.write(f"polyboard: {argv[0]}: command not found\n")
        return 127


def _commit_targets(target, source, env) -> int:
    for node in target:
        commit(node.abspath + ".tmp", node.abspath)
    return 0


def committed(command: str, comstr: str | None):
    """An action list: *command* (writing ``${TARGETS[i]}.tmp``) then the atomic rename."""
    from SCons.Action import Action

    return Action([Action(command, comstr), Action(_commit_targets, None)])


def install(env) -> None:
    """Make an SCons environment spawn through this module."""
    env["SPAWN"] = scons_spawn
    env["ESCAPE"] = escape
    env["SHELL"] = "polyboard-no-shell"
