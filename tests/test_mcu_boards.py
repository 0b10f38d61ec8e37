"""The Cortex-M boards end to end: real cross compilers, real cargo, firmware run in QEMU.

Most tests read the session tree (built once for stm32f4 and lm3s6965); tests that edit files
work on a copy of it, so only what they change is rebuilt.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from helpers import child_env, run_scons, snapshot, spawned, write

pytestmark = pytest.mark.toolchain

RUN_TIMEOUT = 180
CRC_LINE = "crc32(123456789) = cbf43926"
# Initial stack pointer = top of the data region (the stack's region): ORIGIN(RAM) + LENGTH(RAM).
STACK_TOP = {"stm32f4": 0x2000_0000 + 0x2_0000, "lm3s6965": 0x2000_0000 + 0x1_0000}
FLASH = {"stm32f4": (0x0800_0000, 0x10_0000), "lm3s6965": (0x0000_0000, 0x4_0000)}
REGIONS = {"stm32f4": ["FLASH", "RAM", "CCM"], "lm3s6965": ["FLASH", "RAM"]}


def memory_table(output: str, elf: str) -> list[list[str]]:
    """The rows printed under ``Memory usage of <elf> (...)``: header first. (Under -j another
    job's one-line message may end up in front of the heading, so it is searched, not matched.)"""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if f"Memory usage of {elf} " in line)
    rows = []
    for line in lines[start + 1:]:
        cells = line.split()
        if not cells or not (cells[0] == "Region" or re.fullmatch(r"\d+", cells[1] if len(cells) > 1 else "")):
            break
        rows.append(cells)
    return rows


@pytest.mark.parametrize("board", ["stm32f4", "lm3s6965"])
def test_firmware_artifacts_exist(tree, board):
    out = tree.path / "build" / board
    for name in ("firmware.elf", "firmware.bin", "firmware.hex", "firmware.map", "firmware.memory.txt",
                 "firmware-test.elf", "firmware-test.bin", "link.ld"):
        assert (out / name).is_file(), name
    assert (out / "firmware.elf").read_bytes()[:4] == b"\x7fELF"
    assert (out / "firmware.hex").read_text().startswith(":")
    assert "Memory Configuration" in (out / "firmware.map").read_text()


@pytest.mark.parametrize("board", ["stm32f4", "lm3s6965"])
def test_build_prints_the_region_table(tree, board):
    rows = memory_table(tree.build.stdout, f"build/{board}/firmware.elf")
    assert rows[0] == ["Region", "Used", "Size", "Use%"]
    assert [row[0] for row in rows[1:]] == REGIONS[board]
    flash = rows[1]
    assert int(flash[1]) > 1000 and flash[2] == "B" and int(flash[3]) == FLASH[board][1]
    assert flash[5].endswith("%")
    table = (tree.path / "build" / board / "firmware.memory.txt").read_text()
    *regions, profile = table.splitlines()
    assert [line.split() for line in regions] == rows and profile == "Profile: release", table


@pytest.mark.parametrize("board", ["stm32f4", "lm3s6965"])
def test_bin_starts_with_the_vector_table(tree, board):
    image = (tree.path / "build" / board / "firmware.bin").read_bytes()
    initial_sp, reset = struct.unpack_from("<II", image)
    assert initial_sp == STACK_TOP[board]
    origin, length = FLASH[board]
    assert reset & 1 == 1, "Thumb bit set on the reset handler"
    assert origin <= reset - 1 < origin + len(image) <= origin + length


@pytest.mark.parametrize("board", ["stm32f4", "lm3s6965"])
def test_run_prints_the_kernel_result(tree, board):
    result = run_scons(tree.path, f"board={board}", "run", timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.output
    assert f"[{board}] hello from polyboard firmware on {board}" in result.stdout
    assert f"[{board}] {CRC_LINE}" in result.stdout
    assert f"[{board}] OK: 0 check(s) failed" in result.stdout
    assert "Traceback" not in result.output


def test_test_verb_runs_the_test_image(tree):
    result = run_scons(tree.path, "board=stm32f4", "test", timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.output
    assert "[stm32f4] ok struct_layout" in result.stdout
    assert "[stm32f4] 8 passed, 0 failed" in result.stdout


def test_no_board_builds_the_default_stm32f4(built_scratch_tree: Path):
    for board in ("stm32f4", "lm3s6965"):
        (built_scratch_tree / "build" / board / "firmware.bin").unlink()
    result = run_scons(built_scratch_tree, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.output
    assert "OBJCOPY [stm32f4] build/stm32f4/firmware.bin" in result.stdout
    assert "lm3s6965" not in result.stdout
    assert (built_scratch_tree / "build" / "stm32f4" / "firmware.bin").is_file()
    assert not (built_scratch_tree / "build" / "lm3s6965" / "firmware.bin").exists()


def _edit_main(tree: Path, old: str, new: str) -> None:
    main = tree / "src" / "firmware" / "main.c"
    text = main.read_text()
    assert old in text
    main.write_text(text.replace(old, new))


def test_firmware_exit_status_becomes_the_run_status(built_scratch_tree: Path):
    _edit_main(built_scratch_tree, "return failures ? 1 : 0;", "return 3;")
    result = run_scons(built_scratch_tree, "board=stm32f4", "run", timeout=RUN_TIMEOUT)
    assert result.returncode == 3, result.output
    assert f"[stm32f4] {CRC_LINE}" in result.stdout
    assert "run firmware failed with exit status 3" in result.stderr
    assert "FAIL (exit 3)" in result.stdout
    assert "CARGO" not in result.stdout, "only the edited C file is rebuilt"


def test_hanging_firmware_is_stopped_by_the_timeout(built_scratch_tree: Path):
    _edit_main(built_scratch_tree, "    return failures ? 1 : 0;", '    for (;;) { __asm__ volatile (""); }')
    result = run_scons(built_scratch_tree, "board=stm32f4", "run", "timeout=5", timeout=RUN_TIMEOUT)
    assert result.returncode != 0, result.output
    assert f"[stm32f4] {CRC_LINE}" in result.stdout, "output before the hang still reaches the user"
    assert "firmware timed out after 5 s" in result.stderr
    assert "timeout=SECONDS" in result.stderr
    assert "Traceback" not in result.output


def test_region_overflow_fails_the_build_and_names_the_region(built_scratch_tree: Path):
    write(built_scratch_tree / "boards" / "stm32f4-tiny.toml",
          'inherits = "stm32f4"\ndescription = "stm32f4 with too little flash"\n\n'
          '[memory.regions.FLASH]\nlength = 0x4000   # 16 KiB: the firmware needs more\n')
    result = run_scons(built_scratch_tree, "board=stm32f4-tiny", "-j2", timeout=RUN_TIMEOUT)
    assert result.returncode != 0, result.output
    rows = memory_table(result.stdout, "build/stm32f4-tiny/firmware.elf")
    flash = rows[1]
    assert flash[0] == "FLASH" and flash[3] == "16384" and int(flash[1]) > 16384
    assert "build/stm32f4-tiny/firmware.elf does not fit board stm32f4-tiny: region FLASH by" in result.stderr
    assert "boards/stm32f4-tiny.toml" in result.stderr
    parts = next(line for line in result.stdout.splitlines() if line.startswith("Largest parts of FLASH: "))
    assert "newlib" in parts and "compiler_builtins" in parts  # what to cut, from the size attribution
    assert not (built_scratch_tree / "build" / "stm32f4-tiny" / "firmware.memory.txt").exists()
    assert not (built_scratch_tree / "build" / "stm32f4-tiny" / "firmware.elf").exists()

    again = run_scons(built_scratch_tree, "board=stm32f4-tiny", "run", timeout=RUN_TIMEOUT)
    assert again.returncode != 0, again.output
    assert "does not fit board stm32f4-tiny: region FLASH" in again.stderr
    assert "firmware.elf' is up to date" not in again.stdout
    assert "LINK    [stm32f4-tiny] build/stm32f4-tiny/firmware.elf" in again.stdout
    assert "hello from polyboard" not in again.stdout, "an image that does not fit is never run"
    assert "run firmware" not in again.output


def test_one_failing_board_does_not_hide_the_others(built_scratch_tree: Path):
    """run over three boards where only lm3s6965's firmware fails: every board is run, the one
    summary table shows all three, and the exit status is the failing firmware's own."""
    _edit_main(built_scratch_tree, "    return failures ? 1 : 0;",
               '    if (strcmp(BOARD_NAME, "lm3s6965") == 0) return 4;\n    return failures ? 1 : 0;')
    result = run_scons(built_scratch_tree, "boards=lm3s6965,stm32f4,rpi4", "-j2", "run", timeout=RUN_TIMEOUT)
    assert result.returncode == 4, result.output
    summary = result.stdout.split("polyboard summary:")[1]
    assert re.search(r"lm3s6965\s+firmware\s+run\s+FAIL \(exit 4\)", summary), summary
    assert re.search(r"stm32f4\s+firmware\s+run\s+pass", summary), summary
    assert re.search(r"rpi4\s+app\s+run\s+pass", summary), summary
    assert "2 passed, 1 failed" in summary


TINY_BOARD = ('inherits = "stm32f4"\ndescription = "stm32f4 with too little flash"\n\n'
              '[memory.regions.FLASH]\nlength = 0x4000   # 16 KiB: the firmware needs more\n')


def test_a_board_that_fails_to_build_does_not_stop_the_others(built_scratch_tree: Path):
    """Several boards keep going past one board's failed build (like ``-k``): the others are built
    and run, the summary has a row for every board, and the exit status is SCons's 2.
    ``keep_going=0`` stops at the first failure instead, and the table says what did not run."""
    write(built_scratch_tree / "boards" / "stm32f4-tiny.toml", TINY_BOARD)
    result = run_scons(built_scratch_tree, "boards=stm32f4-tiny,lm3s6965", "-j1", "run", timeout=RUN_TIMEOUT)
    assert result.returncode == 2, result.output
    assert "does not fit board stm32f4-tiny: region FLASH" in result.stderr
    assert f"[lm3s6965] {CRC_LINE}" in result.stdout, "the other board was not run"
    summary = result.stdout.split("polyboard summary:")[1]
    assert re.search(r"lm3s6965\s+firmware\s+run\s+pass", summary), summary
    assert re.search(r"stm32f4-tiny\s+firmware\s+run\s+FAIL \(build failed\)", summary), summary
    assert "1 passed, 1 failed" in summary

    build = run_scons(built_scratch_tree, "boards=stm32f4-tiny,lm3s6965", "-j1", timeout=RUN_TIMEOUT)
    assert build.returncode == 2, build.output
    assert ("polyboard: 1 of 2 boards failed to build: stm32f4-tiny (build/stm32f4-tiny/firmware-test.memory.txt, "
            "build/stm32f4-tiny/firmware.memory.txt)" in build.stderr), build.stderr
    assert "No such file" not in build.output, "an image was made of a program that failed its check"

    stop = run_scons(built_scratch_tree, "boards=stm32f4-tiny,lm3s6965", "-j1", "keep_going=0", "run",
                     timeout=RUN_TIMEOUT)
    assert stop.returncode == 2, stop.output
    assert f"[lm3s6965] {CRC_LINE}" not in stop.stdout, "keep_going=0 went on after the failure"
    summary = stop.stdout.split("polyboard summary:")[1]
    assert re.search(r"lm3s6965\s+firmware\s+run\s+FAIL \(not run\)", summary), summary
    assert re.search(r"stm32f4-tiny\s+firmware\s+run\s+FAIL \(build failed\)", summary), summary


def test_clean_removes_one_boards_outputs_and_nothing_else(built_scratch_tree: Path, tmp_path: Path):
    """``scons -c board=stm32f4`` removes that board's outputs, runs nothing, leaves the other
    boards' outputs as they were; building again gives the same bytes."""
    tree = built_scratch_tree
    firmware = (tree / "build" / "stm32f4" / "firmware.bin").read_bytes()
    other = snapshot(tree / "build" / "lm3s6965")
    log = tmp_path / "spawn.log"
    result = run_scons(tree, "-c", "board=stm32f4", env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert result.returncode == 0, result.output
    assert "Removed build/stm32f4/firmware.elf" in result.stdout
    left = [p for p in (tree / "build" / "stm32f4").rglob("*") if p.is_file()]
    assert left == [], left
    assert spawned(log) == "", spawned(log)
    assert snapshot(tree / "build" / "lm3s6965") == other

    again = run_scons(tree, "board=stm32f4", "-j2", timeout=RUN_TIMEOUT)
    assert again.returncode == 0, again.output
    assert (tree / "build" / "stm32f4" / "firmware.bin").read_bytes() == firmware
