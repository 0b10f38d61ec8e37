"""Memory report plugin: per-region usage read from the ELF with pyelftools, after every link.

Each linked firmware gets ``<name>.memory.txt`` (the table, and the build profile it describes on
its last line; the seed of the artifact manifest).
Building it prints the table; a region over 100 % fails the build with the table and names the
region, so an overflowing image is never reported as built. Also prints the run/test summary.
"""

from __future__ import annotations

import os
import sys

from SCons.Action import Action

from polyboard.scons_data import signature
from polyboard import hookimpl


def region_usage(elf_path: str, regions) -> dict[str, int]:
    """Bytes used per region: each allocated section at its run address, plus the load image of
    initialised data stored in another region (e.g. ``.data`` copied from FLASH to RAM). The
    size report splits the same numbers into components (:mod:`polyboard.attribution`)."""
    from elftools.elf.elffile import ELFFile  # imported when a report is built, not on every run

    from polyboard.attribution import section_regions

    used = {r.name: 0 for r in regions}
    with open(elf_path, "rb") as handle:
        for section, names in section_regions(ELFFile(handle), regions):
            for name in names:
                used[name] += section["sh_size"]
    return used


def format_table(board, used: dict[str, int], profile: str | None = None) -> str:
    """The region table; with *profile*, a last line ``Profile: <name>`` says which build profile
    it describes (``<name>.memory.txt``: the file must say it wherever it is copied to)."""
    rows = [("Region", "Used", "Size", "Use%")]
    for region in board.memory.regions:
        percent = 100.0 * used[region.name] / region.length
        rows.append((region.name, f"{used[region.name]} B", f"{region.length} B", f"{percent:.2f}%"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
    if profile is not None:
        lines.append(f"Profile: {profile}")
    return "\n".join(lines) + "\n"


def memory_report_action(target, source, env):
    board = env["POLYBOARD_BOARD"]
    used = region_usage(source[0].abspath, board.memory.regions)
    table = format_table(board, used, env.get("POLYBOARD_PROFILE", "release"))
    print(f"Memory usage of {source[0]} ({board.id}{_profile_note(env)}):\n{table}", end="", flush=True)
    over = [r for r in board.memory.regions if used[r.name] > r.length]
    if over:
        detail = ", ".join(f"{r.name} by {used[r.name] - r.length} bytes" for r in over)
        sys.stderr.write(f"polyboard: {source[0]} does not fit board {board.id}: region {detail} "
                         f"(sizes in {board.path}, memory.regions)\n")
        _print_overflow_parts(source[0].abspath, board, over)
        # The link succeeded (--noinhibit-exec, so that this table can be printed): remove the
        # image, so that no later build or run takes it as up to date.
        os.remove(source[0].abspath)
        return 1
    tmp = target[0].abspath + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(table)
    os.replace(tmp, target[0].abspath)
    return 0


# One action for every board: SCons signs a Python action by reading its function's code (about
# a millisecond here), once per Action object.
_MEMORY_REPORT_ACTION = Action(memory_report_action, None, varlist=["MEMORY_REGIONS", "MEMORY_PROFILE"])


@hookimpl
def polyboard_after_link(build, component, elf):
    board = build.board
    if board.memory is None:
        return []
    env = build.env

    return env.Command(build.path(f"{component}.memory.txt"), elf,
                       _MEMORY_REPORT_ACTION,
                       MEMORY_REGIONS=signature(board.memory.regions), MEMORY_PROFILE=signature(build.profile.name),
                       POLYBOARD_BOARD=board,
                       POLYBOARD_PROFILE=build.profile.name, POLYBOARD_ON_RETRIEVE=print_cached_table,
                       POLYBOARD_CHECK=1)  # images wait for it (BoardBuild.after_link)


def _profile_note(env) -> str:
    """``, profile debug`` in the table's title for another profile than the default (release)."""
    profile = env.get("POLYBOARD_PROFILE", "release")
    return "" if profile == "release" else f", profile {profile}"


def _print_overflow_parts(elf_path: str, board, over) -> None:
    """What fills an overflowing region: its largest components (from the link map next to the
    ELF, which the same link wrote), so the user sees what to cut before the image is removed."""
    from polyboard.attribution import firmware_sizes

    map_path = os.path.splitext(elf_path)[0] + ".map"
    try:
        with open(map_path, encoding="utf-8", errors="replace") as handle:
            sizes = firmware_sizes(elf_path, handle.read(), board.memory.regions)
    except OSError:
        return
    names = {r.name for r in over}
    for region in sizes["regions"]:
        if region["name"] in names:
            parts = ", ".join(f"{c} {b} B" for c, b in list(region["components"].items())[:6])
            print(f"Largest parts of {region['name']}: {parts}", flush=True)


def print_cached_table(node, env) -> None:
    """A table fetched from the build cache is printed as if it had been built here."""
    elf = node.sources[0] if node.sources else node
    with open(node.get_abspath(), encoding="utf-8") as handle:
        table = handle.read()
    print(f"Memory usage of {elf} ({env['POLYBOARD_BOARD'].id}{_profile_note(env)}, from the cache):\n{table}", end="", flush=True)


def _coverage_cell(coverage) -> str:
    if coverage is None:
        return "-"
    if coverage.percent is None:
        return f"not measured: {coverage.note}"
    return f"{coverage.percent:.1f}% ({coverage.note})" if coverage.note else f"{coverage.percent:.1f}%"


@hookimpl
def polyboard_summary(results):
    covered = any(getattr(r, "coverage", None) is not None for r in results)  # coverage=1
    rows = [("Board", "Component", "Verb", "Result", "Time") + (("Coverage",) if covered else ())]
    for result in results:
        outcome = "pass" if result.passed else f"FAIL ({result.note or f'exit {result.status}'})"
        row = (result.board, result.component, result.verb, outcome, f"{result.seconds:.1f} s")
        if covered:
            row += (_coverage_cell(result.coverage),)
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print("\npolyboard summary:")
    for row in rows:
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
    failed = sum(1 for r in results if not r.passed)
    print(f"  {len(results) - failed} passed, {failed} failed")
    sys.stdout.flush()
