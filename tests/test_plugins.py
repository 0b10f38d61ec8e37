"""The plugin host (a fresh PluginManager per test), the registry, and the pure parts of the
built-in plugins: linker-script generation and the memory report."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import attrs
import pytest

from polyboard import hookimpl
from polyboard.board_files import BoardCatalog
from polyboard.errors import PolyboardError
from polyboard.plugins import ENTRY_POINT_GROUP, Hooks, _register, load_plugins, new_manager
from polyboard.registry import Registry
from polyboard_plugins import linker_script, memory_report

from helpers import REPO, write

BUILT_INS = {"c_toolchain", "cargo_builder", "linker_script", "firmware_image", "memory_report", "qemu_runner", "abi_checks", "tracing", "coverage", "size_report",
             "shipped_boards", "build_profiles", "advisories"}
RAISING_PLUGIN = '''\
from polyboard import hookimpl


def helper():
    raise ValueError("bad board value")


@hookimpl
def polyboard_configure_board(build):
    helper()
'''


def built_in_entry_points() -> list:
    return [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name in BUILT_INS]


def loaded(plugin_dir: Path | None = None, entry_points: list | None = None):
    manager = new_manager()
    load_plugins(manager, plugin_dir, built_in_entry_points() if entry_points is None else entry_points)
    return manager


def stm32f4():
    return BoardCatalog([REPO / "boards"], root=REPO).load("stm32f4")


# -- the plugin host -----------------------------------------------------------------------------

def test_built_ins_are_registered_through_the_entry_point_group():
    names = {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert BUILT_INS <= names
    manager = loaded()
    assert BUILT_INS <= {name for name, _ in manager.list_name_plugin()}
    registry = Registry()
    Hooks(manager).register(registry)
    assert {"c_firmware", "rust_staticlib", "rust_program"} <= set(registry.kinds)
    assert registry.kinds["c_firmware"].plugin == "firmware_image"
    assert REPO / "boards" in [p.resolve() for p in registry.board_dirs]


def test_folder_plugin_is_registered(tmp_path):
    write(tmp_path / "plugins" / "board_pack.py",
          "from polyboard import hookimpl\n\n@hookimpl\ndef polyboard_register(registry):\n"
          "    registry.add_board_dir('/opt/boards')\n")
    write(tmp_path / "plugins" / "_private.py", "raise RuntimeError('files starting with _ are not plugins')\n")
    manager = loaded(tmp_path / "plugins", entry_points=[])
    assert [name for name, _ in manager.list_name_plugin()] == ["plugins/board_pack.py"]
    registry = Registry()
    Hooks(manager).register(registry)
    assert registry.board_dirs == [Path("/opt/boards")]


def test_entry_point_module_is_not_registered_twice_from_the_folder():
    """The repository's plugins/ folder holds the very modules its entry points name."""
    manager = loaded(REPO / "plugins")
    files = [Path(plugin.__file__).resolve() for plugin in manager.get_plugins()]
    assert len(files) == len(set(files))
    by_name = dict(manager.list_name_plugin())
    for name in BUILT_INS:
        assert by_name[name].__name__ == f"polyboard_plugins.{name}"
        assert f"plugins/{name}.py" not in by_name


def test_tree_plugin_named_like_an_installed_one_overrides_it(tmp_path):
    """A copy or second checkout of this repository builds with its own built-ins."""
    folder = tmp_path / "plugins"
    write(folder / "qemu_runner.py", "from polyboard import hookimpl\n\n@hookimpl\n"
                                     "def polyboard_run_command(board, program, args):\n    return ['my-emulator']\n")
    manager = loaded(folder)
    names = {name for name, _ in manager.list_name_plugin()}
    assert "plugins/qemu_runner.py" in names and "qemu_runner" not in names
    assert (BUILT_INS - {"qemu_runner"}) <= names
    assert Hooks(manager).run_command(stm32f4(), "/fw.elf", []) == ["my-emulator"]


def test_check_pending_catches_a_typo_in_a_hook_name(tmp_path):
    write(tmp_path / "plugins" / "typo.py",
          "from polyboard import hookimpl\n\n@hookimpl\ndef polyboard_after_lnk(build, component, elf):\n"
          "    return []\n")
    with pytest.raises(PolyboardError) as info:
        loaded(tmp_path / "plugins", entry_points=[])
    assert info.value.where == "plugin plugins/typo.py"
    assert "unknown hook 'polyboard_after_lnk'" in info.value.message
    assert "did you mean polyboard_after_link" in info.value.message


def test_wrong_hook_arguments_fail_validation():
    class Plugin:
        @hookimpl
        def polyboard_configure_board(self, build, colour):
            pass

    with pytest.raises(PolyboardError) as info:
        _register(new_manager(), Plugin(), "argy")
    assert info.value.where == "plugin argy" and "colour" in info.value.message


def test_entry_point_that_fails_to_import_is_named():
    broken = metadata.EntryPoint(name="broken_pack", value="polyboard_no_such_module", group=ENTRY_POINT_GROUP)
    with pytest.raises(PolyboardError) as info:
        loaded(entry_points=[broken])
    assert info.value.where == "plugin broken_pack"
    assert "ModuleNotFoundError" in info.value.message and "polyboard_no_such_module" in info.value.message


def test_hooks_facade_names_the_plugin_that_raised(tmp_path):
    write(tmp_path / "plugins" / "raiser.py", RAISING_PLUGIN)
    manager = loaded(tmp_path / "plugins")
    with pytest.raises(PolyboardError) as info:
        Hooks(manager).configure_board(None)
    assert info.value.where == "plugin plugins/raiser.py"
    assert "polyboard_configure_board raised ValueError: bad board value" in info.value.message
    assert "raiser.py:" in info.value.message


def test_register_hook_that_raises_is_named(tmp_path):
    write(tmp_path / "plugins" / "bad_register.py",
          "from polyboard import hookimpl\n\n@hookimpl\ndef polyboard_register(registry):\n"
          "    registry.add_component_kind('c_firmware', print)\n")
    manager = loaded(tmp_path / "plugins")
    with pytest.raises(PolyboardError) as info:
        Hooks(manager).register(Registry())
    assert "registered twice (by firmware_image and plugins/bad_register.py)" in info.value.message


def test_registry_refuses_duplicate_options():
    registry = Registry()
    registry.current_plugin = "one"
    registry.add_option("speed", "how fast", default="1", choices=("1", "2"))
    registry.current_plugin = "two"
    with pytest.raises(PolyboardError) as info:
        registry.add_option("speed", "faster")
    assert info.value.where == "plugin two"
    assert registry.options["speed"].plugin == "one"


# -- linker_script generators ----------------------------------------------------------------------

def test_gnu_ld_script_for_three_regions():
    script = linker_script.gnu_ld_script(stm32f4())
    assert "FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 0x100000" in script
    assert "RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 0x20000" in script
    assert "CCM (rw) : ORIGIN = 0x10000000, LENGTH = 0x10000" in script
    assert "_estack = ORIGIN(RAM) + LENGTH(RAM);" in script
    assert "_min_heap_size = 0x2000;" in script and "_min_stack_size = 0x1000;" in script
    assert "} > RAM AT> FLASH" in script                     # .data loads from flash, runs in RAM
    assert ".ccm (NOLOAD) : { *(.ccm .ccm.*) } > CCM" in script
    assert script.index(".isr_vector") < script.index(".text")
    assert "boards/stm32f4.toml" in script.splitlines()[0]


def test_gnu_ld_script_places_sections_where_the_board_says():
    board = stm32f4()
    memory = attrs.evolve(board.memory, sections=attrs.evolve(board.memory.sections, stack="CCM"))
    script = linker_script.gnu_ld_script(attrs.evolve(board, memory=memory))
    assert "_estack = ORIGIN(CCM) + LENGTH(CCM);" in script
    assert ".ccm (NOLOAD)" not in script                     # CCM now holds the stack, not a spare section


def test_memory_x_and_region_aliases():
    board = stm32f4()
    text = linker_script.memory_x(board)
    assert "MEMORY" in text and "CCM (rw) : ORIGIN = 0x10000000" in text
    assert "REGION_ALIAS" not in text
    renamed = attrs.evolve(board.memory, sections=attrs.evolve(board.memory.sections, code="CCM", data="CCM"))
    aliased = linker_script.memory_x(attrs.evolve(board, memory=renamed))
    assert 'REGION_ALIAS("FLASH", CCM);' in aliased and 'REGION_ALIAS("RAM", CCM);' in aliased


def test_c_header():
    header = linker_script.c_header(stm32f4())
    assert "#ifndef POLYBOARD_MEMORY_MAP_H" in header
    for line in ("#define MEMORY_FLASH_ORIGIN 0x08000000u", "#define MEMORY_FLASH_LENGTH 0x100000u",
                 "#define MEMORY_RAM_LENGTH 0x20000u", "#define MEMORY_CCM_ORIGIN 0x10000000u",
                 "#define MEMORY_HEAP_SIZE 0x2000u", "#define MEMORY_STACK_SIZE 0x1000u"):
        assert line in header


# -- memory_report on a real ELF -------------------------------------------------------------------

def _sizes(elf: Path) -> dict[str, tuple[int, int]]:
    """Section -> (size, address), from binutils (an independent reading of the ELF)."""
    out = subprocess.run(["arm-none-eabi-size", "-A", "-d", str(elf)], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    sections = {}
    for line in out.splitlines()[2:]:
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("."):
            sections[parts[0]] = (int(parts[1]), int(parts[2]))
    return sections


@pytest.mark.toolchain
def test_region_usage_and_table_on_a_real_elf(tree):
    board = stm32f4()
    elf = tree.path / "build" / "stm32f4" / "firmware.elf"
    used = memory_report.region_usage(str(elf), board.memory.regions)
    sections = _sizes(elf)
    in_region = {r.name: sum(size for size, address in sections.values() if size and r.origin <= address < r.end)
                 for r in board.memory.regions}
    assert used["FLASH"] == in_region["FLASH"] + sections[".data"][0]   # code, constants, .data's load image
    assert used["RAM"] == in_region["RAM"] >= sections[".heap"][0] + sections[".stack"][0]
    assert used["CCM"] == 0
    table = memory_report.format_table(board, used)
    lines = table.splitlines()
    assert lines[0].split() == ["Region", "Used", "Size", "Use%"]
    assert [line.split()[0] for line in lines[1:]] == ["FLASH", "RAM", "CCM"]
    assert f"{used['FLASH']} B" in lines[1] and "1048576 B" in lines[1]
    assert lines[3].split()[-1] == "0.00%"
    # the file is the table and, last, the profile it describes
    assert (tree.path / "build" / "stm32f4" / "firmware.memory.txt").read_text() == table + "Profile: release\n"
    assert memory_report.format_table(board, used, "release") == table + "Profile: release\n"


class _EntryPoint:
    """An entry point as importlib.metadata gives it: a name and the distribution it comes from."""

    def __init__(self, name: str, dist: str):
        self.name = name
        self.dist = type("Dist", (), {"name": dist})()


def test_plugin_autoload_off_keeps_the_built_ins_and_plugins_option_picks():
    from polyboard.plugins import select_entry_points

    installed = [_EntryPoint("c_toolchain", "polyboard"), _EntryPoint("memory_report", "polyboard"),
                 _EntryPoint("acme_boards", "acme-polyboard-pack")]
    names = lambda eps: [ep.name for ep in eps]  # noqa: E731
    assert names(select_entry_points(installed)) == ["c_toolchain", "memory_report", "acme_boards"]
    assert names(select_entry_points(installed, autoload=False)) == ["c_toolchain", "memory_report"]
    assert names(select_entry_points(installed, "+acme_boards", autoload=False)) == \
        ["c_toolchain", "memory_report", "acme_boards"]
    assert names(select_entry_points(installed, "-memory_report,acme_boards", autoload=False)) == \
        ["c_toolchain", "acme_boards"]


def test_a_plugin_switched_off_by_name_does_not_run(scratch_tree):
    """plugins=-memory_report: the build goes on without the memory tables."""
    from helpers import child_env, run_scons

    result = run_scons(scratch_tree, "board=stm32f4", "plugins=-memory_report", "-n", timeout=120,
                       env=child_env(POLYBOARD_DISABLE_PLUGIN_AUTOLOAD="1"))
    assert result.returncode == 0, result.output
    assert "LINK    [stm32f4] build/stm32f4/firmware.elf" in result.stdout
    with_report = run_scons(scratch_tree, "board=stm32f4", "-n", "--tree=prune", timeout=120)
    without = run_scons(scratch_tree, "board=stm32f4", "-n", "--tree=prune", "plugins=-memory_report", timeout=120)
    assert "firmware.memory.txt" in with_report.stdout
    assert "firmware.memory.txt" not in without.stdout
