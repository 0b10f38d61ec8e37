"""Fast tests of polyboard.abi (ELF/DWARF reading and comparison) and of the checks= option.

Objects are compiled from a few lines of C with the real cross compiler (well under a second);
no SCons, no cargo.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from polyboard import PolyboardError, abi, abi_changelog
from polyboard_plugins.abi_checks import parse_checks

ARM_GCC = "arm-none-eabi-gcc"
HARD = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
SOFT = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft"]
needs_arm = pytest.mark.skipif(shutil.which(ARM_GCC) is None, reason="arm-none-eabi-gcc is not installed")

HEADER = """\
#include <stdint.h>
struct pair { uint8_t tag; uint32_t value; float scale; };
uint32_t pair_value(const struct pair *p, uint32_t extra);
"""


def compile_c(tmp_path: Path, name: str, text: str, flags: list[str]) -> Path:
    source = tmp_path / f"{name}.c"
    source.write_text(text)
    (tmp_path / "pair.h").write_text(HEADER)
    out = tmp_path / f"{name}.o"
    subprocess.run([ARM_GCC, *flags, f"-I{tmp_path}", "-c", "-o", str(out), str(source)], check=True)
    return out


@needs_arm
def test_float_abi_of_hard_and_soft_objects(tmp_path):
    hard = compile_c(tmp_path, "hard", "float f(float x) { return x * 2; }\n", HARD)
    soft = compile_c(tmp_path, "soft", "float f(float x) { return x * 2; }\n", SOFT)
    found_hard = abi.float_abi_of(abi.open_elf(hard.read_bytes()))
    found_soft = abi.float_abi_of(abi.open_elf(soft.read_bytes()))
    assert found_hard.abi == "hard" and "Tag_ABI_VFP_args=1" in found_hard.detail
    assert found_soft.abi == "soft" and "Tag_ABI_VFP_args=0" in found_soft.detail
    assert abi.float_abi_mismatch(found_soft, "hard")
    assert not abi.float_abi_mismatch(found_hard, "hard")
    assert abi.float_abi_mismatch(found_hard, "softfp")  # softfp passes floats like soft


@needs_arm
def test_archive_members_are_named_and_read(tmp_path):
    soft = compile_c(tmp_path, "a_rather_long_object_name_over_16", "int g(void) { return 1; }\n", SOFT)
    archive = tmp_path / "libsoft.a"
    subprocess.run(["arm-none-eabi-ar", "rcD", str(archive), str(soft)], check=True)
    inputs = list(abi.elf_inputs(str(archive), "libsoft.a"))
    assert [label for label, _ in inputs] == ["libsoft.a(a_rather_long_object_name_over_16.o)"]
    assert abi.float_abi_of(abi.open_elf(inputs[0][1])).abi == "soft"
    index = abi.archive_symbol_index(archive.read_bytes())
    assert index == {"a_rather_long_object_name_over_16.o": {"g"}}
    assert abi.crate_members(inputs, {"g"}, index) == inputs
    assert abi.crate_members(inputs, {"other"}, index) == []


@needs_arm
def test_c_struct_layout_and_probe_signature_from_dwarf(tmp_path):
    probe = compile_c(tmp_path, "probe", abi.probe_source(["pair.h"], ["pair_value"]),
                      HARD + ["-g", "-fno-eliminate-unused-debug-types"])
    data = probe.read_bytes()
    assert abi.structs_declared_in(data, {"pair.h"}) == ["pair"]
    facts = abi.read_dwarf(data, "probe.o", structs={"pair"}, functions={"pair_value"})
    layout = facts.structs[("c", "pair")]
    assert (layout.size, layout.align) == (12, 4)
    assert [(m.name, m.offset, m.type.describe()) for m in layout.members] == \
        [("tag", 0, "uint8"), ("value", 4, "uint32"), ("scale", 8, "float32")]
    signature = facts.functions[("c", "pair_value")]
    assert abi.format_signature(signature) == "uint32 pair_value(pointer(4), uint32)"


@needs_arm
def test_an_object_without_debug_info_has_no_dwarf(tmp_path):
    plain = compile_c(tmp_path, "plain", '#include "pair.h"\nint h(struct pair *p) { return p->tag; }\n', HARD)
    assert not abi.read_dwarf(plain.read_bytes(), "plain.o", structs={"pair"}, functions=set()).has_dwarf


def test_aux_info_lists_the_headers_functions_only():
    text = ("/* /usr/include/stdio.h:10:NC */ extern int printf (const char *, ...);\n"
            "/* /t/include/kernel.h:29:NC */ extern uint32_t kern_crc32 (const uint8_t *, size_t);\n"
            "/* /t/include/kernel.h:36:NC */ extern float kern_scale (float, float);\n"
            "/* /t/include/kernel.h:40:NF */ static int kern_helper (int x); /* (x) int x; */\n")
    assert abi.aux_info_functions(text, ["/t/include/kernel.h"]) == ["kern_crc32", "kern_scale"]


U32, U16, F32 = abi.TypeInfo("int", 4, False, "u32"), abi.TypeInfo("int", 2, False, "u16"), abi.TypeInfo("float", 4)


def layout(*members, size=12, align=4):
    return abi.StructLayout("s", size, align, tuple(abi.Member(n, o, t) for n, o, t in members), "obj")


def test_equal_layouts_pass_whatever_the_type_names():
    c = layout(("a", 0, abi.TypeInfo("int", 4, False, "uint32_t")), ("b", 4, F32), size=8)
    rust = layout(("a", 0, U32), ("b", 4, F32), size=8)
    assert abi.compare_structs("s", [("C", c), ("Rust", rust)]) is None


def test_a_reordered_member_is_named_with_both_layouts():
    c = layout(("a", 0, U32), ("b", 4, U32), ("c", 8, F32))
    rust = layout(("b", 0, U32), ("a", 4, U32), ("c", 8, F32))
    message = abi.compare_structs("s", [("C", c), ("Rust", rust)])
    assert "member 'a': @0 uint32 (C) vs @4 uint32 (Rust)" in message
    assert "is #[repr(C)] missing?" not in message  # Rust lists its fields in offset order


def test_a_width_change_and_a_missing_member():
    c = layout(("a", 0, U32), ("b", 4, U32), ("c", 8, F32))
    rust = layout(("a", 0, U16), ("b", 4, U32), size=8)
    message = abi.compare_structs("s", [("C", c), ("Rust", rust)])
    assert "size 12 (C) vs 8 (Rust)" in message
    assert "member 'a': @0 uint32 (C) vs @0 uint16 (Rust)" in message
    assert "member 'c' missing in Rust" in message
    assert "(missing)" in message  # the table shows the hole


def test_rust_fields_out_of_offset_order_hint_at_a_missing_repr_c():
    c = layout(("tag", 0, abi.TypeInfo("int", 1, False)), ("value", 4, U32))
    rust = layout(("tag", 4, abi.TypeInfo("int", 1, False)), ("value", 0, U32), size=8)
    assert "is #[repr(C)] missing?" in abi.compare_structs("s", [("C", c), ("Rust KernPair", rust)])


def test_a_widened_parameter_is_named():
    c = abi.Signature("f", U32, (U32, abi.TypeInfo("pointer", 4)))
    rust = abi.Signature("f", U32, (abi.TypeInfo("int", 8, False), abi.TypeInfo("pointer", 4)))
    message = abi.compare_signatures("f", [("C", c), ("Rust", rust)])
    assert "parameter 1: uint32 (C) vs uint64 (Rust)" in message
    assert abi.compare_signatures("f", [("C", c), ("Rust", c)]) is None


def test_signedness_counts():
    c = abi.Signature("f", abi.TypeInfo("int", 4, True), ())
    rust = abi.Signature("f", U32, ())
    assert "return: int32 (C) vs uint32 (Rust)" in abi.compare_signatures("f", [("C", c), ("Rust", rust)])


def test_checks_option():
    assert parse_checks("") == {}
    assert parse_checks("float_abi=off,struct_layout=warn") == {"float_abi": "off", "struct_layout": "warn"}
    assert set(parse_checks("all=off").values()) == {"off"}
    with pytest.raises(PolyboardError, match="unknown check 'float'; valid checks: float_abi, struct_layout"):
        parse_checks("float=off")
    with pytest.raises(PolyboardError, match="needs a mode"):
        parse_checks("float_abi=maybe")


def _board_manifest(structs, functions, regions, sections, mode="error"):
    checks = {"struct_layout": {"mode": mode, "from": "default", "ran": mode != "off"}}
    return {"abi": {"firmware": {"checks": checks, "libraries": {"libk.a": {"headers": ["k.h"], "structs": structs,
                                                                           "functions": functions}}}},
            "programs": [{"component": "firmware", "memory_map": {"regions": regions, "sections": sections}}]}


S4 = {"s": {"size": 4, "align": 4, "members": [{"name": "a", "offset": 0, "type": "uint32"}]}}
F = {"f": {"returns": "uint32", "params": []}, "g": {"returns": "uint32", "params": []}}
REGIONS = [{"name": "FLASH", "origin": 0x08000000, "length": 1 << 20}, {"name": "RAM", "origin": 0x20000000, "length": 1 << 17}]
SECTIONS = [{"name": ".text", "address": 0x08000000, "size": 100, "regions": ["FLASH"]},
            {"name": ".data", "address": 0x20000000, "size": 8, "regions": ["RAM", "FLASH"]}]


def test_changelog_classifies_abi_and_memory_map_changes():
    old = _board_manifest(S4, F, REGIONS, SECTIONS)
    new = _board_manifest(
        {"s": {"size": 8, "align": 8, "members": [{"name": "a", "offset": 0, "type": "uint64"}]}},
        {"f": {"returns": "uint32", "params": []}, "h": {"returns": "int32", "params": ["pointer(4)"]}},
        [REGIONS[0], {**REGIONS[1], "length": 1 << 16}],
        [{**SECTIONS[0], "size": 120}, {**SECTIONS[1], "regions": ["CCM", "FLASH"]}], mode="warn")
    changes = abi_changelog.diff(old, new)
    assert [(c.severity, c.area, c.text) for c in changes] == [
        ("breaking", "ABI", "libk.a: struct s changed: size 4 -> 8; align 4 -> 8; member 'a' @0 uint32 -> @0 uint64"),
        ("breaking", "ABI", "libk.a: function g removed (was uint32(void))"),
        ("breaking", "memory map", "region RAM: length 131072 -> 65536"),
        ("breaking", "memory map", "section .data moved from RAM+FLASH to CCM+FLASH"),
        ("compatible", "ABI", "libk.a: function h added: int32(pointer(4))"),
        ("informational", "ABI", "check struct_layout: error -> warn"),
        ("informational", "memory map", "section .text (FLASH): 100 -> 120 B (+20)"),
    ]
    assert abi_changelog.verdict(changes) == "breaking"
    text = abi_changelog.render_text("b", "old.json", changes)
    assert text.startswith("ABI and memory map of b against old.json: breaking (4 breaking, 1 compatible, "
                           "2 informational)\n")
    assert "  breaking      firmware  memory map: region RAM: length 131072 -> 65536\n" in text
    markdown = abi_changelog.render_markdown("b", "old.json", changes)
    assert markdown.startswith("### ABI and memory map of b against `old.json`: **breaking**\n")
    assert "| compatible | firmware | ABI | libk.a: function h added: int32(pointer(4)) |" in markdown
    assert abi_changelog.diff(old, old) == []
    assert abi_changelog.verdict([]) == "unchanged"


def test_changelog_an_added_function_alone_is_compatible():
    old = _board_manifest(S4, F, REGIONS, SECTIONS)
    new = _board_manifest(S4, {**F, "h": {"returns": "void", "params": []}}, REGIONS, SECTIONS)
    changes = abi_changelog.diff(old, new)
    assert [(c.severity, c.text) for c in changes] == [("compatible", "libk.a: function h added: void(void)")]
    assert abi_changelog.verdict(changes) == "compatible"


@pytest.mark.skipif(shutil.which("riscv64-unknown-elf-gcc") is None, reason="riscv64-unknown-elf-gcc is not installed")
def test_riscv_objects_are_relocated_for_pyelftools(tmp_path):
    """pyelftools 0.33 cannot apply RISC-V relocations (RELA: the .debug_str offsets are in them)."""
    (tmp_path / "pair.h").write_text(HEADER)
    source = tmp_path / "probe.c"
    source.write_text(abi.probe_source(["pair.h"], ["pair_value"]))
    out = tmp_path / "probe.o"
    subprocess.run(["riscv64-unknown-elf-gcc", "-march=rv32imac", "-mabi=ilp32", "--specs=picolibc.specs", "-g",
                    "-fno-eliminate-unused-debug-types", f"-I{tmp_path}", "-c", "-o", str(out), str(source)], check=True)
    data = out.read_bytes()
    assert abi.structs_declared_in(data, {"pair.h"}) == ["pair"]
    facts = abi.read_dwarf(data, "probe.o", structs={"pair"}, functions={"pair_value"})
    assert not facts.error
    assert [(m.name, m.offset) for m in facts.structs[("c", "pair")].members] == [("tag", 0), ("value", 4), ("scale", 8)]
    assert abi.format_signature(facts.functions[("c", "pair_value")]) == "uint32 pair_value(pointer(4), uint32)"


# -- the struct reader of the float ABI (abi.float_abi_of_data) against pyelftools' reading -------

NEWLIB = Path("/usr/lib/arm-none-eabi/newlib/thumb")
NEWLIB_ARCHIVES = [NEWLIB / "v7e-m/nofp/libc.a", NEWLIB / "v7e-m+fp/hard/libc.a", NEWLIB / "v7e-m+fp/softfp/libm.a"]


def both_readings(data: bytes) -> tuple[abi.FloatAbi, abi.FloatAbi]:
    return abi.float_abi_of_data(data), abi.float_abi_of(abi.open_elf(data))


@needs_arm
@pytest.mark.parametrize("flags", [HARD, SOFT, ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=softfp", "-mfpu=fpv4-sp-d16"],
                                   ["-mcpu=cortex-a7", "-marm", "-mfloat-abi=hard", "-mfpu=neon-vfpv4", "-mbig-endian"]],
                         ids=["hard", "soft", "softfp", "big-endian-hard"])
def test_the_struct_reader_answers_as_pyelftools(tmp_path, flags):
    obj = compile_c(tmp_path, "f", "float f(float x) { return x * 2; }\n", flags)
    data = obj.read_bytes()
    fast, slow = both_readings(data)
    assert abi._arm_float_abi(data) is not None  # read by the struct reader, not handed to pyelftools
    assert fast == slow
    assert fast.abi == ("soft" if "-mfloat-abi=hard" not in flags else "hard")


@needs_arm
def test_the_struct_reader_without_attributes_reads_the_header_flags(tmp_path):
    obj = compile_c(tmp_path, "f", "int f(int x) { return x; }\n", HARD)
    subprocess.run(["arm-none-eabi-objcopy", "--remove-section=.ARM.attributes", str(obj)], check=True)
    data = obj.read_bytes()
    fast, slow = both_readings(data)
    assert abi._arm_float_abi(data) is not None
    assert fast == slow and fast.detail.startswith("e_flags 0x05000000") and "no .ARM.attributes" in fast.detail


@pytest.mark.skipif(not all(p.is_file() for p in NEWLIB_ARCHIVES), reason="newlib for arm-none-eabi is not installed")
@pytest.mark.parametrize("archive", NEWLIB_ARCHIVES, ids=lambda p: "/".join(p.parts[-3:]))
def test_the_struct_reader_answers_as_pyelftools_on_newlibs_objects(archive):
    """Real objects, soft-float (nofp, softfp) and hard-float ones: the first 60 members."""
    members = list(abi.elf_inputs(str(archive), archive.name))[:60]
    assert len(members) == 60
    answers = set()
    for label, data in members:
        fast, slow = both_readings(data)
        assert fast == slow, label
        answers.add(fast.abi)
    # (the hard-float libc has members without a Tag_ABI_VFP_args, e.g. from assembly: "soft")
    assert ("hard" in answers) == ("hard" in archive.parts) and "soft" in answers


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None, reason="aarch64-linux-gnu-gcc is not installed")
def test_the_struct_reader_leaves_other_machines_to_pyelftools(tmp_path):
    source = tmp_path / "f.c"
    source.write_text("float f(float x) { return x * 2; }\n")
    obj = tmp_path / "f.o"
    subprocess.run(["aarch64-linux-gnu-gcc", "-c", "-o", str(obj), str(source)], check=True)
    data = obj.read_bytes()
    assert abi._arm_float_abi(data) is None
    assert abi.float_abi_of_data(data) == abi.float_abi_of(abi.open_elf(data))


def attributes_section(*attributes: bytes, vendor: bytes = b"aeabi") -> bytes:
    """An .ARM.attributes section: version A, one vendor subsection, one file-scope list."""
    body = b"".join(attributes)
    file_list = b"\x01" + (5 + len(body)).to_bytes(4, "little") + body
    subsection = vendor + b"\0" + file_list
    return b"A" + (4 + len(subsection)).to_bytes(4, "little") + subsection


def test_the_attributes_reader_on_crafted_sections():
    # Tag_CPU_name "cortex-m4", Tag_compatibility 1 "gnu", Tag_ABI_VFP_args 1, Tag_ABI_enum_size 1
    section = attributes_section(b"\x05cortex-m4\0", b"\x20\x01gnu\0", b"\x1c\x01", b"\x1a\x01")
    data = b"pad" + section
    assert abi._vfp_args(data, 3, len(section), "<") == 1
    assert abi._vfp_args(attributes_section(b"\x1a\x01"), 0, len(attributes_section(b"\x1a\x01")), "<") == 0
    for odd in (attributes_section(b"\x1c\x01", vendor=b"gnu"),     # another vendor: pyelftools reads it
                attributes_section(b"\x41\x06\x01\0"),              # Tag_also_compatible_with
                attributes_section(b"\x7f\x01"),                    # a tag pyelftools does not know
                attributes_section(b"\x1c\x01")[:-1] + b"\x81"):    # an attribute past the list's end
        with pytest.raises((ValueError, IndexError)):
            abi._vfp_args(odd, 0, len(odd), "<")


def dwarf_sections(dwarf) -> dict[str, bytes]:
    return {name: getattr(dwarf, attribute).stream.getvalue()
            for name, attribute in (("info", "debug_info_sec"), ("abbrev", "debug_abbrev_sec"),
                                    ("str", "debug_str_sec"), ("line", "debug_line_sec"),
                                    ("aranges", "debug_aranges_sec"), ("frame", "debug_frame_sec"),
                                    ("eh_frame", "eh_frame_sec"), ("rnglists", "debug_rnglists_sec"),
                                    ("line_str", "debug_line_str_sec"))
            if getattr(dwarf, attribute) is not None}


@pytest.mark.parametrize("compiler, flags", [
    (ARM_GCC, HARD + ["-g"]),
    (ARM_GCC, ["-mcpu=cortex-a7", "-marm", "-mbig-endian", "-g"]),
    ("aarch64-linux-gnu-gcc", ["-g"]),  # RELA, with .eh_frame's PC-relative relocations
], ids=["arm", "arm-big-endian", "aarch64"])
def test_debug_sections_relocated_with_struct_are_pyelftools_relocated_ones(tmp_path, compiler, flags):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    (tmp_path / "pair.h").write_text(HEADER)
    source = tmp_path / "probe.c"
    source.write_text(abi.probe_source(["pair.h"], ["pair_value"]) + "uint32_t use(struct pair *p) { return p->value; }\n")
    out = tmp_path / "probe.o"
    subprocess.run([compiler, *flags, "-fno-eliminate-unused-debug-types", f"-I{tmp_path}", "-c", "-o", str(out),
                    str(source)], check=True)
    data = out.read_bytes()
    relocated = abi._debug_relocated(data)
    assert relocated is not None and relocated is not data  # relocated here, not by pyelftools
    ours = dwarf_sections(abi.dwarf_info(data, abi.open_elf(data)))
    theirs = dwarf_sections(abi.open_elf(data).get_dwarf_info())
    assert ours == theirs and ours["info"]
    facts = abi.read_dwarf(data, "probe.o", structs={"pair"}, functions={"pair_value"})
    assert [(m.name, m.offset) for m in facts.structs[("c", "pair")].members] == [("tag", 0), ("value", 4), ("scale", 8)]


@needs_arm
def test_a_linked_program_is_read_without_relocating(tmp_path):
    source = tmp_path / "main.c"
    source.write_text("int main(void) { return 0; }\n")
    program = tmp_path / "main.elf"
    subprocess.run([ARM_GCC, *HARD, "-g", "--specs=nosys.specs", "-o", str(program), str(source)], check=True)
    data = program.read_bytes()
    assert abi._debug_relocated(data) is data
    assert dwarf_sections(abi.dwarf_info(data, abi.open_elf(data))) == dwarf_sections(abi.open_elf(data).get_dwarf_info())
