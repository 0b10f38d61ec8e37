"""Shipped boards plugin: makes the board files that come with polyboard available to every tree.

A firmware tree's own ``boards/`` folder is searched first, so a tree can inherit from a shipped
board (``inherits = "stm32f4"``) or override one by giving its file the same name. The shipped
files are the ``polyboard_boards`` package's data (this repository's ``boards/`` folder, mapped
in pyproject.toml), so a wheel and an editable install find them the same way.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from polyboard import hookimpl


def shipped_board_dir() -> Path | None:
    """The folder of shipped board files, or None when this installation has none."""
    try:
        folder = Path(str(resources.files("polyboard_boards")))
    except ModuleNotFoundError:
        folder = Path(__file__).resolve().parent.parent / "boards"  # a source tree on sys.path only
    return folder if folder.is_dir() and any(folder.glob("*.toml")) else None


@hookimpl
def polyboard_register(registry):
    folder = shipped_board_dir()
    if folder is not None:
        registry.add_board_dir(folder)
