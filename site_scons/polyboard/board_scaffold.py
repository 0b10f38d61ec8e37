"""``scons new-board id=<id> inherits=<base>``: write a commented board file for a new board.

The file inherits a concrete board and repeats the values a new board almost always changes
(description, memory regions), marked ``CHANGE``; the other inherited values are listed as
comments with the file they come from. Everything is decided while the SConstruct is read (bad
input is one line, exit 2, nothing written); the file is written by the ``new-board`` target's
action, so ``scons -n new-board ...`` writes nothing. The text is loaded as a board before it is
written: what new-board writes passes validation. ``import-board`` (board_import.py) writes its
files through :func:`planned_file` too.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from .board_files import BOARD_ID_PATTERN, BOARD_ID_RULE, BoardCatalog
from .errors import PolyboardError

# Inherited values worth seeing in the new file (as comments): what identifies the chip and runs it.
SHOWN_KEYS = ("cpu.", "rust.target", "go.", "emulator.program", "emulator.machine", "flash.method",
              "flash.openocd_target", "flash.probe_rs_chip")


@attrs.frozen
class PlannedFile:
    """A board file to write: where, what, and the line said once it is written."""

    path: Path
    text: str
    message: str


def check_new_id(catalog: BoardCatalog, board_id: str, root: Path, reserved: tuple[str, ...], option: str) -> Path:
    """The path of a new tree board file for *board_id*: a valid id that no board has yet."""
    given = f"{option}={board_id}"
    if not board_id:
        raise PolyboardError("give the new board's id, e.g. id=acme-f401", where=given)
    if not BOARD_ID_PATTERN.fullmatch(board_id):
        raise PolyboardError(f"{board_id!r} is not a valid board id ({BOARD_ID_RULE} characters)", where=given)
    if board_id in reserved:
        raise PolyboardError(f"board id {board_id!r} is reserved (a keyword on the command line: "
                             f"{', '.join(reserved)})", where=given)
    path = root / "boards" / f"{board_id}.toml"
    if path.exists():
        raise PolyboardError(f"boards/{board_id}.toml already exists; new boards never overwrite a file "
                             "(edit it, or choose another id)", where=given)
    if board_id in catalog.files:
        raise PolyboardError(f"board {board_id!r} already exists ({catalog.shown(board_id)}); a tree file of "
                             "that name would override it: choose another id", where=given)
    return path


def check_base(catalog: BoardCatalog, base: str, option: str = "inherits") -> None:
    if not base:
        raise PolyboardError(f"name the board to start from, e.g. inherits=stm32f4; boards: "
                             f"{', '.join(catalog.concrete_ids)}", where=f"{option}=")
    if base not in catalog.files:
        raise PolyboardError(catalog.unknown_board_error(base).message, where=f"{option}={base}")
    if catalog.files[base].abstract:
        raise PolyboardError(f"board {base!r} is abstract; a new board starts from a concrete one, whose values "
                             f"it copies: {', '.join(catalog.concrete_ids)}", where=f"{option}={base}")


def _hex(value: int) -> str:
    """0x2000_0000: the grouping the shipped board files use."""
    digits = f"{value:x}"
    groups = []
    while digits:
        groups.insert(0, digits[-4:])
        digits = digits[:-4]
    return "0x" + "_".join(groups or ["0"])


def _size(value: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value % size == 0:
            return f"{value // size} {unit}"
    return f"{value} bytes"


def memory_tables(regions, mark: str) -> list[str]:
    lines = []
    for region in regions:
        lines += ["", f"[memory.regions.{region.name}]{mark}", f"origin = {_hex(region.origin)}",
                  f"length = {_hex(region.length)}".ljust(22) + f"# {_size(region.length)}",
                  f'attributes = "{region.attributes}"']
    return lines


def new_board(catalog: BoardCatalog, root: Path, arguments: dict[str, str], reserved: tuple[str, ...]) -> PlannedFile:
    from .listing import resolved

    base = arguments.get("inherits", "")
    board_id = arguments.get("id", "")
    path = check_new_id(catalog, board_id, root, reserved, "id")
    check_base(catalog, base)
    parent = catalog.load(base)
    lines = [
        f"# Board {board_id}: written by `scons new-board id={board_id} inherits={base}`.",
        f"# It inherits every value of {base} ({catalog.shown(base)}); a key set here replaces the",
        "# inherited one, tables merge key by key, and an empty value (\"\", [], {}) removes it.",
        "# Lines marked CHANGE are the ones a new board almost always changes. Keys: docs/boards.md;",
        "# checking the board: `scons board=" + board_id + " check-board` (docs/board-vendors.md).",
        f'inherits = "{base}"',
        f'description = "{board_id}: based on {base}"   # CHANGE: the chip, its core, flash and RAM',
    ]
    if parent.memory is not None:
        lines += ["", "# The memory map (CHANGE: your chip's flash and RAM; sizes in bytes, hex allowed)."]
        lines += memory_tables(parent.memory.regions, "   # CHANGE")
    shown = [(key, value, origin) for key, (value, origin) in resolved(catalog, base).items()
             if key.startswith(SHOWN_KEYS) and value not in ("", [], None)]
    if shown:
        lines += ["", "# Inherited, as they are now (uncomment under the right [table] to change):"]
        from .listing import _show
        lines += [f"#   {key} = {_show(key, value)}   " + (origin if origin.startswith("(") else f"({origin})")
                  for key, value, origin in shown]
    text = "\n".join(lines) + "\n"
    catalog.trial(board_id, text, path)  # what is written passes validation
    return PlannedFile(path, text, f"polyboard: wrote boards/{board_id}.toml (inherits {base}); "
                                   f"check it with: scons board={board_id} check-board")


def write(planned: PlannedFile) -> None:
    """Write without ever replacing a file (a file made since the SConstruct was read included)."""
    planned.path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(planned.path, "x", encoding="utf-8") as handle:
            handle.write(planned.text)
    except FileExistsError:
        raise PolyboardError(f"{planned.path.name} already exists; new boards never overwrite a file",
                             where=str(planned.path)) from None
    print(planned.message)
