"""Incremental builds across every board in one graph: a null build starts no process, and each
kind of change rebuilds exactly what depends on it, on every board, and nothing else.

Which targets were rebuilt comes from SCons itself (``--debug=explain`` names every target it
builds and why); child processes are counted with strace and with polyboard's spawn log.
One copy of the session tree (built for every board) is edited and rebuilt for five of them; every test edits it, checks the rebuilt
set, and restores the edit with a rebuild, so the next test starts from an up-to-date tree.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import child_env, copy_built_tree, run_scons, spawned

pytestmark = pytest.mark.toolchain

MCU = ("stm32f4", "lm3s6965")
LINUX = ("rpi3", "rpi4", "visionfive2")
ALL = MCU + LINUX
# Five of the session tree's boards (two MCU, three Linux): every kind of board, and what an edit
# rebuilds on each; the other three MCU boards would add time and no new kind of rebuild.
BOARDS = f"boards={','.join(ALL)}"
BUILT = re.compile(r"^scons: (?:re)?building `([^']+)' because", re.MULTILINE)


@pytest.fixture(scope="module")
def all_boards(tree, tmp_path_factory) -> Path:
    """A copy of the session tree (built for all boards) that these tests may edit."""
    folder = tmp_path_factory.mktemp("incremental")
    yield copy_built_tree(tree.path, folder / "tree")
    shutil.rmtree(folder, ignore_errors=True)  # ~2 GB; the tests' own output says what failed


def build(tree: Path, *args: str) -> set[str]:
    """Build every session board; return the set of targets SCons rebuilt."""
    result = run_scons(tree, BOARDS, "-j2", "--debug=explain", *args)
    assert result.returncode == 0, result.output
    return set(BUILT.findall(result.stdout))


class Edit:
    """Change a file for one test and put it back (and rebuild) afterwards."""

    def __init__(self, tree: Path, relative: str):
        self.tree, self.path = tree, tree / relative
        self.original = self.path.read_text()

    def replace(self, old: str, new: str) -> None:
        text = self.path.read_text()
        assert old in text, f"{old!r} not in {self.path}"
        self.path.write_text(text.replace(old, new, 1))

    def append(self, text: str) -> None:
        self.path.write_text(self.path.read_text() + text)

    def restore(self, *args: str) -> None:
        self.path.write_text(self.original)
        build(self.tree, *args)


@pytest.fixture
def edit(all_boards):
    edits: list[Edit] = []

    def make(relative: str) -> Edit:
        edits.append(Edit(all_boards, relative))
        return edits[-1]

    yield make
    for item in reversed(edits):
        item.path.write_text(item.original)
    if edits:
        build(all_boards)


def on(board: str, targets: set[str]) -> set[str]:
    return {t for t in targets if t.startswith(f"build/{board}/")}


def kinds(targets: set[str]) -> set[str]:
    """What was rebuilt, by kind: obj, lib, elf, image, gen, go, size."""
    result = set()
    for target in targets:
        name = Path(target).name
        if name.endswith(".o"):
            result.add("obj")
        elif name.endswith(".a"):
            result.add("lib")
        elif name.endswith(".elf"):
            result.add("elf")
        elif name.endswith((".bin", ".hex")):
            result.add("image")
        elif name.endswith((".memory.txt", ".sizes.json")) or name in ("manifest.json", "size-report.html"):
            result.add("size")  # reports about the artifacts (docs/manifest.md)
        elif name in ("link.ld", "memory.x", "memory_map.h"):
            result.add("gen")
        else:
            result.add("go")
    return result


def test_null_build_starts_no_process(all_boards, tmp_path):
    log = tmp_path / "spawn.log"
    trace = tmp_path / "strace.log"
    result = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=execve,openat", "-o", str(trace),
         str(Path(shutil.which("scons", path=str(Path(__import__("sys").executable).parent)))),
         BOARDS, "-j2"],
        cwd=all_boards, env=child_env(POLYBOARD_SPAWN_LOG=str(log)), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert result.returncode == 0, result.stdout
    assert "up to date" in result.stdout
    execs = [line for line in trace.read_text().splitlines() if "execve(" in line and "= 0" in line]
    assert len(execs) == 1, "a null build started processes:\n" + "\n".join(execs)  # scons itself
    assert spawned(log) == "", spawned(log)
    assert "CARGO" not in result.stdout and "LINK" not in result.stdout
    # ... and reads no built file: SCons would re-hash every file changed in the last two days
    # (its max_drift), megabytes of libkernel.a and app.debug on each null build; their size and
    # modification second prove them unchanged (polyboard/signatures.py).
    opened = re.findall(r'openat\([^"]*"((?:[^"]*/)?build/[^"]*)"', trace.read_text())
    read = [path for path in opened if path.endswith((".a", ".o", ".elf", ".debug", "/app", ".bin", ".hex"))]
    assert not read, "a null build read built files:\n" + "\n".join(read)


def test_rust_edit_rebuilds_staticlib_and_relinks_dependents_only(all_boards, edit):
    rust = edit("src/kernel/src/lib.rs")
    rust.append('\n#[no_mangle]\npub extern "C" fn kern_incremental_probe() -> u32 {\n    7\n}\n')
    rebuilt = build(all_boards)
    for board in ALL:
        assert f"build/{board}/kernel/libkernel.a" in rebuilt, board
        assert "obj" not in kinds(on(board, rebuilt)), on(board, rebuilt)
        assert "gen" not in kinds(on(board, rebuilt))
    for board in MCU:
        assert {f"build/{board}/firmware.elf", f"build/{board}/firmware-test.elf"} <= rebuilt
    for board in LINUX:
        assert {f"build/{board}/app.debug", f"build/{board}/kern-test"} <= rebuilt


def test_go_edit_rebuilds_only_go_programs(all_boards, edit):
    go = edit("src/app/main.go")
    go.replace("package main", "package main\n\n// an edit that changes no behaviour")
    rebuilt = build(all_boards)
    for board in MCU:
        assert not on(board, rebuilt), on(board, rebuilt)
    for board in LINUX:
        assert f"build/{board}/app.debug" in rebuilt  # relinked (app, its stripped copy, follows when the bytes changed)
        assert kinds(on(board, rebuilt)) - {"size"} == {"go"}, on(board, rebuilt)


def test_shared_header_edit_rebuilds_its_users_in_all_three_languages(all_boards, edit):
    header = edit("src/kernel/include/kernel.h")
    header.replace("#define KERN_ABI_VERSION", "/* edited */\n#define KERN_ABI_VERSION")
    rebuilt = build(all_boards)
    for board in ALL:
        assert f"build/{board}/kernel/libkernel.a" in rebuilt  # Rust: build.rs reads the header
    for board in MCU:
        objects = {t for t in on(board, rebuilt) if t.endswith(".o")}
        assert f"build/{board}/obj/firmware/src/firmware/main.c.o" in objects  # C includes it
        assert not any("startup.c" in t for t in objects)  # startup.c does not include it
    for board in LINUX:
        assert f"build/{board}/app.debug" in rebuilt  # Go: cgo includes it


def test_board_file_edit_rebuilds_that_board_only(all_boards, edit):
    board_file = edit("boards/stm32f4.toml")
    board_file.replace('inherits = "cortex-m"\n', 'inherits = "cortex-m"\ndefines = ["POLYBOARD_INCREMENTAL_PROBE=1"]\n')
    rebuilt = build(all_boards)
    assert "obj" in kinds(on("stm32f4", rebuilt))
    for board in ALL:
        if board != "stm32f4":
            assert not on(board, rebuilt), on(board, rebuilt)


def test_base_board_edit_rebuilds_the_boards_that_inherit_it(all_boards, edit):
    base = edit("boards/cortex-m.toml")
    base.replace('cflags = ["-Os"', 'cflags = ["-DPOLYBOARD_BASE_PROBE=1", "-Os"')
    rebuilt = build(all_boards)
    for board in MCU:
        assert "obj" in kinds(on(board, rebuilt)), board
    for board in LINUX:
        assert not on(board, rebuilt), on(board, rebuilt)


def test_memory_region_change_relinks_only(all_boards, edit):
    board_file = edit("boards/stm32f4.toml")
    board_file.replace("length = 0x2_0000      # 128 KiB", "length = 0x1_F000      # 124 KiB")
    rebuilt = build(all_boards)
    assert {"build/stm32f4/link.ld", "build/stm32f4/firmware.elf", "build/stm32f4/firmware-test.elf"} <= rebuilt
    assert kinds(on("stm32f4", rebuilt)) <= {"gen", "elf", "image", "size"}, on("stm32f4", rebuilt)
    for board in ALL:
        if board != "stm32f4":
            assert not on(board, rebuilt)


def test_cargo_feature_option_rebuilds_only_rust_and_its_dependents(all_boards):
    try:
        rebuilt = build(all_boards, "features=table-crc")
        for board in ALL:
            assert f"build/{board}/kernel/libkernel.a" in rebuilt
            assert "obj" not in kinds(on(board, rebuilt)) and "gen" not in kinds(on(board, rebuilt))
    finally:
        build(all_boards)


def test_go_build_tag_option_rebuilds_only_go(all_boards):
    try:
        rebuilt = build(all_boards, "tags=polyboard_probe")
        for board in MCU:  # only the manifest, which records the build's options
            assert on(board, rebuilt) <= {f"build/{board}/manifest.json", f"build/{board}/size-report.html"}
        for board in LINUX:
            assert f"build/{board}/app.debug" in rebuilt
            assert kinds(on(board, rebuilt)) - {"size"} == {"go"}
    finally:
        build(all_boards)
