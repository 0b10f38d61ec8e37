"""A plugin extends the board schema (registry.add_board_table): ``[jlink]`` becomes a typed,
inherited, merged board table, with the same error quality as polyboard's own keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run_scons, write
from test_errors import assert_user_error

JLINK_PLUGIN = '''\
"""A J-Link plugin of a tree: the board table [jlink], read when a board is configured."""
import attrs

from polyboard import PolyboardError, hookimpl


@attrs.frozen
class JLink:
    device: str
    speed_khz: int = 4000
    interface: str = "SWD"


def check(jlink, board):
    if jlink.interface not in ("SWD", "JTAG"):
        raise PolyboardError(f"{jlink.interface!r} is not valid; choose SWD or JTAG", key="jlink.interface")


@hookimpl
def polyboard_register(registry):
    registry.add_board_table("jlink", JLink, check=check, help="J-Link probe settings")


@hookimpl
def polyboard_configure_board(build):
    jlink = build.board.table("jlink")
    if jlink is not None:
        print(f"jlink for {build.board.id}: {jlink.device} at {jlink.speed_khz} kHz over {jlink.interface}", flush=True)
'''
PARENT = 'inherits = "stm32f4"\ndescription = "a board with a J-Link"\n[jlink]\ndevice = "STM32F405RG"\n'
CHILD = 'inherits = "jl-parent"\ndescription = "its child"\n[jlink]\nspeed_khz = 12000\n'


def test_a_plugin_table_is_typed_inherited_and_merged(scratch_tree: Path):
    write(scratch_tree / "plugins" / "jlink.py", JLINK_PLUGIN)
    write(scratch_tree / "boards" / "jl-parent.toml", PARENT)
    write(scratch_tree / "boards" / "jl-child.toml", CHILD)
    result = run_scons(scratch_tree, "boards=jl-parent,jl-child,lm3s6965", "list", timeout=120)
    assert result.returncode == 0, result.output
    assert "jlink for jl-parent: STM32F405RG at 4000 kHz over SWD" in result.stdout
    assert "jlink for jl-child: STM32F405RG at 12000 kHz over SWD" in result.stdout  # merged with the parent's
    assert "jlink for lm3s6965" not in result.stdout  # no [jlink]: table() is None


@pytest.mark.parametrize(("board", "fragments"), [
    ('[jlink]\ndevice = "X"\nspeed_khz = "fast"\n', ["boards/bad.toml: jlink.speed_khz:", "expected an integer", "'fast'"]),
    ('[jlink]\ndevice = "X"\nspede = 3\n', ["boards/bad.toml: jlink.spede:", "unknown key 'spede'",
                                           "valid keys in [jlink]: device, speed_khz, interface"]),
    ('[jlink]\nspeed_khz = 3\n', ["boards/bad.toml: jlink", "required key 'device' is missing"]),
    ('[jlink]\ndevice = "X"\ninterface = "USB"\n', ["boards/bad.toml: jlink.interface:", "'USB' is not valid"]),
    ('[jlnk]\ndevice = "X"\n', ["boards/bad.toml: jlnk:", "unknown key 'jlnk'", "jlink"]),
])
def test_a_plugin_table_has_the_same_error_quality(scratch_tree: Path, board: str, fragments: list):
    write(scratch_tree / "plugins" / "jlink.py", JLINK_PLUGIN)
    write(scratch_tree / "boards" / "bad.toml", 'inherits = "stm32f4"\ndescription = "x"\n' + board)
    result = run_scons(scratch_tree, "board=bad", timeout=120)
    assert_user_error(result, *fragments)
    assert not (scratch_tree / "build").exists()


def test_a_table_that_already_exists_is_refused(scratch_tree: Path):
    write(scratch_tree / "plugins" / "mem.py", "import attrs\n\n\n@attrs.frozen\nclass M:\n    x: int = 0\n\n\n"
                                               "def polyboard_register(registry):\n"
                                               "    registry.add_board_table('memory', M)\n")
    result = run_scons(scratch_tree, "board=stm32f4", timeout=120)
    assert_user_error(result, "plugin plugins/mem.py:", "board table 'memory' already exists")
