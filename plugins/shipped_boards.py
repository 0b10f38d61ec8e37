"""Shipped boards plugin: makes the board files that come with polyboard available to every tree.

A firmware tree's own ``boards/`` folder is searched first, so a tree can inherit from a shipped
board (``inherits = "stm32f4"``) or override one by giving its file the same name. The shipped
files are this repository's ``boards/`` folder, next to the ``plugins/`` folder this module lives
in (a source checkout or an editable install); an installation that carries them inside the
package (``polyboard_plugins/boards/``) is served from there.
"""

from __future__ import annotations

from pathlib import Path

from polyboard import hookimpl

_HERE = Path(__file__).resolve().parent
CANDIDATES = (_HERE / "boards", _HERE.parent / "boards")


def shipped_board_dir() -> Path | None:
    """The folder of shipped board files, or None when this installation has none."""
    for candidate in CANDIDATES:
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    return None


@hookimpl
def polyboard_register(registry):
    folder = shipped_board_dir()
    if folder is not None:
        registry.add_board_dir(folder)
