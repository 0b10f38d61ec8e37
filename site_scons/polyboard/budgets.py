"""Size budgets: the ``[budgets]`` board table, and the check of a program's sizes against it.

A budget is a ceiling in bytes or in percent of the region (``FLASH = "80%"``, ``RAM = "96 KiB"``,
``CCM = 4096``), per memory region, and optionally per component (``kernel = "16 KiB"``: the
component's bytes summed over the regions of a program). ``warn`` (a percent of each budget)
prints a warning before a budget is reached. Budgets are data from board files: checked when the
board is loaded (a region that does not exist, a value that is not a size), compared when a
program's size report is built (an exceeded budget fails the build with one line).
"""

from __future__ import annotations

import os
import re
import tomllib
from typing import Any

import attrs

from .errors import PolyboardError

TABLE = "budgets"
_VALUE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|B|KiB|MiB|kB|KB|MB)?\s*$")
_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024 * 1024, "kB": 1000, "KB": 1000, "MB": 1000 * 1000}
EXPECTED = 'expected a size in bytes (65536, "64 KiB", "1 MiB") or a percent of the region ("80%")'


@attrs.frozen
class Budgets:
    """The ``[budgets]`` board table (docs/boards.md)."""

    regions: Any = attrs.field(factory=dict)     # region name -> size or percent
    components: Any = attrs.field(factory=dict)  # component name -> size
    warn: Any = None                             # a percent of each budget: warn from there on


@attrs.frozen
class Limit:
    """One budget, resolved: *bytes* for a region of known size; *text* as the file wrote it."""

    key: str      # "budgets.regions.FLASH"
    text: str
    bytes: int
    file: str


def parse(value: object, *, region_size: int | None, key: str) -> int:
    """Bytes allowed by *value* (an int, or a string with a unit or a percent of *region_size*)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PolyboardError(f"{value!r} is not a size; {EXPECTED}", key=key)
    if isinstance(value, int):
        if value < 0:
            raise PolyboardError(f"{value!r} is not a size; {EXPECTED}", key=key)
        return value
    match = _VALUE.match(value)
    if not match:
        raise PolyboardError(f"{value!r} is not a size; {EXPECTED}", key=key)
    number, unit = float(match[1]), match[2]
    if unit == "%":
        if region_size is None:
            raise PolyboardError(f"{value!r}: a percent needs a region of known size; give bytes", key=key)
        return int(region_size * number / 100)
    return int(number * _UNITS[unit])


def check(table: Budgets, board) -> None:
    """The board-file check (``registry.add_board_table``): regions exist, values are sizes."""
    if not isinstance(table.regions, dict) or not isinstance(table.components, dict):
        raise PolyboardError("expected a table, e.g. regions = { FLASH = \"80%\" }",
                             key=f"{TABLE}.regions" if not isinstance(table.regions, dict) else f"{TABLE}.components")
    sizes = {r.name: r.length for r in board.memory.regions} if board.memory is not None else {}
    for name, value in table.regions.items():
        if name not in sizes:
            valid = ", ".join(sizes) or "none: the board has no [memory] regions"
            raise PolyboardError(f"no memory region {name!r}; valid regions: {valid}", key=f"{TABLE}.regions.{name}")
        parse(value, region_size=sizes[name], key=f"{TABLE}.regions.{name}")
    for name, value in table.components.items():
        if isinstance(value, str) and value.strip().endswith("%"):
            raise PolyboardError(f"{value!r}: a component budget is a size, not a percent; {EXPECTED}",
                                 key=f"{TABLE}.components.{name}")
        parse(value, region_size=None, key=f"{TABLE}.components.{name}")
    if table.warn is not None:
        if not isinstance(table.warn, str) or not table.warn.strip().endswith("%"):
            raise PolyboardError(f"{table.warn!r} is not a percent (e.g. \"90%\")", key=f"{TABLE}.warn")
        parse(table.warn, region_size=100, key=f"{TABLE}.warn")


def limits(board, root, sconstruct: list = ()) -> tuple[dict[str, Limit], dict[str, Limit], float | None]:
    """(region limits, component limits, warn fraction) of *board*, each naming the file that set
    it (the nearest file of the board's chain with that key). *sconstruct*: ``(name, Budgets)``
    of the SConstruct's ``project.size_budget(...)`` calls for this board. Every budget applies:
    where the board file and the SConstruct both limit a region or component, the smaller wins
    (and the message names the one that did); the smallest ``warn`` too."""
    regions, components, warn = _board_limits(board, root)
    sizes = {r.name: r.length for r in board.memory.regions} if board.memory is not None else {}
    for name, table in sconstruct:
        label = f"size_budget {name!r}"
        for group, found in (("regions", regions), ("components", components)):
            for key, value in getattr(table, group).items():
                limit = Limit(f"{label} {group}.{key}", str(value),
                              parse(value, region_size=sizes.get(key) if group == "regions" else None,
                                    key=f"{group}.{key}"), "SConstruct")
                if key not in found or limit.bytes < found[key].bytes:
                    found[key] = limit
        if table.warn is not None:
            fraction = parse(table.warn, region_size=100, key="warn") / 100
            warn = fraction if warn is None else min(warn, fraction)
    return regions, components, warn


def _board_limits(board, root) -> tuple[dict[str, Limit], dict[str, Limit], float | None]:
    table = board.table(TABLE)
    if table is None:
        return {}, {}, None
    sizes = {r.name: r.length for r in board.memory.regions} if board.memory is not None else {}

    def file_of(group: str, name: str) -> str:
        for path in board.sources:  # child first, as errors show them (relative to the tree)
            try:
                with open(os.path.join(root, path), "rb") as handle:
                    data = tomllib.load(handle)
            except (OSError, tomllib.TOMLDecodeError):
                continue
            section = data.get(TABLE, {}).get(group, {}) if isinstance(data.get(TABLE), dict) else {}
            if isinstance(section, dict) and name in section:
                return path
        return board.path

    regions = {name: Limit(f"{TABLE}.regions.{name}", str(value),
                           parse(value, region_size=sizes.get(name), key=f"{TABLE}.regions.{name}"),
                           file_of("regions", name)) for name, value in table.regions.items()}
    components = {name: Limit(f"{TABLE}.components.{name}", str(value),
                              parse(value, region_size=None, key=f"{TABLE}.components.{name}"),
                              file_of("components", name)) for name, value in table.components.items()}
    warn = parse(table.warn, region_size=100, key=f"{TABLE}.warn") / 100 if table.warn is not None else None
    return regions, components, warn


def over(used: int, limit: Limit) -> bool:
    return used > limit.bytes


def message(program: str, what: str, used: int, limit: Limit) -> str:
    return (f"{program}: {what} uses {used} B, over its budget of {limit.bytes} B "
            f"({limit.key} = {limit.text!r} in {limit.file})")
