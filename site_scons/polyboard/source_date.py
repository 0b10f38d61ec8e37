"""SOURCE_DATE_EPOCH for the tools polyboard starts: the time of the tree's last git commit.

https://reproducible-builds.org/specs/source-date-epoch/: a tool that would embed the current
time embeds this instead. polyboard sets it for its children when the environment does not
already set it and the tree is a git checkout (a ``.git`` folder, or a worktree's ``.git`` file).

A null build starts no process, so this reads git's files instead of running ``git log``: HEAD,
the branch's ref (loose or in packed-refs), and the commit object when it is a loose object
(zlib; the ``committer`` line carries the time). The answer is cached by commit id in
``build/.polyboard/source-date-epoch``; only a commit that is packed and not cached yet costs
one ``git log -1 --format=%ct`` (through spawn.run, so it is counted like any child).
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

from . import spawn

CACHE = Path("build") / ".polyboard" / "source-date-epoch"
_COMMITTER = re.compile(rb"^committer .* (\d+) [+-]\d{4}$", re.M)


def _git_dirs(root: Path) -> tuple[Path, Path] | None:
    """(the checkout's git dir, the common dir holding objects and shared refs)."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git, dot_git
    if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = dot_git.read_text(encoding="utf-8").strip()
        if not text.startswith("gitdir:"):
            return None
        git_dir = (root / text.partition(":")[2].strip()).resolve()
        common = git_dir
        if (git_dir / "commondir").is_file():
            common = (git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()).resolve()
        return git_dir, common
    return None


def head_commit(root: Path) -> tuple[str, Path] | None:
    dirs = _git_dirs(root)
    if dirs is None:
        return None
    git_dir, common = dirs
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head, common
    ref = head.partition(":")[2].strip()
    for folder in (git_dir, common):
        if (folder / ref).is_file():
            return (folder / ref).read_text(encoding="utf-8").strip(), common
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref:
                return parts[0], common
    return None


def _loose_commit_time(common: Path, commit: str) -> str | None:
    path = common / "objects" / commit[:2] / commit[2:]
    try:
        data = zlib.decompress(path.read_bytes())
    except (OSError, zlib.error):
        return None
    match = _COMMITTER.search(data.split(b"\n\n", 1)[0])
    return match.group(1).decode() if match else None


def source_date_epoch(root: Path, env: dict) -> str | None:
    """The last commit's time (seconds), or None when *root* is not a git checkout."""
    found = head_commit(root)
    if found is None:
        return None
    commit, common = found
    cache = root / CACHE
    try:
        cached_commit, _, cached_time = cache.read_text(encoding="utf-8").strip().partition(" ")
        if cached_commit == commit and cached_time.isdigit():
            return cached_time
    except OSError:
        pass
    seconds = _loose_commit_time(common, commit)
    if seconds is None:
        try:
            result = spawn.run(["git", "-C", str(root), "log", "-1", "--format=%ct", commit], env=env,
                               capture=True, timeout=60)
        except OSError:
            return None
        seconds = result.stdout.strip() if result.returncode == 0 else ""
        if not seconds.isdigit():
            return None
    cache.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache.with_name(cache.name + ".tmp")
    temporary.write_text(f"{commit} {seconds}\n", encoding="utf-8")
    os.replace(temporary, cache)
    return seconds
