"""Builders are SCons tools: a SConstruct overrides their construction variables.

Proved in a tree outside the repository, as docs/plugins.md says to do it: the display strings
(``$CARGOCOMSTR``, ``$GOCOMSTR``, ``$OBJCOPYCOMSTR``, ``$LINKCOMSTR``, ``$GENCOMSTR``) are what
the build prints, an extended ``$LINKCOM`` is the link's argument vector (the spawn log) and the
firmware it links runs in QEMU, and the next build starts no process at all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import REPO, TOOL_CACHES, child_env, copy_built_tree, run_scons, spawned, spawned_processes, write

pytestmark = pytest.mark.toolchain

BOARDS = "boards=stm32f4,rpi4"

OVERRIDING_START = '''project = polyboard.start(env={
    "CARGOCOMSTR": "my-cargo <$POLYBOARD_BOARD_ID> $TARGET",
    "GOCOMSTR": "my-go <$POLYBOARD_BOARD_ID> $TARGET",
    "OBJCOPYCOMSTR": "my-objcopy <$POLYBOARD_BOARD_ID> $TARGET",
    "LINKCOMSTR": "my-link <$POLYBOARD_BOARD_ID> $TARGET",
    "GENCOMSTR": "my-gen <$POLYBOARD_BOARD_ID> $TARGET",
})
for build in project.builds:  # extend the default link: ld's own per-region usage
    build.env["LINKCOM"] += " -Wl,--print-memory-usage"
'''
KERNEL_EDIT = '\n#[no_mangle]\npub extern "C" fn kern_scons_tools_probe() -> u32 {\n    11\n}\n'


@pytest.fixture(scope="module")
def overridden(tree, tmp_path_factory):
    """The built session tree, copied outside the repository, with the overriding SConstruct and
    a kernel edit (so cargo, go, the link and objcopy all run), built once."""
    path = copy_built_tree(tree.path, tmp_path_factory.mktemp("scons-tools") / "my tree")
    reference = (REPO / "SConstruct").read_text(encoding="utf-8")
    assert "project = polyboard.start()\n" in reference
    write(path / "SConstruct", reference.replace("project = polyboard.start()\n", OVERRIDING_START))
    with open(path / "src" / "kernel" / "src" / "lib.rs", "a", encoding="utf-8") as handle:
        handle.write(KERNEL_EDIT)
    (path / "build" / "stm32f4" / "link.ld").unlink()  # regenerated: GEN's line
    log = path.parent / "spawn.log"
    result = run_scons(path, BOARDS, "-j2", env=child_env(POLYBOARD_SPAWN_LOG=str(log)), timeout=900)
    assert result.returncode == 0, result.output
    yield path, result, spawned_processes(log)
    for cache in TOOL_CACHES:
        shutil.rmtree(path / cache, ignore_errors=True)


def test_overridden_display_strings_are_printed(overridden):
    _, result, _ = overridden
    out = result.stdout
    for line in ("my-cargo <stm32f4> build/stm32f4/kernel/libkernel.a", "my-cargo <rpi4> build/rpi4/kernel/libkernel.a",
                 "my-go <rpi4> build/rpi4/app.debug", "my-link <stm32f4> build/stm32f4/firmware.elf",
                 "my-objcopy <stm32f4> build/stm32f4/firmware.bin", "my-objcopy <stm32f4> build/stm32f4/firmware.hex",
                 "my-gen <stm32f4> build/stm32f4/link.ld"):
        assert line in out.splitlines(), f"{line!r} not printed:\n{out}"
    for default in ("CARGO   [", "GO      [", "LINK    [", "OBJCOPY [", "GEN     ["):
        assert default not in out, out
    assert "GOTEST  [rpi4] build/rpi4/kern-test" in out  # not overridden: its default stays


def test_overridden_linkcom_reaches_the_link_and_the_firmware_runs(overridden):
    path, result, processes = overridden
    links = [p["argv"] for p in processes if "build/stm32f4/firmware.elf.tmp" in p["argv"]]
    assert len(links) == 1, processes
    link = links[0]
    assert link[0] == "arm-none-eabi-gcc" and link[link.index("-o") + 1] == "build/stm32f4/firmware.elf.tmp"
    assert "-Wl,--print-memory-usage" in link and "-Wl,--noinhibit-exec" in link  # the default, extended
    assert "Memory region" in result.stdout and "Region Size" in result.stdout  # ld's own table
    run = run_scons(path, "board=stm32f4", "run", timeout=300)
    assert run.returncode == 0, run.output
    assert "[stm32f4] crc32(123456789) = cbf43926" in run.stdout


def test_overrides_keep_the_null_build_at_zero_processes(overridden):
    path, _, _ = overridden
    log = path.parent / "null.log"
    again = run_scons(path, BOARDS, "-j2", env=child_env(POLYBOARD_SPAWN_LOG=str(log)), timeout=300)
    assert again.returncode == 0, again.output
    assert spawned(log) == "", spawned(log)
    assert "my-" not in again.stdout and "is up to date" in again.stdout


def test_start_env_with_a_bad_name_is_one_line(scratch_tree: Path):
    write(scratch_tree / "SConstruct", 'import polyboard\nproject = polyboard.start(env={"LINK COM": "ld"})\n'
                                       'project.finish()\n')
    result = run_scons(scratch_tree, "board=stm32f4", timeout=120)
    assert result.returncode == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("scons: ***")]
    assert errors == ["scons: *** SConstruct: env=: 'LINK COM' is not a construction variable name (letters, "
                      "digits and '_', not starting with a digit)  Stop."], result.stderr
    assert "Traceback" not in result.output
    assert not (scratch_tree / "build").exists()
