"""The ``run`` and ``test`` verbs: execute built programs (under the board's emulator) per board.

Each (board, program) pair is one always-built SCons node, so ``-j`` runs boards in parallel.
A failing program does not fail its SCons node (that would stop the other boards): results are
collected and handed to the ``polyboard_summary`` hook once the build ends, and then the process
exits with the first failing program's own status. A program whose build failed (several boards
keep going, see project.py) gets a row too, so the table shows every board that was asked for.
"""

from __future__ import annotations

import collections
import os
import shlex
import subprocess
import sys
import threading
import time

import attrs

from .errors import EXIT_USER_ERROR, PolyboardError, report_error
from . import failures, jobs, spawn

TIMEOUT_STATUS = 124
NOT_BUILT_STATUS = 2  # SCons's own status for a failed build
KEPT_LINES = 10_000  # a run's output kept for the summary hooks (a chatty program stays bounded)


@attrs.frozen
class RunResult:
    board: str
    component: str
    verb: str
    status: int
    seconds: float
    note: str = ""
    program: str = ""   # the program's path ("" when it was not built)
    output: tuple = ()  # the run's output lines, for plugins that read records from it (tracing)
    coverage: "Coverage | None" = None  # coverage=1: what was measured (or why nothing was)

    @property
    def passed(self) -> bool:
        return self.status == 0


@attrs.frozen
class Coverage:
    """One run's coverage (``coverage=1``), from the plugin that measured it."""

    percent: float | None  # None: not measured on this target; note says why
    note: str = ""         # the report's path, or why there is no figure
    below_minimum: str = ""  # set when the figure is under coverage_min: fails the run with this note


COVERAGE_STATUS = 3  # a run that passed but is under its coverage_min

_LOCK = threading.Lock()


def _select(build, verb: str, wanted: str | None) -> list:
    artifacts = [a for a in build.artifacts.values() if a.program is not None]
    if wanted:
        if wanted in build.skipped:
            raise PolyboardError(f"board {build.board.id} cannot {verb} {wanted!r}: {build.skipped[wanted]}",
                                 where=f"component={wanted}")
        chosen = [a for a in artifacts if a.component == wanted]
        if not chosen:
            names = ", ".join(a.component for a in artifacts) or "(none)"
            raise PolyboardError(f"board {build.board.id} has no runnable component {wanted!r}; "
                                 f"valid components: {names}", where=f"component={wanted}")
        return chosen
    if verb == "run":
        return [a for a in artifacts if not a.test][:1]
    return [a for a in artifacts if a.test]


def declare(project, verb_names: list[str]) -> None:
    import SCons.Script as S
    from SCons.Action import Action

    project.results = []
    project.run_jobs = []
    wanted = project.arguments.get("component")
    timeout_text = project.arguments.get("timeout")
    timeout_override = None
    if timeout_text is not None:
        try:
            timeout_override = float(timeout_text)
            assert timeout_override > 0
        except (ValueError, AssertionError):
            raise PolyboardError("expected a positive number of seconds", where=f"timeout={timeout_text}") from None
    for verb in verb_names:
        nodes = []
        skipped_here = []
        for build in project.builds:
            if wanted and wanted in build.skipped and len(project.builds) > 1:
                # several boards: the ones that skip the component say so, the others run it
                skipped_here.append(build)
                print(f"polyboard: {build.board.id}: not running {wanted!r}: {build.skipped[wanted]}")
                continue
            chosen = _select(build, verb, wanted)
            if not chosen:
                print(f"polyboard: {build.board.id}: nothing to {verb}")
                continue
            for artifact in chosen:
                command(project, build, artifact, artifact.program.abspath)  # a missing emulator stops here
                job = RunJob(project, build, artifact, verb, timeout_override)
                project.run_jobs.append(job)
                node = build.env.Alias(f"{verb}-{build.board.id}-{artifact.component}", [artifact.program],
                                       Action(run_action, None), POLYBOARD_RUN=job)
                build.env.AlwaysBuild(node)
                # The whole artifact first: an image that fails its checks (memory report) never runs.
                build.env.Depends(node, artifact.nodes)
                nodes.extend(node)
        if skipped_here and len(skipped_here) == len(project.builds):
            _select(skipped_here[0], verb, wanted)  # none of the boards can: the first one's error
        S.Alias(verb, nodes)


@attrs.frozen
class RunJob:
    project: object
    build: object
    artifact: object
    verb: str
    timeout: float | None


def command(project, build, artifact, program: str) -> list[str]:
    """The argument list that runs *program* with the artifact's arguments (before the build, too:
    a missing emulator or sysroot is a user error found without building anything)."""
    if artifact.runner == "host":
        return [program, *artifact.args]
    board = build.board
    argv = project.hooks.run_command(board, program, list(artifact.args))
    if argv is None:
        raise PolyboardError(f"no plugin knows how to run programs for board {board.id} "
                             "(add an [emulator] table)", where=board.path, key="emulator")
    return argv


def run_action(target, source, env) -> int:
    """Run one program for one board; record the result; never fail the SCons node (see above)."""
    job = env["POLYBOARD_RUN"]
    project, build, artifact, verb = job.project, job.build, job.artifact, job.verb
    board = build.board
    argv = command(project, build, artifact, source[0].abspath)
    child_env = dict(build.env["ENV"])
    coverage = project.hooks.coverage(build, artifact)
    if coverage is not None:
        argv = [*argv, *coverage.args]
        child_env.update(coverage.env)
    timeout = job.timeout or (board.emulator.timeout if board.emulator else 60)
    print(f"polyboard: {board.id}: {verb} {artifact.component}: {' '.join(argv)}", flush=True)
    started = time.monotonic()
    note = ""
    output: collections.deque = collections.deque(maxlen=KEPT_LINES)
    try:
        with jobs.tokens():
            status = _stream(argv, board.id, timeout, child_env, output)
    except subprocess.TimeoutExpired:
        status, note = TIMEOUT_STATUS, f"timed out after {timeout:g} s"
        print(f"polyboard: {board.id}: {artifact.component} {note}: the program did not exit "
              f"(raise emulator.timeout in {board.path} or pass timeout=SECONDS)", file=sys.stderr, flush=True)
    except FileNotFoundError:
        status, note = 127, f"{argv[0]} not found"
        print(f"polyboard: {board.id}: {argv[0]} not found", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - started
    measured = None
    if coverage is not None:
        try:
            measured = coverage.collect(status)
        except PolyboardError as error:  # a report that could not be made is said, the run stands
            measured = Coverage(None, str(error))
        if measured.below_minimum and status == 0:
            status, note = COVERAGE_STATUS, measured.below_minimum
            print(f"polyboard: {board.id}: {verb} {artifact.component}: {note}", file=sys.stderr, flush=True)
    with _LOCK:
        project.results.append(RunResult(board.id, artifact.component, verb, status, elapsed, note,
                                         source[0].abspath, tuple(output), measured))
    if status != 0:
        print(f"polyboard: {board.id}: {verb} {artifact.component} failed with exit status {status}",
              file=sys.stderr, flush=True)
    return 0


def _stream(argv: list[str], board_id: str, timeout: float, env: dict, output: collections.deque | None = None) -> int:
    """Run with output streamed line by line (prefixed when several boards share the terminal);
    the lines are also kept in *output* (a bounded deque)."""
    spawn._log(argv, env)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env={k: str(v) for k, v in env.items()}, start_new_session=True)
    deadline = time.monotonic() + timeout

    def pump():
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode(errors="replace")
            sys.stdout.write(f"[{board_id}] {line}")
            sys.stdout.flush()
            if output is not None:
                output.append(line.rstrip("\r\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        status = process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()
        reader.join(timeout=5)
        raise
    reader.join(timeout=5)
    return status


def report(project) -> None:
    """Print the summary; exit with the first failure's status (runs from atexit, after SCons).

    A dry run (``scons -n run``) ran nothing: it says what each program's run would be and exits
    0, as SCons's ``-n`` does for a build."""
    import SCons.Script as S

    if S.GetOption("no_exec"):
        for job in getattr(project, "run_jobs", []):
            argv = command(project, job.build, job.artifact, job.artifact.program.abspath)
            print(f"polyboard: {job.build.board.id}: would {job.verb} {job.artifact.component}: {shlex.join(argv)}")
        return
    results = list(getattr(project, "results", []))
    ran = {(r.board, r.component, r.verb) for r in results}
    run_jobs = getattr(project, "run_jobs", [])
    broken = failures.failed_targets(project.root, sorted({j.build.board.id for j in run_jobs}))
    for job in run_jobs:
        key = (job.build.board.id, job.artifact.component, job.verb)
        if key not in ran:  # its build failed, or the build stopped before it
            note = "build failed" if job.build.board.id in broken else "not run"
            results.append(RunResult(*key, status=NOT_BUILT_STATUS, seconds=0.0, note=note))
    results.sort(key=lambda r: (r.board, r.verb, r.component))
    if not results:
        return
    try:
        project.hooks.summary(results)
    except PolyboardError as error:  # after SCons has finished: said here, as the boundary would
        sys.stdout.flush()
        report_error(error)
        os._exit(EXIT_USER_ERROR)
    failed = [r for r in results if not r.passed]
    if failed:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(failed[0].status if 0 < failed[0].status < 256 else 1)
