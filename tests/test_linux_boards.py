"""The embedded Linux boards (rpi3, rpi4, visionfive2): bad input, and real builds run in QEMU.

Bad-input tests stop before anything is built, so they need no toolchain. The ``toolchain``
tests share one copy of the tree built once for the three boards (``linux_tree``); a test that
edits sources works on its own copy of that built tree.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpers import child_env, copy_built_tree, copy_tree, run_scons, spawned, spawned_processes, write

LINUX_BOARDS = ("rpi3", "rpi4", "visionfive2")
CRC_LINE = "crc32(123456789) = cbf43926"
RUN_TIMEOUT = 300  # every scons run that starts QEMU is bounded (QEMU itself by emulator.timeout)


def rebuilt(output: str) -> list[str]:
    """The targets an scons run rebuilt, from the one-line-per-artifact output (``GO [rpi4] ...``)."""
    return re.findall(r"^(?:GO|GOTEST|STRIP|CARGO|CC|LINK|AR)\s+\[[\w-]+\] (\S+)$", output, re.M)


def assert_user_error(result, *needles: str) -> None:
    assert result.returncode == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("scons: *** "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.output


# -- bad input (no toolchain needed: everything is refused before a node is built) -----------------

def test_unknown_goarch_names_file_and_key(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    write(tree / "boards" / "badarch.toml", 'inherits = "rpi4"\ndescription = "bad"\n[go]\ngoarch = "arm65"\n')
    result = run_scons(tree, "board=badarch")
    assert_user_error(result, "boards/badarch.toml", "go.goarch", "'arm65'", "arm64")
    assert not (tree / "build").exists()


def test_missing_cross_compiler_names_the_package(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    write(tree / "boards" / "nocc.toml", 'inherits = "rpi4"\ndescription = "no compiler"\n[c]\n'
          'prefix = "nonexistent-linux-gnu-"\npackages = ["gcc-nonexistent-linux-gnu"]\n')
    result = run_scons(tree, "board=nocc")
    assert_user_error(result, "nonexistent-linux-gnu-gcc", "apt-get install gcc-nonexistent-linux-gnu")
    assert not (tree / "build").exists()


def test_cross_compiler_not_on_path(tmp_path):
    """The real board with a PATH that lacks the cross compiler (go and cargo stay reachable)."""
    tree = copy_tree(tmp_path / "tree")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("go", "cargo", "rustc", "qemu-aarch64"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    result = run_scons(tree, "board=rpi4", env=child_env(PATH=str(bin_dir)))
    assert_user_error(result, "aarch64-linux-gnu-gcc", "apt-get install gcc-aarch64-linux-gnu")
    assert not (tree / "build").exists()


@pytest.mark.parametrize("verb", ["run", "test"])
def test_missing_qemu_names_the_package(tmp_path, verb):
    tree = copy_tree(tmp_path / "tree")
    write(tree / "boards" / "noqemu.toml", 'inherits = "rpi4"\ndescription = "no qemu"\n[emulator]\n'
          'program = "qemu-nonexistent"\n')
    result = run_scons(tree, "board=noqemu", verb)
    assert_user_error(result, "boards/noqemu.toml", "emulator.program", "qemu-nonexistent",
                      "apt-get install qemu-user")
    assert not (tree / "build").exists()


def test_missing_sysroot_names_the_package(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    write(tree / "boards" / "nosysroot.toml", 'inherits = "rpi4"\ndescription = "no sysroot"\n[emulator]\n'
          'sysroot = "/nonexistent/aarch64-linux-gnu"\n')
    result = run_scons(tree, "board=nosysroot", "run")
    assert_user_error(result, "emulator.sysroot", "/nonexistent/aarch64-linux-gnu", "libc6-arm64-cross")
    assert not (tree / "build").exists()


def test_unknown_tags_option_is_refused_and_tags_are_accepted(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    result = run_scons(tree, "board=rpi4", "tag=x", "-n")
    assert_user_error(result, "did you mean tags=")
    result = run_scons(tree, "board=rpi4", "tags=netgo,debug", "-n")
    assert result.returncode == 0, result.output
    assert "GO      [rpi4] build/rpi4/app" in result.stdout


def test_microcontroller_says_why_go_is_skipped(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    result = run_scons(tree, "board=stm32f4", "-n", env=child_env(PATH="/usr/bin:/bin"))
    assert result.returncode == 0, result.output
    assert "Go needs TinyGo on a microcontroller and tinygo is not on PATH" in result.stdout
    assert "build/stm32f4/app" not in result.stdout


# -- real builds (cross compilers, cargo build-std, Go, QEMU user mode) ----------------------------

@pytest.fixture(scope="session")
def linux_tree(tree) -> Path:
    """The session tree (built once for every board, see conftest.py)."""
    for board in LINUX_BOARDS:
        assert (tree.path / "build" / board / "app").is_file()
        assert (tree.path / "build" / board / "kern-test").is_file()
    return tree.path


@pytest.mark.toolchain
@pytest.mark.parametrize("board", LINUX_BOARDS)
def test_run_in_qemu(linux_tree, board):
    result = run_scons(linux_tree, f"board={board}", "run", timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.output
    assert f"[{board}] {CRC_LINE}" in result.stdout
    assert f"[{board}] OK: 0 check(s) failed" in result.stdout


@pytest.mark.toolchain
@pytest.mark.parametrize("board", LINUX_BOARDS)
def test_go_and_rust_tests_pass(linux_tree, board):
    result = run_scons(linux_tree, f"board={board}", "test", timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.output
    assert f"[{board}] --- PASS: TestCRC32CheckValue" in result.stdout  # -test.v reached the binary
    assert f"[{board}] PASS" in result.stdout
    assert f"[{board}] test result: ok." in result.stdout
    emulator = {"rpi3": "qemu-arm", "rpi4": "qemu-aarch64", "visionfive2": "qemu-riscv64"}[board]
    # the kernel's Rust tests ran on the board's emulated CPU, not on the build host
    assert re.search(rf"test kernel-test: {emulator} -L \S+ \S+/build/{board}/kernel-test/kernel-test",
                     result.stdout), result.stdout
    summary = result.stdout.split("polyboard summary:")[1]
    assert re.search(rf"{board}\s+kern-test\s+test\s+pass", summary), summary
    assert re.search(rf"{board}\s+kernel-test\s+test\s+pass", summary), summary


@pytest.mark.toolchain
def test_null_build_starts_no_process(linux_tree, tmp_path):
    log = tmp_path / "spawn.log"
    result = run_scons(linux_tree, "boards=" + ",".join(LINUX_BOARDS),
                       env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert result.returncode == 0, result.output
    assert rebuilt(result.stdout) == []
    assert spawned(log) == "", spawned(log)


@pytest.mark.toolchain
def test_go_edits_rebuild_only_go(linux_tree, tmp_path):
    tree = copy_built_tree(linux_tree, tmp_path / "tree")
    with (tree / "src/app/main.go").open("a") as handle:
        handle.write("\n// an edit only package main sees\n")
    result = run_scons(tree, "board=rpi4")
    assert result.returncode == 0, result.output
    # relinked; the stripped copy is remade only when the linked bytes changed (a comment may not change them)
    assert rebuilt(result.stdout)[0] == "build/rpi4/app.debug"
    assert set(rebuilt(result.stdout)) <= {"build/rpi4/app.debug", "build/rpi4/app"}
    with (tree / "src/app/kern/kern.go").open("a") as handle:
        handle.write("\n// an edit to the kern package: the program and its test binary\n")
    result = run_scons(tree, "board=rpi4")
    assert result.returncode == 0, result.output
    assert {"build/rpi4/app.debug", "build/rpi4/kern-test"} <= set(rebuilt(result.stdout)) <= \
        {"build/rpi4/app", "build/rpi4/app.debug", "build/rpi4/kern-test"}
    with (tree / "src/app/kern/kern_test.go").open("a") as handle:
        handle.write("\n// a test-only edit\n")
    result = run_scons(tree, "board=rpi4")
    assert rebuilt(result.stdout) == ["build/rpi4/kern-test"]


TAGGED_GO = """//go:build board_tag_demo

package main

import "fmt"

// Built only with the board's tag: its line proves go.tags reached go.
func init() { fmt.Println("board tag demo: on") }
"""


@pytest.mark.toolchain
def test_a_board_files_go_tags_reach_go_and_change_the_program(linux_tree, tmp_path):
    """[go] tags in a board file: go builds with them (its argv), the tagged file is compiled in,
    and the program prints its line in QEMU; a board without the tag leaves the file out."""
    tree = copy_built_tree(linux_tree, tmp_path / "tree")
    write(tree / "src/app/board_tag_demo.go", TAGGED_GO)
    board = tree / "boards/rpi4.toml"
    text = board.read_text()
    assert text.count('goarch = "arm64"\n') == 1
    board.write_text(text.replace('goarch = "arm64"\n', 'goarch = "arm64"\ntags = ["board_tag_demo"]\n'))
    log = tmp_path / "spawn.log"
    result = run_scons(tree, "boards=rpi4,rpi3", "run", timeout=RUN_TIMEOUT,
                       env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert result.returncode == 0, result.output
    assert "[rpi4] board tag demo: on" in result.stdout, result.stdout
    assert "[rpi3] board tag demo" not in result.stdout, result.stdout
    argvs = [p["argv"] for p in spawned_processes(log)]
    go = [a for a in argvs if Path(a[0]).name == "go" and "build" in a and "-tags" in a]
    rpi4 = [a for a in go if any("build/rpi4/" in s for s in a)]
    assert rpi4 and all("board_tag_demo" in a[a.index("-tags") + 1].split(",") for a in rpi4), go
    assert not any("board_tag_demo" in a[a.index("-tags") + 1] for a in go if a not in rpi4), go


@pytest.mark.toolchain
def test_changed_rust_function_relinks_the_go_program(linux_tree, tmp_path):
    """Go's cache does not notice a new C library: the program must still change behaviour."""
    tree = copy_built_tree(linux_tree, tmp_path / "tree")
    lib_rs = tree / "src/kernel/src/lib.rs"
    text = lib_rs.read_text()
    assert text.count("    value * factor\n") == 1
    lib_rs.write_text(text.replace("    value * factor\n", "    value * factor + 1.0\n"))
    result = run_scons(tree, "board=rpi4", "run", timeout=RUN_TIMEOUT)
    assert "CARGO   [rpi4] build/rpi4/kernel/libkernel.a" in result.stdout, result.output
    assert "GO      [rpi4] build/rpi4/app" in result.stdout, result.output
    assert "[rpi4] scale(1.5, 4.0) = 7.00" in result.stdout, result.output
    assert result.returncode == 1, result.output  # the program's own status: its check failed


@pytest.mark.toolchain
def test_go_compile_error_shows_go_and_leaves_no_stale_program(linux_tree, tmp_path):
    tree = copy_built_tree(linux_tree, tmp_path / "tree")
    app = tree / "build/rpi4/app"
    assert app.is_file()
    main_go = tree / "src/app/main.go"
    good = main_go.read_text()
    main_go.write_text(good + "\nvar _ = undefinedThing\n")
    result = run_scons(tree, "board=rpi4")
    assert result.returncode != 0
    assert "undefined: undefinedThing" in result.output
    assert "Traceback" not in result.output
    assert not app.exists(), "the previous program must not survive a failed build"
    assert not Path(str(app) + ".tmp").exists()
    main_go.write_text(good)
    result = run_scons(tree, "board=rpi4", "run", timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.output
    assert "GO      [rpi4] build/rpi4/app" in result.stdout
    assert f"[rpi4] {CRC_LINE}" in result.stdout


@pytest.mark.toolchain
def test_go_program_bytes_do_not_depend_on_the_tree_path(linux_tree, tmp_path):
    tree = copy_built_tree(linux_tree, tmp_path / "elsewhere" / "tree")
    (tree / "build/rpi4/app").unlink()
    result = run_scons(tree, "board=rpi4", "build/rpi4/app")
    assert result.returncode == 0, result.output
    assert rebuilt(result.stdout) == ["build/rpi4/app"]
    assert (tree / "build/rpi4/app").read_bytes() == (linux_tree / "build/rpi4/app").read_bytes()
    assert str(linux_tree).encode() not in (linux_tree / "build/rpi4/app").read_bytes()
