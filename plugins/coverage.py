"""Coverage plugin: ``scons board=<id> test coverage=1`` measures coverage on the emulated target.

What each language can do here, said rather than pretended:

* **Go**: ``coverage=1`` adds ``-cover -covermode=atomic -coverpkg=./...`` to every Go build
  (the ``polyboard_switches`` seam ``build.go_flags``), so every package of the module is
  instrumented. A test binary runs under qemu-user with ``-test.gocoverdir=DIR`` (a program with
  ``GOCOVERDIR=DIR``); the host's ``go tool covdata`` turns DIR into a profile, the percentage of
  statements covered, and ``go tool cover -html`` into ``build/<board>/coverage/<component>.html``.
* **Rust**: ``-C instrument-coverage`` needs the ``profiler_builtins`` runtime for the target.
  With ``-Zbuild-std`` it is compiled from compiler-rt's sources, which Debian's rust-src does not
  ship, so the summary says "not measured" and why.
* **C** on microcontrollers: gcov writes ``.gcda`` files through a file system the firmware does
  not have; not measured, and said so.

``coverage_min=N`` (0-100), or ``min`` in a board's ``[coverage]`` table, fails a run whose
figure is below it, as CI enforces it. The summary table gains a Coverage column.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from polyboard import PolyboardError, hookimpl, manifest, spawn
from polyboard.go_env import tool_env

if TYPE_CHECKING:  # the run verbs' module, imported when a test runs (start-up time)
    from polyboard.verbs import Coverage

GO_FLAGS = ("-cover", "-covermode=atomic", "-coverpkg=./...")
GO_KINDS = ("go_program", "go_test")
RUST_KINDS = ("rust_test", "rust_program")
TOOL_TIMEOUT = 300


@attrs.frozen
class CoverageSettings:
    """A board's ``[coverage]`` table."""

    min: float = 0.0


def check_minimum(text: str) -> None:
    try:
        value = float(text)
    except ValueError:
        raise PolyboardError(f"{text!r} is not a percentage; give a number from 0 to 100") from None
    if not 0 <= value <= 100:
        raise PolyboardError(f"{text!r} is out of range; give a number from 0 to 100")


def check_table(value: CoverageSettings, board) -> None:
    if not 0 <= value.min <= 100:
        raise PolyboardError(f"{value.min:g} is out of range; give a number from 0 to 100", key="coverage.min")


@hookimpl
def polyboard_register(registry):
    registry.add_option("coverage", "1 measures coverage of run/test on the target (Go; Rust and C say why not); "
                        "reports in build/<board>/coverage/", default="0", choices=("0", "1"))
    registry.add_option("coverage_min", "with coverage=1: fail a run covering less than this percentage "
                        "(0-100; a board's [coverage] min otherwise)", check=check_minimum)
    registry.add_board_table("coverage", CoverageSettings, check=check_table,
                             help="min: the coverage_min of the board's runs (percent, 0-100)")


def _enabled(build) -> bool:
    return build.options.get("coverage", "0") == "1"


@hookimpl
def polyboard_switches(build):
    if _enabled(build):
        build.go_flags.extend(GO_FLAGS)


def minimum(build) -> float:
    given = build.options.get("coverage_min", "")
    if given:
        return float(given)
    table = build.board.table("coverage")
    return table.min if table is not None else 0.0


@attrs.frozen
class NotMeasured:
    """A run whose coverage this target cannot measure: the summary says why."""

    reason: str
    env: dict = attrs.field(factory=dict)
    args: tuple = ()

    def collect(self, status: int) -> Coverage:
        from polyboard.verbs import Coverage

        return Coverage(None, self.reason)


@attrs.frozen
class GoCoverage:
    """One Go binary's run: its counters land in ``data``; the reports beside it."""

    build: object
    artifact: object
    data: Path
    env: dict
    args: tuple

    def collect(self, status: int) -> Coverage:
        from polyboard.verbs import Coverage

        build, component = self.build, self.artifact.component
        folder = self.data.parent
        profile = folder / f"{component}.out"
        html = folder / f"{component}.html"
        if not any(self.data.iterdir()):
            return Coverage(None, "the program wrote no coverage data (did it exit normally?)")
        go = _go(build)
        env = _go_env(build, Path(self.artifact.package_dir))
        _tool([go, "tool", "covdata", "textfmt", "-i", str(self.data), "-o", str(profile)], env, self.artifact)
        covered, total, per_file = profile_figures(profile.read_text(encoding="utf-8"))
        _tool([go, "tool", "cover", f"-html={profile}", "-o", str(html)], env, self.artifact)
        percent = 100.0 * covered / total if total else 0.0
        summary = {"board": build.board.id, "component": component, "statements": total, "covered": covered,
                   "percent": round(percent, 2), "files": per_file, "html": html.name, "profile": profile.name}
        manifest.write_json(str(folder / f"{component}.json"), summary)
        note = os.path.relpath(html, build.root)
        wanted = minimum(build)
        below = ""
        if percent < wanted:
            below = f"coverage {percent:.1f}% is below coverage_min {wanted:g}%"
        return Coverage(round(percent, 1), note, below)


def profile_figures(text: str) -> tuple[int, int, dict]:
    """Statements covered and in total from a Go cover profile (``mode:`` then
    ``file:l.c,l.c statements count`` lines; a block listed twice counts once, covered if any)."""
    blocks: dict[str, tuple[int, bool]] = {}
    for line in text.splitlines():
        if not line or line.startswith("mode:"):
            continue
        where, _, rest = line.rpartition(" ")  # "... statements" "count"
        block, _, statements = where.rpartition(" ")
        if not block or not statements.isdigit() or not rest.isdigit():
            continue
        seen = blocks.get(block)
        hit = int(rest) > 0 or (seen is not None and seen[1])
        blocks[block] = (int(statements), hit)
    per_file: dict[str, list[int]] = {}
    for block, (statements, hit) in blocks.items():
        name = block.rsplit(":", 1)[0]
        figures = per_file.setdefault(name, [0, 0])
        figures[1] += statements
        if hit:
            figures[0] += statements
    covered = sum(c for c, _ in per_file.values())
    total = sum(t for _, t in per_file.values())
    return covered, total, {name: {"covered": c, "statements": t} for name, (c, t) in sorted(per_file.items())}


@hookimpl
def polyboard_coverage(build, artifact):
    if not _enabled(build):
        return None
    if artifact.kind in GO_KINDS and not build.board.bare_metal:
        data = build.abspath("coverage", f"{artifact.component}.data")
        if data.exists():
            shutil.rmtree(data)
        data.mkdir(parents=True)
        args = (f"-test.gocoverdir={data}",) if artifact.test else ()
        return GoCoverage(build, artifact, data, {"GOCOVERDIR": str(data)}, args)
    if artifact.kind in RUST_KINDS:
        return NotMeasured("Rust: no profiler runtime for -Zbuild-std (docs/coverage.md)")
    if build.board.bare_metal:
        return NotMeasured("firmware: gcov needs a file system (docs/coverage.md)")
    return NotMeasured(f"{artifact.kind}: not supported (docs/coverage.md)")


# -- helpers ---------------------------------------------------------------------------------------

def _go(build) -> str:
    return build.options.get("go") or shutil.which("go") or "go"


def _go_env(build, module_dir: Path) -> dict[str, str]:
    """The build's own Go caches and module mode (polyboard.go_env), so ``go tool cover``
    resolves the module's packages as the build did."""
    env = {k: str(v) for k, v in build.env["ENV"].items()}
    env.update(tool_env(build.root, module_dir, offline=build.offline))
    return env


def _tool(argv: list[str], env: dict, artifact) -> None:
    try:
        result = spawn.run(argv, env=env, cwd=str(artifact.package_dir), capture=True, timeout=TOOL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PolyboardError(f"coverage report not made: {argv[1:3]} failed: {error}") from None
    if result.returncode != 0:
        last = ((result.stderr or result.stdout).strip().splitlines() or ["no output"])[-1]
        raise PolyboardError(f"coverage report not made: {' '.join(argv[1:3])}: {last}")
