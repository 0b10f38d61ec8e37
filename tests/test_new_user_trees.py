"""What a new user trips on in a mixed tree of their own (issue 14), each reproduced and fixed:
board filters on every kind, options checked, SCons's own switches behaving, -h, exit statuses.

These run scons with ``-n`` (or ask for help/lists) in source copies of the reference tree, so
they need no build; what they prove holds for the real build because the graph is the same.
"""

from __future__ import annotations

from pathlib import Path

from helpers import child_env, run_scons, spawned, write

MIXED = '''\
import polyboard

project = polyboard.start()
kernel = project.rust_staticlib("kernel", crate="src/kernel")
project.c_firmware("firmware", sources=["src/firmware/startup.c", "src/firmware/main.c"], libs=[kernel],
                   os=["none"])
project.go_program("app", package_dir="src/app", libs=[kernel], boards=["rpi4", "rpi3"])
project.rust_test("kernel-test", crate="src/kernel", os=["linux"], when=lambda board: board.cpu.arch == "aarch64")
project.finish()
'''


def test_board_filters_keep_components_off_boards_quietly(scratch_tree: Path):
    write(scratch_tree / "SConstruct", MIXED)
    result = run_scons(scratch_tree, "boards=stm32f4,rpi4,visionfive2", "-n", timeout=120)
    assert result.returncode == 0, result.output
    out = result.stdout
    assert "build/stm32f4/firmware.elf" in out and "build/rpi4/app" in out
    assert "build/visionfive2/app" not in out and "build/stm32f4/app" not in out
    assert "build/rpi4/kernel-test" in out and "build/visionfive2/kernel-test" not in out
    assert "firmware" not in out.split("build/rpi4/", 1)[-1].split("\n", 1)[0]
    assert "skipped" not in out  # the SConstruct limited them: no notice


def test_a_no_std_rust_program_is_skipped_on_a_linux_board_before_building(scratch_tree: Path):
    write(scratch_tree / "fw" / "Cargo.toml", '[package]\nname = "fw"\nversion = "0.1.0"\nedition = "2021"\n')
    write(scratch_tree / "fw" / "src" / "main.rs", "#![no_std]\n#![no_main]\n")
    write(scratch_tree / "fw" / "Cargo.lock", "version = 3\n\n[[package]]\nname = \"fw\"\nversion = \"0.1.0\"\n")
    write(scratch_tree / "SConstruct", "import polyboard\nproject = polyboard.start()\n"
                                       "project.rust_program('fw', crate='fw')\nproject.finish()\n")
    result = run_scons(scratch_tree, "boards=rpi3", "-n", timeout=120)
    assert result.returncode == 0, result.output
    assert "rust_program 'fw' skipped on rpi3: fw/src/main.rs is #![no_std]" in result.stdout
    assert 'os=["none"]' in result.stdout


def test_dry_run_of_run_says_what_would_run_and_exits_0(scratch_tree: Path):
    log = scratch_tree.parent / "spawn.log"
    result = run_scons(scratch_tree, "boards=stm32f4,rpi4", "-n", "run", timeout=120,
                       env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert result.returncode == 0, result.output
    assert "polyboard: stm32f4: would run firmware: qemu-system-arm -M netduinoplus2" in result.stdout
    assert "polyboard: rpi4: would run app: qemu-aarch64 -L /usr/aarch64-linux-gnu" in result.stdout
    assert "FAIL" not in result.stdout
    assert spawned(log) == ""


def test_run_of_a_component_some_boards_skip_runs_it_on_the_others(scratch_tree: Path):
    result = run_scons(scratch_tree, "boards=stm32f4,rpi4", "-n", "run", "component=firmware", timeout=120)
    assert result.returncode == 0, result.output
    assert "polyboard: rpi4: not running 'firmware': bare-metal firmware" in result.stdout
    assert "would run firmware" in result.stdout


def test_nothing_to_build_is_explained_and_exit_0(scratch_tree: Path):
    write(scratch_tree / "SConstruct", "import polyboard\nproject = polyboard.start()\n"
                                       "project.go_program('app', package_dir='src/app')\nproject.finish()\n")
    for args in (["board=stm32f4"], ["board=stm32f4", "run"]):
        result = run_scons(scratch_tree, *args, timeout=120)
        assert result.returncode == 0, result.output
        assert "No targets specified" not in result.output
        assert ("nothing to build for stm32f4: every component is skipped on it" in result.stdout
                or "stm32f4: nothing to run" in result.stdout), result.stdout


def test_help_lists_options_verbs_kinds_and_boards(scratch_tree: Path):
    result = run_scons(scratch_tree, "-h", timeout=120)
    assert result.returncode == 0, result.output
    for text in ("board=ID", "  run ", "  flash ", "  cache ", "  features ", "  tags ", "c_firmware",
                 "rust_staticlib", "go_program", "  stm32f4 ", "  rpi4 ", "scons -H"):
        assert text in result.stdout, f"{text!r} missing from scons -h:\n{result.stdout}"
    assert not (scratch_tree / "build").exists()


def test_tree_prune_and_all_print_names_not_file_contents(scratch_tree: Path):
    for tree in ("--tree=prune", "--tree=all"):
        result = run_scons(scratch_tree, "boards=stm32f4,rpi4", "-n", tree, timeout=120)
        assert result.returncode == 0, result.output
        assert "build/stm32f4/link.ld" in result.stdout and "build/rpi4/app" in result.stdout
        assert "MEMORY" not in result.stdout and "#define MEMORY_" not in result.stdout
        assert "Generated by polyboard" not in result.stdout
    # a rust_program uses memory.x only: it does not depend on link.ld or memory_map.h
    write(scratch_tree / "fw" / "Cargo.toml", '[package]\nname = "fw"\nversion = "0.1.0"\nedition = "2021"\n')
    write(scratch_tree / "fw" / "src" / "main.rs", "#![no_std]\n#![no_main]\n")
    write(scratch_tree / "fw" / "Cargo.lock", "version = 3\n\n[[package]]\nname = \"fw\"\nversion = \"0.1.0\"\n")
    write(scratch_tree / "SConstruct", "import polyboard\nproject = polyboard.start()\n"
                                       "project.rust_program('fw', crate='fw')\nproject.finish()\n")
    result = run_scons(scratch_tree, "board=stm32f4", "-n", "--tree=prune", "build/stm32f4/fw.elf", timeout=120)
    assert result.returncode == 0, result.output
    program = result.stdout.split("+-build/stm32f4/fw.elf", 1)[1]
    assert "memory.x" in program and "link.ld" not in program and "memory_map.h" not in program, program


def test_scons_question_and_clean_on_a_multi_board_build(scratch_tree: Path):
    result = run_scons(scratch_tree, "boards=stm32f4,rpi4", "-q", timeout=120)
    assert result.returncode == 1, result.output  # -q: not up to date (nothing built yet)
    assert "Traceback" not in result.output and not (scratch_tree / "build" / "stm32f4").exists()
    result = run_scons(scratch_tree, "boards=stm32f4,rpi4", "-c", timeout=120)
    assert result.returncode == 0, result.output
    # From a source folder: -D builds every default target (-u would build only what lies below
    # src/app, and the outputs live under build/: SCons then says "Found nothing to build").
    result = run_scons(scratch_tree / "src" / "app", "-D", "boards=stm32f4,rpi4", "-n", timeout=120)
    assert result.returncode == 0, result.output
    assert "build/stm32f4/firmware.elf" in result.stdout and "build/rpi4/app" in result.stdout
    # -U: the default targets in (or below) the current folder: from the top, everything.
    result = run_scons(scratch_tree, "-U", "boards=stm32f4,rpi4", "-n", timeout=120)
    assert result.returncode == 0, result.output
    assert "build/stm32f4/firmware.elf" in result.stdout and "build/rpi4/app" in result.stdout
    # From a board's output folder: -u builds what lies below it, that board's outputs only.
    (scratch_tree / "build" / "rpi4").mkdir(parents=True)
    result = run_scons(scratch_tree / "build" / "rpi4", "-u", "boards=stm32f4,rpi4", "-n", timeout=120)
    assert result.returncode == 0, result.output
    assert "build/rpi4/app" in result.stdout and "firmware.elf" not in result.stdout
