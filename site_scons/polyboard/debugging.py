"""The ``flash`` and ``debug`` verbs: program a board, or run a program under gdb in its emulator.

``flash`` runs the commands a plugin builds from the board's ``[flash]`` table
(``polyboard_flash_command``), after the firmware is built; ``dry_run=1`` prints them and builds
nothing. ``debug`` starts the board's emulator with its GDB server on a free port on 127.0.0.1
(``polyboard_debug_server``) and ``gdb-multiarch`` attached to it with the program's symbols;
``gdb_script=FILE`` runs gdb in batch mode (for scripts and tests).

Everything that can be checked before building is checked while the SConstruct is read (a
missing tool, a board without ``[flash]`` or emulator, a busy ``port=``, a GDB server that does
not answer), so bad input is one line and exit status 2 with nothing built. Every process
started here has a timeout and is stopped, with its process group, before the verb returns.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import attrs

from . import gdb, jobs, spawn
from .board import split_server
from .errors import PolyboardError
from .verb_names import DEBUG, FLASH

VERBS = (FLASH, DEBUG)
INTERACTIVE_TIMEOUT = 3600  # seconds: an interactive debug session (timeout= overrides)
GRACE = 5  # seconds the emulator gets to end by itself once gdb has detached or exited


def declare(project, verb_names: list[str]) -> None:
    import SCons.Script as S

    args = project.arguments
    dry_run = project._switch("dry_run", default=False)
    timeout = _timeout(args.get("timeout"))
    server = args.get("server", "")
    if server:
        try:
            split_server(server)
        except ValueError as exc:
            raise PolyboardError(str(exc), where=f"server={server}") from None
    for verb in verb_names:
        if verb == FLASH:
            nodes = [_declare_flash(project, build, server, dry_run, timeout) for build in project.builds]
        else:
            if len(project.builds) != 1:
                raise PolyboardError(f"debug takes one board, got {len(project.builds)}: "
                                     f"{', '.join(b.board.id for b in project.builds)}", where="command line")
            nodes = [_declare_debug(project, project.builds[0], timeout)]
        S.Alias(verb, nodes)


def _timeout(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise PolyboardError("expected a positive number of seconds", where=f"timeout={text}")
    return value


def _program(project, build, verb: str):
    """The artifact ``run`` would run (or ``component=``): what is flashed or debugged."""
    from .verbs import _select

    chosen = _select(build, "run", project.arguments.get("component"))
    if not chosen:
        raise PolyboardError(f"board {build.board.id} has no program to {verb}", where=build.board.path)
    return chosen[0]


# -- flash ----------------------------------------------------------------------------------------

@attrs.frozen
class FlashJob:
    board: object
    env: dict
    commands: list
    timeout: float


def _declare_flash(project, build, server: str, dry_run: bool, timeout: float | None):
    from SCons.Action import Action

    board = build.board
    if board.flash is None:
        raise PolyboardError(f"board {board.id} has no [flash] table, so it cannot be flashed "
                             "(docs/flash-debug.md)", where=board.path, key="flash")
    artifact = _program(project, build, FLASH)
    elf = artifact.program.abspath
    commands = project.hooks.flash_command(board, elf, server, dry_run)
    if not commands:
        raise PolyboardError(f"no plugin knows flash method {board.flash.method!r}", where=board.path,
                             key="flash.method")
    if dry_run:  # print, build nothing
        lines = [f"polyboard: {board.id}: flash: {shlex.join(argv)}" for argv in commands]
        node = build.env.Alias(f"flash-{board.id}", [], Action(_print_lines, None), POLYBOARD_LINES=lines)
        build.env.AlwaysBuild(node)
        return node
    if board.flash.method == "gdb":
        _check_reachable(server or board.flash.gdb_server, board, "server" if server else "flash.gdb_server")
    job = FlashJob(board, build.env["ENV"], commands, timeout or board.flash.timeout)
    node = build.env.Alias(f"flash-{board.id}", [artifact.program], Action(flash_action, None),
                           POLYBOARD_FLASH=job)
    build.env.AlwaysBuild(node)
    build.env.Depends(node, artifact.nodes)  # images and checks too: a firmware that does not fit is never flashed
    return node


def _print_lines(target, source, env) -> int:
    for line in env["POLYBOARD_LINES"]:
        print(line, flush=True)
    return 0


def _check_reachable(server: str, board, key: str) -> None:
    """Connect once to the GDB server, so that a closed port is a clear error before building.
    (A bare connection is harmless: QEMU's stub, openocd and J-Link wait for the next one.)"""
    host, port = split_server(server)
    try:
        with socket.create_connection((host, port), timeout=5):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = f"server={server}" if key == "server" else board.path
        raise PolyboardError(f"no GDB server answers at {server} ({reason}): start the board's GDB server "
                             "(openocd, JLinkGDBServer, probe-rs gdb, qemu -s -S) or pass server=HOST:PORT",
                             where=where, key=None if key == "server" else key) from None


def flash_action(target, source, env) -> int:
    job = env["POLYBOARD_FLASH"]
    for argv in job.commands:
        print(f"polyboard: {job.board.id}: flash: {shlex.join(argv)}", flush=True)
        try:
            from .verbs import _stream
            with jobs.tokens():
                status = _stream(argv, job.board.id, job.timeout, job.env)
        except subprocess.TimeoutExpired:
            print(f"polyboard: {job.board.id}: flash: {argv[0]} did not finish in {job.timeout:g} s; stopped "
                  "(raise flash.timeout or pass timeout=SECONDS)", file=sys.stderr, flush=True)
            return 124
        if status != 0:
            print(f"polyboard: {job.board.id}: flash: {argv[0]} failed with exit status {status}",
                  file=sys.stderr, flush=True)
            return status
    print(f"polyboard: {job.board.id}: flashed {source[0]}", flush=True)
    return 0


# -- debug ----------------------------------------------------------------------------------------

@attrs.frozen
class DebugJob:
    project: object
    build: object
    artifact: object
    port: int | None
    script: str
    timeout: float


def free_port() -> int:
    """A TCP port nobody listens on (on any interface: QEMU's user-mode stub binds them all)."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def _check_port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise PolyboardError("expected a TCP port from 1 to 65535", where=f"port={text}")
    port = int(text)
    with socket.socket() as probe:
        try:
            probe.bind(("", port))
        except OSError as exc:
            raise PolyboardError(f"port {port} is busy ({exc.strerror}): the emulator's GDB server cannot "
                                 "listen there; pick another port= or leave it out for a free one",
                                 where=f"port={text}") from None
    return port


def _declare_debug(project, build, timeout: float | None):
    import SCons.Script as S
    from SCons.Action import Action

    board = build.board
    artifact = _program(project, build, DEBUG)
    port = _check_port(project.arguments["port"]) if "port" in project.arguments else None
    # asked now, so that a board without an emulator (or a missing one) stops before building
    if project.hooks.debug_server(board, artifact.program.abspath, list(artifact.args), port or 1) is None:
        raise PolyboardError(f"board {board.id} has no emulator to debug in (no [emulator] table; "
                             "a plugin answering polyboard_debug_server could add one)", where=board.path,
                             key="emulator")
    gdb.require(board, build.env["ENV"].get("PATH"))
    script = project.arguments.get("gdb_script", "")
    if script:
        path = Path(S.GetLaunchDir(), script)
        if not path.is_file():
            raise PolyboardError("no such gdb script", where=f"gdb_script={script}")
        script = str(path.resolve())
    default = board.emulator.timeout if script and board.emulator else INTERACTIVE_TIMEOUT
    job = DebugJob(project, build, artifact, port, script, timeout or default)
    node = build.env.Alias(f"debug-{board.id}", [artifact.program], Action(debug_action, None),
                           POLYBOARD_DEBUG=job)
    build.env.AlwaysBuild(node)
    build.env.Depends(node, artifact.nodes)
    return node


def _sources(job) -> tuple[list[str], list[tuple[str, str]]]:
    """gdb's ``directory`` folders and ``substitute-path`` pairs for this board's artifacts: the
    tree (C files are compiled with -ffile-prefix-map=<root>=.) plus what each artifact says."""
    folders = [str(job.project.root)]
    pairs: list[tuple[str, str]] = []
    for artifact in job.build.artifacts.values():
        for prefix, folder in artifact.debug_sources:
            if not prefix and folder not in folders:
                folders.append(folder)
            elif prefix and (prefix, folder) not in pairs:
                pairs.append((prefix, folder))
    return folders, pairs


def debug_action(target, source, env) -> int:
    job = env["POLYBOARD_DEBUG"]
    board = job.build.board
    port = job.port or free_port()
    program = source[0].abspath
    emulator_argv = job.project.hooks.debug_server(board, program, list(job.artifact.args), port)
    folders, pairs = _sources(job)
    # gdb reads the symbols from the file that has them (a stripped program's <name>.debug)
    symbols = job.artifact.symbols.abspath if job.artifact.symbols is not None else program
    gdb_argv = gdb.debug_argv(symbols, f"127.0.0.1:{port}", source_dirs=folders, substitutions=pairs,
                              sysroot=board.emulator.sysroot if board.emulator else "", script=job.script)
    print(f"polyboard: {board.id}: debug: {shlex.join(emulator_argv)}", flush=True)
    print(f"polyboard: {board.id}: debug: {shlex.join(gdb_argv)}", flush=True)
    child_env = {k: str(v) for k, v in env["ENV"].items()}
    with jobs.tokens():
        return _session(board.id, emulator_argv, gdb_argv, child_env, job.timeout, batch=bool(job.script),
                        cwd=str(job.project.root))


def _pump(process, prefix: str) -> threading.Thread:
    def copy():
        for raw in iter(process.stdout.readline, b""):
            sys.stdout.write(f"{prefix}{raw.decode(errors='replace')}")
            sys.stdout.flush()
    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


_SAVED_SIGINT: list = []


def _leave_ctrl_c_to(debugger) -> None:
    """Ctrl-C at gdb's prompt stops the debugged program; the terminal sends it to its whole
    foreground process group, scons included, which would end the build. scons ignores it while
    an interactive gdb runs (gdb, started before, keeps its own handler). Only the main thread
    may change signal handlers: with -j N the action runs in a worker and Ctrl-C ends the build."""
    if threading.current_thread() is threading.main_thread():
        _SAVED_SIGINT.append(signal.signal(signal.SIGINT, signal.SIG_IGN))


def _restore_ctrl_c() -> None:
    while _SAVED_SIGINT:
        signal.signal(signal.SIGINT, _SAVED_SIGINT.pop())


def _stop(process) -> None:
    """Stop *process* and everything it started (it leads its own process group)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, 9)
        except ProcessLookupError:
            pass
    process.wait()


def _session(board_id: str, emulator_argv: list[str], gdb_argv: list[str], env: dict, timeout: float, *,
             batch: bool, cwd: str) -> int:
    """Run the emulator and gdb together; return gdb's status (124 on timeout). Both are stopped
    before this returns, whatever happens."""
    spawn._log(emulator_argv)
    emulator = subprocess.Popen(emulator_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    readers = [_pump(emulator, f"[{board_id}] ")]
    debugger = None
    deadline = time.monotonic() + timeout
    try:
        spawn._log(gdb_argv)
        if batch:
            debugger = subprocess.Popen(gdb_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True)
            readers.append(_pump(debugger, "[gdb] "))
        else:  # the terminal's: gdb needs it for its prompt and Ctrl-C
            debugger = subprocess.Popen(gdb_argv, env=env, cwd=cwd)
            _leave_ctrl_c_to(debugger)
        emulator_gone = None
        while debugger.poll() is None:
            if time.monotonic() > deadline:
                print(f"polyboard: {board_id}: debug: stopped after {timeout:g} s (timeout=SECONDS to change)",
                      file=sys.stderr, flush=True)
                return 124
            if emulator.poll() is not None:
                # gdb would retry its connection for a while: an emulator that is gone
                # (its GDB server could not listen, or the program ended) ends the session
                emulator_gone = emulator_gone or time.monotonic()
                if time.monotonic() - emulator_gone > 2:
                    break
            time.sleep(0.05)
        if debugger.poll() is None:
            print(f"polyboard: {board_id}: debug: the emulator exited with status {emulator.returncode} "
                  "while gdb was still attaching or running", file=sys.stderr, flush=True)
            return 1
        try:  # after a detach the program runs on to its end
            emulator.wait(timeout=min(GRACE, max(0.1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            pass
        status = debugger.returncode
        if status != 0:
            print(f"polyboard: {board_id}: debug: gdb exited with status {status}", file=sys.stderr, flush=True)
        return status
    finally:
        _restore_ctrl_c()
        if debugger is not None:
            if debugger.poll() is None:
                if batch:
                    _stop(debugger)
                else:
                    debugger.kill()
                    debugger.wait()
        _stop(emulator)
        for reader in readers:
            reader.join(timeout=5)
