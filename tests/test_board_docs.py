"""docs/boards.md's key tables say exactly what the board schema accepts (it drifted once:
documented keys that did nothing, accepted keys that were not documented)."""

from __future__ import annotations

import re

import attrs

from helpers import REPO


def documented_tables() -> dict[str, list[str]]:
    """Each key table of docs/boards.md, by the text that introduces it: its first-column keys."""
    tables: dict[str, list[str]] = {}
    section = heading = previous = ""
    for line in (REPO / "docs" / "boards.md").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("|"):
            if line.startswith("#") or not previous.strip() or previous.startswith("#"):
                heading = line.strip()  # a heading, or the first line of a paragraph
            if line.startswith("#"):
                section = line.strip()
            previous = line
            continue
        previous = line
        match = re.match(r"^\| `([a-z_]+)` \|", line)
        if match:
            tables.setdefault(heading, []).append(match.group(1))
            if heading != section and section not in tables or tables.get(section) is tables.get(heading):
                tables[section] = tables[heading]  # the first table of a section counts for it too
    return tables


def test_every_board_table_documents_exactly_its_keys():
    from polyboard import board, board_files

    expected = {
        "Top-level keys": [f.name for f in attrs.fields(board_files._BoardSpec)
                           if f.name not in ("cpu", "c", "rust", "go", "memory", "emulator", "flash", "checks", "profile")]
        + ["inherits", "abstract"],
        "### `[cpu]`": [f.name for f in attrs.fields(board.Cpu)],
        "### `[c]`": [f.name for f in attrs.fields(board.CToolchain)],
        "### `[rust]`": [f.name for f in attrs.fields(board.Rust)],
        "### `[go]`": [f.name for f in attrs.fields(board.Go)],
        "### `[memory]`": [f.name for f in attrs.fields(board_files._MemorySpec)],
        "Each `[memory.regions.<NAME>]`": [f.name for f in attrs.fields(board_files._RegionSpec)],
        "Regions must not overlap": [f.name for f in attrs.fields(board.Sections)],
        "### `[emulator]`": [f.name for f in attrs.fields(board.Emulator)],
        "### `[flash]`": [f.name for f in attrs.fields(board.Flash)],
        "### `[checks]`": [f.name for f in attrs.fields(board.Checks)],
        "### `[profile.<name>]`": [f.name for f in attrs.fields(board.ProfileRefinement)],
        "The `[profile.<name>.cargo]` table": [f.name for f in attrs.fields(board.CargoSettings)],
    }
    tables = documented_tables()
    for intro, keys in expected.items():
        found = [keys_ for heading, keys_ in tables.items() if heading.startswith(intro)]
        assert found, f"docs/boards.md has no key table after {intro!r}"
        assert sorted(found[0]) == sorted(keys), f"{intro}: documented {sorted(found[0])}, the schema has {sorted(keys)}"
