"""TinyGo builder plugin: Go on bare-metal boards, behind the ``go_program``/``go_test`` kinds.

The Go builder owns the component kinds and builds for Linux boards with the ``go`` command; for a
bare-metal board (``os = "none"``) it calls the backend this plugin returns from the
``polyboard_go_backend`` hook. This backend needs ``tinygo`` on PATH
(looked up without starting it) and the board's ``go.tinygo_target`` (a TinyGo target name, e.g.
``stm32f4disco``); otherwise the component is skipped with that reason.

``tinygo build -target <t> -o build/<board>/<name>.elf <package>`` (``tinygo test -c`` for
go_test) runs in the module directory; the libraries are passed as for ``go`` through
``CGO_LDFLAGS`` from content-hash directories. What to build (package, tags, libraries, the files
SCons watches) is the Go builder's decision, handed over as a ``polyboard.go_env.GoPackage``:
this plugin never imports the Go plugin, so a tree's own ``go_builder.py`` reaches TinyGo too.
TinyGo is not installable on the project machines: its command line is built by the pure
functions below and unit-tested (tests/test_tinygo.py); the build itself is untested here.

Also an SCons tool (:func:`generate`/:func:`exists`): the ``TinyGo`` builder, a Python action
(``-p`` from the job tokens), shown with ``$TINYGOCOMSTR`` / ``$TINYGOTESTCOMSTR`` (display
strings only).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import attrs
from SCons.Action import Action
from SCons.Builder import Builder

from polyboard import Skip, hookimpl, jobs, spawn
from polyboard.context import Artifact
from polyboard.go_env import cgo_flag_list, link_name, stage_library, tool_env
from polyboard.scons_data import literal


def generate(env) -> None:
    """SCons tool: ``env.TinyGo(target, sources, TINYGO_JOB=..., TINYGO_SIGNATURE=...)``."""
    env.SetDefault(TINYGOCOMSTR="TINYGO  [$POLYBOARD_BOARD_ID] $TARGET",
                   TINYGOTESTCOMSTR="TGTEST  [$POLYBOARD_BOARD_ID] $TARGET")
    env.Append(BUILDERS={"TinyGo": TINYGO_BUILDER})


def exists(env) -> bool:
    """SCons tool: whether tinygo is on the environment's PATH (no process started)."""
    return shutil.which("tinygo", path=env["ENV"].get("PATH")) is not None


@hookimpl
def polyboard_go_backend(build):
    return declare_tinygo if build.board.bare_metal else None


def skip_reason(board, tinygo_path: str | None) -> str | None:
    """Why this board cannot build Go with TinyGo, or None if it can."""
    if tinygo_path is None:
        return "Go needs TinyGo on a microcontroller and tinygo is not on PATH"
    if board.go is None or not board.go.tinygo_target:
        return f"the board names no TinyGo target (set go.tinygo_target in {board.path})"
    return None


def tinygo_argv(tinygo: str, mode: str, target: str, output: str, package: str, tags: list[str],
                parallel: int = 1) -> list[str]:
    """``tinygo build`` (or ``tinygo test -c``) for one TinyGo target, writing *output*."""
    argv = [tinygo, "test", "-c"] if mode == "test" else [tinygo, "build"]
    argv += ["-target", target, "-p", str(max(1, parallel))]
    if tags:
        argv += ["-tags", " ".join(tags)]  # space-separated: accepted by every TinyGo release
    return argv + ["-o", output, package]


@attrs.frozen
class TinyGoJob:
    build: object
    mode: str
    tinygo: str
    module_dir: Path
    package: str
    tags: tuple
    libs: tuple
    stage_dir: Path
    include_dirs: tuple = ()


def declare_tinygo(build, component, mode: str, package) -> Artifact:
    """Declare *component* (``package``: the Go builder's :class:`polyboard.go_env.GoPackage`)."""
    board = build.board
    env = build.env
    tinygo = shutil.which("tinygo", path=env["ENV"].get("PATH"))
    reason = skip_reason(board, tinygo)
    if reason:
        raise Skip(reason)
    env.Tool(generate)
    tags = list(package.tags)
    job = TinyGoJob(build=build, mode=mode, tinygo=tinygo, module_dir=package.module_dir, package=package.package,
                    tags=tuple(tags), libs=package.libraries, stage_dir=build.abspath("go", component.name),
                    include_dirs=package.include_dirs)
    signature_text = repr((board.go.tinygo_target, mode, os.path.relpath(package.module_dir, build.root),
                           package.package, tags, [os.path.basename(str(node)) for node in job.libs]))
    nodes = env.TinyGo(build.path(f"{component.name}.elf"), list(package.sources),
                       TINYGO_SIGNATURE=literal(signature_text), TINYGO_JOB=job,
                       TINYGO_DISPLAY="$TINYGOCOMSTR" if mode == "build" else "$TINYGOTESTCOMSTR")
    extra = build.after_link(component.name, nodes[0])
    return Artifact(component=component.name, kind=component.kind, nodes=list(nodes) + extra,
                    program=nodes[0], test=mode == "test")


def tinygo_action(target, source, env):
    job = env["TINYGO_JOB"]
    build = job.build
    out = target[0].abspath
    tmp = out + ".tmp"
    lib_dirs = [stage_library(node.abspath, job.stage_dir / Path(node.abspath).stem) for node in job.libs]
    child_env = dict(env["ENV"])
    child_env.update(tool_env(build.root, job.module_dir, offline=build.offline))
    child_env.update({
        # as go_builder does: the libraries' headers, folders and -l names, so no #cgo lines
        "CGO_CFLAGS": cgo_flag_list([f"-I{d}" for d in job.include_dirs], "the checkout path"),
        "CGO_LDFLAGS": cgo_flag_list(
            [*(f"-L{d}" for d in lib_dirs), *(f"-l{link_name(n.abspath)}" for n in job.libs)],
            "the checkout path"),
        "XDG_CACHE_HOME": str(build.root / "build" / ".tinygo-cache"),
    })
    with jobs.tokens(extra_wanted=jobs.size() - 1) as held:
        argv = tinygo_argv(job.tinygo, job.mode, build.board.go.tinygo_target, tmp, job.package, list(job.tags), held)
        return spawn.produce(argv, env=child_env, cwd=str(job.module_dir), temporary=tmp, target=out,
                             nothing=f"tinygo wrote nothing for {job.package}")


TINYGO_BUILDER = Builder(action=Action(tinygo_action, "$TINYGO_DISPLAY", varlist=["TINYGO_SIGNATURE"]))
