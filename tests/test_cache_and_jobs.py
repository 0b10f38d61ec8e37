"""CI features: a shared build cache between checkouts at different paths, the -j job budget,
and shards.

* Cache: checkout A builds with ``SCONS_CACHE_DIR``; a clean checkout B at another path builds
  the same boards by fetching every target, starting no process at all, and its outputs are
  bit-identical to A's.
* Budget: A's build runs under strace; at no moment do more compiler processes (cc1, as, ld,
  rustc, Go's compile/asm) run than ``-j`` allows, cargo's and go's own parallelism included.
* Shards: ``shard=K/N list`` splits ``board=all`` with no overlap and no gap.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import SCONS, child_env, copy_built_tree, copy_tree, run_scons, spawned

BOARDS = "stm32f4,lm3s6965,rpi4"
WORKERS = {"cc1", "as", "ld", "rustc", "compile", "asm"}


def products(tree: Path) -> dict[str, str]:
    return {p.relative_to(tree).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((tree / "build").rglob("*"))
            if p.is_file() and not p.relative_to(tree / "build").parts[0].startswith(".")}


def max_concurrent_workers(trace: str) -> int:
    """Peak number of worker processes alive at once, counting a worker that waits on a worker
    child (rustc linking a build script, gcc's collect2/ld) as one job.

    Reads ``strace -f -e trace=execve,clone,clone3,vfork,fork`` output (without ``-qq``, which
    hides the exit lines), including calls split into ``<unfinished ...>``/``<... resumed>``."""
    parent: dict[str, str] = {}
    name: dict[str, str] = {}
    pending: dict[str, str] = {}
    alive: set[str] = set()
    peak = 0
    call = re.compile(r"^(\d+) +(?:<\.\.\. )?(execve|clone3?|vfork|fork)")
    result = re.compile(r"\) += (\d+)$")
    path = re.compile(r'execve\("([^"]+)"')
    exited = re.compile(r"^(\d+) +\+\+\+ (?:exited|killed)")

    def is_job(pid: str) -> bool:
        if name.get(pid) not in WORKERS:
            return False
        ancestor = parent.get(pid)
        while ancestor is not None:
            if ancestor in alive and name.get(ancestor) in WORKERS:
                return False
            ancestor = parent.get(ancestor)
        return True

    for line in trace.splitlines():
        if m := exited.match(line):
            alive.discard(m.group(1))
            continue
        m = call.match(line)
        if not m:
            continue
        pid, syscall = m.groups()
        if syscall == "execve":
            if p := path.search(line):
                pending[pid] = p.group(1)
            if (r := result.search(line)) and r.group(1) == "0" and pid in pending:
                name[pid] = Path(pending.pop(pid)).name
                alive.add(pid)
                peak = max(peak, sum(1 for other in alive if is_job(other)))
        elif r := result.search(line):
            parent[r.group(1)] = pid
            alive.add(r.group(1))
    return peak


@pytest.mark.toolchain
def test_second_checkout_fetches_everything_from_the_shared_cache(tree, tmp_path):
    cache = tmp_path / "cache"
    # Runner A: the session tree's tool caches (cargo's core, Go's cache) but none of polyboard's
    # outputs, so every target is built (and pushed to the cache) by this run, under strace.
    first = copy_built_tree(tree.path, tmp_path / "runner-a" / "tree")
    for path in (first / "build").iterdir():
        if not path.name.startswith("."):
            shutil.rmtree(path) if path.is_dir() else path.unlink()  # build/manifest.json is a file
    for path in first.glob(".sconsign*"):
        path.unlink()
    trace = tmp_path / "strace.log"
    build_a = subprocess.run(
        ["strace", "-f", "-e", "trace=execve,clone,clone3,vfork,fork", "-o", str(trace),
         str(SCONS), f"boards={BOARDS}", "-j2"],
        cwd=first, env=child_env(SCONS_CACHE_DIR=str(cache)), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    assert build_a.returncode == 0, build_a.stdout
    assert re.search(r"^CC ", build_a.stdout, re.MULTILINE) and "CARGO" in build_a.stdout
    peak = max_concurrent_workers(trace.read_text())
    assert 1 <= peak <= 2, f"-j2 ran {peak} compiler processes at once"

    # Runner B: a clean checkout at another path, nothing built, same cache.
    second = copy_tree(tmp_path / "runner-b" / "somewhere" / "else")
    spawn_log = tmp_path / "spawn.log"
    build_b = run_scons(second, f"boards={BOARDS}", "-j2",
                        env=child_env(SCONS_CACHE_DIR=str(cache), POLYBOARD_SPAWN_LOG=str(spawn_log)))
    assert build_b.returncode == 0, build_b.output
    assert "Retrieved" in build_b.stdout
    assert spawned(spawn_log) == "", spawned(spawn_log)
    assert not re.search(r"^(CC|CARGO|GO|LINK) ", build_b.stdout, re.MULTILINE), build_b.stdout
    # The memory table is in runner B's log too, read from the fetched report.
    assert "Memory usage of build/stm32f4/firmware.elf (stm32f4, from the cache):" in build_b.stdout
    table = (second / "build" / "stm32f4" / "firmware.memory.txt").read_text()
    assert table in build_b.stdout and table.startswith("Region")
    assert products(first) == products(second)


@pytest.mark.toolchain
def test_same_sources_give_bit_identical_firmware_from_any_checkout_path(tree, tmp_path):
    """Without a cache: a cold build at another path compiles to the session tree's bytes."""
    other = copy_tree(tmp_path / "b" / "deeper" / "path")
    result = run_scons(other, "board=stm32f4")
    assert result.returncode == 0, result.output
    mine = products(other)
    theirs = {k: v for k, v in products(tree.path).items() if k.startswith("build/stm32f4/")}
    assert "build/stm32f4/firmware.elf" in mine
    assert mine == theirs
    elf = (other / "build/stm32f4/firmware.elf").read_bytes()
    assert str(other).encode() not in elf


def test_max_concurrent_workers_counts_nested_workers_once():
    trace = "\n".join([
        '10 clone(child_stack=NULL) = 11',
        '11 execve("/usr/bin/rustc", ["rustc"], 0x0 /* 1 var */ <unfinished ...>',
        '10 clone(child_stack=NULL) = 13',
        '11 <... execve resumed>) = 0',
        '11 clone3({flags=CLONE_VM}, 88) = 12',
        '12 execve("/usr/bin/ld", ["ld"], 0x0 /* 1 var */) = 0',  # rustc linking: still one job
        '13 execve("/usr/lib/gcc/cc1", ["cc1"], 0x0 /* 1 var */) = 0',  # a second job
        '12 +++ exited with 0 +++',
        '11 +++ exited with 0 +++',
        '14 execve("/usr/lib/gcc/as", ["as"], 0x0 /* 1 var */) = -1 ENOENT (No such file)',
        '13 +++ exited with 0 +++',
        '10 clone(child_stack=NULL) = 15',
        '15 execve("/usr/lib/gcc/as", ["as"], 0x0 /* 1 var */) = 0',  # alone again
    ])
    assert max_concurrent_workers(trace) == 2


def test_shards_split_all_boards_without_overlap_or_gap(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    everything = run_scons(tree, "board=all", "list")
    assert everything.returncode == 0, everything.output
    all_ids = [line for line in everything.stdout.splitlines() if re.fullmatch(r"[\w-]+", line)]
    assert len(all_ids) >= 5
    for n in (1, 2, 3):
        shards = []
        for k in range(1, n + 1):
            result = run_scons(tree, "board=all", f"shard={k}/{n}", "list")
            assert result.returncode == 0, result.output
            shards.append([line for line in result.stdout.splitlines() if line in all_ids])
        union = [board for shard in shards for board in shard]
        assert sorted(union) == sorted(all_ids), (n, shards)  # no gap, no overlap
        sizes = [len(shard) for shard in shards]
        assert max(sizes) - min(sizes) <= 1, (n, shards)
    assert not (tree / "build").exists()  # list builds nothing
