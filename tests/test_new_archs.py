"""Three more architectures from board data: microbit (Cortex-M0, ARMv6-M), mps2-an505
(Cortex-M33 with FPU, ARMv8-M) and hifive1 (FE310, RV32IMAC with picolibc), each running the
reference C + Rust firmware in QEMU.

The boards are built once, with every other shipped board, in the session tree
(tests/conftest.py), which check-board and the reproducibility proof read too. Unit tests of
the board data need no build.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest

from polyboard.board_files import BoardCatalog
from polyboard.errors import PolyboardError
from polyboard_plugins.c_toolchain import cpu_flags
from polyboard_plugins.linker_script import gnu_ld_script

from helpers import REPO, copy_built_tree, run_scons, write

NEW_BOARDS = ("microbit", "mps2-an505", "hifive1")
RUN_TIMEOUT = 180
CRC_LINE = "crc32(123456789) = cbf43926"
# (FLASH origin, FLASH length, initial stack pointer = end of RAM)
MEMORY = {
    "microbit": (0x0000_0000, 0x4_0000, 0x2000_0000 + 0x4000),
    "mps2-an505": (0x1000_0000, 0x40_0000, 0x3800_0000 + 0x20_0000),
    "hifive1": (0x2040_0000, 0xC0_0000, 0x8000_0000 + 0x4000),
}


# -- the board data (no build) ------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalog() -> BoardCatalog:
    return BoardCatalog([REPO / "boards"], root=REPO)


def test_cpu_flags_come_from_the_board_data(catalog):
    assert cpu_flags(catalog.load("microbit")) == ["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"]
    assert cpu_flags(catalog.load("mps2-an505")) == [
        "-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"]
    hifive1 = catalog.load("hifive1")
    assert hifive1.cpu.arch == "riscv32"
    assert cpu_flags(hifive1) == ["-march=rv32imac", "-mabi=ilp32"], "no ARM float-ABI flags on RISC-V"


def test_a_riscv_board_with_another_isa_gets_its_own_flags(tmp_path):
    """Not a rule per board id: a board inheriting hifive1 with another ISA compiles for it."""
    write(tmp_path / "boards" / "rv32-mini.toml",
          'inherits = "hifive1"\ndescription = "an rv32imc part"\n\n[cpu]\nflags = ["-march=rv32imc", "-mabi=ilp32"]\n')
    cat = BoardCatalog([tmp_path / "boards", REPO / "boards"], root=tmp_path)
    assert cpu_flags(cat.load("rv32-mini")) == ["-march=rv32imc", "-mabi=ilp32"]


def test_a_riscv_board_must_name_its_abi(tmp_path):
    write(tmp_path / "boards" / "rv32-noabi.toml",
          'inherits = "hifive1"\ndescription = "forgot -mabi"\n\n[cpu]\nflags = ["-march=rv32imac"]\n')
    cat = BoardCatalog([tmp_path / "boards", REPO / "boards"], root=tmp_path)
    with pytest.raises(PolyboardError) as caught:
        cat.load("rv32-noabi")
    message = str(caught.value)
    assert "boards/rv32-noabi.toml" in message and "cpu.flags" in message and "-mabi=" in message


def test_unknown_arch_names_the_valid_ones(tmp_path):
    write(tmp_path / "boards" / "odd.toml",
          'inherits = "hifive1"\ndescription = "odd"\n\n[cpu]\narch = "riscv128"\n')
    cat = BoardCatalog([tmp_path / "boards", REPO / "boards"], root=tmp_path)
    with pytest.raises(PolyboardError) as caught:
        cat.load("odd")
    message = str(caught.value)
    assert "cpu.arch" in message and "'riscv32'" in message and "'arm'" in message


def test_generated_script_collects_riscv_small_data_and_thread_locals(catalog):
    script = gnu_ld_script(catalog.load("hifive1"))
    assert "FLASH (rx) : ORIGIN = 0x20400000, LENGTH = 0xc00000" in script
    assert "_estack = ORIGIN(RAM) + LENGTH(RAM);" in script
    assert "*(.srodata .srodata.*)" in script and "*(.sbss .sbss.*)" in script
    data = next(line for line in script.splitlines() if line.lstrip().startswith(".data :"))
    assert "*(.sdata .sdata.* .sdata2.*)" in data and data.index("_sdata") < data.index(".sdata") < data.index("_edata")
    assert ".tdata : { *(.tdata .tdata.*) } > RAM AT> FLASH" in script
    for symbol in ("__tdata_source", "__tdata_size", "__tbss_size"):
        assert f"PROVIDE({symbol} = " in script, symbol


# -- built and run in QEMU --------------------------------------------------------------------

@pytest.fixture(scope="module")
def new_archs(tree) -> SimpleNamespace:
    """The session tree (tests/conftest.py), built for every shipped board: these three included."""
    return tree


@pytest.mark.toolchain
@pytest.mark.parametrize("board", NEW_BOARDS)
def test_image_starts_where_the_cpu_resets(new_archs, board):
    out = new_archs.path / "build" / board
    image = (out / "firmware.bin").read_bytes()
    origin, length, stack_top = MEMORY[board]
    assert len(image) <= length
    if board == "hifive1":
        # No vector table: the first instruction (at 0x20400000, where sifive_e's reset jumps)
        # is the stub that loads sp; the ELF's entry point is that address.
        elf = (out / "firmware.elf").read_bytes()
        assert struct.unpack_from("<I", elf, 0x18)[0] == origin, "e_entry"
        assert image[:4] != b"\0\0\0\0"
    else:
        initial_sp, reset = struct.unpack_from("<II", image)
        assert initial_sp == stack_top
        assert reset & 1 == 1, "Thumb bit set on the reset handler"
        assert origin <= reset - 1 < origin + len(image)


@pytest.mark.toolchain
@pytest.mark.parametrize("board", NEW_BOARDS)
def test_every_region_adds_up_to_its_components(new_archs, board):
    """The size attribution on the other CPUs and C libraries (newlib on Cortex-M0/M33, picolibc
    on RISC-V): a valid manifest, and each region's components sum to its total."""
    from test_size_report import assert_sizes_add_up

    data = assert_sizes_add_up(new_archs.path, board)
    firmware = next(p for p in data["programs"] if p["path"] == f"build/{board}/firmware.elf")
    flash = next(r for r in firmware["regions"] if r["name"] == "FLASH")
    libc = "picolibc" if board == "hifive1" else "newlib"
    for component in ("kernel", "compiler_builtins", libc, "src/firmware/main.c"):
        assert flash["components"].get(component, 0) > 0, (component, flash["components"])


@pytest.mark.toolchain
@pytest.mark.parametrize("board", NEW_BOARDS)
def test_run_prints_the_kernel_result(new_archs, board):
    result = run_scons(new_archs.path, f"board={board}", "run", timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.output
    assert f"[{board}] hello from polyboard firmware on {board}" in result.stdout
    assert f"[{board}] {CRC_LINE}" in result.stdout
    assert f"[{board}] stats: count=4 min=5 max=35 mean*100=1750" in result.stdout
    assert f"[{board}] OK: 0 check(s) failed" in result.stdout
    assert re.search(rf"{re.escape(board)}\s+firmware\s+run\s+pass", result.stdout), result.stdout
    assert "CC " not in result.stdout and "CARGO" not in result.stdout, "run rebuilt something"


@pytest.mark.toolchain
def test_test_verb_runs_the_test_image_on_every_new_board(new_archs):
    result = run_scons(new_archs.path, f"boards={','.join(NEW_BOARDS)}", "-j2", "test", timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.output
    for board in NEW_BOARDS:
        assert f"[{board}] ok struct_layout" in result.stdout
        assert f"[{board}] 8 passed, 0 failed" in result.stdout
    assert "3 passed, 0 failed" in result.stdout


@pytest.mark.toolchain
def test_hifive1_exit_status_and_thread_locals(new_archs, tmp_path):
    """picolibc on RISC-V: errno is thread-local (the startup sets up tp), and exit(n) through
    semihosting becomes QEMU's and the run's exit status."""
    tree = copy_built_tree(new_archs.path, tmp_path / "tree")
    main = tree / "src" / "firmware" / "main.c"
    text = main.read_text()
    text = text.replace("#include <string.h>", "#include <string.h>\n#include <errno.h>\n#include <stdlib.h>")
    old = "    return failures ? 1 : 0;"
    assert old in text
    main.write_text(text.replace(old, '    errno = 0;\n    (void)strtol("99999999999999999999", NULL, 10);\n'
                                      '    printf("errno is ERANGE: %d\\n", errno == ERANGE);\n    return 3;'))
    result = run_scons(tree, "board=hifive1", "run", timeout=RUN_TIMEOUT)
    assert result.returncode == 3, result.output
    assert "[hifive1] errno is ERANGE: 1" in result.stdout
    assert "run firmware failed with exit status 3" in result.stderr
    assert "CARGO" not in result.stdout, "only the edited C file is rebuilt"
