"""The package as another firmware tree gets it: a wheel (not the editable install the suite
runs from) carries the framework, every built-in plugin behind an entry point, and the shipped
board files, so `pip install polyboard` is enough for a tree of one's own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from helpers import REPO


def test_wheel_carries_framework_plugins_and_boards(tmp_path):
    # Built from a copy: setuptools writes build/lib next to pyproject.toml, and tests never
    # write into the repository.
    source = tmp_path / "source"
    for part in ("pyproject.toml", "README.md", "SConstruct", "site_scons", "plugins", "boards", "src"):
        if (REPO / part).is_dir():
            shutil.copytree(REPO / part, source / part, ignore=shutil.ignore_patterns("__pycache__", "target"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(REPO / part, source / part)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
                   check=True, timeout=600, stdout=subprocess.DEVNULL)
    (wheel,) = tmp_path.glob("polyboard-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    shipped = {p.name for p in (REPO / "boards").glob("*.toml")}
    assert {f"polyboard_boards/{name}" for name in shipped} <= names
    assert "polyboard/project.py" in names and "polyboard/hookspec.py" in names
    # the reference firmware, for check-board in a board pack's folder (polyboard/reference.py)
    reference = {f"polyboard_reference/{p.relative_to(REPO).as_posix()}"
                 for p in [REPO / "SConstruct", *(REPO / "src").rglob("*")] if p.is_file() and "target" not in p.parts}
    assert reference <= names, sorted(reference - names)
    for plugin in Path(REPO / "plugins").glob("*.py"):
        if plugin.name != "__init__.py":
            assert f"polyboard_plugins/{plugin.name}" in names
            assert f"= polyboard_plugins.{plugin.stem}" in entry_points, plugin.stem
