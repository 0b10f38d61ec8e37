"""Know what you ship: the artifact manifest, per-component sizes, budgets and size diffs.

Pure logic (the link-map reader, component names, budget values, diffs, manifest loading) is
tested on small inputs; everything else on real builds: the session tree (stm32f4, lm3s6965 and
the Linux boards, and the three newer architectures), copies of it for edits; tests/test_new_archs.py
runs the per-region checks on microbit, mps2-an505 and hifive1. Manifests are validated with the ``jsonschema`` library against
docs/manifest.schema.json.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from conftest import SESSION_BOARDS
from helpers import REPO, child_env, copy_built_tree, run_scons, snapshot, spawned_processes, write
from test_errors import assert_user_error

from polyboard import attribution, budgets, link_map, manifest
from polyboard.errors import PolyboardError

SCHEMA = json.loads((REPO / "docs" / "manifest.schema.json").read_text(encoding="utf-8"))
SESSION_MCU = ["stm32f4", "lm3s6965"]
SESSION_LINUX = ["rpi3", "rpi4", "visionfive2"]
SESSION_ALL = SESSION_BOARDS.split(",")


def validate(data: dict) -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])


def assert_sizes_add_up(tree: Path, board: str) -> dict:
    """The board's manifest is valid, lists every artifact with its real size and sha256, and each
    program's components add up exactly to each region's total, which is the memory table's."""
    data = json.loads((tree / "build" / board / "manifest.json").read_text(encoding="utf-8"))
    validate(data)
    assert data["board"]["id"] == board
    for artifact in data["artifacts"]:
        blob = (tree / artifact["path"]).read_bytes()
        assert artifact["bytes"] == len(blob) and artifact["sha256"] == hashlib.sha256(blob).hexdigest()
    assert data["programs"], "no program was attributed"
    for program in data["programs"]:
        for region in program["regions"]:
            assert sum(region["components"].values()) == region["used"], (program["path"], region)
        memory = tree / program["path"].replace(".elf", ".memory.txt")
        if program["kind"] == "regions":
            table = {cells[0]: int(cells[1]) for cells in  # the region rows (the last line names the profile)
                     (line.split() for line in memory.read_text().splitlines()[1:]) if cells[-1].endswith("%")}
            assert {r["name"]: r["used"] for r in program["regions"]} == table
    return data


# -- pure logic ----------------------------------------------------------------------------------

MAP = """\
Memory Configuration
Linker script and memory map

LOAD build/b/obj/fw/src/main.c.o
.text           0x08000000      0x40
 *(.text .text.*)
 .text.main     0x08000000       0x10 build/b/obj/fw/src/main.c.o
                0x08000000                main
 .text._RNvCs1_6kernel5crc32
                0x08000010       0x14 build/b/kernel/libkernel.a(kernel-e12cf828e0bf7c7e.kernel.8c89966f-cgu.0.rcgu.o)
                0x08000010                kernel::crc32
 *fill*         0x08000024        0x4 
 .text          0x08000028        0x8 /usr/lib/gcc/arm-none-eabi/12.2.1/thumb/libgcc.a(_udivsi3.o)
 .rodata.str1.1 0x08000030       0x20 /usr/lib/arm-none-eabi/newlib/libc.a(lib_a-printf.o)
 .rodata.str1.1 0x08000030        0x4 /usr/lib/arm-none-eabi/newlib/libc.a(lib_a-puts.o)
.heap           0x20000000      0x100
                0x20000000                        . = ALIGN (0x8)
 *fill*         0x20000000      0x100 
OUTPUT(fw.elf elf32-littlearm)
"""


def test_the_link_map_reader_finds_input_sections_and_symbols():
    parsed = link_map.parse(MAP)
    text = parsed.sections[".text"]
    assert (text.address, text.size) == (0x0800_0000, 0x40)
    assert [(i.name, i.size) for i in text.inputs] == [
        (".text.main", 0x10), (".text._RNvCs1_6kernel5crc32", 0x14), ("*fill*", 4), (".text", 8),
        (".rodata.str1.1", 0x20), (".rodata.str1.1", 4)]
    assert parsed.symbols[0x0800_0010] == ["kernel::crc32"]
    assert parsed.sections[".heap"].inputs[0].size == 0x100


@pytest.mark.parametrize(("origin", "section", "component"), [
    ("build/b/kernel/libkernel.a(kernel-e12cf828e0bf7c7e.kernel.8c89966f-cgu.0.rcgu.o)", ".text", "kernel"),
    ("x/libkernel.a(compiler_builtins-15c9ffcebfa53d58.compiler_builtins.ecfc6ff5-cgu.005.rcgu.o)", ".text",
     "compiler_builtins"),
    ("/t/deps/core-40e1e684139c79f9.core.59d1507a-cgu.0.rcgu.o", ".text", "core"),
    ("build/stm32f4/obj/firmware/src/firmware/main.c.o", ".text", "src/firmware/main.c"),
    ("/usr/lib/gcc/arm-none-eabi/12.2.1/thumb/libgcc.a(_udivsi3.o)", ".text", "libgcc"),
    ("/usr/lib/gcc/arm-none-eabi/12.2.1/../../../arm-none-eabi/lib/libc.a(lib_a-printf.o)", ".text", "newlib"),
    ("/usr/lib/picolibc/riscv64-unknown-elf/lib/rv32imac/ilp32/libc.a(libc_tinystdio_vfprintf.c.o)", ".text",
     "picolibc"),
    ("/usr/lib/gcc/arm-none-eabi/12.2.1/crti.o", ".init", "startup"),
    ("", "*fill*", "fill"),
    ("", ".ARM.exidx", "linker"),
])
def test_each_origin_has_a_component(origin, section, component):
    assert attribution.component_of(origin, section) == component


def test_overlapping_merged_strings_are_counted_once():
    """ld lists merged string sections with their sizes before merging: they overlap, and the
    bytes are given once, so the parts still add up to the section."""
    output = link_map.parse(MAP).sections[".text"]
    claimed = [(item.origin.rsplit("(", 1)[-1], last - first) for item, first, last in
               attribution._claimed(output, 0x0800_0000, 0x0800_0040)]
    assert sum(size for _, size in claimed) == 0x40 and ("", 4) in claimed  # the fill is a part too
    assert claimed[-1] == ("lib_a-printf.o)", 0x10)  # up to the section's end; puts's merged into them


@pytest.mark.parametrize(("name", "component"), [
    ("runtime.mallocgc", "runtime"), ("runtime/internal/atomic.Load", "runtime"), ("fmt.Println", "std"),
    ("internal/abi.(*Type).Kind", "std"), ("main.main", "main"),
    ("polyboard.example/app/kern.Crc32", "polyboard.example/app/kern"), ("type:*main.T", "go-types"),
    ("_cgo_topofstack", "cgo"), ("kern_crc32", None),
])
def test_go_symbols_belong_to_their_package(name, component):
    assert attribution.go_package_component(name) == component


def test_rust_symbols_name_their_crate():
    assert attribution.rust_crate("_RNvCsc44O8cSXt8Q_6kernel5crc32") == "kernel"
    assert attribution.rust_crate("_ZN4core3fmt5write17h0123456789abcdefE") == "core"
    assert attribution.rust_crate("memcpy") is None


@pytest.mark.parametrize(("value", "size", "expected"), [
    (4096, 1 << 20, 4096), ("80%", 1 << 20, 838860), ("16 KiB", None, 16384), ("1 MiB", None, 1 << 20),
    ("100B", None, 100), ("2.5%", 1000, 25),
])
def test_budget_values(value, size, expected):
    assert budgets.parse(value, region_size=size, key="budgets.regions.X") == expected


@pytest.mark.parametrize("value", ["lots", "16 KB/s", -1, True, 1.5, "%"])
def test_a_budget_that_is_not_a_size_is_refused(value):
    with pytest.raises(PolyboardError, match="is not a size"):
        budgets.parse(value, region_size=100, key="budgets.regions.X")


def _program(path: str, **regions) -> dict:
    return {"path": path, "regions": [{"name": n, "used": sum(c.values()), "components": c} for n, c in regions.items()]}


def test_the_diff_lists_changed_components_largest_first():
    old = {"b": {"programs": [_program("fw.elf", FLASH={"kernel": 100, "newlib": 500}, RAM={"heap": 10})]}}
    new = {"b": {"programs": [_program("fw.elf", FLASH={"kernel": 164, "newlib": 496, "core": 8}, RAM={"heap": 10})]}}
    rows = manifest.diff_rows(old, new)
    assert rows == [("b", "fw.elf", "FLASH", "(total)", 600, 668, 68), ("b", "fw.elf", "FLASH", "kernel", 100, 164, 64),
                    ("b", "fw.elf", "FLASH", "core", 0, 8, 8), ("b", "fw.elf", "FLASH", "newlib", 500, 496, -4)]
    markdown = manifest.diff_markdown(rows, ["b"])
    assert "| b | `fw.elf` | FLASH | `kernel` | 100 | 164 | +64 |" in markdown
    assert manifest.diff_rows(old, old) == [] and "No size changed" in manifest.diff_markdown([], ["b"])


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "not a JSON manifest"),
    ('{"schema": "polyboard-manifest", "version": 99, "boards": {}}', "manifest schema version 99"),
    ('{"schema": "something-else"}', "not a polyboard manifest"),
])
def test_a_bad_baseline_is_one_line(tmp_path, content, fragment):
    path = write(tmp_path / "old.json", content)
    with pytest.raises(PolyboardError, match=fragment) as raised:
        manifest.load(str(path), where="baseline=old.json")
    assert str(raised.value).startswith("baseline=old.json: ")


# -- real builds -----------------------------------------------------------------------------------

@pytest.mark.toolchain
@pytest.mark.parametrize("board", SESSION_MCU)
def test_every_mcu_region_adds_up_to_its_components(tree, board):
    data = assert_sizes_add_up(tree.path, board)
    firmware = next(p for p in data["programs"] if p["path"] == f"build/{board}/firmware.elf")
    flash = next(r for r in firmware["regions"] if r["name"] == "FLASH")
    for component in ("kernel", "core", "compiler_builtins", "newlib", "src/firmware/main.c",
                      "src/firmware/startup.c"):
        assert flash["components"].get(component, 0) > 0, (component, flash["components"])
    ram = next(r for r in firmware["regions"] if r["name"] == "RAM")
    assert ram["components"]["stack"] == 0x1000 and ram["components"]["heap"] >= 0x2000
    assert any(s["name"] == "kernel::crc32" for s in firmware["symbols"]["kernel"])  # drill-down, demangled
    assert {a["path"] for a in data["artifacts"]} >= {f"build/{board}/firmware.elf", f"build/{board}/firmware.bin",
                                                     f"build/{board}/firmware.hex", f"build/{board}/kernel/libkernel.a"}
    assert {t["name"] for t in data["toolchains"]} >= {"arm-none-eabi-gcc", "cargo", "rustc", "qemu-system-arm"}
    assert all(t["version"] and t["sha256"] for t in data["toolchains"])
    assert data["options"]["features"] == "" and data["revision"] is None  # a copy, not a git checkout


@pytest.mark.toolchain
@pytest.mark.parametrize("board", SESSION_LINUX)
def test_a_go_program_is_split_by_package_and_crate(tree, board):
    data = assert_sizes_add_up(tree.path, board)
    app = next(p for p in data["programs"] if p["path"] == f"build/{board}/app.debug")  # the file with symbols
    assert app["kind"] == "sections"
    text = next(r for r in app["regions"] if r["name"] == ".text")
    for component in ("runtime", "std", "main", "kernel", "core", "cgo"):
        assert text["components"].get(component, 0) > 0, (component, text["components"])
    assert "polyboard.example/app/kern" in {c for r in app["regions"] for c in r["components"]}


@pytest.fixture
def whole_build(tree):
    """The session tree's build/manifest.json and report.html as the session's build wrote them:
    another test's multi-board run on the shared tree (e.g. the Linux boards' tests) rewrites them
    for its own boards. Everything else is up to date, so this rebuilds those two files only."""
    result = run_scons(tree.path, f"boards={SESSION_BOARDS}", "-j2", timeout=900)
    assert result.returncode == 0, result.output
    return tree


@pytest.mark.toolchain
def test_the_whole_build_has_one_manifest_of_every_board(whole_build):
    tree = whole_build
    data = json.loads((tree.path / "build" / "manifest.json").read_text(encoding="utf-8"))
    validate(data)
    assert sorted(data["boards"]) == sorted(SESSION_ALL)
    for board, entry in data["boards"].items():
        assert entry == json.loads((tree.path / "build" / board / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.toolchain
def test_sizes_prints_the_components_and_starts_nothing(tree, tmp_path):
    log = tmp_path / "spawn.log"
    before = snapshot(tree.path / "build" / "stm32f4")
    result = run_scons(tree.path, "board=stm32f4", "sizes", env=child_env(POLYBOARD_SPAWN_LOG=str(log)), timeout=300)
    assert result.returncode == 0, result.output
    assert spawned_processes(log) == []
    assert snapshot(tree.path / "build" / "stm32f4") == before
    assert "build/stm32f4/firmware.elf (stm32f4):" in result.stdout
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["FLASH", "(total)"] == next(cells[:2] for cells in lines if cells[:1] == ["FLASH"])
    assert any(cells[:1] == ["kernel"] and cells[2] == "B" for cells in lines)


@pytest.mark.toolchain
def test_the_revision_is_read_from_git_at_a_path_with_spaces(tree, tmp_path):
    """A git checkout (at a path with a space): the manifest names HEAD's commit, read from git's
    files; the new revision rebuilds the manifests and nothing else, with no process."""
    copy = copy_built_tree(tree.path, tmp_path / "with space" / "tree")
    git = ["git", "-C", str(copy), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q"], check=True, timeout=60)
    write(copy / ".gitignore", "/build/\n.sconsign*\n")
    subprocess.run(git + ["add", "-A"], check=True, timeout=60)
    subprocess.run(git + ["commit", "-qm", "x"], check=True, timeout=60)
    commit = subprocess.run(git + ["rev-parse", "HEAD"], check=True, timeout=60, capture_output=True,
                            text=True).stdout.strip()
    log = tmp_path / "spawn.log"
    env = child_env(POLYBOARD_SPAWN_LOG=str(log), SOURCE_DATE_EPOCH="1")
    result = run_scons(copy, "board=stm32f4", env=env, timeout=600)
    assert result.returncode == 0, result.output
    data = json.loads((copy / "build" / "stm32f4" / "manifest.json").read_text(encoding="utf-8"))
    assert data["revision"] == {"commit": commit}
    assert spawned_processes(log) == []
    built = [line for line in result.stdout.splitlines() if line.startswith(("CC ", "LINK ", "CARGO ", "SIZES "))]
    assert built == [] and "MANIFEST [stm32f4] build/stm32f4/manifest.json" in result.stdout


def _add_rust_function(tree: Path) -> None:
    lib = tree / "src" / "kernel" / "src" / "lib.rs"
    lib.write_text(lib.read_text(encoding="utf-8") + """
/// A function the size diff must see (the kernel grows).
#[no_mangle]
pub extern "C" fn kern_checksum_table(seed: u32) -> u32 {
    let mut table = [0u32; 64];
    let mut acc = seed;
    for (i, slot) in table.iter_mut().enumerate() {
        acc = acc.rotate_left(5) ^ (i as u32).wrapping_mul(0x9e37_79b9);
        *slot = acc;
    }
    table.iter().fold(0, |a, b| a ^ b)
}
""", encoding="utf-8")
    main = tree / "src" / "firmware" / "main.c"
    text = main.read_text(encoding="utf-8")
    text = text.replace("int main(void)", "unsigned kern_checksum_table(unsigned seed);\nint main(void)", 1)
    text = text.replace("return failures", "(void)kern_checksum_table(3);\n    return failures", 1)
    main.write_text(text, encoding="utf-8")


@pytest.mark.toolchain
def test_size_diff_after_the_kernel_grows(tree, tmp_path):
    copy = copy_built_tree(tree.path, tmp_path / "tree")
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes((copy / "build" / "stm32f4" / "manifest.json").read_bytes())
    _add_rust_function(copy)
    result = run_scons(copy, "board=stm32f4", timeout=900)
    assert result.returncode == 0, result.output
    log = tmp_path / "spawn.log"
    text = run_scons(copy, "board=stm32f4", "size-diff", f"baseline={baseline}", timeout=300,
                     env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert text.returncode == 0, text.output
    assert spawned_processes(log) == [] and "MANIFEST" not in text.stdout  # up to date: nothing rebuilt
    rows = [line.split() for line in text.stdout.splitlines() if line.strip().startswith("stm32f4")]
    kernel = next(r for r in rows if r[1] == "build/stm32f4/firmware.elf" and r[2] == "FLASH" and r[3] == "kernel")
    assert int(kernel[-1]) > 0
    markdown = run_scons(copy, "board=stm32f4", "size-diff", f"baseline={baseline}", "format=markdown", timeout=300)
    assert markdown.returncode == 0, markdown.output
    assert "| Board | Program | Region | Component | Old | New | Delta |" in markdown.stdout
    assert "| stm32f4 | `build/stm32f4/firmware.elf` | FLASH | `kernel` |" in markdown.stdout
    (tmp_path / "size-diff.md").write_text(markdown.stdout, encoding="utf-8")
    # The page with the deltas, rendered by chromium: the kernel row and the region show the change.
    page = copy / "build" / "size-diff.html"
    dumped = _browser("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert dumped.returncode == 0, dumped.stderr
    assert 'data-rendered="yes"' in dumped.stdout
    new = json.loads((copy / "build/stm32f4/manifest.json").read_text(encoding="utf-8"))
    old = json.loads(baseline.read_text(encoding="utf-8"))
    flash = [next(r for r in m["programs"][0]["regions"] if r["name"] == "FLASH") for m in (old, new)]
    grown = flash[1]["components"]["kernel"] - flash[0]["components"]["kernel"]
    assert f'data-component="kernel" data-delta="{grown}"' in dumped.stdout, dumped.stdout[:2000]
    assert f'data-region="FLASH" data-used="{flash[1]["used"]}" data-delta="{flash[1]["used"] - flash[0]["used"]}"' \
        in dumped.stdout
    assert f"+{flash[1]['used'] - flash[0]['used']} B since the baseline" in dumped.stdout
    # A budget the grown kernel exceeds: the failure says what grew most since the baseline.
    board = copy / "boards" / "stm32f4.toml"
    board.write_text(board.read_text(encoding="utf-8") + '\n[budgets]\nregions = { FLASH = "3.4%" }\n',
                     encoding="utf-8")
    failed = run_scons(copy, "board=stm32f4", f"baseline={baseline}", timeout=900)
    assert failed.returncode == 2, failed.output
    assert "region FLASH uses 36" in failed.stderr and "budgets.regions.FLASH = '3.4%'" in failed.stderr
    grew = next(line for line in failed.stdout.splitlines() if "FLASH grew most since" in line)
    assert grew.split(": ")[-1].startswith("kernel +"), grew


# -- budgets --------------------------------------------------------------------------------------

BUDGET_BOARD = 'inherits = "stm32f4"\ndescription = "a board with budgets"\n'


@pytest.mark.toolchain
def test_an_exceeded_budget_fails_the_build_naming_region_used_budget_and_file(tree, tmp_path):
    copy = copy_built_tree(tree.path, tmp_path / "tree")
    write(copy / "boards" / "tight.toml", BUDGET_BOARD + '[budgets]\nregions = { FLASH = "2%", RAM = "90%" }\n')
    result = run_scons(copy, "board=tight", timeout=900)
    assert result.returncode == 2, result.output
    line = next(line for line in result.stderr.splitlines() if "over its budget" in line)
    assert "build/tight/firmware.elf: region FLASH uses" in line
    assert "over its budget of 20971 B (budgets.regions.FLASH = '2%' in boards/tight.toml)" in line
    assert "Traceback" not in result.output
    write(copy / "boards" / "tight.toml", BUDGET_BOARD + '[budgets]\nregions = { FLASH = "80%" }\n'
          'components = { kernel = "100 B" }\n')
    result = run_scons(copy, "board=tight", timeout=900)
    assert result.returncode == 2, result.output
    assert "component kernel uses" in result.stderr and "budgets.components.kernel = '100 B'" in result.stderr
    write(copy / "boards" / "tight.toml", BUDGET_BOARD + '[budgets]\nregions = { FLASH = "80%" }\n'
          'components = { kernel = "16 KiB" }\nwarn = "1%"\n')
    result = run_scons(copy, "board=tight", timeout=900)
    assert result.returncode == 0, result.output
    assert "warning: build/tight/firmware.elf: region FLASH uses" in result.stderr


@pytest.mark.toolchain
def test_a_component_budget_naming_no_component(tree, tmp_path):
    copy = copy_built_tree(tree.path, tmp_path / "tree")
    write(copy / "boards" / "tight.toml", BUDGET_BOARD + '[budgets]\ncomponents = { kernle = "16 KiB" }\n')
    result = run_scons(copy, "board=tight", timeout=900)
    assert result.returncode == 2, result.output
    assert_user_error(result, "boards/tight.toml: budgets.components.kernle: no component 'kernle' in any program "
                              "of board tight; valid components:", "kernel", "newlib")


def _sconstruct_with(tree, line: str) -> None:
    """The reference SConstruct with *line* added after the components (before finish)."""
    path = tree / "SConstruct"
    text = path.read_text(encoding="utf-8")
    assert "project.finish()" in text
    path.write_text(text.replace("project.finish()", line + "\nproject.finish()"), encoding="utf-8")


@pytest.mark.toolchain
def test_the_sconstruct_sets_budgets_after_the_programs_it_limits(tree, tmp_path):
    copy = copy_built_tree(tree.path, tmp_path / "tree")
    _sconstruct_with(copy, 'project.size_budget("release", regions={"FLASH": "3%"}, boards=["stm32f4"])')
    result = run_scons(copy, "board=stm32f4", timeout=900)
    assert result.returncode == 2, result.output
    line = next(line for line in result.stderr.splitlines() if "over its budget" in line)
    assert "build/stm32f4/firmware.elf: region FLASH uses 36" in line, line
    assert "(size_budget 'release' regions.FLASH = '3%' in SConstruct)" in line, line
    assert not (copy / "build/stm32f4/firmware.sizes.json").exists()

    # A board file's budget and the SConstruct's both apply: the smaller one wins, and says so.
    write(copy / "boards" / "tight.toml", BUDGET_BOARD + '[budgets]\nregions = { FLASH = "2%" }\n')
    _sconstruct_with(copy, 'project.size_budget("loose", regions={"FLASH": "80%"}, components={"kernel": "16 KiB"})')
    result = run_scons(copy, "boards=stm32f4,tight", timeout=900)
    assert result.returncode == 2, result.output
    assert "(budgets.regions.FLASH = '2%' in boards/tight.toml)" in result.stderr, result.stderr

    # Within every budget: the build passes, and the same budgets again are a null build.
    _sconstruct_with(copy, 'project.size_budget("kernel-cap", components={"kernel": "8 KiB"}, warn="1%")')
    text = (copy / "SConstruct").read_text(encoding="utf-8").replace('"3%"', '"80%"')
    (copy / "SConstruct").write_text(text, encoding="utf-8")
    result = run_scons(copy, "board=stm32f4", timeout=900)
    assert result.returncode == 0, result.output
    assert "warning: build/stm32f4/firmware.elf: region FLASH uses" in result.stderr
    log = tmp_path / "spawn.log"
    again = run_scons(copy, "board=stm32f4", timeout=300, env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert again.returncode == 0 and "up to date" in again.stdout, again.output
    assert spawned_processes(log) == [] and "SIZES" not in again.stdout


@pytest.mark.parametrize("call, fragments", [
    ('project.size_budget("b", regions={"FLASHX": "80%"}, boards=["stm32f4"])',
     ["SConstruct: size_budget 'b': regions.FLASHX:", "no memory region 'FLASHX'", "valid regions: FLASH, RAM, CCM"]),
    ('project.size_budget("b", regions={"FLASH": "lots"}, boards=["stm32f4"])',
     ["SConstruct: size_budget 'b': regions.FLASH:", "'lots' is not a size"]),
    ('project.size_budget("b", regions=["FLASH"])',
     ["SConstruct: b.regions:", "regions= must be a dict of names to sizes"]),
])
def test_a_bad_sconstruct_budget_is_one_line(scratch_tree, call, fragments):
    _sconstruct_with(scratch_tree, call)
    result = run_scons(scratch_tree, "board=stm32f4", timeout=300)
    assert result.returncode == 2, result.output
    assert_user_error(result, *fragments)


@pytest.mark.toolchain
def test_a_baseline_of_other_boards_is_named(tree, tmp_path):
    baseline = write(tmp_path / "old.json", (tree.path / "build" / "rpi4" / "manifest.json").read_text())
    result = run_scons(tree.path, "board=stm32f4", "size-diff", f"baseline={baseline}", timeout=300)
    assert_user_error(result, f"baseline={baseline}: the baseline has boards rpi4, this build stm32f4: no board to compare")
    result = run_scons(tree.path, "board=stm32f4", "size-diff", timeout=300)
    assert_user_error(result, "size-diff needs baseline=MANIFEST")


# -- the HTML report, in a real browser -------------------------------------------------------------

class _Segments:
    """Collects the data-* attributes the page's script put on the elements it rendered."""

    def __init__(self, html: str):
        from html.parser import HTMLParser

        self.boards, self.programs, self.regions, self.segments = [], [], [], []
        self.rendered = False
        found = self

        class Parser(HTMLParser):
            def handle_starttag(self, tag, attrs):
                attributes = dict(attrs)
                classes = (attributes.get("class") or "").split()
                if tag == "body" and attributes.get("data-rendered") == "yes":
                    found.rendered = True
                if "board" in classes:
                    found.boards.append(attributes["data-board"])
                if "program" in classes:
                    found.programs.append((found.boards[-1], attributes["data-program"]))
                if "region" in classes:
                    found.regions.append((*found.programs[-1], attributes["data-region"], int(attributes["data-used"])))
                if "segment" in classes:
                    found.segments.append((*found.regions[-1][:3], attributes["data-component"],
                                           int(attributes["data-bytes"])))

        Parser().feed(html)


def _browser(*args: str, profile: Path) -> subprocess.CompletedProcess:
    import shutil

    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: ./setup.sh installs it (Debian package chromium)"
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                           "--no-first-run", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.mark.toolchain
@pytest.mark.parametrize("page", ["build/stm32f4/size-report.html", "build/report.html"])
def test_the_html_report_shows_every_board_region_and_component_in_a_browser(whole_build, tmp_path, page):
    """chromium loads the page from disk (no server, no network), runs its script, and the DOM
    it rendered shows every board, program, region and component with the manifest's numbers."""
    tree = whole_build
    html = tree.path / page
    text = html.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text  # self-contained: nothing to fetch
    dumped = _browser("--dump-dom", html.as_uri(), profile=tmp_path / "profile")
    assert dumped.returncode == 0, dumped.stderr
    found = _Segments(dumped.stdout)
    assert found.rendered, "the page's script did not run"
    boards = ["stm32f4"] if page.startswith("build/stm32f4") else sorted(SESSION_ALL)
    assert sorted(found.boards) == boards
    expected_regions, expected_segments = [], []
    for board in boards:
        data = json.loads((tree.path / "build" / board / "manifest.json").read_text(encoding="utf-8"))
        for program in data["programs"]:
            for region in program["regions"]:
                expected_regions.append((board, program["path"], region["name"], region["used"]))
                expected_segments += [(board, program["path"], region["name"], c, b)
                                      for c, b in region["components"].items()]
    assert sorted(found.regions) == sorted(expected_regions)
    assert sorted(found.segments) == sorted(expected_segments)
    shot = tmp_path / "size-report.png"
    taken = _browser("--window-size=1100,1400", f"--screenshot={shot}", html.as_uri(), profile=tmp_path / "profile")
    assert taken.returncode == 0, taken.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_the_plugin_knows_the_attribution_version():
    """A new way of attributing must rebuild the size reports: its version is in their signature."""
    from polyboard_plugins import size_report

    assert size_report.ATTRIBUTION_VERSION == attribution.VERSION
