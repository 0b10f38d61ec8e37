#!/usr/bin/env python3
"""What the artifact manifest and size reports cost a null build (docs/benchmarks.md).

Usage (from the repository root, in a tree already built for those boards):

    .venv/bin/python bench/manifest_cost.py [--boards stm32f4,rpi4] [--repeat 7] [--tree .]

Times ``scons -Q boards=...`` with nothing to do, interleaved, with the size report plugin on
and switched off (``plugins=-size_report``; every other plugin as usual), and counts the child
processes of each with polyboard's spawn log. A first run of each kind is not timed (it
settles SCons's state after the switch). Prints medians; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCONS = Path(sys.executable).parent / "scons"


def null_build(tree: Path, boards: str, extra: list[str], log: Path) -> float:
    env = dict(os.environ, POLYBOARD_SPAWN_LOG=str(log))
    env.pop("SCONS_CACHE_DIR", None)
    started = time.perf_counter()
    subprocess.run([str(SCONS), "-Q", f"boards={boards}", *extra], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="stm32f4,lm3s6965,microbit,mps2-an505,hifive1,rpi4")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--tree", type=Path, default=Path("."))
    args = parser.parse_args()
    kinds = (("with manifests", []), ("plugins=-size_report", ["plugins=-size_report"]))
    times: dict[str, list[float]] = {label: [] for label, _ in kinds}
    processes: dict[str, int] = {label: 0 for label, _ in kinds}
    with tempfile.TemporaryDirectory() as folder:
        for label, extra in kinds:
            null_build(args.tree, args.boards, extra, Path(folder) / "settle.log")  # settle
        for round_ in range(args.repeat):  # interleaved, so that a change of machine load hits both
            for label, extra in kinds:
                log = Path(folder) / f"{round_}-{len(label)}.log"
                times[label].append(null_build(args.tree, args.boards, extra, log))
                processes[label] += len(log.read_text().splitlines()) if log.exists() else 0
        null_build(args.tree, args.boards, [], Path(folder) / "last.log")  # leave the tree as built
    results = {label: (statistics.median(times[label]), processes[label]) for label, _ in kinds}
    count = len(args.boards.split(","))
    for label, (seconds, processes) in results.items():
        print(f"null build, {count} boards, {label:22} {seconds:6.3f} s  {processes} child processes")
    cost = results["with manifests"][0] - results["plugins=-size_report"][0]
    print(f"manifest and size reports on a null build: {cost * 1000:+.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
