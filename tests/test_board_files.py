"""Board files without SCons: TOML loading, inheritance, merge rules and semantic checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyboard.board_files import BoardCatalog, merge
from polyboard.errors import PolyboardError

from helpers import REPO, write

BASE = """\
abstract = true
description = "test base"
os = "none"

[cpu]
arch = "arm"
name = "cortex-m4"
float_abi = "hard"
fpu = "fpv4-sp-d16"
flags = ["-mthumb"]

[c]
prefix = "arm-none-eabi-"
cflags = ["-Os", "-g"]
packages = ["gcc-arm-none-eabi"]

[memory.regions.FLASH]
origin = 0x0800_0000
length = 0x10_0000
attributes = "rx"

[memory.regions.RAM]
origin = 0x2000_0000
length = 0x2_0000

[memory.sections]
code = "FLASH"
data = "RAM"

[emulator]
program = "qemu-system-arm"
machine = "netduinoplus2"
args = ["-nographic"]
"""


def catalog(tmp_path: Path, **files: str) -> BoardCatalog:
    """A catalog of board files written into tmp_path/boards (``base`` is always there)."""
    folder = tmp_path / "boards"
    write(folder / "base.toml", BASE)
    for board_id, text in files.items():
        write(folder / f"{board_id.replace('_', '-')}.toml", text)
    return BoardCatalog([folder], root=tmp_path)


def load_error(tmp_path: Path, board_id: str, **files: str) -> PolyboardError:
    with pytest.raises(PolyboardError) as info:
        catalog(tmp_path, **files).load(board_id)
    return info.value


# -- merge rules ---------------------------------------------------------------------------------

def test_merge_scalars_override_tables_merge_arrays_replace():
    parent = {"a": 1, "t": {"x": 1, "y": 2, "inner": {"k": "v"}}, "list": [1, 2, 3]}
    child = {"a": 2, "t": {"y": 3, "inner": {"j": "w"}}, "list": [9]}
    assert merge(parent, child) == {"a": 2, "t": {"x": 1, "y": 3, "inner": {"k": "v", "j": "w"}}, "list": [9]}
    assert parent["t"] == {"x": 1, "y": 2, "inner": {"k": "v"}}, "merge must not modify its inputs"


@pytest.mark.parametrize("empty", ["", [], {}])
def test_merge_explicit_empty_value_clears(empty):
    assert merge({"keep": 1, "gone": "value"}, {"gone": empty}) == {"keep": 1}


def test_child_overrides_and_merges_through_toml(tmp_path):
    board = catalog(tmp_path, child='inherits = "base"\n[cpu]\nname = "cortex-m7"\n[c]\ncflags = ["-O2"]\n'
                                     '[memory.regions.RAM]\nlength = 0x1_0000\n').load("child")
    assert board.cpu.name == "cortex-m7"           # scalar overridden
    assert board.cpu.fpu == "fpv4-sp-d16"          # the rest of the table inherited
    assert board.c.cflags == ("-O2",)              # array replaced, not appended
    assert board.memory.region("RAM").length == 0x1_0000
    assert board.memory.region("RAM").origin == 0x2000_0000
    assert board.memory.region("FLASH").length == 0x10_0000


def test_explicit_empty_value_clears_inherited_value(tmp_path):
    board = catalog(tmp_path, child='inherits = "base"\n[cpu]\nflags = []\n[emulator]\n').load("child")
    assert board.cpu.flags == ()
    assert board.emulator is None


def test_multi_level_inheritance(tmp_path):
    cat = catalog(tmp_path,
                  family='inherits = "base"\nabstract = true\ndescription = "family"\n[cpu]\nname = "cortex-m3"\n'
                         'float_abi = "soft"\n',
                  chip='inherits = "family"\ndescription = "chip"\n[memory.regions.RAM]\nlength = 0x8000\n',
                  board='inherits = "chip"\n[emulator]\nmachine = "lm3s6965evb"\n')
    board = cat.load("board")
    assert board.description == "chip"
    assert board.cpu.name == "cortex-m3" and board.cpu.float_abi == "soft"
    assert board.memory.region("RAM").length == 0x8000
    assert board.emulator.machine == "lm3s6965evb" and board.emulator.program == "qemu-system-arm"
    assert board.sources == ("boards/board.toml", "boards/chip.toml", "boards/family.toml", "boards/base.toml")
    assert cat.concrete_ids == ["board", "chip"]


def test_several_parents_apply_left_to_right(tmp_path):
    board = catalog(tmp_path,
                    m3='abstract = true\n[cpu]\narch = "arm"\nname = "cortex-m3"\n',
                    m0='abstract = true\n[cpu]\narch = "arm"\nname = "cortex-m0"\n',
                    both='inherits = ["base", "m3", "m0"]\n').load("both")
    assert board.cpu.name == "cortex-m0"
    assert board.sources[0] == "boards/both.toml"


def test_hex_sizes_are_integers(tmp_path):
    board = catalog(tmp_path, child='inherits = "base"\n').load("child")
    flash = board.memory.region("FLASH")
    assert type(flash.origin) is int and type(flash.length) is int
    assert (flash.origin, flash.length, flash.end) == (0x0800_0000, 1024 * 1024, 0x0810_0000)


def test_abstract_base_is_not_buildable(tmp_path):
    error = load_error(tmp_path, "base", child='inherits = "base"\n')
    assert error.where == "boards/base.toml" and error.key == "abstract"
    assert "abstract" in error.message and "valid boards: child" in error.message


def test_abstract_is_not_inherited(tmp_path):
    cat = catalog(tmp_path, child='inherits = "base"\n')
    assert cat.concrete_ids == ["child"]
    assert cat.load("child").id == "child"


# -- errors: each names the file and the key path --------------------------------------------------

def test_cycle_shows_the_chain(tmp_path):
    error = load_error(tmp_path, "a", a='inherits = "b"\n', b='inherits = "c"\n', c='inherits = "a"\n')
    assert error.key == "inherits"
    assert "inheritance cycle: a -> b -> c -> a" in error.message


def test_self_inheritance_is_a_cycle(tmp_path):
    error = load_error(tmp_path, "me", me='inherits = "me"\n')
    assert "inheritance cycle: me -> me" in error.message


def test_missing_parent(tmp_path):
    error = load_error(tmp_path, "child", child='inherits = "bsae"\n')
    assert (error.where, error.key) == ("boards/child.toml", "inherits")
    assert "'bsae' does not exist" in error.message and "did you mean base" in error.message


def test_unknown_key_names_file_key_path_and_valid_keys(tmp_path):
    error = load_error(tmp_path, "child", child='inherits = "base"\n[cpu]\nfpv = "x"\n')
    assert (error.where, error.key) == ("boards/child.toml", "cpu.fpv")
    assert "unknown key 'fpv'" in error.message
    assert "arch, name, float_abi, fpu, flags" in error.message


def test_unknown_key_in_a_parent_names_the_parent(tmp_path):
    cat = catalog(tmp_path, mid='inherits = "base"\nabstract = true\n[memory.regions.RAM]\nsize = 4\n',
                  leaf='inherits = "mid"\n[memory.regions.FLASH]\nlength = 0x1000\n')
    with pytest.raises(PolyboardError) as info:
        cat.load("leaf")
    assert (info.value.where, info.value.key) == ("boards/mid.toml", "memory.regions.RAM.size")
    assert "origin, length, attributes" in info.value.message


def test_wrong_type_names_file_and_key_path(tmp_path):
    error = load_error(tmp_path, "child", child='inherits = "base"\n[memory.regions.FLASH]\nlength = "1M"\n')
    assert (error.where, error.key) == ("boards/child.toml", "memory.regions.FLASH.length")
    assert "expected an integer" in error.message and "'1M'" in error.message


@pytest.mark.parametrize(("text", "key"), [
    ('[cpu]\nname = 4\n', "cpu.name"),
    ('[cpu]\nflags = "-mthumb"\n', "cpu.flags"),
    ('[memory.regions.RAM]\norigin = true\n', "memory.regions.RAM.origin"),
    ('cpu = "arm"\n', "cpu"),
    ('os = "windows"\n', "os"),
])
def test_wrong_types_are_refused_not_coerced(tmp_path, text, key):
    error = load_error(tmp_path, "child", child='inherits = "base"\n' + text)
    assert (error.where, error.key) == ("boards/child.toml", key)


def test_malformed_toml_names_file_and_line(tmp_path):
    with pytest.raises(PolyboardError) as info:
        catalog(tmp_path, child='inherits = "base"\n\n[cpu\nname = "x"\n')
    assert info.value.where == "boards/child.toml"
    assert "malformed TOML" in info.value.message and "line 3" in info.value.message


def test_overlapping_regions(tmp_path):
    error = load_error(tmp_path, "child",
                       child='inherits = "base"\n[memory.regions.CCM]\norigin = 0x2001_0000\nlength = 0x1_0000\n')
    assert (error.where, error.key) == ("boards/child.toml", "memory.regions.CCM")
    assert "overlaps region RAM" in error.message


def test_adjacent_regions_do_not_overlap(tmp_path):
    board = catalog(tmp_path, child='inherits = "base"\n[memory.regions.CCM]\norigin = 0x2002_0000\n'
                                     'length = 0x1_0000\n').load("child")
    assert [r.name for r in board.memory.regions] == ["FLASH", "RAM", "CCM"]


@pytest.mark.parametrize("length", [0, -1])
def test_region_size_must_be_positive(tmp_path, length):
    error = load_error(tmp_path, "child", child=f'inherits = "base"\n[memory.regions.RAM]\nlength = {length}\n')
    assert (error.where, error.key) == ("boards/child.toml", "memory.regions.RAM.length")
    assert f"must be positive, got {length}" in error.message


def test_section_in_missing_region_lists_valid_regions(tmp_path):
    error = load_error(tmp_path, "child", child='inherits = "base"\n[memory.sections]\nbss = "SRAM1"\n')
    assert (error.where, error.key) == ("boards/child.toml", "memory.sections.bss")
    assert "'SRAM1' does not exist; valid regions: FLASH, RAM" in error.message


def test_bare_metal_board_needs_memory(tmp_path):
    error = load_error(tmp_path, "child", child='inherits = "base"\nmemory = {}\n')
    assert error.key == "memory"


def test_unknown_board_id_gives_close_matches(tmp_path):
    cat = catalog(tmp_path, stm32f4='inherits = "base"\n', stm32f7='inherits = "base"\n',
                  lm3s6965='inherits = "base"\n')
    with pytest.raises(PolyboardError) as info:
        cat.load("stm32f5")
    message = str(info.value)
    assert "did you mean stm32f4, stm32f7" in message or "did you mean stm32f7, stm32f4" in message
    assert "valid boards: lm3s6965, stm32f4, stm32f7" in message
    assert "base" not in message.split("valid boards:")[1], "abstract boards are not offered"


def test_first_folder_wins(tmp_path):
    """The tree's boards/ comes first in the search path, so it overrides a board pack's file."""
    pack = tmp_path / "pack"
    write(tmp_path / "boards" / "base.toml", BASE)
    write(pack / "base.toml", BASE.replace("test base", "pack base"))
    write(pack / "extra.toml", 'inherits = "base"\n')
    cat = BoardCatalog([tmp_path / "boards", pack], root=tmp_path)
    assert cat.files["base"].path == tmp_path / "boards" / "base.toml"
    assert cat.load("extra").description == "test base"
    assert cat.load("extra").sources == ("pack/extra.toml", "boards/base.toml")


# -- the shipped boards --------------------------------------------------------------------------

def test_shipped_boards_load():
    cat = BoardCatalog([REPO / "boards"], root=REPO)
    stm32f4 = cat.load("stm32f4")
    assert stm32f4.sources == ("boards/stm32f4.toml", "boards/cortex-m.toml")
    assert [(r.name, r.origin, r.length) for r in stm32f4.memory.regions] == [
        ("FLASH", 0x0800_0000, 0x10_0000), ("RAM", 0x2000_0000, 0x2_0000), ("CCM", 0x1000_0000, 0x1_0000)]
    assert stm32f4.rust.target == "thumbv7em-none-eabihf" and stm32f4.rust.build_std == ("core",)
    lm3s = cat.load("lm3s6965")
    assert lm3s.cpu.float_abi == "soft" and lm3s.rust.target == "thumbv7m-none-eabi"
    assert "cortex-m" not in cat.concrete_ids
    for board_id in cat.concrete_ids:
        cat.load(board_id)
