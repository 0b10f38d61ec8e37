"""Every kind of bad input, end to end through ``scons`` in a copy of the reference tree.

A user error is one line on stderr, ``scons: *** <file>: <key>: <message>``, exit status 2, no
traceback, and nothing built or deleted. SCons's own preamble on stdout is allowed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import child_env, run_scons, snapshot, write

CHILD_OF_STM32F4 = 'inherits = "stm32f4"\ndescription = "a test board"\n'
RAISING_PLUGIN = '''\
from polyboard import hookimpl


@hookimpl
def polyboard_configure_board(build):
    raise RuntimeError("the broken plugin broke")
'''
UNIMPORTABLE_PLUGIN = "import polyboard_no_such_module\n"
TYPO_HOOK_PLUGIN = '''\
from polyboard import hookimpl


@hookimpl
def polyboard_configure_bord(build):
    pass
'''


def assert_user_error(result, *fragments: str) -> str:
    """Exit status 2, exactly one ``scons: ***`` line on stderr naming every fragment, no traceback."""
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("scons: *** "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} missing from: {line}"
    return line


# (test id, files to write into the tree, scons arguments, {env overrides}, fragments the line names)
CASES = [
    pytest.param({}, ["board=stm32f5"], {},
                 ["board=stm32f5", "unknown board 'stm32f5'", "did you mean stm32f4",
                  "valid boards:", "lm3s6965", "stm32f4"], id="unknown-board"),
    pytest.param({}, ["board=cortex-m"], {},
                 ["board=cortex-m", "abstract", "valid boards:", "stm32f4"], id="abstract-board"),
    pytest.param({"boards/bad.toml": CHILD_OF_STM32F4 + "[cpu\nname = 'cortex-m4'\n"}, ["board=stm32f4"], {},
                 ["boards/bad.toml", "malformed TOML", "line 3"], id="malformed-toml"),
    pytest.param({"boards/typo.toml": CHILD_OF_STM32F4 + "[cpu]\nnmae = 'cortex-m4'\n"}, ["board=typo"], {},
                 ["boards/typo.toml: cpu.nmae:", "unknown key 'nmae'", "arch, name, float_abi, fpu, flags"],
                 id="unknown-key"),
    pytest.param({"boards/typo.toml": CHILD_OF_STM32F4 + "descripton = 'x'\n"}, ["board=typo"], {},
                 ["boards/typo.toml: descripton:", "unknown key", "description"], id="unknown-top-level-key"),
    pytest.param({"boards/wt.toml": CHILD_OF_STM32F4 + "[memory.regions.FLASH]\nlength = '16K'\n"},
                 ["board=wt"], {},
                 ["boards/wt.toml: memory.regions.FLASH.length:", "expected an integer", "'16K'"], id="wrong-type"),
    pytest.param({"boards/wt.toml": CHILD_OF_STM32F4 + "[cpu]\nfloat_abi = 'hardest'\n"}, ["board=wt"], {},
                 ["boards/wt.toml: cpu.float_abi:", "'hardest'", "'soft', 'softfp', 'hard'"], id="wrong-choice"),
    pytest.param({"boards/orphan.toml": 'inherits = "stm32f5"\ndescription = "x"\n'}, ["board=orphan"], {},
                 ["boards/orphan.toml: inherits:", "parent board 'stm32f5' does not exist", "did you mean stm32f4"],
                 id="missing-parent"),
    pytest.param({"boards/loop-a.toml": 'inherits = "loop-b"\n', "boards/loop-b.toml": 'inherits = "loop-a"\n'},
                 ["board=loop-a"], {},
                 ["inherits:", "inheritance cycle: loop-a -> loop-b -> loop-a"], id="inheritance-cycle"),
    pytest.param({"boards/ov.toml": CHILD_OF_STM32F4 + "[memory.regions.SRAM2]\norigin = 0x2001_c000\n"
                  "length = 0x4000\n"}, ["board=ov"], {},
                 ["boards/ov.toml: memory.regions.SRAM2:", "overlaps region RAM"], id="overlapping-regions"),
    pytest.param({"boards/z.toml": CHILD_OF_STM32F4 + "[memory.regions.RAM]\nlength = 0\n"}, ["board=z"], {},
                 ["boards/z.toml: memory.regions.RAM.length:", "must be positive, got 0"], id="zero-size-region"),
    pytest.param({"boards/z.toml": CHILD_OF_STM32F4 + "[memory.regions.CCM]\nlength = -256\n"}, ["board=z"], {},
                 ["boards/z.toml: memory.regions.CCM.length:", "must be positive, got -256"],
                 id="negative-size-region"),
    pytest.param({"boards/s.toml": CHILD_OF_STM32F4 + "[memory.sections]\ndata = 'SRAM'\n"}, ["board=s"], {},
                 ["boards/s.toml: memory.sections.data:", "region 'SRAM' does not exist",
                  "valid regions: FLASH, RAM, CCM"], id="section-in-missing-region"),
    pytest.param({"boards/p.toml": CHILD_OF_STM32F4 + "[c]\nprefix = 'nonexistent-'\n"}, ["board=p"], {},
                 ["boards/p.toml", "nonexistent-gcc not found", "apt-get install gcc-arm-none-eabi"],
                 id="toolchain-prefix-missing"),
    pytest.param({}, ["board=stm32f4"], {"PATH": "/nonexistent"},
                 ["boards/stm32f4.toml", "arm-none-eabi-gcc not found on PATH",
                  "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"], id="toolchain-not-on-path"),
    pytest.param({"plugins/broken.py": RAISING_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/broken.py:", "polyboard_configure_board", "RuntimeError",
                  "the broken plugin broke"], id="plugin-raises"),
    pytest.param({"plugins/broken.py": UNIMPORTABLE_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/broken.py:", "ModuleNotFoundError", "polyboard_no_such_module"],
                 id="plugin-import-fails"),
    pytest.param({"plugins/typo.py": TYPO_HOOK_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/typo.py:", "unknown hook 'polyboard_configure_bord'",
                  "did you mean polyboard_configure_board"], id="plugin-unknown-hook"),
    pytest.param({}, ["bord=stm32f4"], {},
                 ["bord=stm32f4:", "unknown option 'bord'", "did you mean board=", "valid options:"],
                 id="unknown-option"),
    pytest.param({}, ["boards=stm32f4,lm3s6965", "shard=3/2"], {},
                 ["shard=3/2:", "between 1 and N"], id="shard-out-of-range"),
    pytest.param({}, ["shard=half"], {}, ["shard=half:", "K/N"], id="shard-not-a-fraction"),
    pytest.param({}, ["verbose=yes"], {}, ["verbose=yes:", "0 or 1"], id="verbose-not-0-or-1"),
    pytest.param({}, ["boards=stm32f4,lm3s6965", "keep_going=yes"], {}, ["keep_going=yes:", "0 or 1"],
                 id="keep-going-not-0-or-1"),
    pytest.param({}, ["board=stm32f4", "run", "component=nope"], {},
                 ["component=nope:", "no runnable component 'nope'", "valid components: firmware, firmware-test"],
                 id="run-unknown-component"),
    pytest.param({}, ["board=stm32f4", "features=tabel-crc"], {},
                 ["features=tabel-crc:", "no feature 'tabel-crc'", "valid features: table-crc"],
                 id="unknown-cargo-feature"),
    pytest.param({}, ["board=stm32f4", "cargo=/nonexistent/cargo"], {},
                 ["/nonexistent/cargo not found", "apt-get install"], id="cargo-not-found"),
    pytest.param({}, ["board=rpi4", "go=/nonexistent/go"], {},
                 ["/nonexistent/go not found", "golang-go"], id="go-not-found"),
    pytest.param({}, ["board=stm32f4", "timeout=soon", "run"], {},
                 ["timeout=soon:", "positive number of seconds"], id="timeout-not-a-number"),
    pytest.param({"SConstruct": "import polyboard\nproject = polyboard.start()\n"
                                "project.rust_test('kt', crate='src/kernel', on='moon')\nproject.finish()\n"},
                 ["board=rpi4"], {}, ["SConstruct: kt.on:", "'moon' is not valid", "'target' or 'host'"],
                 id="rust-test-on-not-target-or-host"),
    pytest.param({}, ["board=stm32f4", "toolchains=maybe"], {},
                 ["toolchains=maybe:", "'maybe' is not valid", "error, warn, off"], id="toolchains-not-a-mode"),
    pytest.param({}, ["board=stm32f4", "offline=yes"], {}, ["offline=yes:", "0 or 1"], id="offline-not-0-or-1"),
    pytest.param({"src/nolock/Cargo.toml": '[package]\nname = "nolock"\nversion = "0.1.0"\n',
                  "src/nolock/src/lib.rs": "#![no_std]\n",
                  "SConstruct": "import polyboard\nproject = polyboard.start()\n"
                                "project.rust_staticlib('nolock', crate='src/nolock')\nproject.finish()\n"},
                 ["board=stm32f4"], {},
                 ["SConstruct: nolock.crate:", "src/nolock/Cargo.lock is missing", "--locked",
                  "cargo generate-lockfile --manifest-path src/nolock/Cargo.toml"], id="crate-without-cargo-lock"),
    pytest.param({"toolchains.lock": "version = 1\n[tools.rustc]\npath = 3\n"}, ["board=stm32f4"], {},
                 ["toolchains.lock: tools.rustc.path:", "expected a string", "scons lock-toolchains"],
                 id="toolchains-lock-bad-entry"),
    pytest.param({"SConstruct": "import polyboard\nproject = polyboard.start()\n"
                                "project.rust_stticlib('k', crate='src/kernel')\nproject.finish()\n"},
                 ["board=stm32f4"], {}, ["SConstruct:", "unknown component kind 'rust_stticlib'", "rust_staticlib"],
                 id="unknown-component-kind"),
]


@pytest.mark.parametrize(("files", "args", "env", "fragments"), CASES)
def test_bad_input_is_one_line_and_builds_nothing(scratch_tree: Path, files, args, env, fragments):
    for relative, text in files.items():
        write(scratch_tree / relative, text)
    result = run_scons(scratch_tree, *args, timeout=120, env=child_env(**env))
    assert_user_error(result, *fragments)
    assert not (scratch_tree / "build").exists()
    assert not list(scratch_tree.glob(".sconsign*"))


def _fake_previous_build(tree: Path) -> None:
    for relative in ("build/stm32f4/firmware.elf", "build/stm32f4/obj/firmware/src/firmware/main.c.o",
                     "build/stm32f4/link.ld", "build/lm3s6965/firmware.bin"):
        write(tree / relative, f"output of an earlier build: {relative}\n")


@pytest.mark.parametrize(("files", "args", "env", "fragments"),
                         [c for c in CASES if c.id in ("unknown-board", "wrong-type", "plugin-raises",
                                                       "toolchain-prefix-missing", "run-unknown-component")])
def test_bad_input_deletes_nothing(scratch_tree: Path, files, args, env, fragments):
    _fake_previous_build(scratch_tree)
    before = snapshot(scratch_tree / "build")
    for relative, text in files.items():
        write(scratch_tree / relative, text)
    result = run_scons(scratch_tree, *args, timeout=120, env=child_env(**env))
    assert_user_error(result, *fragments)
    assert snapshot(scratch_tree / "build") == before


@pytest.mark.toolchain
def test_bad_board_file_after_a_real_build_changes_nothing(built_scratch_tree: Path):
    before = snapshot(built_scratch_tree / "build")
    sconsign = (built_scratch_tree / ".sconsign.dblite").read_bytes()
    stm32f4 = built_scratch_tree / "boards" / "stm32f4.toml"
    stm32f4.write_text(stm32f4.read_text().replace("length = 0x10_0000", "length = 0x10_000O"))
    result = run_scons(built_scratch_tree, "board=stm32f4", "run", timeout=120)
    assert_user_error(result, "boards/stm32f4.toml", "malformed TOML", "line")
    assert snapshot(built_scratch_tree / "build") == before
    assert (built_scratch_tree / ".sconsign.dblite").read_bytes() == sconsign
