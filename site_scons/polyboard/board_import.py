"""``scons import-board from=<file>``: a board file from another ecosystem's description."""

from __future__ import annotations

IMPORT_BOARD = "import-board"


def import_board(catalog, root, arguments, reserved):
    from .errors import PolyboardError
    raise PolyboardError("not implemented yet", where=f"from={arguments.get('from', '')}")
