"""The ABI checks end to end (docs/abi.md): a tree built for stm32f4 once, then one copy per test
with a deliberate mismatch between the C header, the Rust kernel or a C object.

Each failing case asserts the check's message (what the user reads) and that nothing was linked.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import test_size_report
from helpers import child_env, copy_built_tree, copy_tree, run_scons, spawned, spawned_processes, write

pytestmark = pytest.mark.toolchain

BOARD = "board=stm32f4"


@pytest.fixture(scope="module")
def built_f4(tmp_path_factory) -> Path:
    """The reference tree built for stm32f4 only (Rust core for thumbv7em once, ~1 minute)."""
    folder = tmp_path_factory.mktemp("abi")
    tree = copy_tree(folder / "tree")
    result = run_scons(tree, BOARD, "-j1")
    assert result.returncode == 0, result.output
    yield tree
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def f4(built_f4, tmp_path) -> Path:
    """A modifiable copy of the built stm32f4 tree."""
    return copy_built_tree(built_f4, tmp_path / "tree")


def edit(tree: Path, relative: str, old: str, new: str) -> None:
    path = tree / relative
    text = path.read_text()
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1))


LIB = "src/kernel/src/lib.rs"
HEADER = "src/kernel/include/kernel.h"
BEFORE_TESTS = "\n#[cfg(test)]\nmod tests {"


def failing_build(tree: Path, *args: str):
    log = tree / "spawn.log"
    result = run_scons(tree, BOARD, "-j1", *args, env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert result.returncode != 0, result.output
    assert "Traceback" not in result.output
    print(result.stderr)  # the message, for the log (pytest -s)
    links = [p["argv"] for p in spawned_processes(log) if any(a.endswith("firmware.elf.tmp") for a in p["argv"])]
    assert not links, f"the firmware was linked: {links}"
    return result


def test_a_null_build_runs_no_check_and_starts_no_process(built_f4):
    log = built_f4 / "null.log"
    result = run_scons(built_f4, BOARD, "-j1", env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert result.returncode == 0, result.output
    assert spawned(log) == ""
    assert "ABI " not in result.stdout
    record = json.loads((built_f4 / "build/stm32f4/firmware.abi.json").read_text())
    kernel = record["libraries"]["libkernel.a"]
    assert kernel["structs"]["kern_stats"]["members"][3] == {"name": "mean", "offset": 12, "type": "float32"}
    assert kernel["functions"]["kern_crc32"] == {"params": ["pointer(4)", "uint32"], "returns": "uint32"}


SOFT_PLUGIN = '''\
"""A C library compiled with -mfloat-abi=soft whatever the board says (for the float-ABI check)."""
from polyboard import hookimpl
from polyboard.context import Artifact


def declare(build, component):
    env = build.env.Clone()
    env.Append(CCFLAGS=["-mfloat-abi=soft"])  # after the board's -mfloat-abi=hard: wins
    objects = env.Object(build.path("soft", "soft.c.o"), "#src/soft/soft.c")
    library = env.StaticLibrary(build.path("soft", "libsoft.a"), objects)
    return Artifact(component=component.name, kind=component.kind, nodes=list(library), library=library[0])


@hookimpl
def polyboard_register(registry):
    registry.add_component_kind("soft_c_library", declare)
'''
SOFT_SCONSTRUCT = '''\
import polyboard

project = polyboard.start()
kernel = project.rust_staticlib("kernel", crate="src/kernel")
soft = project.soft_c_library("soft")
project.c_firmware("firmware", sources=["src/firmware/startup.c", "src/firmware/main.c"], libs=[kernel, soft])
project.finish()
'''


def test_a_soft_float_archive_member_fails_the_build_before_the_link(f4):
    write(f4 / "plugins/soft_lib.py", SOFT_PLUGIN)
    write(f4 / "src/soft/soft.c", "float soft_half(float x) { return x / 2; }\n")
    write(f4 / "SConstruct", SOFT_SCONSTRUCT)
    # referenced, so that ld pulls the member in (an unreferenced member is checked all the same)
    main = f4 / "src/firmware/main.c"
    main.write_text(main.read_text() + "\nextern float soft_half(float);\nfloat (*volatile keep_soft)(float) = soft_half;\n")
    result = failing_build(f4)
    assert ("build/stm32f4/soft/libsoft.a(soft.c.o) uses the soft-float ABI (Tag_ABI_VFP_args=0 (base AAPCS, "
            "floats in core registers)") in result.stderr
    assert "board stm32f4 is hard-float (hard: Tag_ABI_VFP_args=1; boards/stm32f4.toml, cpu.float_abi)" in result.stderr
    assert "libkernel.a(" not in result.stderr  # the Rust members agree with the board
    # warn: the check prints and the link runs, where GNU ld refuses the object itself
    warned = run_scons(f4, BOARD, "-j1", "checks=float_abi=warn")
    print(warned.stderr)
    assert "polyboard: warning: float ABI check on board stm32f4" in warned.stderr
    assert "uses VFP register arguments" in warned.stderr, warned.output  # ld's own, less precise, refusal


def test_a_reordered_rust_field(f4):
    edit(f4, LIB, "    pub min: u32,\n    pub max: u32,\n", "    pub max: u32,\n    pub min: u32,\n")
    result = failing_build(f4)
    assert "struct kern_stats differs:" in result.stderr
    assert "member 'min': @4 uint32 (C kernel.h) vs @8 uint32 (Rust KernStats)" in result.stderr
    assert "member 'max': @8 uint32 (C kernel.h) vs @4 uint32 (Rust KernStats)" in result.stderr
    assert "is #[repr(C)] missing?" not in result.stderr  # repr(C) keeps declaration order
    # warn lets the build through, with the same message
    warned = run_scons(f4, BOARD, "-j1", "checks=struct_layout=warn")
    assert warned.returncode == 0, warned.output
    assert "member 'min': @4 uint32 (C kernel.h) vs @8 uint32 (Rust KernStats)" in warned.stderr


def test_a_changed_integer_width(f4):
    edit(f4, LIB, "    pub count: u32,\n", "    pub count: u64,\n")
    edit(f4, LIB, "count: samples.len() as u32,", "count: samples.len() as u64,")
    result = failing_build(f4)
    assert "size 16 (C kernel.h) vs 24 (Rust KernStats)" in result.stderr
    assert "alignment 4 (C kernel.h) vs 8 (Rust KernStats)" in result.stderr
    assert "member 'count': @0 uint32 (C kernel.h) vs @0 uint64 (Rust KernStats)" in result.stderr


KERN_PAIR_C = """struct kern_pair {
    uint8_t tag;
    uint32_t value;
    uint8_t flags;
};

uint32_t kern_pair_value(const struct kern_pair *pair);

/* Returns KERN_ABI_VERSION. */"""
KERN_PAIR_RUST = """
/// C name `struct kern_pair`, deliberately without #[repr(C)].
pub struct KernPair {
    pub tag: u8,
    pub value: u32,
    pub flags: u8,
}

/// # Safety
/// `pair` must point to a readable `KernPair`.
#[no_mangle]
pub unsafe extern "C" fn kern_pair_value(pair: *const KernPair) -> u32 {
    (*pair).value + (*pair).tag as u32 + (*pair).flags as u32
}
"""


def test_a_missing_repr_c(f4):
    """Without #[repr(C)] rustc may reorder fields; DWARF shows the layout it chose. KernStats
    (four 4-byte fields) keeps C's layout, so only kern_pair (u8, u32, u8) is reported."""
    edit(f4, LIB, "#[repr(C)]\n#[derive(Debug, Clone, Copy, Default, PartialEq)]\npub struct KernStats",
         "#[derive(Debug, Clone, Copy, Default, PartialEq)]\npub struct KernStats")
    edit(f4, HEADER, "/* Returns KERN_ABI_VERSION. */", KERN_PAIR_C)
    edit(f4, LIB, BEFORE_TESTS, KERN_PAIR_RUST + BEFORE_TESTS)
    result = failing_build(f4)
    assert "struct kern_pair differs:" in result.stderr
    assert "size 12 (C kernel.h) vs 8 (Rust KernPair)" in result.stderr
    assert "member 'tag': @0 uint8 (C kernel.h) vs @4 uint8 (Rust KernPair)" in result.stderr
    assert "rustc reordered them, is #[repr(C)] missing?" in result.stderr
    assert "struct kern_stats differs" not in result.stderr


def test_a_missing_member(f4):
    edit(f4, LIB, "    pub mean: f32,\n}", "}")
    edit(f4, LIB, "        mean: (sum as f64 / samples.len() as f64) as f32,\n", "")
    edit(f4, LIB, "    let mut sum: u64 = 0;", "    let mut _sum: u64 = 0;")
    edit(f4, LIB, "        sum += s as u64;", "        _sum += s as u64;")
    result = failing_build(f4)
    assert "member 'mean' missing in Rust KernStats" in result.stderr
    assert "size 16 (C kernel.h) vs 12 (Rust KernStats)" in result.stderr


def test_a_widened_function_parameter(f4):
    edit(f4, HEADER, "/* Returns KERN_ABI_VERSION. */",
         "uint32_t kern_add(uint32_t a, uint32_t b);\n\n/* Returns KERN_ABI_VERSION. */")
    edit(f4, LIB, BEFORE_TESTS, '\n#[no_mangle]\npub extern "C" fn kern_add(a: u32, b: u64) -> u32 {\n'
                                "    a.wrapping_add(b as u32)\n}\n" + BEFORE_TESTS)
    result = failing_build(f4)
    assert "function kern_add differs:" in result.stderr
    assert "parameter 2: uint32 (C kernel.h) vs uint64 (Rust)" in result.stderr
    assert "C kernel.h: uint32 kern_add(uint32, uint32)" in result.stderr
    assert "Rust: uint32 kern_add(uint32, uint64)" in result.stderr


def test_a_header_struct_without_a_rust_counterpart_is_named(f4):
    edit(f4, HEADER, "/* Returns KERN_ABI_VERSION. */",
         "struct kern_orphan {\n    uint32_t x;\n};\n\n/* Returns KERN_ABI_VERSION. */")
    result = failing_build(f4)
    assert ("struct kern_orphan (kernel.h) has no Rust counterpart in libkernel.a: no struct named KernOrphan "
            "or kern_orphan in its DWARF") in result.stderr
    assert run_scons(f4, BOARD, "-j1", "checks=struct_layout=off").returncode == 0


def test_a_staticlib_without_debug_info_says_how_to_enable_it(f4):
    """A warning, not a failure: cargo's release profile has no debug info by default, and the
    README's own example tree (tests/test_external_tree.py) must keep building."""
    edit(f4, "src/kernel/Cargo.toml", "debug = true", "debug = false")
    result = run_scons(f4, BOARD, "-j1")
    print(result.stderr)
    assert result.returncode == 0, result.output
    assert "polyboard: warning: ABI check on board stm32f4 cannot check everything:" in result.stderr
    assert "has no DWARF debug info, so its layouts cannot be checked: set debug = true under " \
           "[profile.release] in src/kernel/Cargo.toml" in result.stderr
    assert "build/stm32f4/kernel/libkernel.a(kernel-" in result.stderr
    record = json.loads((f4 / "build/stm32f4/firmware.abi.json").read_text())
    assert record["unchecked"][0].startswith("build/stm32f4/kernel/libkernel.a(kernel-")


@pytest.fixture(scope="module")
def built_rpi4(tmp_path_factory) -> Path:
    """The reference tree with rpi4's Go program built (and what it needs: the kernel for aarch64)."""
    folder = tmp_path_factory.mktemp("abi-go")
    tree = copy_tree(folder / "tree")
    result = run_scons(tree, "board=rpi4", "-j1", "build/rpi4/app.abi.json")  # the program and its check
    assert result.returncode == 0, result.output
    yield tree
    shutil.rmtree(folder, ignore_errors=True)


def test_go_program_is_checked_against_cgos_view_and_deleted_on_a_mismatch(built_rpi4, tmp_path):
    record = json.loads((built_rpi4 / "build/rpi4/app.abi.json").read_text())
    assert record["libraries"]["libkernel.a"]["functions"]["kern_crc32"] == \
        {"params": ["pointer(8)", "uint64"], "returns": "uint32"}
    tree = copy_built_tree(built_rpi4, tmp_path / "tree")
    edit(tree, LIB, "    pub min: u32,\n    pub max: u32,\n", "    pub max: u32,\n    pub min: u32,\n")
    result = run_scons(tree, "board=rpi4", "-j1", "build/rpi4/app.abi.json")
    print(result.stderr)
    assert result.returncode != 0, result.output
    assert "member 'min': @4 uint32 (C kernel.h) vs @8 uint32 (Rust KernStats)" in result.stderr
    assert "Go (cgo's Go type)" in result.stderr and "cgo's C" in result.stderr  # both views, side by side
    assert not (tree / "build/rpi4/app.debug").exists()  # the checked program: never taken as up to date
    assert not (tree / "build/rpi4/app").exists()  # nor a stripped copy of it


def test_the_manifest_records_the_abi_the_memory_map_and_which_checks_ran(built_f4):
    data = json.loads((built_f4 / "build/stm32f4/manifest.json").read_text())
    test_size_report.validate(data)  # docs/manifest.schema.json
    firmware = data["abi"]["firmware"]
    assert firmware["checks"] == {
        "float_abi": {"mode": "error", "from": "default", "ran": True},
        "struct_layout": {"mode": "error", "from": "default", "ran": True},
        "function_signature": {"mode": "error", "from": "default", "ran": True}}
    assert firmware["libraries"]["libkernel.a"]["structs"]["kern_stats"]["size"] == 16
    assert not any(a["path"].endswith(".abi.json") for a in data["artifacts"])  # a record, not an artifact
    program = next(p for p in data["programs"] if p["component"] == "firmware")
    assert program["memory_map"]["regions"][1] == {"name": "RAM", "origin": 0x2000_0000, "length": 0x2_0000}
    text = next(s for s in program["memory_map"]["sections"] if s["name"] == ".text")
    assert text["regions"] == ["FLASH"] and text["size"] > 0


def test_a_check_switched_off_is_recorded_with_where_it_was_switched(f4):
    result = run_scons(f4, BOARD, "-j1", "checks=function_signature=off")
    assert result.returncode == 0, result.output
    checks = json.loads((f4 / "build/stm32f4/manifest.json").read_text())["abi"]["firmware"]["checks"]
    assert checks["function_signature"] == {"mode": "off", "from": "checks= option", "ran": False,
                                            "skipped": "switched off (checks= option)"}
    assert checks["struct_layout"]["ran"] is True


def abi_diff(tree: Path, *args: str):
    result = run_scons(tree, BOARD, "-j1", "abi-diff", "baseline=saved manifest $v1.json", *args)
    print(result.stdout)
    assert "Traceback" not in result.output
    return result


def flat(text: str) -> str:
    """The text with runs of spaces as one (the text table pads its columns)."""
    return re.sub(" +", " ", text)


def test_abi_diff_against_a_saved_manifest(f4):
    # a name with a space and a $: data, never substituted
    shutil.copy(f4 / "build/stm32f4/manifest.json", f4 / "saved manifest $v1.json")
    same = abi_diff(f4, "fail_on=breaking")
    assert same.returncode == 0, same.output
    assert "ABI and memory map of stm32f4 against saved manifest $v1.json: unchanged (0 breaking, 0 compatible, " \
           "0 informational)" in same.stdout
    log = f4 / "again.log"
    again = run_scons(f4, BOARD, "-j1", "abi-diff", "baseline=saved manifest $v1.json",
                      env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert spawned(log) == "" and "ABIDIFF" not in again.stdout  # up to date: printed, not recomputed

    # an added function: compatible, so fail_on=breaking passes
    edit(f4, HEADER, "/* Returns KERN_ABI_VERSION. */",
         "uint32_t kern_add(uint32_t a, uint32_t b);\n\n/* Returns KERN_ABI_VERSION. */")
    edit(f4, LIB, BEFORE_TESTS, '\n#[no_mangle]\npub extern "C" fn kern_add(a: u32, b: u32) -> u32 {\n'
                                "    a.wrapping_add(b)\n}\n" + BEFORE_TESTS)
    added = abi_diff(f4, "fail_on=breaking")
    assert added.returncode == 0, added.output
    assert "against saved manifest $v1.json: compatible (0 breaking, 1 compatible" in added.stdout
    assert "compatible firmware ABI: libkernel.a: function kern_add added: uint32(uint32, uint32)" \
        in flat(added.stdout)

    # a wider field (header and Rust agree, so the build passes) and a smaller RAM: breaking
    edit(f4, HEADER, "    uint32_t count;\n", "    uint64_t count;\n")
    edit(f4, LIB, "    pub count: u32,\n", "    pub count: u64,\n")
    edit(f4, LIB, "count: samples.len() as u32,", "count: samples.len() as u64,")
    edit(f4, "src/firmware/main.c", "               st.count, st.min", "               (uint32_t)st.count, st.min")
    edit(f4, "boards/stm32f4.toml", "length = 0x2_0000      # 128 KiB", "length = 0x1_8000")
    changed = abi_diff(f4)
    assert changed.returncode == 0, changed.output  # fail_on=nothing (the default): a changelog, not a gate
    assert "against saved manifest $v1.json: breaking (" in changed.stdout
    assert ("breaking firmware ABI: libkernel.a: struct kern_stats changed: size 16 -> 24; align 4 -> 8; "
            "member 'count' @0 uint32 -> @0 uint64; member 'min' @4 uint32 -> @8 uint32") in flat(changed.stdout)
    assert "breaking firmware memory map: region RAM: length 131072 -> 98304" in flat(changed.stdout)
    assert "compatible firmware ABI: libkernel.a: function kern_add added" in flat(changed.stdout)
    markdown = abi_diff(f4, "format=markdown", "fail_on=breaking")
    assert markdown.returncode != 0, markdown.output
    assert "### ABI and memory map of stm32f4 against `saved manifest $v1.json`: **breaking**" in markdown.stdout
    assert "| breaking | firmware | memory map | region RAM: length 131072 -> 98304 |" in markdown.stdout
    assert (f4 / "build/stm32f4/abi-diff.md").read_text() in markdown.stdout


def test_a_rust_edit_reads_the_staticlib_once_for_every_program_that_links_it(f4):
    """The staticlib's DWARF is read once per board (abi/libkernel.a.layouts.json); an edit that
    leaves the header's layouts as they were re-runs no program's check."""
    edit(f4, LIB, BEFORE_TESTS, '\n#[no_mangle]\npub extern "C" fn kern_unlisted() -> u32 {\n    7\n}\n' + BEFORE_TESTS)
    programs = ("build/stm32f4/firmware.abi.json", "build/stm32f4/firmware-test.abi.json")
    result = run_scons(f4, BOARD, "-j1", *programs)
    assert result.returncode == 0, result.output
    assert result.stdout.count("ABI     [stm32f4] build/stm32f4/abi/libkernel.a.layouts.json") == 1, result.stdout
    assert "abi/libkernel.a.probe.o" not in result.stdout  # the header did not change
    for program in programs:
        assert f"`{program}' is up to date" in result.stdout
    # a change in the layouts re-runs the check of every program that links the library
    edit(f4, LIB, "    pub count: u32,\n", "    pub count: u16,\n    pub pad: u16,\n")
    edit(f4, LIB, "count: samples.len() as u32,", "count: samples.len() as u16, pad: 0,")
    failed = run_scons(f4, BOARD, "-j1", "-k", *programs)
    assert failed.returncode != 0
    assert failed.stdout.count("ABI     [stm32f4] build/stm32f4/abi/libkernel.a.layouts.json") == 1, failed.stdout
    assert failed.stderr.count("member 'count': @0 uint32 (C kernel.h) vs @0 uint16 (Rust KernStats)") == 2, \
        failed.stderr


def test_the_float_abi_struct_reader_answers_as_pyelftools_on_the_built_tree(built_f4):
    """Every member of the Rust staticlib (core's thousands of sections included) and every C
    object of the firmware: the struct reader's answer is pyelftools' answer."""
    from polyboard import abi

    build = built_f4 / "build/stm32f4"
    inputs = list(abi.elf_inputs(str(build / "kernel/libkernel.a"), "libkernel.a"))
    assert len(inputs) >= 3  # the kernel, core, compiler_builtins
    inputs += [item for path in sorted(build.rglob("*.o")) if "abi" not in path.parts
               for item in abi.elf_inputs(str(path), path.name)]
    assert len(inputs) >= 6
    for label, data in inputs:
        assert abi._arm_float_abi(data) is not None, label  # not handed to pyelftools
        assert abi.float_abi_of_data(data) == abi.float_abi_of(abi.open_elf(data)), label


def test_cgo_struct_types_found_by_name_are_the_ones_a_walk_finds(built_rpi4, monkeypatch):
    """The Go program's cgo types are found by their names' bytes (abi._go_struct_candidates);
    walking every DIE of the same units finds the same layouts."""
    from polyboard import abi

    data = (built_rpi4 / "build/rpi4/app.debug").read_bytes()
    wanted = {"structs": {"kern_stats", "kern_missing"}, "functions": set(), "languages": ("go", "c")}
    found = abi.read_dwarf(data, "app.debug", **wanted)
    searched = []
    real = abi._go_struct_candidates
    monkeypatch.setattr(abi, "_go_struct_candidates", lambda *a: searched.append(real(*a)) or None)
    walked = abi.read_dwarf(data, "app.debug", **wanted)
    assert searched and all(dies is not None for dies in searched)  # the search ran on the Go units
    assert abi.facts_to_data(found) == abi.facts_to_data(walked)
    layout = found.structs[("go", "kern_stats")]
    assert [(m.name, m.offset, m.type.describe()) for m in layout.members] == [
        ("count", 0, "uint32"), ("min", 4, "uint32"), ("max", 8, "uint32"), ("mean", 12, "float32")]
    assert ("c", "kern_stats") in found.structs and ("go", "kern_missing") not in found.structs
