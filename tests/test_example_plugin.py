"""The example plugin in ``examples/plugins/asset-blobs/`` (written from docs/plugins.md alone).

It is built into a real wheel, installed into a fresh virtual environment (tests/wheels.py, as the
board packs are), and used from a copy of its example firmware tree outside the repository: the
``binary_asset`` component kind embeds a file into the firmware, which prints the file's length
and CRC-32 in QEMU; the ``[jlink]`` board table is typed, checked and read by ``scons flash``.
"""

from __future__ import annotations

import os
import shutil
import zipfile
import zlib
from pathlib import Path

import pytest

from helpers import REPO, child_env, spawned_processes, write
from test_errors import assert_user_error
from wheels import build_wheel, make_venv, scons

PLUGIN = REPO / "examples" / "plugins" / "asset-blobs"
BOARD = "acme-jlink"


@pytest.fixture(scope="module")
def assets_wheel(tmp_path_factory) -> Path:
    return build_wheel(PLUGIN, tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def assets_env(tmp_path_factory, assets_wheel) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv") / "assets", assets_wheel)


def example_tree(folder: Path) -> Path:
    """The plugin's example firmware tree, with polyboard's startup.c as its README says."""
    shutil.copytree(PLUGIN / "firmware", folder)
    shutil.copy2(REPO / "src" / "firmware" / "startup.c", folder / "src" / "startup.c")
    assert not folder.resolve().is_relative_to(REPO)
    return folder


def asset_line(path: Path) -> str:
    data = path.read_bytes()
    return f"[{BOARD}] asset greeting: {len(data)} bytes, crc32 = {zlib.crc32(data):08x}"


def role(argv: list[str]) -> str:
    """What a child process was, from its argument vector."""
    if argv[0].endswith("objcopy"):
        return f"objcopy {argv[argv.index('-O') + 1]}"
    if any(arg.startswith("-Wl,-Map=") for arg in argv):
        return "link"
    if "-c" in argv:
        return f"cc {os.path.basename(argv[-1])}"
    return " ".join(argv)


def test_the_wheel_holds_the_plugin_and_its_entry_point(assets_wheel):
    with zipfile.ZipFile(assets_wheel) as wheel:
        names = wheel.namelist()
        entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "polyboard_assets/__init__.py" in names
    assert "[polyboard]" in entry_points and "assets = polyboard_assets" in entry_points


@pytest.mark.toolchain
def test_an_asset_is_embedded_run_in_qemu_and_rebuilt_alone(assets_env, tmp_path):
    tree = example_tree(tmp_path / "asset tree $x")
    asset = tree / "assets" / "greeting.txt"
    built = scons(assets_env, tree, "-j2", f"board={BOARD}", timeout=600)
    assert built.returncode == 0, built.output
    assert f"ASSET   [{BOARD}] build/{BOARD}/assets/greeting/greeting.c" in built.stdout
    assert f"JLINK   [{BOARD}] build/{BOARD}/firmware.jlink" in built.stdout

    log = tmp_path / "spawn.log"
    null = scons(assets_env, tree, "-j2", f"board={BOARD}", env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert null.returncode == 0, null.output
    assert spawned_processes(log) == [], "a null build starts no process"
    assert "ASSET" not in null.stdout and "LINK" not in null.stdout

    ran = scons(assets_env, tree, f"board={BOARD}", "run", timeout=300)
    assert ran.returncode == 0, ran.output
    assert asset_line(asset) in ran.stdout.splitlines()

    # A new asset: its C array, its object, the link and the images; no other compile, no header.
    main_object = next((tree / "build" / BOARD / "obj").rglob("main.c.o"))
    before = main_object.stat().st_mtime_ns
    asset.write_bytes(asset.read_bytes() + b"\x00\xff two more bytes, one of them $HOME\n")
    log.unlink(missing_ok=True)
    rebuilt = scons(assets_env, tree, "-j2", f"board={BOARD}", env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert rebuilt.returncode == 0, rebuilt.output
    assert sorted(role(p["argv"]) for p in spawned_processes(log)) == \
        ["cc greeting.c", "link", "objcopy binary", "objcopy ihex"]
    assert f"ASSET   [{BOARD}] build/{BOARD}/assets/greeting/greeting.c" in rebuilt.stdout
    assert "greeting.h" not in rebuilt.stdout and "JLINK" not in rebuilt.stdout
    assert main_object.stat().st_mtime_ns == before
    ran = scons(assets_env, tree, f"board={BOARD}", "run", timeout=300)
    assert ran.returncode == 0, ran.output
    assert asset_line(asset) in ran.stdout.splitlines()


def test_a_jlink_board_is_flashed_through_jlinkexe(assets_env, tmp_path):
    """``[jlink]`` (inherited by a child board, which changes one key) reaches JLinkExe's arguments."""
    tree = example_tree(tmp_path / "fw")
    write(tree / "boards" / "acme-jlink-jtag.toml",
          'inherits = "acme-jlink"\ndescription = "the same board over JTAG"\n\n[jlink]\ninterface = "JTAG"\n')
    result = scons(assets_env, tree, "-Q", "board=acme-jlink-jtag", "flash", "dry_run=1")
    assert result.returncode == 0, result.output
    script = tree / "build" / "acme-jlink-jtag" / "firmware.jlink"
    assert f"polyboard: acme-jlink-jtag: flash: JLinkExe -NoGui 1 -device STM32F407VG -if JTAG -speed 12000 " \
           f"-autoconnect 1 -ExitOnError 1 -CommandFile {script}" in result.stdout.splitlines()
    assert not (tree / "build" / "acme-jlink-jtag" / "firmware.elf").exists()  # a dry run builds nothing


@pytest.mark.parametrize(("table", "fragments"), [
    ('[jlink]\ndevice = "STM32F407VG"\nspeed_khz = "fast"\n',
     ["boards/bad.toml: jlink.speed_khz:", "expected an integer", "'fast'"]),
    ('[jlink]\ndevice = 407\n', ["boards/bad.toml: jlink.device:", "expected a string", "407"]),
    ('[jlink]\ndevice = "STM32F407VG"\ninterface = "USB"\n',
     ["boards/bad.toml: jlink.interface:", "'USB' is not a J-Link interface; choose one of: SWD, JTAG"]),
])
def test_a_wrong_jlink_value_names_the_file_the_key_and_the_type(assets_env, tmp_path, table, fragments):
    tree = example_tree(tmp_path / "fw")
    write(tree / "boards" / "bad.toml", 'inherits = "stm32f4"\ndescription = "x"\n\n' + table)
    assert_user_error(scons(assets_env, tree, "-Q", "board=bad"), *fragments)
    assert not (tree / "build").exists()


@pytest.mark.parametrize(("declaration", "fragments"), [
    ('project.binary_asset("greeting")', ["SConstruct: binary_asset 'greeting' needs file=..."]),
    ('project.binary_asset("greeting", file="assets/greeting.txt", symbol="2nd-greeting")',
     ["SConstruct: binary_asset 'greeting': symbol '2nd-greeting' is not a C identifier"]),
])
def test_a_wrong_asset_declaration_is_one_line(assets_env, tmp_path, declaration, fragments):
    tree = example_tree(tmp_path / "fw")
    sconstruct = tree / "SConstruct"
    text = sconstruct.read_text()
    sconstruct.write_text(text.replace('project.binary_asset("greeting", file="assets/greeting.txt")', declaration))
    assert declaration in sconstruct.read_text()
    assert_user_error(scons(assets_env, tree, "-Q", f"board={BOARD}"), *fragments)
    assert not (tree / "build").exists()
