#!/usr/bin/env python3
"""polyboard benchmark: polyboard against the raw toolchain commands, run by hand in the same order.

Usage (from the repository root, after ./setup.sh):

    .venv/bin/python bench/run.py [--repeat 3] [--boards-scaling 50] [--markdown FILE]

It copies the tree to a temporary folder and measures, for one board (rpi4: Rust + C + Go) and
for all shipped boards: a clean build, a null build, a one-Rust-file edit and a one-Go-file edit.
The baseline is bench/raw/build_{mcu,linux}.sh run serially for the same boards, building the
same products (firmware .elf/.bin/.hex/.map; the Go app). It then generates N boards that
inherit from the shipped ones and times polyboard's null build over all of them. Child processes
are counted with strace. It prints medians and ratios (polyboard / raw); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCONS = Path(sys.executable).parent / "scons"
MCU = ("stm32f4", "lm3s6965")
LINUX = ("rpi3", "rpi4", "visionfive2")
RUST_EDIT = "\n#[no_mangle]\npub extern \"C\" fn kern_bench_probe_{n}() -> u32 {{\n    {n}\n}}\n"
GO_EDIT = "\n// bench edit {n}\n"


def products(board: str) -> list[str]:
    if board in MCU:
        return [f"build/{board}/firmware.{ext}" for ext in ("elf", "bin", "hex", "map")]
    return [f"build/{board}/app"]


def polyboard_cmd(boards: list[str], jobs: int) -> list[str]:
    targets = [t for b in boards for t in products(b)]
    return [str(SCONS), "-Q", f"-j{jobs}", f"boards={','.join(boards)}", *targets]


def raw_cmds(tree: Path, boards: list[str]) -> list[list[str]]:
    cmds = []
    for board in boards:
        script = "build_mcu.sh" if board in MCU else "build_linux.sh"
        cmds.append(["bash", str(tree / "bench/raw" / script), board, str(tree / "raw-out" / board)])
    return cmds


def env_for(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SCONS_CACHE_DIR", None)
    # As a user runs it: with Python's bytecode cache (a shell that sets this would recompile
    # polyboard's and the plugins' sources on every run, ~35 ms, and time that instead).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["GOCACHE"] = str(tree / "raw-out" / ".gocache")  # the raw side's Go cache, kept per run
    env["GOPATH"] = str(tree / "raw-out" / ".gopath")
    return env


def timed(cmds: list[list[str]], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    for cmd in cmds:
        subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def children(cmds: list[list[str]], cwd: Path, env: dict) -> int:
    """Processes started (execve calls beyond the command itself), counted with strace."""
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, cmd in enumerate(cmds):
            log = Path(tmp) / f"{i}.log"
            subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", str(log), *cmd], cwd=cwd, env=env,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            total += sum(1 for line in log.read_text().splitlines() if "execve(" in line and "= 0" in line) - 1
    return total


class Bench:
    def __init__(self, tree: Path, repeat: int):
        self.tree, self.repeat = tree, repeat
        self.env = env_for(tree)
        self.rows: list[tuple] = []
        self.edits = 0

    def clean(self, side: str = "both") -> None:
        if side in ("polyboard", "both"):
            shutil.rmtree(self.tree / "build", ignore_errors=True)
            for name in self.tree.glob(".sconsign*"):
                name.unlink()
        if side in ("raw", "both"):
            shutil.rmtree(self.tree / "raw-out", ignore_errors=True)

    def edit(self, language: str) -> None:
        self.edits += 1
        if language == "rust":
            path = self.tree / "src/kernel/src/lib.rs"
            path.write_text(path.read_text() + RUST_EDIT.format(n=self.edits))
        else:
            path = self.tree / "src/app/main.go"
            path.write_text(path.read_text() + GO_EDIT.format(n=self.edits))

    def measure(self, label: str, boards: list[str], jobs: int, prepare=None, count: bool = True) -> None:
        poly, raw = [polyboard_cmd(boards, jobs)], raw_cmds(self.tree, boards)
        samples = {"polyboard": [], "raw": []}
        for _ in range(self.repeat if prepare is not self.clean else 1):
            for side, cmds in (("polyboard", poly), ("raw", raw)):
                if prepare is self.clean:
                    self.clean(side)
                elif prepare is not None and side == "polyboard":
                    prepare()  # one edit, then both sides build it
                samples[side].append(timed(cmds, self.tree, self.env))
        counts = ("", "")
        if count:
            if prepare is not None and prepare is not self.clean:
                prepare()
                counts = (children(poly, self.tree, self.env), children(raw, self.tree, self.env))
            elif prepare is None:
                counts = (children(poly, self.tree, self.env), children(raw, self.tree, self.env))
        p, r = statistics.median(samples["polyboard"]), statistics.median(samples["raw"])
        self.rows.append((label, f"{p:.2f}", f"{r:.2f}", f"{p / r:.2f}", str(counts[0]), str(counts[1])))
        print(f"{label:42} polyboard {p:7.2f} s   raw {r:7.2f} s   ratio {p / r:5.2f}   "
              f"processes {counts[0]!s:>4} / {counts[1]!s:>4}", flush=True)

    def scaling(self, count: int) -> None:
        shipped = list(MCU + LINUX)
        for i in range(count):
            parent = shipped[i % len(shipped)]
            (self.tree / "boards" / f"gen{i:02d}.toml").write_text(
                f'inherits = "{parent}"\ndescription = "generated board {i} (from {parent})"\n'
                f'defines = ["GENERATED_BOARD={i}"]\n')
        # The five boards and their children, named: board=all would add the other shipped boards.
        names = shipped + [f"gen{i:02d}" for i in range(count)]
        cmd = [str(SCONS), "-Q", "-j2", f"boards={','.join(names)}"]
        started = time.perf_counter()
        subprocess.run(cmd, cwd=self.tree, env=self.env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first = time.perf_counter() - started
        nulls = [timed([cmd], self.tree, self.env) for _ in range(self.repeat)]
        procs = children([cmd], self.tree, self.env)
        boards = len(names)
        label = f"null build, {boards} boards (-j2)"
        self.rows.append((label, f"{statistics.median(nulls):.2f}", "", "", str(procs), ""))
        print(f"{label:42} polyboard {statistics.median(nulls):7.2f} s   (first build {first:.0f} s)   "
              f"processes {procs}", flush=True)


def machine() -> str:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{platform.node()}: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--boards-scaling", type=int, default=50, help="generated boards for the scaling run")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    args = parser.parse_args()
    if shutil.which("strace") is None:
        print("bench: strace is needed (apt-get install strace; ./setup.sh installs it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="polyboard-bench-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        for part in ("SConstruct", "site_scons", "plugins", "boards", "src", "bench"):
            source = REPO / part
            if source.is_dir():
                shutil.copytree(source, tree / part, ignore=shutil.ignore_patterns("__pycache__", "target"))
            else:
                shutil.copy2(source, tree / part)
        bench = Bench(tree, args.repeat)
        print(machine(), time.strftime("%Y-%m-%d"), flush=True)
        for label, boards, jobs in (("1 board (rpi4)", ["rpi4"], 2), ("all 5 boards", list(MCU + LINUX), 2)):
            bench.measure(f"clean build, {label}, -j{jobs}", boards, jobs, prepare=bench.clean, count=False)
            bench.measure(f"null build, {label}", boards, jobs)
            bench.measure(f"one Rust file edited, {label}", boards, jobs, prepare=lambda: bench.edit("rust"))
            bench.measure(f"one Go file edited, {label}", boards, jobs, prepare=lambda: bench.edit("go"))
        if args.boards_scaling:
            bench.scaling(args.boards_scaling)
    if args.markdown:
        lines = ["| measurement | polyboard (s) | raw commands (s) | ratio | processes polyboard | processes raw |",
                 "|---|---:|---:|---:|---:|---:|"]
        lines += ["| " + " | ".join(row) + " |" for row in bench.rows]
        args.markdown.write_text(f"{machine()}, {time.strftime('%Y-%m-%d')}\n\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
