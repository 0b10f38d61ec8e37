"""``scons import-board from=<file>``: PlatformIO board manifests and probe-rs target descriptions
into board files inheriting the matching shipped board, saying what was guessed.

The fixtures in tests/fixtures/import-board/ are those projects' own files:
platformio/platform-ststm32 boards/disco_f407vg.json, boards/nucleo_f401re.json and
boards/black_f407ve.json (whole), and
probe-rs/probe-rs probe-rs/targets/nRF51_Series.yaml (trimmed; its first lines say how). The
bad-input cases are derived from them in the test (a key removed), never invented shapes.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from helpers import REPO, child_env, one_error_line, run_scons, sconstruct_only, spawned, write

FIXTURES = REPO / "tests" / "fixtures" / "import-board"


@pytest.fixture
def bare_tree(tmp_path) -> Path:
    """A tree of one SConstruct: the boards are the installed polyboard's."""
    return sconstruct_only(tmp_path / "bare_tree")



def test_platformio_manifest_becomes_a_board_inheriting_stm32f4(bare_tree, tmp_path):
    log = tmp_path / "spawn.log"
    result = run_scons(bare_tree, "-Q", "import-board", f"from={FIXTURES / 'nucleo_f401re.json'}", "id=nucleo-f401re",
                       timeout=120, env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert result.returncode == 0, result.output
    assert spawned(log) == ""
    assert "wrote boards/nucleo-f401re.toml (inherits stm32f4) from nucleo_f401re.json; guessed: " \
           "memory.regions.FLASH.origin = 0x8000000" in result.stdout
    text = (bare_tree / "boards" / "nucleo-f401re.toml").read_text()
    data = tomllib.loads(text)
    assert data["inherits"] == "stm32f4"
    assert data["description"] == "ST Nucleo F401RE (stm32f401ret6), imported from PlatformIO"
    assert data["memory"]["regions"] == {"CCM": {}, "FLASH": {"origin": 0x0800_0000, "length": 524288, "attributes": "rx"},
                                         "RAM": {"origin": 0x2000_0000, "length": 98304, "attributes": "rwx"}}
    assert "#   build.f_cpu = '84000000L': not a board key" in text
    assert "# GUESSED" in text and "cpu.float_abi = 'hard': stm32f4's" in text
    listed = json.loads(run_scons(bare_tree, "-Q", "boards", "query=nucleo", "format=json", timeout=120).stdout)
    assert [(r["id"], r["flash"], r["ram"]) for r in listed] == [("nucleo-f401re", 524288, 98304)]


def test_platformio_board_id_defaults_to_the_mcu(bare_tree):
    result = run_scons(bare_tree, "-Q", "import-board", f"from={FIXTURES / 'disco_f407vg.json'}", timeout=120)
    assert result.returncode == 0, result.output
    data = tomllib.loads((bare_tree / "boards" / "stm32f407vgt6.toml").read_text())
    assert data["description"] == "ST STM32F4DISCOVERY (stm32f407vgt6), imported from PlatformIO"
    assert "debug.openocd_board = 'stm32f4discovery'" in (bare_tree / "boards" / "stm32f407vgt6.toml").read_text()


def test_platformio_openocd_target_becomes_the_boards_openocd_flash_target(tmp_path):
    """``debug.openocd_target`` (openocd's ``target/<name>.cfg``) selects method openocd; the probe's
    interface is the base board's, so ``scons flash`` gets a whole openocd command line."""
    from helpers import copy_tree
    tree = copy_tree(tmp_path / "tree")
    result = run_scons(tree, "-Q", "import-board", f"from={FIXTURES / 'black_f407ve.json'}", timeout=120)
    assert result.returncode == 0, result.output
    text = (tree / "boards" / "stm32f407vet6.toml").read_text()
    assert "#   debug.openocd_target = 'stm32f4x' -> flash.openocd_target" in text
    assert tomllib.loads(text)["flash"] == {"method": "openocd", "openocd_target": "target/stm32f4x.cfg"}
    values = json.loads(run_scons(tree, "-Q", "board=stm32f407vet6", "info", "format=json", timeout=120).stdout)["values"]
    assert values["flash.openocd_target"] == {"value": "target/stm32f4x.cfg", "from": "boards/stm32f407vet6.toml"}
    assert values["flash.openocd_interface"] == {"value": "interface/stlink.cfg", "from": "boards/stm32f4.toml"}
    flash = run_scons(tree, "board=stm32f407vet6", "flash", "dry_run=1", timeout=120)
    assert flash.returncode == 0, flash.output
    elf = tree / "build" / "stm32f407vet6" / "firmware.elf"
    assert f"polyboard: stm32f407vet6: flash: openocd -f interface/stlink.cfg -f target/stm32f4x.cfg -c " \
           f"'program {{{elf}}} verify reset exit'" in flash.stdout.splitlines()
    assert not elf.exists()  # a dry run builds nothing


def test_probe_rs_variant_becomes_a_board_inheriting_microbit(bare_tree):
    result = run_scons(bare_tree, "-Q", "import-board", f"from={FIXTURES / 'nRF51_Series.yaml'}", "variant=nRF51822_xxAC",
                       timeout=120)
    assert result.returncode == 0, result.output
    data = tomllib.loads((bare_tree / "boards" / "nrf51822_xxac.toml").read_text())
    assert data["inherits"] == "microbit"
    assert data["memory"]["regions"]["FLASH"]["origin"] == 0 and data["memory"]["regions"]["FLASH"]["length"] == 0x4_0000
    assert data["memory"]["regions"]["RAM"] == {"origin": 0x2000_0000, "length": 0x8000, "attributes": "rwx"}
    assert data["flash"] == {"method": "probe-rs", "probe_rs_chip": "nRF51822_xxAC"}
    info = run_scons(bare_tree, "-Q", "board=nrf51822_xxac", "info", timeout=120)
    assert info.returncode == 0 and 'cpu.name = "cortex-m0"' in info.stdout


@pytest.mark.toolchain
def test_an_imported_nrf51822_runs_the_reference_firmware_in_qemu(tmp_path):
    """nRF51822_xxAA is the micro:bit's chip: imported, it builds and passes check-board."""
    from helpers import copy_tree
    bare_tree = copy_tree(tmp_path / "bare_tree")
    imported = run_scons(bare_tree, "-Q", "import-board", f"from={FIXTURES / 'nRF51_Series.yaml'}",
                         "variant=nRF51822_xxAA", "id=nrf51822-imported", timeout=120)
    assert imported.returncode == 0, imported.output
    checked = run_scons(bare_tree, "-j2", "board=nrf51822-imported", "check-board")
    assert checked.returncode == 0, checked.output
    assert "check-board nrf51822-imported: PASS" in checked.stdout


def _derived(tmp_path: Path, name: str, edit) -> Path:
    """A fixture with one edit (a key removed): bad input in the real file's shape."""
    source = FIXTURES / name
    if name.endswith(".json"):
        data = json.loads(source.read_text())
        edit(data)
        return write(tmp_path / name, json.dumps(data))
    return write(tmp_path / name, edit(source.read_text()))


def test_bad_imports_are_one_line_and_write_nothing(bare_tree, tmp_path):
    cases = [
        (["from=SConstruct"], ["from=SConstruct", "not a board description polyboard can import; expected a "
                                                  "PlatformIO board manifest"]),
        ([f"from={REPO / 'boards' / 'stm32f4.toml'}"], ["not a board description polyboard can import"]),
        (["from=no-such.json"], ["from=no-such.json: no such file"]),
        ([], ["from=", "name the file to import"]),
        ([f"from={_derived(tmp_path, 'nucleo_f401re.json', lambda d: d.pop('upload'))}"],
         ["no memory information: upload.maximum_size and upload.maximum_ram_size"]),
        ([f"from={_derived(tmp_path, 'disco_f407vg.json', lambda d: d['build'].update(cpu='cortex-a53'))}"],
         ["build.cpu 'cortex-a53' has no shipped base board"]),
        ([f"from={_derived(tmp_path, 'nRF51_Series.yaml', lambda t: t.replace('  - !Ram', '  - !Generic'))}",
          "variant=nRF51822_xxAA"], ["no memory information for nRF51822_xxAA: memory_map needs an !Nvm"]),
        ([f"from={FIXTURES / 'nRF51_Series.yaml'}"], ["the file describes 9 chips; choose one with variant=NAME"]),
        ([f"from={FIXTURES / 'nRF51_Series.yaml'}", "variant=nRF52832_xxAA"],
         ["variant=nRF52832_xxAA", "no variant 'nRF52832_xxAA' in nRF51 Series"]),
        ([f"from={FIXTURES / 'disco_f407vg.json'}", "id=stm32f4"], ["id=stm32f4", "board 'stm32f4' already exists"]),
    ]
    for args, fragments in cases:
        line = one_error_line(run_scons(bare_tree, "import-board", *args, timeout=120))
        for fragment in fragments:
            assert fragment in line, (args, line)
    assert not (bare_tree / "boards").exists()
