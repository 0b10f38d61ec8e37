"""Wheels and virtual environments for tests of pip-installed packages (board packs, plugins).

A package under test is built into a real wheel (``pip wheel``, offline) and installed into a fresh
virtual environment; the repository's own ``.venv`` never sees it. The new venv's only addition to
the project's (layered in with a ``site.addsitedir`` line, so polyboard, SCons and their
dependencies need no network) is what ``pip install`` put there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from helpers import Result, child_env

PIP_TIMEOUT = 180


def build_wheel(project: Path, out: Path) -> Path:
    """``pip wheel`` of a local project: no network (no index, no build isolation)."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.glob("*.whl"))
    work = out / f"src-{project.name}"
    shutil.copytree(project, work, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "-w", str(out), str(work)], check=True, timeout=PIP_TIMEOUT,
                   cwd=out, stdin=subprocess.DEVNULL)
    wheels = sorted(set(out.glob("*.whl")) - before)
    assert len(wheels) == 1, wheels
    return wheels[0]


def make_venv(folder: Path, *wheels: Path) -> Path:
    """A new virtual environment with *wheels* installed; returns its python."""
    # venv uses the interpreter the project's .venv was made from: the same Python version
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=PIP_TIMEOUT)
    python = folder / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, text=True, stdout=subprocess.PIPE, timeout=60).stdout.strip()
    project_site = sysconfig.get_paths()["purelib"]  # the project's .venv: polyboard, SCons, pip
    (Path(purelib) / "polyboard_project_env.pth").write_text(f"import site; site.addsitedir({project_site!r})\n")
    if wheels:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                        *map(str, wheels)], check=True, timeout=PIP_TIMEOUT, stdin=subprocess.DEVNULL)
    return python


def scons(python: Path, tree: Path, *args: str, timeout: float = 120, env: dict | None = None) -> Result:
    """scons as the venv's python runs it (``python -m SCons``: the venv has no scons script)."""
    done = subprocess.run([str(python), "-m", "SCons", *args], cwd=tree, env=env or child_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr)
