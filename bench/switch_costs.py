#!/usr/bin/env python3
"""What the ABI checks and trace=1 cost: time on a Rust edit, bytes per memory region.

1. The ABI checks on a one-Rust-file edit: the same edit built with the checks on (the default)
   and with ``checks=all=off``, alternately, the median of ``--repeat`` runs each (the default
   targets: every program, test and check of the boards). The checks re-run only when an input
   changed, so an edit built with checks off and then on pays for the checks once, as a normal
   edit does. ``--debug=time`` gives each node's own time: the ABI checks' nodes (``abi/``,
   ``<program>.abi.json``) are summed too, a figure the machine's load blurs less than a
   difference of two builds.
2. ``trace=1``: each board built both ways; the bytes per memory region of the firmware
   (microcontrollers) or of the program file (Linux boards).

Usage: ``.venv/bin/python bench/switch_costs.py [--boards stm32f4,rpi4] [--repeat 3]``; prints a
Markdown table for docs/benchmarks.md. Builds in a temporary copy of the repository's tree.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

from common import REPO, copy_reference_tree, scons_output

RUST_EDIT = "\n#[no_mangle]\npub extern \"C\" fn kern_bench_probe_{n}() -> u32 {{\n    {n}\n}}\n"

# SCons's --debug=time line for each node it built: the ABI checks' own nodes are summed
COMMAND_TIME = re.compile(r"^Command execution time: (.+): ([0-9.]+) seconds$", re.M)
ABI_NODE = re.compile(r"(^|/)abi/|\.abi\.json$")
LAST_CHECKS_SECONDS = [0.0]  # of the last scons run: seconds spent in the ABI checks' nodes


def scons(tree: Path, *args: str) -> float:
    seconds, output = scons_output(tree, "--debug=time", *args)
    LAST_CHECKS_SECONDS[0] = sum(float(spent) for target, spent in COMMAND_TIME.findall(output)
                                 if ABI_NODE.search(target))
    return seconds


def region_bytes(tree: Path, board_id: str) -> dict[str, int]:
    sys.path[:0] = [str(REPO / "site_scons"), str(REPO)]
    from polyboard.board_files import BoardCatalog
    from plugins.memory_report import region_usage

    board = BoardCatalog([REPO / "boards"], root=REPO).load(board_id)
    if board.memory is not None:
        return region_usage(str(tree / "build" / board_id / "firmware.elf"), board.memory.regions)
    return {"program file": (tree / "build" / board_id / "app").stat().st_size}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="stm32f4,rpi4")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    boards = f"boards={args.boards}"
    with tempfile.TemporaryDirectory(prefix="polyboard-bench-") as tmp:
        tree = copy_reference_tree(Path(tmp) / "tree")
        print(f"building {args.boards} once (cold) ...", flush=True)
        scons(tree, boards, "-j2")
        samples: dict[str, list[float]] = {"on": [], "off": []}
        checks_seconds: list[float] = []  # the checks' own nodes, in the runs with checks on
        lib = tree / "src/kernel/src/lib.rs"
        for n in range(1, 2 * args.repeat + 1):
            mode = "on" if n % 2 else "off"
            lib.write_text(lib.read_text() + RUST_EDIT.format(n=n))
            extra = [] if mode == "on" else ["checks=all=off"]
            samples[mode].append(scons(tree, boards, "-j2", *extra))
            if mode == "on":
                checks_seconds.append(LAST_CHECKS_SECONDS[0])
            print(f"  Rust edit {n}, checks {mode}: {samples[mode][-1]:.2f} s (ABI nodes: "
                  f"{LAST_CHECKS_SECONDS[0]:.2f} s)", flush=True)
        scons(tree, boards, "-j2")  # the last state checked too (the runs below start from it)
        on, off = statistics.median(samples["on"]), statistics.median(samples["off"])
        own = statistics.median(checks_seconds)
        print("\n| one Rust file edited | checks on (s) | checks off (s) | checks' share | ABI nodes' own time (s) |")
        print("|---|---:|---:|---:|---:|")
        print(f"| {args.boards}, -j2 | {on:.2f} | {off:.2f} | {(on - off) / on * 100:.1f}% | {own:.2f} "
              f"({own / on * 100:.1f}% of the edit) |")

        before = {b: region_bytes(tree, b) for b in args.boards.split(",")}
        scons(tree, boards, "-j2", "trace=1")
        after = {b: region_bytes(tree, b) for b in args.boards.split(",")}
        print("\n| board | region | trace=0 (B) | trace=1 (B) | tracing costs (B) |")
        print("|---|---|---:|---:|---:|")
        for board_id in args.boards.split(","):
            for region, used in before[board_id].items():
                print(f"| {board_id} | {region} | {used} | {after[board_id][region]} | "
                      f"{after[board_id][region] - used:+d} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
