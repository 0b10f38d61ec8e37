"""ABI facts read from ELF objects, archives and programs (pyelftools), and their comparison.

Pure logic for the ABI checks plugin (``polyboard_plugins.abi_checks``, docs/abi.md): the ARM
float ABI of an object (build attributes and ELF header flags), and the layouts of C structs and
the signatures of C functions as the DWARF of C, Rust and Go code records them. Nothing here
starts a process or touches SCons; every function takes bytes or paths and returns values.
"""

from __future__ import annotations

import functools
import io
import re
import struct
from typing import Iterator

import attrs

# -- inputs: objects and archive members ------------------------------------------------------------

ARCHIVE_MAGIC = b"!<arch>\n"


def archive_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each member of a System V / GNU ``ar`` archive (symbol tables skipped)."""
    if not data.startswith(ARCHIVE_MAGIC):
        raise ValueError("not an ar archive")
    position, long_names = len(ARCHIVE_MAGIC), b""
    while position + 60 <= len(data):
        header = data[position:position + 60]
        name = header[:16].decode("ascii", "replace").rstrip()
        size = int(header[48:58].decode("ascii").strip() or 0)
        body = data[position + 60:position + 60 + size]
        position += 60 + size + (size & 1)
        if name == "//":
            long_names = body
        elif name in ("/", "/SYM64/", "__.SYMDEF", "__.SYMDEF SORTED"):
            continue
        elif name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            end = long_names.find(b"/\n", start)
            yield long_names[start:end if end >= 0 else None].decode("utf-8", "replace"), body
        else:
            yield name[:-1] if name.endswith("/") else name, body


def archive_symbol_index(data: bytes) -> dict[str, set[str]]:
    """Member name -> the global symbols it defines, from the archive's own symbol table (the
    GNU ``/`` member ranlib and rustc write): no member needs to be parsed to find a symbol."""
    if not data.startswith(ARCHIVE_MAGIC) or len(data) < 68:
        return {}
    header = data[8:68]
    if header[:16].decode("ascii", "replace").rstrip() != "/":
        return {}
    size = int(header[48:58].decode("ascii").strip() or 0)
    body = data[68:68 + size]
    count = int.from_bytes(body[:4], "big")
    offsets = [int.from_bytes(body[4 + 4 * i:8 + 4 * i], "big") for i in range(count)]
    names = body[4 + 4 * count:].split(b"\0")
    by_offset: dict[int, str] = {}
    position, long_names = len(ARCHIVE_MAGIC), b""
    while position + 60 <= len(data):  # member offsets -> names
        name = data[position:position + 16].decode("ascii", "replace").rstrip()
        member_size = int(data[position + 48:position + 58].decode("ascii").strip() or 0)
        if name == "//":
            long_names = data[position + 60:position + 60 + member_size]
        elif name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            end = long_names.find(b"/\n", start)
            by_offset[position] = long_names[start:end if end >= 0 else None].decode("utf-8", "replace")
        elif name not in ("/", "/SYM64/"):
            by_offset[position] = name[:-1] if name.endswith("/") else name
        position += 60 + member_size + (member_size & 1)
    index: dict[str, set[str]] = {}
    for offset, symbol in zip(offsets, names):
        if offset in by_offset:
            index.setdefault(by_offset[offset], set()).add(symbol.decode("utf-8", "replace"))
    return index


def elf_inputs(path: str, label: str) -> Iterator[tuple[str, bytes]]:
    """(label, bytes) of an ELF file, or ``label(member)`` for each member of an archive."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data.startswith(ARCHIVE_MAGIC):
        for member, body in archive_members(data):
            if body.startswith(b"\x7fELF"):
                yield f"{label}({member})", body
    elif data.startswith(b"\x7fELF"):
        yield label, data


def open_elf(data: bytes):
    from elftools.elf.elffile import ELFFile
    return ELFFile(io.BytesIO(data))


# RISC-V relocations found in the debug sections of relocatable objects, which pyelftools (0.33)
# cannot apply: (operation, bytes). Debug sections hold offsets into .debug_str/.debug_line_str
# (R_RISCV_32/64: S + A) and label differences (ADD/SUB/SET pairs, left by linker relaxation).
_RISCV_DEBUG_RELOCATIONS = {
    1: ("set", 4), 2: ("set", 8),
    33: ("add", 1), 34: ("add", 2), 35: ("add", 4), 36: ("add", 8),
    37: ("sub", 1), 38: ("sub", 2), 39: ("sub", 4), 40: ("sub", 8),
    54: ("set", 1), 55: ("set", 2), 56: ("set", 4),
}


def dwarf_info(data: bytes, elf):
    """The DWARF of *elf* (read from *data*), its debug sections relocated. An ARM or AArch64
    object's few relocation types are applied here with :mod:`struct` (pyelftools applies each
    relocation through its whole machine dispatch: 0.05 s for one small Rust object), a file
    without debug relocations is read as it is (pyelftools would look for them section by
    section), anything else is relocated by pyelftools, except RISC-V objects (below)."""
    from elftools.common.exceptions import ELFRelocationError
    relocated = _debug_relocated(data)
    if relocated is data:
        return elf.get_dwarf_info(relocate_dwarf_sections=False)
    if relocated is not None:
        return open_elf(relocated).get_dwarf_info(relocate_dwarf_sections=False)
    try:
        return elf.get_dwarf_info()
    except ELFRelocationError:
        if elf["e_machine"] != "EM_RISCV":
            raise
    patched = bytearray(data)
    symtab = elf.get_section_by_name(".symtab")
    order = "little" if elf.little_endian else "big"
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_RELA":
            continue
        target = elf.get_section(section["sh_info"])
        if not target.name.startswith(".debug"):
            continue
        for relocation in section.iter_relocations():
            operation = _RISCV_DEBUG_RELOCATIONS.get(relocation["r_info_type"])
            if operation is None:  # R_RISCV_RELAX, ULEB128 pairs: not in what the checks read
                continue
            kind, size = operation
            value = symtab.get_symbol(relocation["r_info_sym"])["st_value"] + relocation["r_addend"]
            position = target["sh_offset"] + relocation["r_offset"]
            old = int.from_bytes(patched[position:position + size], order)
            new = value if kind == "set" else old + value if kind == "add" else old - value
            patched[position:position + size] = (new % (1 << (8 * size))).to_bytes(size, order)
    return open_elf(bytes(patched)).get_dwarf_info(relocate_dwarf_sections=False)


# The sections pyelftools reads as DWARF (ELFFile.get_dwarf_info), in its order
DWARF_SECTIONS = (".debug_info", ".debug_aranges", ".debug_abbrev", ".debug_str", ".debug_line", ".debug_frame",
                  ".debug_loc", ".debug_ranges", ".debug_pubtypes", ".debug_pubnames", ".debug_addr",
                  ".debug_str_offsets", ".debug_line_str", ".debug_loclists", ".debug_rnglists", ".debug_sup",
                  ".gnu_debugaltlink", ".debug_types", ".eh_frame")
SHT_RELA, SHT_REL, SHT_SYMTAB, SHT_DYNSYM = 4, 9, 2, 11
EM_ARM, EM_AARCH64 = 40, 183
SHF_COMPRESSED = 0x800
# The relocations applied with struct, as pyelftools' recipes compute them: machine -> (RELA?,
# {type: (bytes, value)}); value: "stored" S + the stored value (REL), "addend" S + A, "pcrel" S + A - P
_STRUCT_RELOCATIONS = {
    EM_ARM: (False, {2: (4, "stored")}),                                        # R_ARM_ABS32
    EM_AARCH64: (True, {257: (8, "addend"), 258: (4, "addend"), 261: (4, "pcrel")}),  # ABS64, ABS32, PREL32
}


@attrs.frozen
class _SectionHeader:
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    entsize: int


def _elf_header(data: bytes) -> tuple[bool, str, int, int, int, int, int, int, str] | None:
    """The ELF header's fields both struct readers use: (64-bit?, byte order, e_machine, e_flags,
    e_shoff, e_shentsize, e_shnum, e_shstrndx, the struct format of one section header), or
    ``None`` for a file that is not ELF."""
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    machine, = struct.unpack_from(order + "H", data, 18)
    if wide:
        flags, = struct.unpack_from(order + "I", data, 48)
        shoff, = struct.unpack_from(order + "Q", data, 40)
        entsize, count, names_index = struct.unpack_from(order + "HHH", data, 58)
        entry = order + "IIQQQQIIQQ"
    else:
        flags, = struct.unpack_from(order + "I", data, 36)
        shoff, = struct.unpack_from(order + "I", data, 32)
        entsize, count, names_index = struct.unpack_from(order + "HHH", data, 46)
        entry = order + "10I"
    return wide, order, machine, flags, shoff, entsize, count, names_index, entry


def _section_headers(data: bytes) -> tuple[bool, str, int, list[_SectionHeader]] | None:
    """(64-bit?, byte order, e_machine, the section headers with their names), read with struct;
    ``None`` for a file of another shape (extended section numbering included)."""
    header = _elf_header(data)
    if header is None:
        return None
    wide, order, machine, _, shoff, entsize, count, names_index, entry = header
    if shoff == 0 or count == 0 or names_index >= count or entsize != struct.calcsize(entry):
        return None
    table = memoryview(data)[shoff:shoff + entsize * count]
    if len(table) != entsize * count:
        return None
    raw = [(name, kind, flags, offset, size, link, item_size)
           for name, kind, flags, _, offset, size, link, _, _, item_size in struct.iter_unpack(entry, table)]
    strings_offset, strings_size = raw[names_index][3], raw[names_index][4]
    strings = data[strings_offset:strings_offset + strings_size]

    def name_at(position: int) -> str:
        end = strings.index(b"\0", position)
        return strings[position:end].decode("utf-8")
    return wide, order, machine, [_SectionHeader(name_at(r[0]), *r[1:]) for r in raw]


def _debug_relocated(data: bytes) -> bytes | None:
    """*data* with its DWARF sections relocated as pyelftools relocates them: *data* itself when
    they have no relocations, a patched copy for the ARM and AArch64 relocations above, ``None``
    for anything else (pyelftools then relocates, or reports what it cannot)."""
    try:
        return _apply_debug_relocations(data)
    except (struct.error, ValueError, IndexError):
        return None


def _apply_debug_relocations(data: bytes) -> bytes | None:
    found = _section_headers(data)
    if found is None:
        return None
    wide, order, machine, sections = found
    if any(s.name.startswith(".zdebug") for s in sections):
        return None
    by_name = {section.name: section for section in sections}  # the last of a name, as pyelftools finds it
    relocations = [s for s in sections if s.type in (SHT_REL, SHT_RELA)]
    patched = None
    for name in DWARF_SECTIONS:
        target = by_name.get(name)
        if target is None:
            continue
        table = next((r for r in relocations if r.name in (".rel" + name, ".rela" + name)), None)
        if table is None:
            continue
        rela, recipes = _STRUCT_RELOCATIONS.get(machine, (None, None))
        symtab = sections[table.link] if table.link < len(sections) else None
        if recipes is None or (table.type == SHT_RELA) != rela or target.flags & SHF_COMPRESSED \
                or symtab is None or symtab.type not in (SHT_SYMTAB, SHT_DYNSYM) or not symtab.entsize:
            return None
        if wide:
            entry, shift, mask = order + ("QQq" if rela else "QQ"), 32, 0xFFFFFFFF
            symbol_value = order + "8xQ"
        else:
            entry, shift, mask = order + ("IIi" if rela else "II"), 8, 0xFF
            symbol_value = order + "4xI"
        symbols = symtab.size // symtab.entsize
        patched = patched if patched is not None else bytearray(data)
        rows = memoryview(data)[table.offset:table.offset + table.size]
        for row in struct.iter_unpack(entry, rows[:len(rows) - len(rows) % struct.calcsize(entry)]):
            offset, info = row[0], row[1]
            recipe = recipes.get(info & mask)
            symbol = info >> shift
            if recipe is None or symbol >= symbols or offset + recipe[0] > target.size:
                return None  # pyelftools' to apply or to refuse
            size, how = recipe
            value, = struct.unpack_from(symbol_value, data, symtab.offset + symbol * symtab.entsize)
            position = target.offset + offset
            if how == "stored":
                value += int.from_bytes(patched[position:position + size], "little" if order == "<" else "big")
            else:
                value += row[2] - (offset if how == "pcrel" else 0)
            patched[position:position + size] = (value % (1 << (8 * size))).to_bytes(
                size, "little" if order == "<" else "big")
    return data if patched is None else bytes(patched)


# -- float ABI (ARM) ---------------------------------------------------------------------------------

EF_ARM_ABI_FLOAT_SOFT = 0x200
EF_ARM_ABI_FLOAT_HARD = 0x400
EF_ARM_EABIMASK = 0xFF000000
VFP_ARGS = {0: "soft", 1: "hard", 2: "toolchain-specific", 3: "any"}
VFP_ARGS_MEANING = {0: "base AAPCS, floats in core registers", 1: "VFP registers",
                    2: "toolchain-specific", 3: "compatible with both"}


@attrs.frozen
class FloatAbi:
    """What an object says about its float calling convention."""

    abi: str | None      # "soft", "hard", "any", "toolchain-specific", or None (the object says nothing)
    detail: str          # where that came from, for messages


def expected_vfp_args(board_float_abi: str) -> str:
    """The calling convention a board's ``cpu.float_abi`` means: softfp passes floats like soft."""
    return "hard" if board_float_abi == "hard" else "soft"


def float_abi_of(elf) -> FloatAbi:
    """``Tag_ABI_VFP_args`` from ``.ARM.attributes`` (absent in the section: 0, base AAPCS, as
    GNU ld reads it), else the EABI v5 header flags; ``None`` when the object has neither.
    pyelftools' reading: :func:`float_abi_of_data` gives the same answer faster."""
    section = _arm_attributes(elf)
    value = None
    if section is not None and hasattr(section, "iter_subsections"):
        value = 0
        for subsection in section.iter_subsections():
            if getattr(subsection, "header", {}).get("vendor_name", "aeabi") not in ("aeabi", b"aeabi"):
                continue
            for subsubsection in subsection.iter_subsubsections():
                for attribute in subsubsection.iter_attributes():
                    if attribute.tag == "TAG_ABI_VFP_ARGS":
                        value = attribute.value
    return _float_abi(elf["e_flags"], value)


def _float_abi(flags: int, value: int | None) -> FloatAbi:
    """The float ABI from the ELF header flags and ``Tag_ABI_VFP_args`` (``None``: the object has
    no ``.ARM.attributes``)."""
    flag_abi = None
    if flags & EF_ARM_EABIMASK == 0x05000000:
        if flags & EF_ARM_ABI_FLOAT_HARD:
            flag_abi = "hard"
        elif flags & EF_ARM_ABI_FLOAT_SOFT:
            flag_abi = "soft"
    flag_text = f"e_flags 0x{flags:08x}" + (f" (EF_ARM_ABI_FLOAT_{flag_abi.upper()})" if flag_abi else "")
    if value is not None:
        abi = VFP_ARGS.get(value, f"unknown ({value})")
        if flag_abi and flag_abi != abi and abi != "any":
            abi = flag_abi if value == 0 else abi
        return FloatAbi(abi, f"Tag_ABI_VFP_args={value} ({VFP_ARGS_MEANING.get(value, '?')}), {flag_text}")
    if flag_abi:
        return FloatAbi(flag_abi, flag_text)
    return FloatAbi(None, flag_text + ", no .ARM.attributes")


def float_abi_of_data(data: bytes) -> FloatAbi:
    """:func:`float_abi_of` for an ELF file's bytes, read with :mod:`struct`: the ELF header, the
    section header table and ``.ARM.attributes`` only. pyelftools builds an object per section
    header, and a Rust staticlib's members (``core`` with -ffunction-sections) have thousands:
    0.3-0.5 s per archive on every Rust edit. A file this reader does not expect (not ARM, or an
    attributes section of another shape than one ``aeabi`` file-scope list) is read by
    pyelftools, so the answer is the same whatever the file."""
    try:
        found = _arm_float_abi(data)
    except (struct.error, ValueError, IndexError):
        found = None
    return found if found is not None else float_abi_of(open_elf(data))




def _arm_float_abi(data: bytes) -> FloatAbi | None:
    """The fast path of :func:`float_abi_of_data`; ``None`` for a file it leaves to pyelftools."""
    header = _elf_header(data)
    if header is None or header[0] or header[2] != EM_ARM:  # ELF32 ARM, either byte order
        return None
    _, order, _, flags, shoff, shentsize, shnum, _, _ = header
    if shoff == 0:
        return _float_abi(flags, None)
    if shentsize != 40:
        return None
    if shnum == 0:  # 0xff00 sections or more: the count is section 0's sh_size
        shnum, = struct.unpack_from(order + "I", data, shoff + 20)
    table = memoryview(data)[shoff:shoff + 40 * shnum]
    if len(table) != 40 * shnum:
        raise ValueError("section header table past the end of the file")
    for _, sh_type, sh_flags, _, offset, size, _, _, _, _ in struct.iter_unpack(order + "10I", table):
        if sh_type == SHT_ARM_ATTRIBUTES:
            if sh_flags & SHF_COMPRESSED:
                return None
            return _float_abi(flags, _vfp_args(data, offset, size, order))
    return _float_abi(flags, None)


TAG_ABI_VFP_ARGS = 28
_NTBS_TAGS = {4, 5, 67}           # Tag_CPU_raw_name, Tag_CPU_name, Tag_conformance: strings
TAG_COMPATIBILITY, TAG_ALSO_COMPATIBLE_WITH = 32, 65


@functools.cache
def _arm_tags() -> frozenset[int]:
    """pyelftools' build attribute tags (its enum): it raises on a tag outside them, so the struct
    reader hands a section with such a tag to pyelftools."""
    from elftools.elf.enums import ENUM_ATTR_TAG_ARM
    return frozenset(ENUM_ATTR_TAG_ARM.values())


def _uleb(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _ntbs_end(data: bytes, position: int, end: int) -> int:
    """Past a NUL-terminated UTF-8 string (pyelftools decodes it: a bad one is its to report)."""
    nul = data.index(b"\0", position, end)
    data[position:nul].decode("utf-8")
    return nul + 1


def _vfp_args(data: bytes, offset: int, size: int, order: str) -> int:
    """``Tag_ABI_VFP_args`` of an ``.ARM.attributes`` section (0 when the list lacks it), read as
    pyelftools reads it; ``ValueError`` for a layout left to pyelftools (a second vendor
    subsection, section- or symbol-scoped lists, an unknown tag)."""
    end = offset + size
    if end > len(data) or data[offset:offset + 1] != b"A":
        raise ValueError("not a version A attributes section")
    tags = _arm_tags()
    length, = struct.unpack_from(order + "I", data, offset + 1)
    if offset + 1 + length != end:
        raise ValueError("more than one vendor subsection")
    vendor_end = data.index(b"\0", offset + 5, end)
    if data[offset + 5:vendor_end] != b"aeabi":
        raise ValueError("another vendor's subsection")
    position = vendor_end + 1
    tag, position = _uleb(data, position)
    if tag != 1 or position + 4 > end:  # Tag_File, then the list's size
        raise ValueError("not one file-scope list")
    list_size, = struct.unpack_from(order + "I", data, position)
    if vendor_end + 1 + list_size != end:
        raise ValueError("more than one attribute list")
    position += 4
    value = 0
    while position < end:
        tag, position = _uleb(data, position)
        if tag not in tags or tag in (1, 2, 3, TAG_ALSO_COMPATIBLE_WITH):
            raise ValueError(f"attribute tag {tag}")
        if tag in _NTBS_TAGS:
            position = _ntbs_end(data, position, end)
        elif tag == TAG_COMPATIBILITY:
            _, position = _uleb(data, position)
            position = _ntbs_end(data, position, end)
        else:
            number, position = _uleb(data, position)
            if tag == TAG_ABI_VFP_ARGS:
                value = number
    if position != end:
        raise ValueError("attribute list overruns its section")
    return value


SHT_ARM_ATTRIBUTES = 0x70000003


def _arm_attributes(elf):
    """The ``.ARM.attributes`` section, found by its type from the raw section headers: an object
    built with -ffunction-sections has thousands of sections, and naming them all is slow."""
    for index in range(elf.num_sections()):
        header = elf._get_section_header(index)  # pyelftools' header reader, without building sections
        if header["sh_type"] in (SHT_ARM_ATTRIBUTES, "SHT_ARM_ATTRIBUTES"):
            return elf.get_section(index)
    return None


def float_abi_mismatch(found: FloatAbi, board_float_abi: str) -> bool:
    wanted = expected_vfp_args(board_float_abi)
    return found.abi in ("soft", "hard", "toolchain-specific") and found.abi != wanted


# -- DWARF: types, struct layouts, function signatures ----------------------------------------------

LANG_C = {0x01, 0x02, 0x0C, 0x1D, 0x2C}          # C89, C, C99, C11, C17
LANG_RUST = {0x1C}
LANG_GO = {0x16}


@attrs.frozen
class TypeInfo:
    """A type as the ABI sees it: class (int, float, bool, pointer, struct, union, enum, array,
    void, other), size in bytes, signedness (ints), and a name for messages."""

    kind: str
    size: int | None
    signed: bool | None = None
    name: str = ""

    def describe(self) -> str:
        if self.kind == "int":
            return f"{'int' if self.signed else 'uint'}{(self.size or 0) * 8}"
        if self.kind == "float":
            return f"float{(self.size or 0) * 8}"
        if self.kind in ("struct", "union", "enum", "array"):
            return f"{self.kind}({self.size})"
        if self.kind == "pointer":
            return f"pointer({self.size})"
        return self.kind if self.size is None else f"{self.kind}({self.size})"

    def abi_key(self) -> tuple:
        """What must agree across languages (names may differ: u32 vs uint32_t)."""
        return (self.kind, self.size, self.signed if self.kind == "int" else None)


@attrs.frozen
class Member:
    name: str
    offset: int | None
    type: TypeInfo


@attrs.frozen
class StructLayout:
    name: str
    size: int | None
    align: int | None
    members: tuple[Member, ...]
    origin: str = ""          # "label: CU language", for messages


@attrs.frozen
class Signature:
    name: str
    returns: TypeInfo
    params: tuple[TypeInfo, ...]
    origin: str = ""


@attrs.define
class DwarfFacts:
    """What one ELF file's DWARF says, per language ("c", "rust", "go")."""

    has_dwarf: bool = False
    error: str = ""                                 # why the DWARF could not be read (pyelftools' error)
    languages: set = attrs.field(factory=set)
    structs: dict = attrs.field(factory=dict)      # (language, name) -> StructLayout
    functions: dict = attrs.field(factory=dict)    # (language, name) -> Signature


def _name(die) -> str:
    attribute = die.attributes.get("DW_AT_name")
    if attribute is None:
        return ""
    value = attribute.value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _int_attr(die, name: str) -> int | None:
    attribute = die.attributes.get(name)
    return attribute.value if attribute is not None and isinstance(attribute.value, int) else None


def _ref(die, name: str = "DW_AT_type"):
    if name not in die.attributes:
        return None
    try:
        return die.get_DIE_from_attribute(name)
    except Exception:  # a reference pyelftools cannot follow: treat the type as unknown
        return None


DW_ATE_BOOLEAN, DW_ATE_FLOAT = 0x02, 0x04
DW_ATE_SIGNED, DW_ATE_SIGNED_CHAR, DW_ATE_UNSIGNED, DW_ATE_UNSIGNED_CHAR, DW_ATE_UTF = 0x05, 0x06, 0x07, 0x08, 0x10
TRANSPARENT = ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type",
               "DW_TAG_atomic_type")


def type_info(die, address_size: int) -> TypeInfo:
    """The ABI class of a type DIE (typedefs and qualifiers looked through)."""
    for _ in range(32):
        if die is None:
            return TypeInfo("void", None, name="void")
        if die.tag not in TRANSPARENT:
            break
        die = _ref(die)
    name = _name(die)
    size = _int_attr(die, "DW_AT_byte_size")
    tag = die.tag
    if tag == "DW_TAG_base_type":
        encoding = _int_attr(die, "DW_AT_encoding")
        if encoding == DW_ATE_FLOAT:
            return TypeInfo("float", size, name=name)
        if encoding == DW_ATE_BOOLEAN:
            return TypeInfo("bool", size, name=name)
        if encoding in (DW_ATE_SIGNED, DW_ATE_SIGNED_CHAR):
            return TypeInfo("int", size, True, name)
        if encoding in (DW_ATE_UNSIGNED, DW_ATE_UNSIGNED_CHAR, DW_ATE_UTF):
            return TypeInfo("int", size, False, name)
        return TypeInfo("other", size, name=name)
    if tag in ("DW_TAG_pointer_type", "DW_TAG_reference_type", "DW_TAG_rvalue_reference_type"):
        return TypeInfo("pointer", size or address_size, name=name)
    if tag == "DW_TAG_structure_type":
        return TypeInfo("struct", size, name=name)
    if tag == "DW_TAG_union_type":
        return TypeInfo("union", size, name=name)
    if tag == "DW_TAG_enumeration_type":
        return TypeInfo("enum", size, name=name)
    if tag == "DW_TAG_array_type":
        return TypeInfo("array", size, name=name)
    if tag == "DW_TAG_subroutine_type":
        return TypeInfo("function", None, name=name)
    return TypeInfo("other", size, name=name or tag)


def _alignment(die, members: list[tuple[Member, int | None]]) -> int | None:
    """DW_AT_alignment when recorded (rustc does), else the largest member alignment (C's rule
    for a struct without alignment attributes; a scalar's alignment taken as its size)."""
    explicit = _int_attr(die, "DW_AT_alignment")
    if explicit:
        return explicit
    aligns = [a for _, a in members if a]
    return max(aligns) if aligns else None


def _member_alignment(member_die, type_die, info: TypeInfo) -> int | None:
    explicit = _int_attr(member_die, "DW_AT_alignment")
    if explicit:
        return explicit
    for _ in range(32):
        if type_die is None or type_die.tag not in TRANSPARENT:
            break
        type_die = _ref(type_die)
    if type_die is not None and type_die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
        inner = [(None, _member_alignment(c, _ref(c), type_info(_ref(c), 8)))
                 for c in type_die.iter_children() if c.tag == "DW_TAG_member"]
        return _alignment(type_die, inner)
    if type_die is not None and type_die.tag == "DW_TAG_array_type":
        element = _ref(type_die)
        return _member_alignment(type_die, element, type_info(element, 8)) if element is not None else None
    return info.size if info.kind in ("int", "float", "bool", "pointer", "enum") else None


def struct_layout(die, address_size: int, origin: str, name: str | None = None) -> StructLayout:
    members = []
    for child in die.iter_children():
        if child.tag != "DW_TAG_member":
            continue
        type_die = _ref(child)
        info = type_info(type_die, address_size)
        offset = _int_attr(child, "DW_AT_data_member_location")
        members.append((Member(_name(child), offset, info), _member_alignment(child, type_die, info)))
    return StructLayout(name or _name(die), _int_attr(die, "DW_AT_byte_size"), _alignment(die, members),
                        tuple(m for m, _ in members), origin)


def signature_of(die, address_size: int, name: str, origin: str) -> Signature:
    """A subprogram or subroutine type's return and parameter types."""
    params = tuple(type_info(_ref(c), address_size) for c in die.iter_children()
                   if c.tag == "DW_TAG_formal_parameter")
    return Signature(name, type_info(_ref(die), address_size), params, origin)


#: The C probe object names each header function ``polyboard_abi_<name>``: a pointer to it.
PROBE_PREFIX = "polyboard_abi_"
GO_STRUCT = re.compile(r"(?:^|\.)_Ctype_struct_(\w+)$")


def language_of(top_die) -> str:
    language = _int_attr(top_die, "DW_AT_language")
    if language in LANG_C:
        return "c"
    if language in LANG_RUST:
        return "rust"
    if language in LANG_GO:
        return "go"
    return "other"


def read_dwarf(data: bytes, label: str, *, structs: set[str], functions: set[str],
               languages: tuple[str, ...] = ("c", "rust", "go")) -> DwarfFacts:
    """:func:`_read_dwarf`, with a DWARF pyelftools cannot read reported in ``error``."""
    from elftools.common.exceptions import ELFError
    try:
        return _read_dwarf(data, label, structs=structs, functions=functions, languages=languages)
    except ELFError as exc:
        return DwarfFacts(error=f"{type(exc).__name__}: {exc}")


def _read_dwarf(data: bytes, label: str, *, structs: set[str], functions: set[str],
                languages: tuple[str, ...]) -> DwarfFacts:
    """The layouts of *structs* and the signatures of *functions* (C names) in one ELF file.

    C: ``struct <name>`` and a subprogram ``<name>`` or a probe variable ``polyboard_abi_<name>``;
    Rust: a struct whose name is the C name without underscores, case-insensitively
    (``kern_stats`` -> ``KernStats``), and the ``#[no_mangle]`` subprogram ``<name>``;
    Go: cgo's ``_Ctype_struct_<name>`` (Go's view of the C struct)."""
    elf = open_elf(data)
    facts = DwarfFacts()
    if not elf.has_dwarf_info():
        return facts
    dwarf = dwarf_info(data, elf)
    wanted_rust = {normalise(n): n for n in structs}
    go_may_hold = _go_unit_filter(dwarf) if "go" in languages else None
    for unit in dwarf.iter_CUs():
        top = unit.get_top_DIE()
        language = language_of(top)
        if language == "other":
            continue
        facts.has_dwarf = True
        facts.languages.add(language)
        if language not in languages:  # e.g. the Rust core linked into a Go program: large, not needed
            continue
        if language == "go" and not go_may_hold(unit):
            continue  # no cgo type in it (most of the runtime, fmt, ...): not parsed
        address_size = unit["address_size"]
        origin = f"{label} ({language})"
        dies = _go_struct_candidates(dwarf, unit) if language == "go" and go_may_hold is not _any_unit else None
        for die in unit.iter_DIEs() if dies is None else dies:
            tag = die.tag
            if tag == "DW_TAG_structure_type" and die.has_children and "DW_AT_declaration" not in die.attributes:
                name = _name(die)
                c_name = None
                if language == "c" and name in structs:
                    c_name = name
                elif language == "rust" and normalise(name) in wanted_rust:
                    c_name = wanted_rust[normalise(name)]
                elif language == "go":
                    match = GO_STRUCT.search(name)
                    if match and match.group(1) in structs:
                        c_name = match.group(1)
                if c_name and (language, c_name) not in facts.structs:
                    facts.structs[(language, c_name)] = struct_layout(die, address_size, origin, name)
            elif tag == "DW_TAG_subprogram" and language in ("c", "rust"):
                name = _name(die)
                if name in functions and (language, name) not in facts.functions:
                    facts.functions[(language, name)] = signature_of(die, address_size, name, origin)
            elif tag == "DW_TAG_variable" and language == "c":
                name = _name(die)
                if name.startswith(PROBE_PREFIX) and name[len(PROBE_PREFIX):] in functions:
                    target = type_die = _ref(die)
                    for _ in range(8):  # const pointer to the function type
                        if target is None or target.tag == "DW_TAG_subroutine_type":
                            break
                        target = _ref(target)
                    if target is not None and type_die is not None:
                        function = name[len(PROBE_PREFIX):]
                        facts.functions[("c", function)] = signature_of(target, address_size, function, origin)
    return facts


GO_CGO_TYPE = b"_Ctype_struct_"


def _any_unit(unit) -> bool:
    """The filter when cgo's names are in .debug_str: every unit is read, and walked."""
    return True


def _go_unit_filter(dwarf):
    """A test for Go units that may hold cgo's view of a C struct (``<pkg>._Ctype_struct_<name>``).

    Go's linker writes DIE names inline (DW_FORM_string), so a unit whose bytes lack the string
    holds no such type and is skipped unparsed: the runtime's code unit alone is a third of a Go
    program's DWARF and took seconds to walk with pyelftools on every relink. A producer that
    puts names in .debug_str instead gets every unit read (correct, only slower)."""
    strings = dwarf.debug_str_sec
    if strings is not None and GO_CGO_TYPE in strings.stream.getvalue():
        return _any_unit
    stream = dwarf.debug_info_sec.stream

    def may_hold(unit) -> bool:
        stream.seek(unit.cu_offset)
        return GO_CGO_TYPE in stream.read(unit.size)
    return may_hold


def _go_struct_candidates(dwarf, unit):
    """The DIEs of a Go unit that may be cgo's struct types, found by their names' bytes instead
    of walking the unit: Go's linker puts every type in one unit (the runtime's), whose walk cost
    0.4-0.9 s per relink, for the few types cgo made.

    Each struct DIE's name (DW_AT_name, DW_FORM_string, its first attribute in Go's abbreviations)
    follows its one-byte abbreviation code: a name holds no byte below 0x20 and every struct code
    is below it, so the name's first byte is the one after the last such byte before the match,
    and that byte is a struct code where the match is a struct's name (else it is, e.g., the name
    of a pointer type, ``*main._Ctype_struct_x``, and is skipped). The DIEs returned are checked
    like walked ones (tag, name, declaration). ``None`` when the unit's abbreviations are not as
    described: the caller walks the unit then."""
    table = unit.get_abbrev_table()
    abbreviations = getattr(table, "_abbrev_map", None)  # pyelftools' parsed table: code -> declaration
    if not abbreviations:
        return None
    codes = set()
    for code, declaration in abbreviations.items():
        if declaration["tag"] != "DW_TAG_structure_type":
            continue
        specs = list(declaration.iter_attr_specs())
        if code >= 0x20 or not specs or specs[0] != ("DW_AT_name", "DW_FORM_string"):
            return None
        codes.add(code)
    stream = dwarf.debug_info_sec.stream
    stream.seek(unit.cu_offset)
    data = stream.read(unit.size)
    first = unit.cu_die_offset - unit.cu_offset  # the unit's header is no DIE
    dies = []
    found = data.find(GO_CGO_TYPE)
    while found >= 0:
        start = found
        while start > first and data[start - 1] >= 0x20:
            start -= 1
        if start > first and data[start - 1] in codes:
            dies.append(unit.get_DIE_from_refaddr(unit.cu_offset + start - 1))
        end = data.find(b"\0", found)
        found = data.find(GO_CGO_TYPE, end) if end >= 0 else -1
    return dies


def normalise(name: str) -> str:
    return name.replace("_", "").lower()


def defined_symbols(data: bytes) -> set[str]:
    """Global symbols an object defines (to find a staticlib's members that implement a header)."""
    elf = open_elf(data)
    symtab = elf.get_section_by_name(".symtab")
    if symtab is None:
        return set()
    return {s.name for s in symtab.iter_symbols()
            if s["st_shndx"] != "SHN_UNDEF" and s["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")}


def crate_members(members: list[tuple[str, bytes]], functions: set[str],
                  index: dict[str, set[str]] | None = None) -> list[tuple[str, bytes]]:
    """The members of a Rust staticlib that belong to the crate implementing *functions*: those
    defining one of them (from the archive's symbol *index* when it has one), plus members of
    the same crate (rustc names members ``<crate>-<hash>.<crate>.<cgu>.rcgu.o``); core's and
    compiler_builtins' are skipped."""
    def member(label: str) -> str:
        return label[label.index("(") + 1:-1] if label.endswith(")") and "(" in label else label

    if index:
        own = [(label, body) for label, body in members if index.get(member(label), set()) & functions]
    else:
        own = [(label, body) for label, body in members if defined_symbols(body) & functions]
    prefixes = {label.rsplit("(", 1)[-1].split(".", 1)[0] for label, _ in own}
    chosen = {label for label, _ in own}
    return [(label, body) for label, body in members
            if label in chosen or label.rsplit("(", 1)[-1].split(".", 1)[0] in prefixes]


# -- comparison and messages ------------------------------------------------------------------------

def _cell(member: Member | None) -> str:
    if member is None:
        return "(missing)"
    offset = "?" if member.offset is None else str(member.offset)
    return f"@{offset} {member.type.describe()}"


def compare_structs(name: str, layouts: list[tuple[str, StructLayout]]) -> str | None:
    """None if every layout agrees with the first (the C header's); else a message with the first
    difference and the layouts side by side. Members are matched by name."""
    (ref_title, reference), others = layouts[0], layouts[1:]
    problems = []
    for title, layout in others:
        if layout.size != reference.size:
            problems.append(f"size {reference.size} ({ref_title}) vs {layout.size} ({title})")
        if reference.align and layout.align and layout.align != reference.align:
            problems.append(f"alignment {reference.align} ({ref_title}) vs {layout.align} ({title})")
        by_name = {m.name: m for m in layout.members}
        for member in reference.members:
            theirs = by_name.get(member.name)
            if theirs is None:
                problems.append(f"member '{member.name}' missing in {title}")
            elif theirs.offset != member.offset or theirs.type.abi_key() != member.type.abi_key():
                problems.append(f"member '{member.name}': {_cell(member)} ({ref_title}) vs {_cell(theirs)} ({title})")
        ref_names = {m.name for m in reference.members}
        for member in layout.members:
            if member.name not in ref_names:
                problems.append(f"member '{member.name}' of {title} is not in {ref_title}")
    if not problems:
        return None
    for title, layout in others:
        offsets = [m.offset for m in layout.members if m.offset is not None]
        if title.startswith("Rust") and offsets != sorted(offsets):
            problems.append(f"{title} lists its fields in another order than their offsets: rustc reordered "
                            "them, is #[repr(C)] missing?")
    titles = [ref_title] + [t for t, _ in others]
    names = []
    for _, layout in layouts:
        for member in layout.members:
            if member.name not in names:
                names.append(member.name)
    rows = [["member"] + titles]
    for member_name in names:
        row = [member_name]
        for _, layout in layouts:
            row.append(_cell(next((m for m in layout.members if m.name == member_name), None)))
        rows.append(row)
    rows.append(["(size, align)"] + [f"{layout.size}, {layout.align}" for _, layout in layouts])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = "\n".join("    " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
                      for row in rows)
    sources = "\n".join(f"    {title}: {layout.origin}" for title, layout in layouts)
    return (f"struct {name} differs:\n" + "\n".join(f"  - {p}" for p in problems)
            + f"\n{table}\n  read from:\n{sources}")


def compare_signatures(name: str, signatures: list[tuple[str, Signature]]) -> str | None:
    """None if every signature agrees with the first (the C header's); else a message."""
    (ref_title, reference), others = signatures[0], signatures[1:]
    problems = []
    for title, signature in others:
        if len(signature.params) != len(reference.params):
            problems.append(f"{len(reference.params)} parameter(s) ({ref_title}) vs {len(signature.params)} ({title})")
        for index, (ours, theirs) in enumerate(zip(reference.params, signature.params)):
            if ours.abi_key() != theirs.abi_key():
                problems.append(f"parameter {index + 1}: {ours.describe()} ({ref_title}) vs {theirs.describe()} ({title})")
        if reference.returns.abi_key() != signature.returns.abi_key():
            problems.append(f"return: {reference.returns.describe()} ({ref_title}) vs "
                            f"{signature.returns.describe()} ({title})")
    if not problems:
        return None
    lines = [f"    {title}: {format_signature(s)}  [{s.origin}]" for title, s in signatures]
    return f"function {name} differs:\n" + "\n".join(f"  - {p}" for p in problems) + "\n" + "\n".join(lines)


def layout_record(layout: StructLayout) -> dict:
    """A struct layout as JSON data (the ABI record, docs/abi.md)."""
    return {"size": layout.size, "align": layout.align,
            "members": [{"name": m.name, "offset": m.offset, "type": m.type.describe()} for m in layout.members]}


def signature_record(signature: Signature) -> dict:
    return {"returns": signature.returns.describe(), "params": [p.describe() for p in signature.params]}


def format_signature(signature: Signature) -> str:
    params = ", ".join(p.describe() for p in signature.params) or "void"
    return f"{signature.returns.describe()} {signature.name}({params})"


def aux_info_functions(text: str, header_paths: list[str]) -> list[str]:
    """Function names GCC's ``-aux-info`` lists as declared in one of *header_paths*.

    Lines look like ``/* /path/kernel.h:29:NC */ extern uint32_t kern_crc32 (const uint8_t *, size_t);``."""
    names = []
    line_re = re.compile(r"^/\* (.+?):\d+:[NO]([CF]) \*/ (.*?)(\w+) \(")
    for line in text.splitlines():
        match = line_re.match(line)
        # C: a declaration (F: a definition in the header, e.g. a static inline helper: C's own)
        if match and match.group(1) in header_paths and match.group(2) == "C" \
                and not match.group(3).startswith("static") and match.group(4) not in names:
            names.append(match.group(4))
    return names


def structs_declared_in(data: bytes, header_names: set[str]) -> list[str]:
    """Names of the structs a C object's DWARF says were declared in one of the headers (matched
    by file name, as the compiler recorded it) -- the probe object's way to list a header's structs."""
    from elftools.common.exceptions import ELFError
    elf = open_elf(data)
    if not elf.has_dwarf_info():
        return []
    try:
        dwarf = dwarf_info(data, elf)
    except ELFError:
        return []
    found = []
    for unit in dwarf.iter_CUs():
        if language_of(unit.get_top_DIE()) != "c":
            continue
        program = dwarf.line_program_for_CU(unit)
        if program is None:
            continue
        entries = program["file_entry"]
        version = program["version"]
        for die in unit.iter_DIEs():
            if die.tag != "DW_TAG_structure_type" or not _name(die) or "DW_AT_declaration" in die.attributes:
                continue
            index = _int_attr(die, "DW_AT_decl_file")
            if index is None:
                continue
            position = index if version >= 5 else index - 1
            if 0 <= position < len(entries):
                entry_name = entries[position].name
                entry_name = entry_name.decode("utf-8", "replace") if isinstance(entry_name, bytes) else entry_name
                if entry_name.rsplit("/", 1)[-1] in header_names and _name(die) not in found:
                    found.append(_name(die))
    return found


def probe_source(headers: list[str], functions: list[str]) -> str:
    """The C file compiled with the board's compiler to get the header's own DWARF: it includes
    every header and takes a typed pointer to every function they declare (GCC emits DWARF only
    for what a translation unit uses; -fno-eliminate-unused-debug-types keeps the structs)."""
    lines = ["/* generated by polyboard's ABI checks (docs/abi.md): the C view of the headers */"]
    lines += [f'#include "{header}"' for header in headers]
    lines += [f"__typeof__({name}) *const {PROBE_PREFIX}{name} = {name};" for name in functions]
    return "\n".join(lines) + "\n"


# -- facts as data: one library's facts are read once and kept as JSON (abi/<lib>.layouts.json) ------

def facts_to_data(facts: DwarfFacts) -> dict:
    return {"has_dwarf": facts.has_dwarf, "error": facts.error, "languages": sorted(facts.languages),
            "structs": [[language, name, attrs.asdict(layout)] for (language, name), layout in facts.structs.items()],
            "functions": [[language, name, attrs.asdict(signature)]
                          for (language, name), signature in facts.functions.items()]}


def _type_from(data: dict) -> TypeInfo:
    return TypeInfo(**data)


def facts_from_data(data: dict) -> DwarfFacts:
    facts = DwarfFacts(has_dwarf=data["has_dwarf"], error=data["error"], languages=set(data["languages"]))
    for language, name, layout in data["structs"]:
        members = tuple(Member(m["name"], m["offset"], _type_from(m["type"])) for m in layout["members"])
        facts.structs[(language, name)] = StructLayout(layout["name"], layout["size"], layout["align"], members,
                                                       layout["origin"])
    for language, name, signature in data["functions"]:
        facts.functions[(language, name)] = Signature(signature["name"], _type_from(signature["returns"]),
                                                      tuple(_type_from(p) for p in signature["params"]),
                                                      signature["origin"])
    return facts
