"""Child processes: every command polyboard or SCons starts goes through :func:`run`.

Why our own spawn:

* **no shell, no re-split**: SCons's default SPAWN joins the arguments and runs
  ``sh -c "<command line>"``; a board value such as a C flag would then reach a shell. SCons
  hands SPAWN the arguments as a list, each already "escaped": an argument with a space or a
  tab comes wrapped in double quotes (SCons's ``quote_spaces``, which it applies itself to
  non-literal arguments; our ``ESCAPE`` does the same to literal ones), every other argument
  comes as it is. :func:`unescape` undoes exactly that, and the list is executed directly, so
  ``;``, ``$(...)``, quotes, backslashes and newlines in board data stay one literal argument.
* **atomic outputs**: commands write ``$TARGET.tmp``; :func:`committed` appends a silent
  in-process action that renames every ``.tmp`` into place (:func:`os.replace`), so a build
  killed at any point never leaves a truncated target that a later build considers up to date.
* **counting**: ``POLYBOARD_SPAWN_LOG`` names a file that gets one line per child process (its
  argument vector and the variables that carry arguments, as JSON), which the tests use to prove that a null build starts
  nothing and that every argument reached its tool exactly as written.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from . import jobs


def escape(arg: str) -> str:
    """SCons ESCAPE for literal arguments: the same reversible wrapping SCons gives the others."""
    arg = str(arg)
    return f'"{arg}"' if (" " in arg or "\t" in arg) else arg


def unescape(arg: str) -> str:
    """One argument as SCons passed it to SPAWN, back as the tool must receive it.

    Only an argument that contains a space or a tab was wrapped (by SCons's ``quote_spaces`` or
    :func:`escape`), always in exactly one pair of double quotes; nothing else was changed."""
    arg = str(arg)
    if (" " in arg or "\t" in arg) and len(arg) >= 2 and arg[0] == arg[-1] == '"':
        return arg[1:-1]
    return arg


# Environment variables that carry arguments to a tool (cargo's and cgo's flags): logged too.
ARGUMENT_VARIABLES = ("CARGO_ENCODED_RUSTFLAGS", "CGO_CFLAGS", "CGO_LDFLAGS")


def _log(argv: list[str], env: dict | None = None) -> None:
    """One JSON object per child process: ``{"argv": [...], "env": {...}}``, the exact argument
    vector (whatever bytes it holds) and the argument-carrying variables it got."""
    log = os.environ.get("POLYBOARD_SPAWN_LOG")
    if log:
        carried = {name: str(env[name]) for name in ARGUMENT_VARIABLES if env and name in env}
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"argv": [str(arg) for arg in argv], "env": carried}) + "\n")


VERBOSE = False  # verbose=1: print every child's full command line (cargo's and go's too)


def run(argv: list[str], *, env: dict | None = None, cwd: str | None = None,
        capture: bool = False, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Start one child process from an argument list (never a shell)."""
    _log(argv, env)
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
    """SCons SPAWN: run SCons's argument list as it is (unwrapped, never joined), without a shell."""
    argv = [unescape(arg) for arg in args]
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


_COMMIT_ACTION = None


def committed(command: str, comstr: str | None):
    """An action list: *command* (writing ``${TARGETS[i]}.tmp``) then the atomic rename.

    The rename is one action for every target: SCons reads a Python function's code to sign
    each action it creates, about a tenth of a millisecond, and boards times components add up."""
    global _COMMIT_ACTION
    from SCons.Action import Action

    if _COMMIT_ACTION is None:
        _COMMIT_ACTION = Action(_commit_targets, None)
    return Action([Action(command, comstr), _COMMIT_ACTION])


def install(env) -> None:
    """Make an SCons environment spawn through this module."""
    env["SPAWN"] = scons_spawn
    env["ESCAPE"] = escape
    env["SHELL"] = "polyboard-no-shell"
