#!/usr/bin/env python3
"""Image sizes per build profile (debug, release, size) on every shipped board, built and run.

For each profile, ``scons -j2 board=all profile=P run`` in a temporary copy of the repository's
tree: every board is built and its program run in QEMU (the run must pass). Then, per board:
the FLASH and RAM used by the firmware (microcontrollers, from the ELF's sections, as the memory
table counts them) and the bytes of the shipped image (``firmware.bin``; on Linux boards the Go
program ``app``, stripped in release and size). Checks that ``size`` is the smallest on every
board and says where it is not.

Usage: ``nice -n 5 .venv/bin/python bench/profiles.py [--boards all] [--profiles size]``; prints
a Markdown table for docs/benchmarks.md (about 15 minutes per profile on 2 cores, most of it
`core` built per target and profile). ``--tree DIR`` builds in DIR and keeps it (a tree already
there is built again, incrementally: one profile now, another later, then one table of both);
``--measure TREE --profiles debug,release`` prints the table of a tree already built.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import REPO, copy_reference_tree, scons_output

PROFILES = ("debug", "release", "size")


def sizes(tree: Path, board_id: str, profile: str) -> dict[str, int]:
    sys.path[:0] = [str(REPO / "site_scons"), str(REPO)]
    from polyboard.board_files import BoardCatalog
    from plugins.memory_report import region_usage

    folder = tree / "build" / (board_id if profile == "release" else f"{board_id}@{profile}")
    board = BoardCatalog([REPO / "boards"], root=REPO).load(board_id)
    if board.memory is not None:
        used = region_usage(str(folder / "firmware.elf"), board.memory.regions)
        return {"flash": used.get("FLASH", 0), "ram": used.get("RAM", 0),
                "image": (folder / "firmware.bin").stat().st_size}
    return {"flash": 0, "ram": 0, "image": (folder / "app").stat().st_size}


def print_table(tree: Path, board_ids: list[str], profiles: tuple[str, ...]) -> None:
    """The Markdown table of what *tree* holds, and whether size is the smallest on every board."""
    found = {(b, p): sizes(tree, b, p) for b in board_ids for p in profiles}
    print("\n| board | profile | FLASH used (B) | RAM used (B) | shipped image (B) |")
    print("|---|---|---:|---:|---:|")
    worse = []
    for board_id in board_ids:
        for profile in profiles:
            s = found[(board_id, profile)]
            flash = f"{s['flash']}" if s["flash"] else "-"
            ram = f"{s['ram']}" if s["ram"] else "-"
            print(f"| {board_id} | {profile} | {flash} | {ram} | {s['image']} |")
        smallest = min(profiles, key=lambda p: found[(board_id, p)]["image"])
        if "size" in profiles and found[(board_id, "size")]["image"] > found[(board_id, smallest)]["image"]:
            worse.append(f"{board_id} (smallest: {smallest})")
    print("\nsize is the smallest shipped image on every board" if not worse else
          f"\nsize is NOT the smallest on: {', '.join(worse)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="all")
    parser.add_argument("--measure", metavar="TREE", help="only print the table of a tree already built "
                        "with the profiles given by --profiles (builds and runs nothing)")
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--tree", metavar="DIR", help="build in DIR and keep it (reused when it holds a tree)")
    args = parser.parse_args()
    sys.path[:0] = [str(REPO / "site_scons"), str(REPO)]
    from polyboard.board_files import BoardCatalog
    catalog = BoardCatalog([REPO / "boards"], root=REPO)
    board_ids = catalog.concrete_ids if args.boards == "all" else args.boards.split(",")
    profiles = tuple(args.profiles.split(","))
    if args.measure:
        print_table(Path(args.measure), board_ids, profiles)
        return 0
    if args.tree:
        tree = Path(args.tree)
        build_and_run(tree if (tree / "SConstruct").is_file() else copy_reference_tree(tree), board_ids, profiles)
        return 0
    with tempfile.TemporaryDirectory(prefix="polyboard-bench-") as tmp:
        build_and_run(copy_reference_tree(Path(tmp) / "tree"), board_ids, profiles)
    return 0


def build_and_run(tree: Path, board_ids: list[str], profiles: tuple[str, ...]) -> None:
    """Build and run every board in each profile (a failed build or run ends the benchmark), then
    print the table."""
    for profile in profiles:
        seconds, output = scons_output(tree, f"boards={','.join(board_ids)}", f"profile={profile}", "-j2", "run")
        ran = [line.strip() for line in output.splitlines() if line.strip().endswith(" failed")]
        print(f"profile={profile}: {len(board_ids)} boards built and run in {seconds:.0f} s "
              f"({ran[-1] if ran else 'no run summary'})", flush=True)
    print_table(tree, board_ids, profiles)


if __name__ == "__main__":
    sys.exit(main())
