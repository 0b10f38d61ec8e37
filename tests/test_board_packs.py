"""Board packs: a vendor's pip-installable package whose plugin adds a folder of board files.

The example pack in ``examples/board-pack/`` is built into a real wheel (``pip wheel``, offline),
installed into a fresh virtual environment, and one of its boards is built and run in QEMU from a
firmware tree outside the repository. The repository's own ``.venv`` never sees the pack: each
test's environment is a new venv whose only addition to the project's (layered in with a
``site.addsitedir`` line, so polyboard, SCons and their dependencies need no network) is what
``pip install`` put there: the packs' code, board files and ``entry_points.txt``.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers import REPO, child_env, copy_built_tree, one_error_line, run_scons, spawned_processes, write
from polyboard import PolyboardError, reference
from wheels import build_wheel, make_venv, scons

PACK = REPO / "examples" / "board-pack"


def outside_tree(folder: Path) -> Path:
    """The reference firmware (SConstruct and src/) in a folder of its own: no boards/, no plugins/."""
    folder.mkdir(parents=True)
    shutil.copy2(REPO / "SConstruct", folder / "SConstruct")
    shutil.copytree(REPO / "src", folder / "src", ignore=shutil.ignore_patterns("target"))
    assert not folder.resolve().is_relative_to(REPO)
    return folder


def pack_project(folder: Path, dist: str, boards: dict[str, str], plugin: str | None = None) -> Path:
    """A pack laid out like the example: pyproject.toml, a plugin module, boards/*.toml."""
    module = dist.replace("-", "_")
    text = (PACK / "pyproject.toml").read_text().replace("acme-boards", dist).replace("acme_boards", module)
    write(folder / "pyproject.toml", text)
    write(folder / module / "__init__.py", plugin or (PACK / "acme_boards" / "__init__.py").read_text())
    for name, body in boards.items():
        write(folder / module / "boards" / f"{name}.toml", body)
    return folder



@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wheels")


@pytest.fixture(scope="module")
def acme_wheel(wheels) -> Path:
    return build_wheel(PACK, wheels)


@pytest.fixture(scope="module")
def acme_env(tmp_path_factory, acme_wheel) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv") / "acme", acme_wheel)


def test_the_wheel_holds_the_plugin_its_entry_point_and_the_board_file(acme_wheel):
    with zipfile.ZipFile(acme_wheel) as wheel:
        names = wheel.namelist()
        entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "acme_boards/boards/acme-f401.toml" in names and "acme_boards/__init__.py" in names
    assert "[polyboard]" in entry_points and "acme_boards = acme_boards" in entry_points


def test_the_project_environment_does_not_see_the_pack(tmp_path):
    """The pack is installed only into the test's venv: the repository's .venv is untouched."""
    result = run_scons(outside_tree(tmp_path / "fw"), "-Q", "boards", timeout=120)
    assert result.returncode == 0, result.output
    assert "acme-f401" not in result.stdout and "stm32f4.toml (pack polyboard)" in result.stdout


@pytest.fixture(scope="module")
def acme_built(acme_env, tmp_path_factory) -> Path:
    """An outside tree with acme-f401 built: its cargo folders also serve the pack-folder check."""
    tree = outside_tree(tmp_path_factory.mktemp("acme") / "my firmware")
    built = scons(acme_env, tree, "-j2", "board=acme-f401", timeout=1800)
    assert built.returncode == 0, built.output
    return tree


@pytest.mark.toolchain
def test_pack_board_is_listed_resolved_built_and_run_from_an_outside_tree(acme_env, acme_built):
    tree = acme_built
    listing = scons(acme_env, tree, "-Q", "boards")
    assert listing.returncode == 0, listing.output
    row = next(line for line in listing.stdout.splitlines() if line.startswith("acme-f401 "))
    assert "acme-f401.toml (pack acme-boards)" in row and "512 KiB" in row and "96 KiB" in row
    assert "netduinoplus2" in row
    listed = {r["id"]: r for r in json.loads(scons(acme_env, tree, "-Q", "boards", "query=acme", "format=json").stdout)}
    assert list(listed) == ["acme-f401"]
    assert listed["acme-f401"]["from"] == "pack acme-boards"
    assert listed["acme-f401"]["file"].endswith("site-packages/acme_boards/boards/acme-f401.toml")
    assert (listed["acme-f401"]["flash"], listed["acme-f401"]["ram"]) == (0x8_0000, 0x1_8000)

    info = json.loads(scons(acme_env, tree, "-Q", "board=acme-f401", "info", "format=json").stdout)
    assert info["sources"] == ["acme-f401.toml (pack acme-boards)", "stm32f4.toml (pack polyboard)",
                               "cortex-m.toml (pack polyboard)"]
    values = info["values"]
    assert values["memory.regions.FLASH.length"] == {"value": 0x8_0000, "from": "acme-f401.toml (pack acme-boards)"}
    assert values["memory.regions.FLASH.origin"] == {"value": 0x800_0000, "from": "stm32f4.toml (pack polyboard)"}
    assert "memory.regions.CCM.origin" not in values, "the pack's empty table removes the inherited region"

    run = scons(acme_env, tree, "-j2", "board=acme-f401", "run", timeout=600)
    assert run.returncode == 0, run.output
    assert "[acme-f401] crc32(123456789) = cbf43926" in run.stdout
    assert "[acme-f401] OK: 0 check(s) failed" in run.stdout
    table = (tree / "build" / "acme-f401" / "firmware.memory.txt").read_text()
    assert "524288 B" in table and "98304 B" in table and "CCM" not in table


BETA_F401 = 'inherits = "acme-f401"\ndescription = "Beta low-power variant of ACME F401"\n\n' \
            "[memory.regions.RAM]\nlength = 0x1_0000\n"
CLASH = 'inherits = "stm32f4"\ndescription = "Beta\'s own acme-f401"\n'


@pytest.fixture(scope="module")
def beta_wheels(tmp_path_factory, wheels) -> dict[str, Path]:
    """Three more packs: one inheriting acme's board, one giving acme's board id again, one broken."""
    folder = tmp_path_factory.mktemp("packs")
    made = {
        "beta": pack_project(folder / "beta-boards", "beta-boards", {"beta-f401-lp": BETA_F401}),
        "clash": pack_project(folder / "clash-boards", "clash-boards", {"acme-f401": CLASH}),
        "broken": pack_project(folder / "broken-boards", "broken-boards", {},
                               plugin="import acme_vendor_sdk  # not installed\n"),
        "bad-type": pack_project(folder / "bad-boards", "bad-boards", {
            "bad-f401": 'inherits = "acme-f401"\ndescription = "bad"\n\n[memory.regions.RAM]\nlength = "96K"\n'}),
        "bad-toml": pack_project(folder / "worse-boards", "worse-boards", {"worse": 'inherits = "stm32f4\n'}),
    }
    return {name: build_wheel(project, wheels) for name, project in made.items()}


def test_a_pack_board_inherits_another_packs_board(tmp_path, acme_wheel, beta_wheels):
    python = make_venv(tmp_path / "venv", acme_wheel, beta_wheels["beta"])
    tree = outside_tree(tmp_path / "fw")
    info = json.loads(scons(python, tree, "-Q", "board=beta-f401-lp", "info", "format=json").stdout)
    assert info["sources"][:3] == ["beta-f401-lp.toml (pack beta-boards)", "acme-f401.toml (pack acme-boards)",
                                   "stm32f4.toml (pack polyboard)"]
    assert info["values"]["memory.regions.RAM.length"]["from"] == "beta-f401-lp.toml (pack beta-boards)"
    assert info["values"]["memory.regions.FLASH.length"]["from"] == "acme-f401.toml (pack acme-boards)"


def test_two_packs_defining_one_board_is_an_error_naming_both(tmp_path, acme_wheel, beta_wheels):
    python = make_venv(tmp_path / "venv", acme_wheel, beta_wheels["clash"])
    tree = outside_tree(tmp_path / "fw")
    line = one_error_line(scons(python, tree, "-Q", "boards"))
    assert "two board packs define board 'acme-f401'" in line
    assert "pack acme-boards (" in line and "pack clash-boards (" in line
    assert "acme_boards/boards/acme-f401.toml" in line and "clash_boards/boards/acme-f401.toml" in line
    assert not (tree / "build").exists()

    # The tree's own boards/acme-f401.toml overrides both packs' (docs/board-vendors.md).
    write(tree / "boards" / "acme-f401.toml", 'inherits = "stm32f4"\ndescription = "the tree\'s own"\n')
    listed = json.loads(scons(python, tree, "-Q", "boards", "query=acme", "format=json").stdout)
    assert [(r["id"], r["from"], r["description"]) for r in listed] == [("acme-f401", "tree", "the tree's own")]


def test_a_pack_whose_entry_point_fails_to_import_is_named(tmp_path, beta_wheels):
    python = make_venv(tmp_path / "venv", beta_wheels["broken"])
    line = one_error_line(scons(python, outside_tree(tmp_path / "fw"), "-Q", "boards"))
    assert "plugin broken_boards (distribution broken-boards)" in line
    assert "ModuleNotFoundError" in line and "acme_vendor_sdk" in line


def test_a_pack_board_file_with_errors_names_the_pack_and_the_file(tmp_path, acme_wheel, beta_wheels):
    python = make_venv(tmp_path / "venv", acme_wheel, beta_wheels["bad-type"], beta_wheels["bad-toml"])
    tree = outside_tree(tmp_path / "fw")
    # TOML syntax: found when the board files are read, whichever board is asked for.
    line = one_error_line(scons(python, tree, "-Q", "board=stm32f4", "info"))
    assert "worse.toml (pack worse-boards): malformed TOML" in line
    for worse in (tmp_path / "venv").rglob("worse_boards/boards/worse.toml"):
        worse.write_text('inherits = "stm32f4"\ndescription = "fixed"\n')
    # A wrong value: found when that board is loaded; the file that set it is named.
    line = one_error_line(scons(python, tree, "-Q", "board=bad-f401", "info"))
    assert "bad-f401.toml (pack bad-boards): memory.regions.RAM.length: expected an integer" in line


@pytest.mark.toolchain
def test_check_board_in_a_packs_folder_builds_the_reference_firmware_polyboard_ships(acme_env, acme_built,
                                                                                     tmp_path):
    """The pack's folder has no src/: its SConstruct declares nothing, so check-board builds the
    reference firmware shipped as polyboard's package data (copied under build/.reference/)."""
    folder = tmp_path / "acme pack"
    shutil.copytree(PACK, folder, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    assert not (folder / "src").exists()
    # cargo's build-std output for the board's target, as another tree built it (the kernel crate
    # is at another path here, so cargo rebuilds it; core and alloc are reused)
    copy_built_tree(acme_built / "build" / ".cargo", folder / "build" / ".cargo")
    checked = scons(acme_env, folder, "-j2", "board=acme-f401", "check-board", timeout=1800)
    assert checked.returncode == 0, checked.output
    assert "checking with polyboard's reference firmware (build/.reference/" in checked.stdout
    assert "check-board acme-f401: PASS" in checked.stdout
    assert re.search(r"initial SP at top of RAM +pass +word 0 = 0x20018000, top of RAM = 0x20018000", checked.stdout)
    assert re.search(r"runs in the emulator +pass +qemu-system-arm: exit 0, .*OK: 0 check\(s\) failed", checked.stdout)
    assert (folder / "build" / ".reference" / "src" / "firmware" / "main.c").read_bytes() == \
        (REPO / "src" / "firmware" / "main.c").read_bytes()

    log = tmp_path / "spawn.log"
    again = scons(acme_env, folder, "-j2", "board=acme-f401", "check-board", env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert again.returncode == 0, again.output
    assert spawned_processes(log) == [], "a repeat is a null build"
    assert "check-board acme-f401: PASS" in again.stdout


def test_the_reference_firmware_is_the_shipped_sconstructs_components():
    """What a pack's folder checks with is replayed from the reference SConstruct, paths moved."""
    calls = reference.declarations(REPO / "SConstruct")
    assert [(kind, name) for kind, name, _ in calls][:3] == [("rust_staticlib", "kernel"), ("c_firmware", "firmware"),
                                                             ("c_firmware", "firmware-test")]
    assert calls[1][2] == {"sources": ["src/firmware/startup.c", "src/firmware/main.c", "src/firmware/trace.c"],
                           "libs": ["kernel"]}
    assert reference.shipped_tree() is not None


def test_no_shipped_reference_firmware_is_one_error(monkeypatch, tmp_path):
    monkeypatch.setattr(reference, "shipped_tree", lambda: None)
    with pytest.raises(PolyboardError, match="ships no reference firmware"):
        reference.declare(SimpleNamespace(root=tmp_path))
    assert not (tmp_path / "build").exists()
