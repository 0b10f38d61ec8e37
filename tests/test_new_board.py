"""``scons new-board id=<id> inherits=<base>``: a commented board file that passes validation,
with the keys to change marked; never overwriting; bad ids and bases are one line, exit 2,
nothing written. Board data only: no toolchain, no process."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from helpers import REPO, child_env, one_error_line, run_scons, sconstruct_only, spawned, write


@pytest.fixture
def bare_tree(tmp_path) -> Path:
    """A tree of one SConstruct: the boards are the installed polyboard's."""
    return sconstruct_only(tmp_path / "bare_tree")



def test_new_board_writes_a_commented_file_that_validates(bare_tree, tmp_path):
    log = tmp_path / "spawn.log"
    result = run_scons(bare_tree, "-Q", "new-board", "id=acme-m4", "inherits=stm32f4", timeout=120,
                       env=child_env(POLYBOARD_SPAWN_LOG=str(log), PATH="/usr/bin/nonexistent:/bin"))
    assert result.returncode == 0, result.output
    assert spawned(log) == ""
    assert "polyboard: wrote boards/acme-m4.toml (inherits stm32f4)" in result.stdout
    text = (bare_tree / "boards" / "acme-m4.toml").read_text()
    data = tomllib.loads(text)
    assert data["inherits"] == "stm32f4"
    assert data["memory"]["regions"]["FLASH"] == {"origin": 0x0800_0000, "length": 0x10_0000, "attributes": "rx"}
    assert "[memory.regions.RAM]   # CHANGE" in text and "# CHANGE: the chip, its core, flash and RAM" in text
    assert '#   rust.target = "thumbv7em-none-eabihf"   (stm32f4.toml (pack polyboard))' in text
    assert not (bare_tree / "build").exists()
    info = run_scons(bare_tree, "-Q", "board=acme-m4", "info", timeout=120)
    assert info.returncode == 0, info.output
    assert "memory.regions.RAM.length = 0x20000" in info.stdout and "# boards/acme-m4.toml" in info.stdout
    listed = run_scons(bare_tree, "-Q", "boards", "query=acme", timeout=120)
    assert listed.stdout.splitlines()[1].split()[:2] == ["acme-m4", "boards/acme-m4.toml"]


def test_new_board_of_a_linux_board_validates(bare_tree):
    result = run_scons(bare_tree, "-Q", "new-board", "id=pi-like", "inherits=rpi4", timeout=120)
    assert result.returncode == 0, result.output
    assert "[memory" not in (bare_tree / "boards" / "pi-like.toml").read_text()
    assert run_scons(bare_tree, "-Q", "board=pi-like", "info", timeout=120).returncode == 0


def test_dry_run_writes_nothing(bare_tree):
    result = run_scons(bare_tree, "-n", "new-board", "id=acme-m4", "inherits=stm32f4", timeout=120)
    assert result.returncode == 0, result.output
    assert not (bare_tree / "boards").exists()


@pytest.mark.parametrize("args, fragments", [
    (["id=../x", "inherits=stm32f4"], ["id=../x", "is not a valid board id"]),
    (["id=run", "inherits=stm32f4"], ["id=run", "board id 'run' is reserved"]),
    (["id=check-board", "inherits=stm32f4"], ["board id 'check-board' is reserved"]),
    (["inherits=stm32f4"], ["id=", "give the new board's id"]),
    (["id=acme-m4"], ["inherits=", "name the board to start from"]),
    (["id=acme-m4", "inherits=stm32f5"], ["inherits=stm32f5", "unknown board 'stm32f5'; did you mean stm32f4?"]),
    (["id=acme-m4", "inherits=cortex-m"], ["inherits=cortex-m", "is abstract; a new board starts from a concrete one"]),
    (["id=stm32f4", "inherits=lm3s6965"], ["id=stm32f4", "board 'stm32f4' already exists (stm32f4.toml (pack polyboard))"]),
    (["id=acme-m4", "inherits=stm32f4", "run"], ["new-board only writes a board file; other targets cannot come with it"]),
])
def test_bad_new_board_requests_are_one_line_and_write_nothing(bare_tree, args, fragments):
    line = one_error_line(run_scons(bare_tree, "new-board", *args, timeout=120))
    for fragment in fragments:
        assert fragment in line, line
    assert not (bare_tree / "boards").exists()


def test_new_board_never_overwrites(bare_tree):
    mine = write(bare_tree / "boards" / "acme-m4.toml", 'inherits = "stm32f4"\ndescription = "mine"\n')
    line = one_error_line(run_scons(bare_tree, "new-board", "id=acme-m4", "inherits=lm3s6965", timeout=120))
    assert "boards/acme-m4.toml already exists; new boards never overwrite a file" in line
    assert mine.read_text() == 'inherits = "stm32f4"\ndescription = "mine"\n'
