"""ACME's board pack for polyboard: its plugin adds the ``boards/`` folder beside this file.

polyboard imports this module through the ``polyboard`` entry point (pyproject.toml) and calls
``polyboard_register``; the boards are then listed as ``pack acme-boards`` by ``scons boards``.
"""

from pathlib import Path

from polyboard import hookimpl


@hookimpl
def polyboard_register(registry):
    registry.add_board_dir(Path(__file__).resolve().parent / "boards")
