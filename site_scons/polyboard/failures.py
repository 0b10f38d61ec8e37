"""Which boards a build that kept going failed on (several boards keep going, see project.py).

Read from SCons's own list of build failures after the build, by the folder each failed target
is in (``build/<board>/``): used for the closing line of a plain build and for the ``run``/
``test`` summary's rows of programs that were never run.
"""

from __future__ import annotations

import sys
from pathlib import Path


def failed_targets(root: Path, board_ids: list[str]) -> dict[str, list[str]]:
    """Board id -> the failed targets in its folder (paths relative to *root*, sorted)."""
    from SCons.Script import GetBuildFailures

    failed: dict[str, list[str]] = {}
    for failure in GetBuildFailures():
        path = Path(str(getattr(getattr(failure, "node", None), "abspath", "")))
        folder = path.relative_to(root / "build").parts[0] if path.is_relative_to(root / "build") else ""
        for board_id in board_ids:
            if folder.partition("@")[0] == board_id:  # build/<board>/ or build/<board>@<profile>/
                failed.setdefault(board_id, []).append(str(path.relative_to(root)))
    return {board: sorted(paths) for board, paths in failed.items()}


def report_failed_boards(root: Path, board_ids: list[str]) -> None:
    """One closing line naming the failed boards, so a CI log says where to look."""
    failed = failed_targets(root, board_ids)
    if failed:
        listing = "; ".join(f"{board} ({', '.join(paths)})" for board, paths in sorted(failed.items()))
        sys.stderr.write(f"polyboard: {len(failed)} of {len(board_ids)} boards failed to build: {listing}\n")
        sys.stderr.flush()
