"""Fixtures shared by the test suite.

``tree``: one copy of the reference tree per session, built once for every shipped board and
shared by every toolchain test: read-only tests use it as it is, tests that edit files take a
``copy_built_tree`` of it (about two seconds) instead of building from scratch. ``scratch_tree``: a fresh source-only copy for
a test that edits files. ``built_scratch_tree``: a copy of the built session tree for a test that
edits a C file and rebuilds only what changed.

Disk: a built copy is ~1.7 GB, almost all of it cargo's build-std folders. pyproject.toml keeps
only failed tests' folders; ``_drop_tool_caches`` removes the tools' caches from those too, so a
run with many failures still fits the disk and keeps the sources and outputs to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers import TOOL_CACHES, copy_built_tree, copy_tree, run_scons

# Every shipped board, built once: the tests of the three newer architectures, check-board over
# all boards and the reproducibility proof read (or copy) this tree instead of building their own.
SESSION_BOARDS = "stm32f4,lm3s6965,rpi3,rpi4,visionfive2,microbit,mps2-an505,hifive1"
PEAK_DISK_GB = 6  # measured: 4.3 GB at the peak of a full run with five session boards


def pytest_report_header(config):
    """Free space where the trees are built, first thing in the log: a full disk fails at random."""
    import tempfile
    free = shutil.disk_usage(tempfile.gettempdir()).free / 1e9
    warning = "" if free >= PEAK_DISK_GB else f"  WARNING: the suite needs about {PEAK_DISK_GB} GB"
    return f"disk: {free:.1f} GB free in {tempfile.gettempdir()}{warning}"


@pytest.fixture(scope="session")
def tree(tmp_path_factory) -> SimpleNamespace:
    """The reference tree built for every shipped board (``.path``; the build's output in ``.build``)."""
    path = copy_tree(tmp_path_factory.mktemp("session") / "tree")
    result = run_scons(path, f"boards={SESSION_BOARDS}", "-j2")
    assert result.returncode == 0, f"the session build failed:\n{result.output}"
    return SimpleNamespace(path=path, build=result)


@pytest.fixture
def scratch_tree(tmp_path) -> Path:
    """A source-only copy of the reference tree that the test may modify."""
    return copy_tree(tmp_path / "tree")


@pytest.fixture
def built_scratch_tree(tree, tmp_path) -> Path:
    """A modifiable copy of the built session tree (Rust libraries already up to date)."""
    return copy_built_tree(tree.path, tmp_path / "tree")


@pytest.fixture(autouse=True)
def _drop_tool_caches(request):
    """After each test that has a ``tmp_path``, delete the tool caches of any tree built there."""
    path = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if path is not None:
        for cache in TOOL_CACHES:
            for depth in ("*", "*/*", "*/*/*"):  # tmp_path/tree, tmp_path/runner-a/tree, ...
                for folder in path.glob(f"{depth}/{cache}"):
                    shutil.rmtree(folder, ignore_errors=True)
