"""A board that names its own linker script (``[memory] linker_script = "ld/custom.ld"``).

The reference tree gets a board ``my-f4`` inheriting stm32f4 whose script is a copy of the script
polyboard generates for stm32f4 plus a marker symbol. The firmware links with that script (the
marker is in the ELF), runs in QEMU, and an edit of the script relinks without recompiling. A path
leaving the tree and a missing file are refused before anything is built, with one line naming the
board file and ``memory.linker_script``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from polyboard.board_files import BoardCatalog
from polyboard_plugins.linker_script import gnu_ld_script

from helpers import copy_tree, run_scons, write

pytestmark = pytest.mark.toolchain

MY_BOARD = '''\
inherits = "stm32f4"
description = "an STM32F4 board with its own linker script"

[memory]
linker_script = "{script}"
'''
MARKER = "polyboard_custom_script"
REBUILDING = re.compile(r"^scons: (?:re)?building `([^']+)' because", re.M)


def custom_script(tree: Path, marker_value: int) -> str:
    """The script polyboard generates for stm32f4, plus a marker symbol the ELF will carry."""
    board = BoardCatalog([tree / "boards"], root=tree).load("stm32f4")
    return gnu_ld_script(board) + f"{MARKER} = {marker_value:#x};\n"


def marker(elf_path: Path) -> int | None:
    with open(elf_path, "rb") as handle:
        symtab = ELFFile(handle).get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection), "the ELF has no symbol table"
        symbols = symtab.get_symbol_by_name(MARKER)
        return symbols[0]["st_value"] if symbols else None


def test_board_linker_script_is_used_and_tracked(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    write(tree / "boards" / "my-f4.toml", MY_BOARD.format(script="ld/custom.ld"))
    write(tree / "ld" / "custom.ld", custom_script(tree, 0x1234))
    elf = tree / "build" / "my-f4" / "firmware.elf"

    build = run_scons(tree, "board=my-f4", "build/my-f4/firmware.elf", "-j2")
    assert build.returncode == 0, build.output
    assert marker(elf) == 0x1234, "the firmware was not linked with ld/custom.ld"
    generated = tree / "build" / "my-f4" / "link.ld"  # the generated script is not what linked it
    assert not generated.exists() or MARKER not in generated.read_text()

    run = run_scons(tree, "board=my-f4", "run", timeout=240)
    assert run.returncode == 0, run.output
    assert "[my-f4] hello from polyboard firmware on my-f4" in run.stdout, run.output

    # Editing the script relinks the firmware and rebuilds nothing else.
    write(tree / "ld" / "custom.ld", custom_script(tree, 0x5678))
    relink = run_scons(tree, "board=my-f4", "build/my-f4/firmware.elf", "--debug=explain", timeout=240)
    assert relink.returncode == 0, relink.output
    rebuilt = set(REBUILDING.findall(relink.stdout))
    assert "build/my-f4/firmware.elf" in rebuilt, relink.stdout
    assert not {t for t in rebuilt if t.endswith(".o") or t.endswith(".a")}, rebuilt
    assert "CARGO" not in relink.stdout and "CC  " not in relink.stdout, relink.stdout
    assert marker(elf) == 0x5678

    again = run_scons(tree, "board=my-f4", "build/my-f4/firmware.elf", "--debug=explain", timeout=120)
    assert again.returncode == 0, again.output
    assert not REBUILDING.findall(again.stdout), again.stdout


@pytest.mark.parametrize("script, says", [
    ("../outside.ld", "must be a relative path inside the tree"),
    ("ld/missing.ld", "'ld/missing.ld' does not exist"),
])
def test_bad_board_linker_script_is_one_line(tmp_path, script, says):
    tree = copy_tree(tmp_path / "tree")
    write(tree / "boards" / "my-f4.toml", MY_BOARD.format(script=script))
    write(tmp_path / "outside.ld", "/* outside the tree */\n")
    result = run_scons(tree, "board=my-f4", timeout=120)
    assert result.returncode == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("scons: *** ")]
    assert len(errors) == 1, result.stderr
    assert "boards/my-f4.toml" in errors[0] and "memory.linker_script" in errors[0], errors[0]
    assert says in errors[0], errors[0]
    assert "Traceback" not in result.output
    assert "scons: Building targets" not in result.stdout, "nothing may be built before the error"
    assert not (tree / "build" / "my-f4").exists() or not any((tree / "build" / "my-f4").rglob("*.o"))
