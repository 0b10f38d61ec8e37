"""GNU ld's link map (``-Wl,-Map=``), read as data: which input section of which file landed where.

The map is the only record of *why* a byte is in the image: the ELF knows its output sections
and symbols, the map knows each input section's origin (``main.c.o``, ``libc.a(lib_a-printf.o)``,
``libkernel.a(core-<hash>.core.<hash>-cgu.0.rcgu.o)``) and each gap ld filled (``*fill*``).
Only the part after "Linker script and memory map" is read; symbol and assignment lines are
skipped. Pure functions on text: unit-tested without a toolchain.
"""

from __future__ import annotations

import re

import attrs

FILL = "*fill*"
_NUMBERS = re.compile(r"\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)(?:\s+(.*))?$")
# "                0x0800026c                kernel::crc32": a symbol (ld prints it demangled);
# assignments ("...                        . = ALIGN (0x4)") are indented further.
_SYMBOL = re.compile(r"^ {16}0x([0-9a-fA-F]+) {16}(\S.*)$")


@attrs.frozen
class InputSection:
    name: str     # the input section's name (".text.main", or "*fill*")
    address: int
    size: int
    origin: str   # the file it came from ("" for fill and linker-made sections)


@attrs.define
class OutputSection:
    name: str
    address: int
    size: int
    inputs: list = attrs.field(factory=list)


@attrs.frozen
class LinkMap:
    sections: dict      # name -> OutputSection, in the map's order
    symbols: dict       # address -> [names as ld printed them (demangled)]


def parse(text: str) -> LinkMap:
    """Every output section of the map by name, with its input sections in map order, and the
    symbol names ld printed at each address."""
    marker = text.find("Linker script and memory map")
    lines = text[marker:].splitlines()[1:] if marker >= 0 else []
    sections: dict[str, OutputSection] = {}
    current: OutputSection | None = None
    pending: tuple[str, bool] | None = None  # a name whose numbers are on the next line
    symbols: dict[int, list[str]] = {}
    for line in lines:
        if pending is not None:
            name, is_output = pending
            pending = None
            numbers = _NUMBERS.match(line)
            if numbers and not line[:1].strip():
                current = _add(sections, current, name, is_output, numbers)
                continue
        if not line.strip() or line.startswith(("LOAD ", "OUTPUT(", "START GROUP", "END GROUP")):
            continue
        if not line[0].isspace():  # an output section: ".text  0x08000040  0x7fc0" or the name alone
            name, _, rest = line.partition(" ")
            numbers = _NUMBERS.match(" " + rest.strip()) if rest.strip() else None
            if numbers:
                current = _add(sections, current, name, True, numbers)
            else:
                current = None
                pending = (name, True)
            continue
        symbol = _SYMBOL.match(line)
        if symbol and current is not None and "=" not in symbol[2]:
            symbols.setdefault(int(symbol[1], 16), []).append(symbol[2].strip())
            continue
        if current is None or not line.startswith(" ") or line.startswith("  "):
            continue  # symbols, assignments and input-section patterns (" *(.text*)") are indented more
        body = line[1:]
        if body.startswith(FILL):
            numbers = _NUMBERS.match(body[len(FILL):])
            if numbers:
                current.inputs.append(InputSection(FILL, int(numbers[1], 16), int(numbers[2], 16), ""))
            continue
        if body.startswith("*"):
            continue
        name, _, rest = body.partition(" ")
        numbers = _NUMBERS.match(" " + rest.strip()) if rest.strip() else None
        if numbers:
            current = _add(sections, current, name, False, numbers)
        else:
            pending = (name, False)
    return LinkMap(sections, symbols)


def _add(sections, current, name, is_output, numbers):
    address, size, rest = int(numbers[1], 16), int(numbers[2], 16), (numbers[3] or "").strip()
    if is_output:
        section = OutputSection(name, address, size)
        sections.setdefault(name, section)
        return sections[name]
    if current is not None and size:
        if rest.startswith("load address"):
            rest = ""
        current.inputs.append(InputSection(name, address, size, rest))
    return current
