"""``trace=1`` (docs/tracing.md): one switch turns tracing on in C, Rust and Go; off, the images
hold no tracing code.

The release images are the session tree's (built with the default ``trace=0``). The traced run
takes a copy of that tree and builds stm32f4 (C firmware + Rust kernel under QEMU's semihosting)
and rpi4 (Go + cgo + Rust under qemu-aarch64) with ``trace=1``: only the kernel crate, the C
objects and the Go program are rebuilt, never Rust's ``core``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import child_env, run_scons, spawned, spawned_processes

pytestmark = pytest.mark.toolchain

BOARDS = "boards=stm32f4,rpi4"
GO_PACKAGE = "polyboard.example/app/kern."


def symbols(elf: Path) -> set[str]:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    with open(elf, "rb") as handle:
        found = set()
        for section in ELFFile(handle).iter_sections():
            if isinstance(section, SymbolTableSection):
                found.update(symbol.name for symbol in section.iter_symbols())
        return found


def tracing_symbols(elf: Path) -> set[str]:
    """The instrumentation's own symbols (the Go runtime's execution tracer is not ours)."""
    return {name for name in symbols(elf)
            if name in ("trace_report", "trace_boot", "trace_now_ns", "kern_trace_calls")
            or name.startswith((GO_PACKAGE + "Trace", GO_PACKAGE + "trace"))}


def test_release_images_hold_no_tracing_code(tree):
    for program in ("stm32f4/firmware.elf", "stm32f4/firmware-test.elf", "rpi4/app.debug", "lm3s6965/firmware.elf"):
        path = tree.path / "build" / program
        assert path.exists(), path
        assert tracing_symbols(path) == set(), f"{program} carries tracing code"


def test_trace_1_instruments_c_rust_and_go_and_prints_a_summary(built_scratch_tree, tmp_path):
    tree = built_scratch_tree
    log = tmp_path / "spawn.log"
    result = run_scons(tree, BOARDS, "trace=1", "-j2", "run", env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert result.returncode == 0, result.output

    # One switch, three languages, each through its own mechanism.
    argvs = [p["argv"] for p in spawned_processes(log)]
    c_compiles = [a for a in argvs if a[0].endswith("gcc") and "-c" in a and any(s.endswith("main.c") for s in a)]
    assert c_compiles and all("-DPOLYBOARD_TRACE=1" in a for a in c_compiles), c_compiles
    cargo = [a for a in argvs if a[0].endswith("cargo") and "build" in a]
    assert cargo and all(a[a.index("--features") + 1] == "trace" for a in cargo), cargo
    go = [a for a in argvs if Path(a[0]).name == "go" and "build" in a]
    assert go and all("polyboard_trace" in a[a.index("-tags") + 1].split(",") for a in go), go
    assert not [a for a in argvs if any("/core/src/lib.rs" in s for s in a)], "trace=1 rebuilt Rust's core"

    for board, component, kinds in (("stm32f4", "firmware", {"boot", "call", "stack"}),
                                    ("rpi4", "app", {"boot", "call", "heap"})):
        document = json.loads((tree / "build" / board / f"{component}.trace.json").read_text())
        assert document["board"] == board and document["status"] == 0
        records = document["records"]
        assert {r["kind"] for r in records} == kinds, records
        calls = {r["fn"]: r for r in records if r["kind"] == "call"}
        assert set(calls) == {"kern_crc32", "kern_stats_compute", "kern_scale", "kern_abi_version"}
        for name, record in calls.items():  # the caller's count (C or Go) and the Rust kernel's agree
            assert record["calls"] == record["rust_calls"] >= 1, record
        boot = next(r for r in records if r["kind"] == "boot")
        assert 0 <= boot["main_us"] <= boot["end_us"], boot
        assert f"polyboard trace: {board} {component}" in result.stdout
        assert tracing_symbols(tree / "build" / board / ("firmware.elf" if board == "stm32f4" else "app.debug"))
    assert calls["kern_crc32"]["calls"] == 65  # rpi4: 1 + 4 goroutines x 16 buffers
    stack = next(r for r in json.loads((tree / "build/stm32f4/firmware.trace.json").read_text())["records"]
                 if r["kind"] == "stack")
    assert 64 < stack["peak_bytes"] < stack["size_bytes"], stack

    # The switch is part of every signature: the same switch again is a null build.
    log.unlink()
    again = run_scons(tree, BOARDS, "trace=1", "-j2", "build/stm32f4/firmware.elf", "build/rpi4/app",
                      env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert again.returncode == 0, again.output
    assert spawned(log) == "" and "up to date" in again.stdout, again.output


def test_trace_takes_0_or_1(tree):
    result = run_scons(tree.path, "board=stm32f4", "trace=yes")
    assert result.returncode == 2, result.output
    assert "trace=yes: 'yes' is not valid; choose one of 0, 1" in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_records_are_parsed_from_the_programs_output():
    from polyboard_plugins.tracing import parse_records, summary_rows

    lines = ["hello", "TRACE boot reset_us=10 main_us=12", "[x] TRACE not-at-start=1",
             "TRACE call fn=kern_crc32 calls=2 rust_calls=2 total_us=7 max_us=5", "TRACE", "TRACE k=v"]
    records = parse_records(lines)
    assert records == [{"kind": "boot", "reset_us": 10, "main_us": 12},
                       {"kind": "call", "fn": "kern_crc32", "calls": 2, "rust_calls": 2, "total_us": 7, "max_us": 5}]
    assert summary_rows(records)[1] == ("call kern_crc32", "2 calls (2 counted by Rust), 7 us total, 5 us max")
