"""The ABI changelog: what changed in a board's cross-language ABI and memory map since a baseline.

``scons abi-diff baseline=MANIFEST`` (docs/abi.md) compares two board manifests: the ABI records
(``"abi"``: each program's header structs and functions, with layouts) and each firmware's
memory map (``programs[].memory_map``: regions, and which section sits where). Every change is
classified, so a team can keep the output as its changelog and CI can fail on what breaks:

* **breaking**: a function or struct removed; a function's parameters or return changed; a
  struct's size, alignment, a member's offset or type changed, a member added or removed; a
  memory region's origin or length changed, or a region removed; a section moved to another
  region (code that relies on where a buffer lives, e.g. DMA that cannot reach CCM, breaks).
* **compatible**: a function, struct, library or program added; a region added.
* **informational**: a section that grew, shrank, moved inside its region, appeared or went; a
  check switched to another mode.

Pure data in, text out: no SCons, no process.
"""

from __future__ import annotations

import attrs

BREAKING, COMPATIBLE, INFORMATIONAL = "breaking", "compatible", "informational"
SEVERITIES = (BREAKING, COMPATIBLE, INFORMATIONAL)


@attrs.frozen
class Change:
    program: str   # the component (firmware, app, ...)
    area: str      # "ABI" or "memory map"
    severity: str  # one of SEVERITIES
    text: str


def diff(baseline: dict, current: dict) -> list[Change]:
    """Every change between two board manifests, breaking ones first (stable order inside)."""
    changes = _abi_changes(baseline.get("abi") or {}, current.get("abi") or {})
    changes += _memory_changes(baseline.get("programs") or [], current.get("programs") or [])
    return sorted(changes, key=lambda c: SEVERITIES.index(c.severity))


def verdict(changes: list[Change]) -> str:
    if any(c.severity == BREAKING for c in changes):
        return BREAKING
    return COMPATIBLE if changes else "unchanged"


# -- the ABI -----------------------------------------------------------------------------------------

def _abi_changes(old: dict, new: dict) -> list[Change]:
    changes = []
    for program in sorted(set(old) | set(new)):
        before, after = old.get(program), new.get(program)
        if after is None:
            changes.append(Change(program, "ABI", BREAKING, "no ABI record any more (the program is not built)"))
            continue
        if before is None:
            changes.append(Change(program, "ABI", COMPATIBLE, "new program"))
            continue
        for check in sorted(set(before.get("checks", {})) | set(after.get("checks", {}))):
            was = before.get("checks", {}).get(check, {}).get("mode")
            now = after.get("checks", {}).get(check, {}).get("mode")
            if was != now:
                changes.append(Change(program, "ABI", INFORMATIONAL, f"check {check}: {was} -> {now}"))
        changes += _library_changes(program, before.get("libraries", {}), after.get("libraries", {}))
    return changes


def _library_changes(program: str, old: dict, new: dict) -> list[Change]:
    changes = []
    for library in sorted(set(old) | set(new)):
        before, after = old.get(library), new.get(library)
        if after is None:
            changes.append(Change(program, "ABI", BREAKING, f"{library}: no longer linked"))
            continue
        if before is None:
            changes.append(Change(program, "ABI", COMPATIBLE, f"{library}: newly linked"))
            continue
        for kind, noun, describe in (("structs", "struct", describe_struct),
                                     ("functions", "function", describe_function)):
            was_all, now_all = before.get(kind, {}), after.get(kind, {})
            for name in sorted(set(was_all) | set(now_all)):
                was, now = was_all.get(name), now_all.get(name)
                where = f"{library}: {noun} {name}"
                if now is None:
                    changes.append(Change(program, "ABI", BREAKING, f"{where} removed (was {describe(was)})"))
                elif was is None:
                    changes.append(Change(program, "ABI", COMPATIBLE, f"{where} added: {describe(now)}"))
                elif was != now:
                    details = struct_differences(was, now) if kind == "structs" else []
                    text = "; ".join(details) if details else f"{describe(was)} -> {describe(now)}"
                    changes.append(Change(program, "ABI", BREAKING, f"{where} changed: {text}"))
    return changes


def struct_differences(was: dict, now: dict) -> list[str]:
    """What differs between two struct layouts, member by member (matched by name)."""
    found = []
    for key in ("size", "align"):
        if was.get(key) != now.get(key):
            found.append(f"{key} {was.get(key)} -> {now.get(key)}")
    before = {m["name"]: m for m in was.get("members", [])}
    after = {m["name"]: m for m in now.get("members", [])}
    for name, member in before.items():
        other = after.get(name)
        if other is None:
            found.append(f"member '{name}' removed")
        elif (other["offset"], other["type"]) != (member["offset"], member["type"]):
            found.append(f"member '{name}' @{member['offset']} {member['type']} -> @{other['offset']} {other['type']}")
    found += [f"member '{name}' added (@{m['offset']} {m['type']})" for name, m in after.items() if name not in before]
    return found


def describe_struct(entry: dict) -> str:
    members = ", ".join(f"{m['name']}@{m['offset']} {m['type']}" for m in entry.get("members", []))
    return f"{{{members}}} size {entry.get('size')} align {entry.get('align')}"


def describe_function(entry: dict) -> str:
    return f"{entry.get('returns')}({', '.join(entry.get('params', [])) or 'void'})"


# -- the memory map ----------------------------------------------------------------------------------

def _memory_changes(old_programs: list[dict], new_programs: list[dict]) -> list[Change]:
    old = {p.get("component"): p["memory_map"] for p in old_programs if p.get("memory_map")}
    new = {p.get("component"): p["memory_map"] for p in new_programs if p.get("memory_map")}
    changes = []
    for program in sorted(set(old) & set(new)):
        changes += _region_changes(program, old[program]["regions"], new[program]["regions"])
        changes += _section_changes(program, old[program]["sections"], new[program]["sections"])
    return changes


def _by_name(old: list[dict], new: list[dict]):
    """(name, old entry or None, new entry or None) for every name of either list, in their order."""
    before, after = {e["name"]: e for e in old}, {e["name"]: e for e in new}
    for name in [e["name"] for e in old] + [e["name"] for e in new if e["name"] not in before]:
        yield name, before.get(name), after.get(name)


def _region_changes(program: str, old: list[dict], new: list[dict]) -> list[Change]:
    changes = []
    for name, was, now in _by_name(old, new):
        if now is None:
            changes.append(Change(program, "memory map", BREAKING, f"region {name} removed"))
        elif was is None:
            changes.append(Change(program, "memory map", COMPATIBLE,
                                  f"region {name} added: origin {now['origin']:#x}, length {now['length']}"))
        else:
            for key, shown in (("origin", hex), ("length", str)):
                if was[key] != now[key]:
                    changes.append(Change(program, "memory map", BREAKING,
                                          f"region {name}: {key} {shown(was[key])} -> {shown(now[key])}"))
    return changes


def _section_changes(program: str, old: list[dict], new: list[dict]) -> list[Change]:
    changes = []
    for name, was, now in _by_name(old, new):
        if now is None:
            changes.append(Change(program, "memory map", INFORMATIONAL,
                                  f"section {name} gone (was {was['size']} B in {_regions(was)})"))
        elif was is None:
            changes.append(Change(program, "memory map", INFORMATIONAL,
                                  f"section {name} new: {now['size']} B at {now['address']:#x} in {_regions(now)}"))
        elif was["regions"] != now["regions"]:
            changes.append(Change(program, "memory map", BREAKING,
                                  f"section {name} moved from {_regions(was)} to {_regions(now)}"))
        else:
            notes = []
            if was["size"] != now["size"]:
                notes.append(f"{was['size']} -> {now['size']} B ({now['size'] - was['size']:+d})")
            if was["address"] != now["address"]:
                notes.append(f"at {was['address']:#x} -> {now['address']:#x}")
            if notes:
                changes.append(Change(program, "memory map", INFORMATIONAL,
                                      f"section {name} ({_regions(now)}): {', '.join(notes)}"))
    return changes


def _regions(section: dict) -> str:
    return "+".join(section["regions"]) or "no region"


# -- output ------------------------------------------------------------------------------------------

def _counts(changes: list[Change]) -> str:
    return ", ".join(f"{sum(c.severity == s for c in changes)} {s}" for s in SEVERITIES)


def render_text(board: str, baseline: str, changes: list[Change]) -> str:
    lines = [f"ABI and memory map of {board} against {baseline}: {verdict(changes)} ({_counts(changes)})"]
    width = max((len(c.program) for c in changes), default=0)
    lines += [f"  {c.severity:<13} {c.program:<{width}}  {c.area}: {c.text}" for c in changes]
    return "\n".join(lines) + "\n"


def render_markdown(board: str, baseline: str, changes: list[Change]) -> str:
    lines = [f"### ABI and memory map of {board} against `{baseline}`: **{verdict(changes)}**", "",
             _counts(changes), ""]
    if changes:
        lines += ["| change | program | area | what |", "|---|---|---|---|"]
        lines += [f"| {c.severity} | {c.program} | {c.area} | {_cell(c.text)} |" for c in changes]
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def as_json(board: str, baseline: str, changes: list[Change]) -> dict:
    return {"board": board, "baseline": baseline, "verdict": verdict(changes),
            "changes": [attrs.asdict(c) for c in changes]}
