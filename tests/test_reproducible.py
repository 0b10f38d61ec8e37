"""Reproducibility proof: two clean builds of every shipped board, in two checkouts at different
paths, with a different umask, time zone, SOURCE_DATE_EPOCH and wall-clock time, produce
bit-identical images and programs.

Build #1 is the session tree (tests/conftest.py, built for every shipped board: a copy that is
not a git checkout, so no SOURCE_DATE_EPOCH, the pytest process's umask, UTC). Build #2 is a fresh copy at a deeper,
differently named path (with a space, a quote, a literal ``$HOME`` and non-ASCII letters; its
stm32f4 and rpi4 programs then run in QEMU from there), made a git checkout (so polyboard sets SOURCE_DATE_EPOCH from its
commit), built cold with umask 0077 and TZ=Pacific/Kiritimati (UTC+14), minutes later.
The two lists of sha256 are printed side by side (pytest -s shows them).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from helpers import SCONS, child_env, copy_tree

pytestmark = pytest.mark.toolchain

BOARDS = ("stm32f4", "lm3s6965", "rpi3", "rpi4", "visionfive2", "microbit", "mps2-an505", "hifive1")
PROGRAMS = ("app", "kern-test", "kernel-test/kernel-test")  # Go program, Go and Rust test binaries


def shipped_outputs(tree: Path, boards=BOARDS) -> dict[str, str]:
    """sha256 of every image (.elf/.bin/.hex) and Linux program under build/<board>/."""
    found = {}
    for board in boards:
        folder = tree / "build" / board
        paths = sorted(p for p in folder.iterdir() if p.suffix in (".elf", ".bin", ".hex"))
        paths += [folder / name for name in PROGRAMS if (folder / name).is_file()]
        for path in paths:
            found[str(path.relative_to(tree))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _git_checkout(tree: Path) -> str:
    env = child_env(GIT_AUTHOR_NAME="repro", GIT_AUTHOR_EMAIL="r@e", GIT_COMMITTER_NAME="repro",
                    GIT_COMMITTER_EMAIL="r@e", GIT_COMMITTER_DATE="@1767225600 +0000",
                    GIT_AUTHOR_DATE="@1767225600 +0000")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "checkout B"]):
        subprocess.run(["git", *args], cwd=tree, env=env, check=True, capture_output=True)
    return "1767225600"


def test_two_clean_builds_elsewhere_are_bit_identical(tree, tmp_path):
    from polyboard.board_files import BoardCatalog
    from helpers import REPO

    shipped = BoardCatalog([REPO / "boards"], root=REPO).concrete_ids
    assert sorted(shipped) == sorted(BOARDS), "every shipped board must be in this proof"
    first = shipped_outputs(tree.path)  # build #1: the session tree, free
    assert len(first) >= len(BOARDS) * 3, first

    # A path with a space, a quote, a literal $HOME and non-ASCII letters: data, never interpreted.
    other = copy_tree(tmp_path / "a b" / "it's" / "$HOME" / "ñandú" / "checkout-b")
    epoch = _git_checkout(other)
    env = child_env(TZ="Pacific/Kiritimati")
    env.pop("SOURCE_DATE_EPOCH", None)
    started = time.monotonic()
    result = subprocess.run([str(SCONS), f"boards={','.join(BOARDS)}", "-j2"], cwd=other, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            timeout=3600, preexec_fn=lambda: os.umask(0o077))
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert (other / "build" / ".polyboard" / "source-date-epoch").read_text().split()[1] == epoch
    mode = (other / "build" / "stm32f4" / "firmware.elf").stat().st_mode & 0o777
    assert mode & 0o077 == 0, f"umask 0077 was not in effect (mode {mode:o})"
    second = shipped_outputs(other)

    print(f"\nbuild #1: {tree.path} (session tree); UTC, umask "
          f"{_umask():04o}, no SOURCE_DATE_EPOCH")
    print(f"build #2: {other} (git checkout; TZ=Pacific/Kiritimati, umask 0077, SOURCE_DATE_EPOCH={epoch}, "
          f"cold build {seconds:.0f} s)")
    width = max(len(name) for name in first)
    print(f"{'file'.ljust(width)}  {'sha256 build #1':<64}  {'sha256 build #2':<64}  same")
    for name in sorted(set(first) | set(second)):
        a, b = first.get(name, "(missing)"), second.get(name, "(missing)")
        print(f"{name.ljust(width)}  {a:<64}  {b:<64}  {'yes' if a == b else 'NO'}")
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"not reproducible: {differing}"

    # ... and what was built at that path runs.
    ran = subprocess.run([str(SCONS), "boards=stm32f4,rpi4", "run"], cwd=other, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "[stm32f4] crc32(123456789) = cbf43926" in ran.stdout
    assert "[rpi4] crc32(123456789) = cbf43926" in ran.stdout


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
