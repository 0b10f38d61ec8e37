"""The artifact manifest: ``build/<board>/manifest.json`` and ``build/manifest.json`` (docs/manifest.md).

What a build shipped, as data a CI job or a person can check later: every artifact's path, size
and sha256, each program's memory regions (or, on Linux, sections) split into components, the
toolchains and options it was built with, and the source revision. The schema is versioned
(``docs/manifest.schema.json``); a reader refuses another version with one line.

Also the readers of manifests: the ``scons sizes`` table and ``scons size-diff`` (text and
Markdown). Pure data in, text out: no SCons, no process.
"""

from __future__ import annotations

import json
import os

from .errors import PolyboardError

SCHEMA = "polyboard-manifest"
VERSION = 1
# A program's ABI record (the ABI checks plugin writes it, docs/abi.md): the manifest carries it
# under "abi" instead of listing it as an artifact, so one saved manifest is the baseline of
# both ``size-diff`` and ``abi-diff``.
ABI_RECORD_SUFFIX = ".abi.json"


def write_json(path: str, data: dict) -> None:
    """Written whole or not at all (a killed build never leaves half a manifest)."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=False)
        handle.write("\n")
    os.replace(temporary, path)


def board_manifest(*, board: dict, revision: dict | None, options: dict, toolchains: list[dict],
                   artifacts: list[dict], programs: list[dict], abi: dict | None = None) -> dict:
    data = {"schema": SCHEMA, "version": VERSION, "board": board, "revision": revision, "options": options,
            "toolchains": toolchains, "artifacts": artifacts, "programs": programs}
    if abi:
        data["abi"] = abi
    return data


def tree_manifest(boards: list[dict]) -> dict:
    return {"schema": SCHEMA, "version": VERSION, "boards": {b["board"]["id"]: b for b in boards}}


DIFF_FORMATS = ("text", "markdown")


def diff_baseline(verb: str, board_ids: list[str], arguments: dict, baseline: str, root: str) -> dict[str, dict]:
    """The checked input of a diff verb (``size-diff``, ``abi-diff``): ``format=`` and the
    ``baseline=`` manifest, which must share a board with this build; each fault is one line."""
    fmt = arguments.get("format", "text")
    if fmt not in DIFF_FORMATS:
        raise PolyboardError(f"{verb} prints {' or '.join(DIFF_FORMATS)}; choose one of {', '.join(DIFF_FORMATS)}",
                             where=f"format={fmt}")
    if not baseline:
        raise PolyboardError(f"{verb} needs baseline=MANIFEST (a manifest.json from another revision)",
                             where="command line")
    old = load(os.path.join(root, baseline), where=f"baseline={baseline}")
    if not set(old) & set(board_ids):
        raise PolyboardError(f"the baseline has boards {', '.join(sorted(old))}, this build "
                             f"{', '.join(sorted(board_ids))}: no board to compare", where=f"baseline={baseline}")
    return old


def load(path: str, *, where: str) -> dict[str, dict]:
    """A per-board or whole-tree manifest as ``{board id: board manifest}``; a file that is not
    one is one line naming it (*where*: the option that gave it, e.g. ``baseline=...``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise PolyboardError("no such file; give a manifest.json written by a build", where=where) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PolyboardError(f"not a JSON manifest ({exc})", where=where) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise PolyboardError(f"not a polyboard manifest (no \"schema\": \"{SCHEMA}\")", where=where)
    if data.get("version") != VERSION:
        raise PolyboardError(f"manifest schema version {data.get('version')!r}; this polyboard reads version "
                             f"{VERSION} (rebuild the baseline with this version)", where=where)
    if "boards" in data and isinstance(data["boards"], dict):
        return data["boards"]
    if isinstance(data.get("board"), dict) and "id" in data["board"]:
        return {data["board"]["id"]: data}
    raise PolyboardError("a manifest with neither \"board\" nor \"boards\"", where=where)


# -- scons sizes --------------------------------------------------------------------------------

def _table(rows: list[tuple], right: set[int]) -> list[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
                             for i, c in enumerate(row)).rstrip() for row in rows]


def sizes_text(manifest: dict) -> str:
    """Each program's regions, split into components, largest first (``scons sizes``)."""
    lines = []
    board = manifest["board"]["id"]
    for program in manifest["programs"]:
        lines.append(f"{program['path']} ({board}):")
        rows = [("Region", "Component", "Bytes", "Share")]
        for region in program["regions"]:
            of = f"{region['percent']:.2f}% of {region['size']} B" if region.get("size") else ""
            rows.append((region["name"], "(total)", f"{region['used']} B", of))
            for component, size in region["components"].items():
                share = f"{100.0 * size / region['used']:.1f}%" if region["used"] else ""
                rows.append(("", component, f"{size} B", share))
        lines += _table(rows, {2, 3})
        biggest = sorted(((s["bytes"], c, s["name"]) for c, ss in program.get("symbols", {}).items() for s in ss[:1]),
                         reverse=True)[:5]
        if biggest:
            lines.append("  largest symbols: " + ", ".join(f"{name} ({size} B, {c})" for size, c, name in biggest))
    return "\n".join(lines) + "\n"


# -- scons size-diff ----------------------------------------------------------------------------

def diff_rows(old: dict[str, dict], new: dict[str, dict]) -> list[tuple]:
    """(board, program, region, component, old, new, delta) for every component that changed,
    each region's total first, largest change first; a whole program or board that is new or
    gone shows as such (old or new 0)."""
    rows = []
    for board_id in sorted(set(old) | set(new)):
        old_programs = {p["path"]: p for p in old.get(board_id, {}).get("programs", [])}
        new_programs = {p["path"]: p for p in new.get(board_id, {}).get("programs", [])}
        for path in sorted(set(old_programs) | set(new_programs)):
            before = {r["name"]: r for r in old_programs.get(path, {}).get("regions", [])}
            after = {r["name"]: r for r in new_programs.get(path, {}).get("regions", [])}
            for region in list(after) + [r for r in before if r not in after]:
                a, b = before.get(region, {}), after.get(region, {})
                parts = []
                for component in set(a.get("components", {})) | set(b.get("components", {})):
                    x, y = a.get("components", {}).get(component, 0), b.get("components", {}).get(component, 0)
                    if x != y:
                        parts.append((board_id, path, region, component, x, y, y - x))
                parts.sort(key=lambda r: (-abs(r[6]), r[3]))
                x, y = a.get("used", 0), b.get("used", 0)
                if x != y or parts:
                    rows.append((board_id, path, region, "(total)", x, y, y - x))
                    rows.extend(parts)
    return rows


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def diff_text(rows: list[tuple], boards: list[str]) -> str:
    if not rows:
        return f"polyboard: size-diff: no size changed on {', '.join(boards)}\n"
    shown = [("Board", "Program", "Region", "Component", "Old", "New", "Delta")]
    shown += [(b, p, r, c, f"{x} B", f"{y} B", _signed(d)) for b, p, r, c, x, y, d in rows]
    return "\n".join(_table(shown, {4, 5, 6})) + "\n"


def diff_markdown(rows: list[tuple], boards: list[str]) -> str:
    """A table a CI job posts on a pull request as it is."""
    title = "### Size changes"
    if not rows:
        return f"{title}\n\nNo size changed on {', '.join(f'`{b}`' for b in boards)}.\n"
    lines = [title, "", "| Board | Program | Region | Component | Old | New | Delta |",
             "| --- | --- | --- | --- | ---: | ---: | ---: |"]
    for b, p, r, c, x, y, d in rows:
        component = f"**{c}**" if c == "(total)" else f"`{c}`"
        lines.append(f"| {b} | `{p}` | {r} | {component} | {x} | {y} | {_signed(d)} |")
    return "\n".join(lines) + "\n"
