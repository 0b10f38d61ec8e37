"""What the benchmark scripts share: a copy of the reference tree to build in, and a timed scons."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCONS = Path(sys.executable).parent / "scons"
TIMEOUT = 3600


def scons(tree: Path, *args: str) -> float:
    """Run scons quietly in *tree*; the seconds it took (a failure ends the benchmark with its output)."""
    return scons_output(tree, *args)[0]


def scons_output(tree: Path, *args: str) -> tuple[float, str]:
    """:func:`scons`, with what scons printed (stdout and stderr together)."""
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "SCONS_CACHE_DIR"}
    result = subprocess.run([str(SCONS), "-Q", *args], cwd=tree, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    if result.returncode != 0:
        sys.exit(f"bench: scons {' '.join(args)} failed:\n{result.stdout[-3000:]}")
    return time.perf_counter() - started, result.stdout


def copy_reference_tree(tree: Path) -> Path:
    """The repository's SConstruct, framework, plugins, boards and sources (no build/) in *tree*."""
    tree.mkdir(parents=True, exist_ok=True)
    for part in ("SConstruct", "site_scons", "plugins", "boards", "src"):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, tree / part, ignore=shutil.ignore_patterns("__pycache__", "target"))
        else:
            shutil.copy2(source, tree / part)
    return tree
