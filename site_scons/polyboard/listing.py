"""What ``scons boards`` and ``scons board=<id> info`` print: board data only.

Both are read from the board files when the SConstruct is read; neither configures a board, so
they start no process and need no toolchain. ``boards`` is one row per concrete board (``query=``
filters, ``format=json`` for tools); ``info`` is every value of one resolved board, defaults
included, with the file that set it.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs

from .board import Board
from .board_files import BoardCatalog
from .errors import PolyboardError

FORMATS = ("text", "json")
BOARDS_FORMATS = FORMATS + ("markdown",)  # boards only: the table README.md and docs/boards.md hold
DEFAULT = "(default)"


def board_row(catalog: BoardCatalog, board: Board) -> dict:
    """One board as the listing shows it (sizes in bytes; ``None`` where a board has no map)."""
    flash = ram = None
    if board.memory is not None:
        place = board.memory.sections.placements()
        flash = board.memory.region(place["code"]).length
        ram = board.memory.region(place["data"]).length
    languages = ["C"]
    if board.rust is not None and board.rust.target:
        languages.append("Rust")
    if board.go is not None:
        languages.append("Go")
    emulator = "build only"
    if board.emulator is not None:
        emulator = board.emulator.program + (f" -M {board.emulator.machine}" if board.emulator.machine else "")
    cpu = board.cpu.name or _flag_value(board, "-march=") or board.cpu.arch
    return {
        "id": board.id,
        "source": board.path,
        "from": _origin_of_file(catalog, board.id),
        "file": str(catalog.files[board.id].path),
        "description": board.description,
        "os": board.os,
        "arch": board.cpu.arch,
        "cpu": cpu,
        "float_abi": board.cpu.float_abi if board.cpu.arch == "arm" else _flag_value(board, "-mabi=") or board.cpu.float_abi,
        "flash": flash,
        "ram": ram,
        "languages": languages,
        "emulator": emulator,
    }


def _flag_value(board: Board, option: str) -> str:
    """The value of a ``-option=value`` in ``cpu.flags`` (RISC-V's ISA and ABI live there)."""
    for flag in board.cpu.flags:
        if flag.startswith(option):
            return flag[len(option):]
    return ""


def _origin_of_file(catalog: BoardCatalog, board_id: str) -> str:
    """``tree`` for the firmware tree's own boards/ folder, else who added the board's folder:
    ``pack <distribution>`` (``pack polyboard`` for the shipped boards) or ``plugin <name>``."""
    board_file = catalog.files[board_id]
    if board_file.owner:
        return board_file.owner
    folder = board_file.path.parent
    if catalog.root is not None and folder == Path(catalog.root) / "boards":
        return "tree"
    return f"folder {folder}"


def rows(catalog: BoardCatalog, query: str = "") -> list[dict]:
    """Every concrete board whose id, description, CPU or architecture contains *query*."""
    wanted = query.lower()
    result = []
    for board_id in catalog.concrete_ids:
        row = board_row(catalog, catalog.load(board_id))
        haystack = " ".join([row["id"], row["description"], row["cpu"], row["arch"]]).lower()
        if wanted in haystack:
            result.append(row)
    return result


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    if value % (1024 * 1024) == 0:
        return f"{value // (1024 * 1024)} MiB"
    if value % 1024 == 0:
        return f"{value // 1024} KiB"
    return f"{value} B"


def markdown_table(listed: list[dict]) -> str:
    """The board table of README.md and docs/boards.md (tests/test_board_listing.py keeps them
    equal to this, so the documented boards are the board files' own data)."""
    lines = ["| id | description | CPU | float ABI | flash | RAM | languages | emulator |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in listed:
        emulator = f"`{r['emulator']}`" if r["emulator"] != "build only" else "build only"
        description = r["description"].replace("|", "\\|")
        lines.append(f"| `{r['id']}` | {description} | {r['cpu']} | {r['float_abi']} | {_size(r['flash'])} | "
                     f"{_size(r['ram'])} | {', '.join(r['languages'])} | {emulator} |")
    return "\n".join(lines) + "\n"


def boards_text(catalog: BoardCatalog, query: str = "", fmt: str = "text") -> str:
    listed = rows(catalog, query)
    if fmt == "json":
        return json.dumps(listed, indent=2) + "\n"
    if fmt == "markdown":
        return markdown_table(listed)
    if not listed:
        return f"no board matches query={query!r}; boards: {', '.join(catalog.concrete_ids)}\n"
    header = ("Board", "Source", "CPU", "Float ABI", "Flash", "RAM", "Languages", "Emulator")
    table = [header] + [(r["id"], r["source"], r["cpu"], r["float_abi"], _size(r["flash"]), _size(r["ram"]),
                         ", ".join(r["languages"]), r["emulator"]) for r in listed]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table]
    return "\n".join(lines) + "\n"


# -- info: one resolved board, every value with the file it came from ----------------------------

def _flatten(value, prefix: str, out: dict) -> None:
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            if field.name == "name" and prefix.startswith("memory.regions."):
                continue  # the region's name is its key
            _flatten(getattr(value, field.name), f"{prefix}.{field.name}", out)
    elif prefix == "memory.regions":
        for region in value:
            _flatten(region, f"memory.regions.{region.name}", out)
    else:
        out[prefix] = list(value) if isinstance(value, tuple) else value


def resolved(catalog: BoardCatalog, board_id: str) -> dict[str, tuple[object, str]]:
    """Dotted key -> (value, file that set it, or ``(default)``), for every value of the board."""
    board = catalog.load(board_id)
    origins = catalog.origins(board_id)
    values: dict = {}
    for field in attrs.fields(Board):
        if field.name in ("id", "path", "sources", "data"):
            continue
        value = getattr(board, field.name)
        if value is None:
            continue  # a table the board does not have
        _flatten(value, field.name, values)
    return {key: (value, origins.files.get(key, DEFAULT)) for key, value in values.items()}


def _show(key: str, value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and key.startswith(("memory.", "flash.address")) \
            and not key.endswith("timeout"):
        return hex(value)
    return json.dumps(value)


def info_text(catalog: BoardCatalog, board_id: str, fmt: str = "text") -> str:
    board = catalog.load(board_id)
    values = resolved(catalog, board_id)
    if fmt == "json":
        return json.dumps({"id": board_id, "sources": list(board.sources),
                           "values": {k: {"value": v, "from": f} for k, (v, f) in values.items()}}, indent=2) + "\n"
    lines = [f"board {board_id}: {board.description}", f"files (child first): {', '.join(board.sources)}"]
    shown = {key: _show(key, value) for key, (value, _) in values.items()}
    width = min(64, max(len(f"{key} = {text}") for key, text in shown.items()))  # long arrays overhang
    for key, (_, origin) in values.items():
        lines.append(f"{key} = {shown[key]}".ljust(width) + f"   # {origin}")
    return "\n".join(lines) + "\n"


def check_format(value: str, choices: tuple[str, ...] = FORMATS) -> str:
    if value not in choices:
        raise PolyboardError(f"{value!r} is not valid; choose one of {', '.join(choices)}", where=f"format={value}")
    return value
