"""``scons board=<id> check-board``: the conformance check a board vendor attaches to a pull request.

For each selected board: the board file validated (it is, before anything is declared), the
tree's reference program built (the first runnable, non-test component: ``firmware`` on a
microcontroller, ``app`` on Linux), its memory map checked against the ELF, and the program run
in the board's emulator. Every check is a build product, so a repeat is a null build:

* ``build/<board>/check-board/memory-map.json``: pyelftools reads the ELF (source: the ELF);
* ``build/<board>/check-board/run.json``: the emulator's exit status and last lines (source: the
  ELF; the emulator settings are its signature);
* ``build/<board>/check-board.json``: the table, from the two above.

The tables are printed after the build from those files (no process is started for it), and the
run exits 1 when any check failed. What the memory-map checks mean per architecture is written
down in docs/board-vendors.md.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import subprocess
import sys
import time

from SCons.Action import Action

from .scons_data import signature
from .verb_names import CHECK_BOARD
from . import failures, jobs, spawn

TAIL_LINES = 8  # the emulator's last lines kept in run.json
NOTABLE = re.compile(r"fatal|panic|error|abort|FAIL", re.IGNORECASE)


def declare(project) -> None:
    """The ``check-board`` alias: one check-board.json per selected board; the report at exit."""
    import SCons.Script as S

    nodes = []
    for build in project.builds:
        nodes.extend(_declare_board(project, build))
    S.Alias(CHECK_BOARD, nodes)
    atexit.register(report, project)


def reference_program(build):
    """The component check-board builds and runs: the one ``scons run`` would run."""
    chosen = [a for a in build.artifacts.values() if a.program is not None and not a.test]
    return chosen[0] if chosen else None


def _declare_board(project, build) -> list:
    env, board = build.env, build.board
    comstr = f"CHECK   [{board.id}] $TARGET"
    artifact = reference_program(build)
    target = build.path("check-board.json")
    validated = {"board": board.id, "files": list(board.sources)}
    if artifact is None:
        why = "; ".join(f"{name}: {reason}" for name, reason in build.skipped.items()) or "no runnable component"
        return env.Command(target, [], Action(_combine_action, comstr, varlist=["CHECK_BOARD_INPUT"]),
                           CHECK_BOARD_INPUT=signature((validated, why)), POLYBOARD_CHECK_BOARD=(validated, why))
    elf = artifact.program
    memory_map = env.Command(build.path("check-board", "memory-map.json"), elf,
                             Action(_memory_map_action, comstr, varlist=["CHECK_BOARD_MAP"]),
                             CHECK_BOARD_MAP=signature((board.cpu.arch, board.os, board.memory)),
                             POLYBOARD_BOARD=board)
    run = env.Command(build.path("check-board", "run.json"), elf,
                      Action(_run_action, comstr, varlist=["CHECK_BOARD_RUN"]),
                      CHECK_BOARD_RUN=signature((board.emulator, tuple(artifact.args), artifact.runner)),
                      POLYBOARD_CHECK_RUN=(project, build, artifact))
    env.Depends(run, artifact.nodes)  # the whole artifact first: an image failing its memory report never runs
    return env.Command(target, memory_map + run, Action(_combine_action, comstr, varlist=["CHECK_BOARD_INPUT"]),
                       CHECK_BOARD_INPUT=signature((validated, "")), POLYBOARD_CHECK_BOARD=(validated, ""))


def _write_json(path: str, data) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


# -- the memory map against the ELF --------------------------------------------------------------

def check(name: str, passed: bool | None, detail: str) -> dict:
    """One row of the table: passed True/False, or None for a check that does not apply."""
    return {"check": name, "result": "n/a" if passed is None else "pass" if passed else "FAIL", "detail": detail}


def memory_map_checks(elf_path: str, board) -> list[dict]:
    """The checks of docs/board-vendors.md: reset entry at the code region's origin (a Cortex-M
    vector table; RISC-V's reset stub), initial stack pointer at the top of the stack's region,
    every loaded section inside a region (its run address, and its load address when it has one)."""
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    if board.memory is None:
        why = "a Linux program: the OS places it, the board has no [memory] map"
        return [check("memory map", None, why)]
    place = board.memory.sections.placements()
    code = board.memory.region(place["code"])
    stack = board.memory.region(place["stack"])
    regions = board.memory.regions

    def region_of(start: int, size: int):
        for region in regions:
            if region.origin <= start and start + size <= region.end:
                return region
        return None

    rows = []
    with open(elf_path, "rb") as handle:
        elf = ELFFile(handle)
        segments = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]

        def load_address(address: int) -> int | None:
            for segment in segments:
                if segment["p_vaddr"] <= address < segment["p_vaddr"] + max(segment["p_memsz"], 1):
                    return address - segment["p_vaddr"] + segment["p_paddr"]
            return None

        def word_at(load: int) -> int | None:
            for segment in segments:
                if segment["p_paddr"] <= load and load + 4 <= segment["p_paddr"] + segment["p_filesz"]:
                    data = segment.data()[load - segment["p_paddr"]:load - segment["p_paddr"] + 4]
                    return int.from_bytes(data, "little" if elf.little_endian else "big")
            return None

        symbols = elf.get_section_by_name(".symtab")
        estack = None
        if symbols is not None:
            found = symbols.get_symbol_by_name("_estack")
            estack = found[0]["st_value"] if found else None
        top = stack.end
        if board.cpu.arch == "arm":
            initial_sp, reset = word_at(code.origin), word_at(code.origin + 4)
            table_ok = reset is not None and reset & 1 == 1 and region_of(reset & ~1, 2) is code
            rows.append(check("vector table at flash origin", table_ok,
                              f"{code.name} origin {code.origin:#x}: reset vector "
                              + (f"{reset:#x}" if reset is not None else "missing (nothing loaded there)")
                              + (" (Thumb, inside " + code.name + ")" if table_ok else "")))
            rows.append(check("initial SP at top of RAM", initial_sp == top,
                              "word 0 = " + (f"{initial_sp:#x}" if initial_sp is not None else "missing")
                              + f", top of {stack.name} = {top:#x}"))
        else:
            entry = elf.header["e_entry"]
            rows.append(check("reset entry at flash origin", entry == code.origin,
                              f"ELF entry {entry:#x}, {code.name} origin {code.origin:#x} (no vector table on "
                              f"{board.cpu.arch}: the reset address runs the startup stub)"))
            rows.append(check("initial SP at top of RAM", estack == top,
                              "_estack = " + (f"{estack:#x}" if estack is not None else "missing")
                              + f" (the stub's 'la sp, _estack'), top of {stack.name} = {top:#x}"))
        outside = []
        count = 0
        for section in elf.iter_sections():
            if not section["sh_flags"] & SH_FLAGS.SHF_ALLOC or section["sh_size"] == 0:
                continue
            count += 1
            address, size = section["sh_addr"], section["sh_size"]
            if region_of(address, size) is None:
                outside.append(f"{section.name} at {address:#x}+{size:#x}")
                continue
            if section["sh_type"] != "SHT_NOBITS":
                load = load_address(address)
                if load is not None and load != address and region_of(load, size) is None:
                    outside.append(f"{section.name} loaded at {load:#x}+{size:#x}")
        rows.append(check("sections inside their regions", not outside,
                          f"{count} loaded sections in " + ", ".join(r.name for r in regions)
                          if not outside else "outside every region: " + "; ".join(outside)))
    return rows


def _memory_map_action(target, source, env) -> int:
    _write_json(target[0].abspath, memory_map_checks(source[0].abspath, env["POLYBOARD_BOARD"]))
    return 0


# -- the run in the emulator ---------------------------------------------------------------------

def _run_action(target, source, env) -> int:
    """Run the program as ``scons run`` would; the outcome is data (a failed run is a failed row,
    not a failed build: the table is still written)."""
    from .errors import PolyboardError
    from .verbs import command

    project, build, artifact = env["POLYBOARD_CHECK_RUN"]
    board = build.board
    result = {"emulator": None, "status": None, "seconds": 0.0, "tail": []}
    if artifact.runner != "host" and board.emulator is None:
        result["note"] = "build only: the board has no [emulator]"
        _write_json(target[0].abspath, result)
        return 0
    try:
        argv = command(project, build, artifact, source[0].abspath)
    except PolyboardError as error:
        result["note"] = str(error)
        _write_json(target[0].abspath, result)
        return 0
    timeout = board.emulator.timeout if board.emulator else 60
    result["emulator"] = os.path.basename(argv[0])
    spawn._log(argv, build.env["ENV"])
    started = time.monotonic()
    try:
        with jobs.tokens():
            done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  env={k: str(v) for k, v in build.env["ENV"].items()}, timeout=timeout)
        result["status"] = done.returncode
        lines = done.stdout.decode(errors="replace").splitlines()
        result["tail"] = lines[-TAIL_LINES:]
        # what the table shows: the emulator's own complaint (QEMU's "qemu: fatal: Lockup ..."
        # comes before a register dump), else the program's last line
        result["summary"] = next((line.strip() for line in lines if NOTABLE.search(line)),
                                 next((line.strip() for line in reversed(lines) if line.strip()), ""))
    except subprocess.TimeoutExpired:
        result["note"] = f"timed out after {timeout:g} s"
    except FileNotFoundError:
        result["note"] = f"{argv[0]} not found"
    result["seconds"] = round(time.monotonic() - started, 2)
    _write_json(target[0].abspath, result)
    return 0


# -- the table ------------------------------------------------------------------------------------

def _combine_action(target, source, env) -> int:
    validated, not_built = env["POLYBOARD_CHECK_BOARD"]
    rows = [check("board file valid", True, " <- ".join(validated["files"]))]
    if not_built:
        rows.append(check("reference firmware builds", False, not_built))
    else:
        rows.append(check("reference firmware builds", True, str(source[0].sources[0])))
        with open(source[0].abspath, encoding="utf-8") as handle:
            rows.extend(json.load(handle))
        with open(source[1].abspath, encoding="utf-8") as handle:
            run = json.load(handle)
        if run["status"] is None and run.get("note", "").startswith("build only"):
            rows.append(check("runs in the emulator", None, run["note"]))
        else:
            detail = f"{run['emulator']}: exit {run['status']}, {run['seconds']:g} s" if run["status"] is not None \
                else run.get("note", "")
            summary = run.get("summary", "")
            rows.append(check("runs in the emulator", run["status"] == 0, detail + (f": {summary}" if summary else "")))
    passed = all(row["result"] != "FAIL" for row in rows)
    _write_json(target[0].abspath, {"board": validated["board"], "passed": passed, "checks": rows})
    return 0


def table(result: dict) -> str:
    rows = [("Check", "Result", "Detail")] + [(r["check"], r["result"], r["detail"]) for r in result["checks"]]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"check-board {result['board']}: {'PASS' if result['passed'] else 'FAIL'}"]
    lines += ["  " + row[0].ljust(widths[0]) + "  " + row[1].ljust(widths[1]) + "  " + row[2] for row in rows]
    return "\n".join(lines) + "\n"


def report(project) -> None:
    """After the build: print each board's table from its JSON (a null build prints them too) and
    exit 1 when a check failed or a board's checks could not be made (its build failed)."""
    import SCons.Script as S

    if S.GetOption("no_exec") or S.GetOption("clean"):
        return
    broken = failures.failed_targets(project.root, [b.board.id for b in project.builds])
    failed = []
    for build in project.builds:
        path = build.abspath("check-board.json")
        if build.board.id in broken or not path.exists():  # never a table of an earlier build
            print(f"\ncheck-board {build.board.id}: FAIL (not checked: its build failed; see above)")
            failed.append(build.board.id)
            continue
        with open(path, encoding="utf-8") as handle:
            result = json.load(handle)
        print("\n" + table(result) + f"  (written to {os.path.relpath(path, project.root)})", end="\n")
        if not result["passed"]:
            failed.append(build.board.id)
    total = len(project.builds)
    print(f"\ncheck-board: {total - len(failed)} of {total} board(s) passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    sys.stdout.flush()
    if failed:
        sys.stderr.flush()
        os._exit(1)
