"""The TinyGo backend: its command line (TinyGo is not installable here) and its wiring, with a
stand-in ``tinygo`` on PATH and a board that names a TinyGo target."""

from __future__ import annotations

import attrs
import pytest

from helpers import REPO, child_env, copy_tree, run_scons, write
from polyboard.board import Go
from polyboard.board_files import BoardCatalog
from polyboard_plugins import tinygo_builder


@pytest.fixture(scope="module")
def stm32f4():
    return BoardCatalog([REPO / "boards"], root=REPO).load("stm32f4")


def test_build_argv():
    argv = tinygo_builder.tinygo_argv("tinygo", "build", "stm32f4disco", "app.elf.tmp", ".", ["a", "b"], 2)
    assert argv == ["tinygo", "build", "-target", "stm32f4disco", "-p", "2", "-tags", "a b",
                    "-o", "app.elf.tmp", "."]


def test_test_argv():
    argv = tinygo_builder.tinygo_argv("tinygo", "test", "cortex-m-qemu", "t.elf.tmp", "./kern", [])
    assert argv == ["tinygo", "test", "-c", "-target", "cortex-m-qemu", "-p", "1", "-o", "t.elf.tmp", "./kern"]


def test_skip_reasons(stm32f4):
    assert tinygo_builder.skip_reason(stm32f4, None) == "Go needs TinyGo on a microcontroller and tinygo is not on PATH"
    assert "go.tinygo_target" in tinygo_builder.skip_reason(stm32f4, "/usr/bin/tinygo")
    with_target = attrs.evolve(stm32f4, go=Go(goos="linux", goarch="arm", goarm="7", tinygo_target="stm32f4disco"))
    assert tinygo_builder.skip_reason(with_target, "/usr/bin/tinygo") is None


def test_bare_metal_go_goes_through_tinygo(tmp_path):
    """With ``tinygo`` on PATH and a TinyGo target, go_program becomes a TinyGo ELF (dry run)."""
    tree = copy_tree(tmp_path / "tree")
    # TinyGo's own cortex-m targets say GOOS=linux GOARCH=arm; the board repeats that.
    write(tree / "boards" / "disco.toml", 'inherits = "stm32f4"\ndescription = "with TinyGo"\n[go]\n'
          'goos = "linux"\ngoarch = "arm"\ngoarm = "7"\ntinygo_target = "stm32f4disco"\n')
    bin_dir = tmp_path / "bin"
    fake = write(bin_dir / "tinygo", "#!/bin/sh\nexit 99\n")
    fake.chmod(0o755)
    result = run_scons(tree, "board=disco", "-n", env=child_env(PATH=f"{bin_dir}:/usr/bin:/bin"))
    assert result.returncode == 0, result.output
    assert "TINYGO  [disco] build/disco/app.elf" in result.stdout
    assert "TGTEST  [disco] build/disco/kern-test.elf" in result.stdout
    result = run_scons(tree, "board=stm32f4", "-n", env=child_env(PATH=f"{bin_dir}:/usr/bin:/bin"))
    assert "the board names no TinyGo target" in result.stdout
