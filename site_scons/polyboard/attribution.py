"""Where every byte of a linked program comes from: regions (or sections) split into components.

A microcontroller firmware is read from its ELF (which section sits in which memory region, at
its run address and, for initialised data, at its load address too) and its link map (which
input section of which file is in each output section). Each input section is given to a
*component*: a Rust crate (``kernel``, ``core``, ``compiler_builtins``: from the codegen unit's
file name ``<crate>-<hash>.<crate>.<hash>-cgu.N.rcgu.o``, as cargo-bloat names crates), a C
object of the tree by its source file (``src/firmware/main.c``), the C library (``newlib``,
``picolibc``), ``libgcc``, the C start files (``startup``), the gaps ld filled for alignment
(``fill``) and the reserved ``heap`` and ``stack``. What the map does not give to an input
section is ``fill``, so the components of a region add up exactly to the region's total, which
is the memory table's number (:func:`section_regions` is shared with that table).

A Linux program (Go with cgo) has no memory regions: its allocated sections stand for them, and
bytes go to Go packages (``runtime``, ``std``, ``main``, each module package) by symbol name,
to the Rust crates and C objects of the libraries it links (by their archives' symbol index),
and what no symbol covers (pclntab, type data, padding) to ``linker``.

Pure reading, no process; imported only by the actions that build size reports.
"""

from __future__ import annotations

import bisect
import os
import re
from pathlib import PurePosixPath

from . import link_map

VERSION = 2  # in the size reports' signature: a new way of attributing rebuilds them (2: memory_map)
TOP_SYMBOLS = 10
FILL = "fill"
LINKER = "linker"
C_RUNTIME = "c-runtime"  # C symbols of no library of the tree: the C library's static parts, crt files
_RUST_CGU = re.compile(r"^([A-Za-z0-9_]+)-[0-9a-f]{16}\.")  # kernel-e12cf828e0bf7c7e.kernel.<hash>-cgu.0.rcgu.o
_RUST_V0_CRATE = re.compile(r"C(?:s[0-9A-Za-z]*_)?(\d+)")  # a crate root in a v0 mangled path
_MEMBER = re.compile(r"^(.*)\(([^()]*)\)$")
_LIBC = {"libc.a", "libc_nano.a", "libg.a", "libg_nano.a", "libm.a", "librdimon.a", "librdimon_nano.a",
         "libnosys.a", "libsemihost.a", "libdummyhost.a", "libcrt0.a", "libcrt0-semihost.a"}
_RESERVED = {".heap": "heap", ".stack": "stack"}


# -- regions -----------------------------------------------------------------------------------

def section_regions(elf, regions) -> list[tuple[object, list[str]]]:
    """Each allocated, non-empty section of *elf* (a pyelftools ELFFile) with the regions its
    bytes count in: the region of its run address, and for initialised data stored elsewhere
    (``.data`` copied from FLASH to RAM) the region of its load address too."""
    from elftools.elf.constants import SH_FLAGS

    ordered = sorted(regions, key=lambda r: r.origin)

    def region_of(address: int):
        """The region holding *address*; past a region's end (where ld keeps placing sections
        that overflowed it) the region below, so an overflow is counted in full."""
        below = None
        for region in ordered:
            if region.origin <= address < region.end:
                return region.name
            if region.origin <= address:
                below = region
        return below.name if below is not None else None

    segments = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    found = []
    for section in elf.iter_sections():
        if not section["sh_flags"] & SH_FLAGS.SHF_ALLOC or section["sh_size"] == 0:
            continue
        address = section["sh_addr"]
        names = []
        vma_region = region_of(address)
        if vma_region:
            names.append(vma_region)
        if section["sh_type"] != "SHT_NOBITS":
            for segment in segments:
                if segment["p_vaddr"] <= address < segment["p_vaddr"] + max(segment["p_memsz"], 1):
                    load_region = region_of(address - segment["p_vaddr"] + segment["p_paddr"])
                    if load_region and load_region != vma_region:
                        names.append(load_region)
                    break
        found.append((section, names))
    return found


# -- components of a firmware ------------------------------------------------------------------

def component_of(origin: str, section: str = "") -> str:
    """The component an input section from *origin* (a map's file column) belongs to."""
    if not origin:
        return FILL if section == link_map.FILL else LINKER
    if origin == "linker stubs":
        return LINKER
    member_match = _MEMBER.match(origin)
    archive, member = (member_match[1], member_match[2]) if member_match else ("", origin)
    base = PurePosixPath(member).name
    crate = _RUST_CGU.match(base)
    if crate and base.endswith(".rcgu.o"):
        return crate[1]
    if archive:
        name = PurePosixPath(archive).name
        if name in ("libgcc.a", "libgcc_eh.a"):
            return "libgcc"
        if name in _LIBC:
            return "picolibc" if "picolibc" in archive else "newlib" if "newlib" in archive or "none-eabi" in archive else "libc"
        stem = name[3:] if name.startswith("lib") else name
        return stem[:-2] if stem.endswith(".a") else stem
    if base.startswith("crt") or "crt0" in base:
        return "startup"
    parts = PurePosixPath(origin).parts
    if len(parts) > 4 and parts[0] == "build" and parts[2] == "obj":  # build/<board>/obj/<component>/<source>.o
        return str(PurePosixPath(*parts[4:]))[: -len(".o")] if base.endswith(".o") else str(PurePosixPath(*parts[4:]))
    return origin if not os.path.isabs(origin) else base


def _claimed(output: link_map.OutputSection, start: int, end: int):
    """(input section, bytes) for each input section of *output*, its bytes clipped to what no
    earlier input claimed and to where the next one starts (merged strings overlap in the map)."""
    inputs = sorted(output.inputs, key=lambda i: i.address)
    addresses = sorted({i.address for i in inputs})
    cursor = start
    for item in inputs:
        following = bisect.bisect_right(addresses, item.address)
        limit = addresses[following] if following < len(addresses) else end
        first = max(item.address, cursor)
        last = min(item.address + item.size, limit, end)
        if last > first:
            yield item, first, last
            cursor = last


def firmware_sizes(elf_path: str, map_text: str, regions) -> dict:
    """Regions split into components, and each component's largest symbols (see module doc)."""
    from elftools.elf.elffile import ELFFile

    parsed = link_map.parse(map_text)
    spans: list[tuple[int, int, str]] = []  # (start, end, component) of the run addresses
    result = {r.name: {"name": r.name, "used": 0, "size": r.length, "components": {}} for r in regions}
    placement = []  # the memory map: where each section sits (scons abi-diff compares it)
    with open(elf_path, "rb") as handle:
        elf = ELFFile(handle)
        for section, names in section_regions(elf, regions):
            placement.append({"name": section.name, "address": section["sh_addr"], "size": section["sh_size"],
                              "regions": list(names)})
            parts = _section_components(section, parsed.sections.get(section.name), spans)
            for region in names:
                entry = result[region]
                entry["used"] += section["sh_size"]
                for component, size in parts.items():
                    entry["components"][component] = entry["components"].get(component, 0) + size
        symbols = _largest_symbols(elf, spans, parsed.symbols)
    table = []
    for region in regions:
        entry = result[region.name]
        entry["percent"] = round(100.0 * entry["used"] / region.length, 2) if region.length else None
        entry["components"] = _ordered(entry["components"])
        table.append(entry)
    memory_map = {"regions": [{"name": r.name, "origin": r.origin, "length": r.length} for r in regions],
                  "sections": placement}
    return {"kind": "regions", "regions": table, "symbols": symbols, "memory_map": memory_map}


def _section_components(section, output, spans) -> dict[str, int]:
    start, size = section["sh_addr"], section["sh_size"]
    end = start + size
    parts: dict[str, int] = {}
    if output is not None:
        for item, first, last in _claimed(output, start, end):
            component = component_of(item.origin, item.name)
            parts[component] = parts.get(component, 0) + (last - first)
            spans.append((first, last, component))
    rest = size - sum(parts.values())  # what no input section covers: alignment and gaps
    if rest:
        parts[FILL] = parts.get(FILL, 0) + rest
    if section.name in _RESERVED and FILL in parts:  # the reserved area is ld's fill: name it
        parts[_RESERVED[section.name]] = parts.get(_RESERVED[section.name], 0) + parts.pop(FILL)
    return parts


def _ordered(components: dict[str, int]) -> dict[str, int]:
    return dict(sorted(((k, v) for k, v in components.items() if v), key=lambda kv: (-kv[1], kv[0])))


def _largest_symbols(elf, spans, map_names) -> dict[str, list[dict]]:
    """The largest function and data symbols of each component (mangled names as ld printed
    them demangled, when the map names that address once)."""
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        return {}
    spans.sort()
    starts = [s[0] for s in spans]
    thumb = elf["e_machine"] == "EM_ARM"
    best: dict[str, dict[str, int]] = {}
    for symbol in symtab.iter_symbols():
        if symbol["st_size"] == 0 or symbol["st_info"]["type"] not in ("STT_FUNC", "STT_OBJECT"):
            continue
        if symbol["st_shndx"] in ("SHN_UNDEF", "SHN_ABS"):
            continue
        address = symbol["st_value"] & ~1 if thumb and symbol["st_info"]["type"] == "STT_FUNC" else symbol["st_value"]
        index = bisect.bisect_right(starts, address) - 1
        if index < 0 or not spans[index][0] <= address < spans[index][1]:
            continue
        component = spans[index][2]
        name = symbol.name
        if name.startswith(("_R", "_ZN")):
            printed = [n for n in map_names.get(address, []) if not n.startswith(("_R", "_ZN"))]
            if len(printed) == 1:
                name = printed[0]
        sizes = best.setdefault(component, {})
        sizes[name] = max(sizes.get(name, 0), symbol["st_size"])
    return {component: [{"name": n, "bytes": b} for n, b in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SYMBOLS]]
            for component, sizes in sorted(best.items())}


# -- components of a Linux program -------------------------------------------------------------

def go_package_component(name: str) -> str | None:
    """``runtime``, ``std``, ``main`` or the module package of a Go symbol; None for a C name."""
    if name.startswith(("type:", "go:", "go.")):
        return "go-types"
    if name.startswith(("_cgo_", "x_cgo_", "crosscall", "_rt0_")):
        return "cgo"
    cut = len(name)
    for mark in ("(", "["):
        found = name.find(mark)
        if 0 <= found < cut:
            cut = found
    slash = name.rfind("/", 0, cut)
    dot = name.find(".", slash + 1)
    if dot <= 0 or dot > cut:
        return None
    package = name[:dot]
    first = package.split("/")[0]
    if package == "runtime" or package.startswith("runtime/"):
        return "runtime"
    if package == "main":
        return "main"
    if "." not in first:
        return "std"
    return package


def archive_index(path: str) -> dict[str, str]:
    """Symbol name -> component, from a static library's symbol index (GNU ``ar`` format)."""
    found: dict[str, str] = {}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return found
    if not data.startswith(b"!<arch>\n"):
        return found
    offset, long_names, index = 8, b"", None
    while offset + 60 <= len(data):
        header = data[offset:offset + 60]
        name, size = header[:16].decode(errors="replace").strip(), int(header[48:58].decode().strip() or 0)
        body_at = offset + 60
        if name == "/":
            index = body_at
        elif name == "//":
            long_names = data[body_at:body_at + size]
        if index is not None and long_names:
            break
        offset = body_at + size + (size & 1)
    if index is None:
        return found
    count = int.from_bytes(data[index:index + 4], "big")
    offsets = [int.from_bytes(data[index + 4 + 4 * i:index + 8 + 4 * i], "big") for i in range(count)]
    names = data[index + 4 + 4 * count:].split(b"\0")[:count]
    for member_at, symbol in zip(offsets, names):
        member = data[member_at:member_at + 16].decode(errors="replace").strip()
        if member.startswith("/") and member[1:].isdigit() and long_names:
            start = int(member[1:])
            member = long_names[start:long_names.index(b"\n", start)].decode(errors="replace")
        member = member.rstrip("/")
        found[symbol.decode(errors="replace")] = component_of(f"{path}({member})")
    return found


def rust_crate(symbol: str) -> str | None:
    """The crate of a mangled Rust symbol (v0 ``_R...``: its first crate root; legacy ``_ZN``:
    the first path segment), or None."""
    if symbol.startswith("_ZN"):
        digits = re.match(r"_ZN(\d+)", symbol)
        if digits:
            length = int(digits[1])
            start = digits.end()
            return symbol[start:start + length] or None
        return None
    if symbol.startswith("_R"):
        found = _RUST_V0_CRATE.search(symbol, 2)
        if found:
            start = found.end()
            name = symbol[start:start + int(found[1])]
            return name if name.isidentifier() else None
    return None


def linux_program_sizes(elf_path: str, libraries: list[str]) -> dict:
    """Allocated sections split into components by symbol (see module doc)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.constants import SH_FLAGS

    known: dict[str, str] = {}
    for library in libraries:
        known.update(archive_index(library))
    with open(elf_path, "rb") as handle:
        elf = ELFFile(handle)
        sections = [s for s in elf.iter_sections() if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_size"]]
        by_index = {elf.get_section_index(s.name): s for s in sections}
        parts = {s.name: {} for s in sections}
        best: dict[str, dict[str, int]] = {}
        symtab = elf.get_section_by_name(".symtab")
        covered: dict[str, list[tuple[int, int, str]]] = {s.name: [] for s in sections}
        for symbol in (symtab.iter_symbols() if symtab is not None else ()):
            section = by_index.get(symbol["st_shndx"]) if isinstance(symbol["st_shndx"], int) else None
            if section is None or symbol["st_size"] == 0:
                continue
            name = symbol.name
            component = go_package_component(name) or known.get(name) or rust_crate(name) or C_RUNTIME
            start = max(symbol["st_value"], section["sh_addr"])
            end = min(symbol["st_value"] + symbol["st_size"], section["sh_addr"] + section["sh_size"])
            if end > start:
                covered[section.name].append((start, end, component))
                sizes = best.setdefault(component, {})
                sizes[name] = max(sizes.get(name, 0), symbol["st_size"])
        table = []
        for section in sections:
            components: dict[str, int] = {}
            cursor = section["sh_addr"]
            for start, end, component in sorted(covered[section.name]):  # aliases cover a byte once
                first = max(start, cursor)
                if end > first:
                    components[component] = components.get(component, 0) + end - first
                    cursor = end
            rest = section["sh_size"] - sum(components.values())
            if rest:
                components[LINKER] = components.get(LINKER, 0) + rest
            table.append({"name": section.name, "used": section["sh_size"], "size": None, "percent": None,
                          "components": _ordered(components)})
    symbols = {component: [{"name": n, "bytes": b} for n, b in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SYMBOLS]]
               for component, sizes in sorted(best.items())}
    return {"kind": "sections", "regions": table, "symbols": symbols}
