"""Build profiles (docs/profiles.md): ``profile=debug|release|size`` in C, Rust and Go at once.

One module fixture: a copy of the built session tree (release is already built there), built and
run again with ``profile=debug`` and ``profile=size`` on a Cortex-M board and a Linux Go board.
The tests read what those builds started (the spawn log), the files they made (pyelftools), and
check that switching back and forth is a null build. Every shipped board in every profile,
built and run, is the benchmark's job (bench/profiles.py, docs/benchmarks.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from elftools.elf.elffile import ELFFile

from helpers import child_env, copy_built_tree, run_scons, snapshot, spawned, spawned_processes

pytestmark = pytest.mark.toolchain
BOARDS = "boards=stm32f4,rpi4"
RUN_TIMEOUT = 1800


@pytest.fixture(scope="module")
def profiled(tree, tmp_path_factory) -> SimpleNamespace:
    path = copy_built_tree(tree.path, tmp_path_factory.mktemp("profiles") / "tree")
    release_before = snapshot(path / "build" / "stm32f4")
    runs, argvs, builds = {}, {}, {}
    for profile in ("debug", "size"):
        log = path.parent / f"{profile}.spawn.log"
        # everything a default build makes (test images, manifest), then the run
        built = run_scons(path, BOARDS, f"profile={profile}", "-j2", timeout=RUN_TIMEOUT,
                          env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
        assert built.returncode == 0, built.output
        builds[profile] = built
        runs[profile] = run_scons(path, BOARDS, f"profile={profile}", "-j2", "run", timeout=RUN_TIMEOUT)
        argvs[profile] = [p["argv"] for p in spawned_processes(log)]
    return SimpleNamespace(path=path, runs=runs, argvs=argvs, builds=builds, release_before=release_before)


def sections(path: Path) -> set[str]:
    with open(path, "rb") as handle:
        return {s.name for s in ELFFile(handle).iter_sections()}


def folder(tree: Path, board: str, profile: str) -> Path:
    return tree / "build" / (board if profile == "release" else f"{board}@{profile}")


@pytest.mark.parametrize("profile", ["debug", "size"])
def test_every_profile_builds_and_runs_beside_release(profiled, profile):
    result = profiled.runs[profile]
    assert result.returncode == 0, result.output
    assert "2 passed, 0 failed" in result.stdout, result.stdout
    assert f"build/stm32f4@{profile}/firmware.elf" in result.stdout  # the emulator's command line
    assert (folder(profiled.path, "rpi4", profile) / "app").is_file()
    # the release outputs were not touched: profiles live side by side
    assert snapshot(profiled.path / "build" / "stm32f4") == profiled.release_before
    manifest = json.loads((folder(profiled.path, "stm32f4", profile) / "manifest.json").read_text())
    assert manifest["options"]["profile"] == profile
    # the memory table says which profile it describes, printed (by the build) and in its file
    printed = profiled.builds[profile].stdout
    assert f"Memory usage of build/stm32f4@{profile}/firmware.elf (stm32f4, profile {profile}):" in printed, printed
    table = (folder(profiled.path, "stm32f4", profile) / "firmware.memory.txt").read_text()
    assert table.startswith("Region") and table.splitlines()[-1] == f"Profile: {profile}", table


def test_each_language_gets_the_profile_flags(profiled):
    for profile, c_opt, cargo_args, go_flag in (("debug", "-O0", ["--profile", "dev"], "-gcflags=all=-N -l"),
                                                 ("size", "-Os", ["--profile", "size"], None)):
        argvs = profiled.argvs[profile]
        compiles = [a for a in argvs if a[0].endswith("gcc") and "-c" in a and any(s.endswith("main.c") for s in a)]
        assert compiles and all([f for f in a if f.startswith("-O")][-1] == c_opt for a in compiles), compiles
        cargo = [a for a in argvs if Path(a[0]).name == "cargo" and "build" in a]
        assert cargo, argvs
        for argv in cargo:
            assert "--release" not in argv and argv[argv.index("--profile"):argv.index("--profile") + 2] == cargo_args
        go = [a for a in argvs if Path(a[0]).name == "go" and "build" in a]
        assert go and all((go_flag in a) == (go_flag is not None) for a in go), go
    size_cargo = next(a for a in profiled.argvs["size"] if Path(a[0]).name == "cargo")
    assert 'profile.size.opt-level="z"' in size_cargo and "profile.size.lto=true" in size_cargo, size_cargo
    assert not [a for a in profiled.argvs["size"] if Path(a[0]).name == "go" and "-gcflags=all=-N -l" in a]


def test_switching_profiles_back_and_forth_is_a_null_build(profiled, tmp_path):
    for profile in ("release", "debug", "size", "release"):
        log = tmp_path / f"{profile}.log"
        result = run_scons(profiled.path, BOARDS, f"profile={profile}", "-j2",
                           env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
        assert result.returncode == 0, result.output
        assert spawned(log) == "", f"profile={profile} started processes: {spawned(log)}"


@pytest.mark.parametrize("profile", ["release", "size"])
def test_shipped_programs_are_stripped_and_the_debug_files_keep_symbols(profiled, profile):
    linux = folder(profiled.path, "rpi4", profile)
    shipped, symbols = sections(linux / "app"), sections(linux / "app.debug")
    assert ".symtab" not in shipped and not {s for s in shipped if s.startswith((".debug", ".zdebug"))}, shipped
    assert {".symtab", ".debug_info"} <= symbols, symbols
    # the ABI check and the size attribution read the file with symbols
    record = json.loads((linux / "app.abi.json").read_text())
    assert record and (linux / "app.sizes.json").is_file()
    mcu = folder(profiled.path, "stm32f4", profile)
    assert {".symtab", ".debug_info"} <= sections(mcu / "firmware.elf")
    for image in ("firmware.bin", "firmware.hex"):
        data = (mcu / image).read_bytes()
        assert not data.startswith(b"\x7fELF")
        assert b"kern_crc32" not in data and b".symtab" not in data, f"{image} carries symbol names"
    # the .bin is exactly the ELF's loaded bytes: nothing else (no symbols) fits in it
    with open(mcu / "firmware.elf", "rb") as handle:
        loads = [s for s in ELFFile(handle).iter_segments() if s["p_type"] == "PT_LOAD" and s["p_filesz"]]
        start = min(s["p_paddr"] for s in loads)
        end = max(s["p_paddr"] + s["p_filesz"] for s in loads)
    assert len((mcu / "firmware.bin").read_bytes()) == end - start


def test_debug_keeps_symbols_everywhere_and_size_is_smallest(profiled):
    debug = folder(profiled.path, "rpi4", "debug")
    assert ".symtab" in sections(debug / "app") and not (debug / "app.debug").exists()
    for board, image in (("stm32f4", "firmware.bin"), ("rpi4", "app")):
        sizes = {p: (folder(profiled.path, board, p) / image).stat().st_size for p in ("debug", "release", "size")}
        assert sizes["size"] <= sizes["release"] < sizes["debug"], (board, sizes)


def test_a_board_refines_a_profile():
    """Pure logic: a board's [profile.<name>] adds flags after the profile's and overrides cargo's keys."""
    from polyboard import profiles

    refinement = profiles.ProfileRefinement(c_flags=("-Og",), cargo=profiles.CargoSettings(opt_level="1"))
    board = SimpleNamespace(id="b", path="boards/b.toml", profile=profiles.BoardProfiles(debug=refinement))
    debug = profiles.resolve("debug", board)
    assert debug.c_flags == ("-O0", "-g", "-Og")
    assert debug.cargo.opt_level == "1" and debug.cargo.panic == "abort"
    assert 'profile.dev.opt-level=1' in debug.cargo_args()
    assert profiles.resolve("release", board).cargo_args() == ["--release"]  # the default: as before profiles


def test_a_shipped_board_refines_size_and_loads_without_the_plugin(scratch_tree):
    """[profile] is core schema: microbit's refinement loads with build_profiles switched off."""
    from polyboard.board_files import BoardCatalog
    from helpers import REPO

    microbit = BoardCatalog([REPO / "boards"], root=REPO).load("microbit")  # no plugin tables given
    assert microbit.profile.size.cargo.opt_level == "s"
    result = run_scons(scratch_tree, "board=microbit", "plugins=-build_profiles", "-n", timeout=300,
                       env=child_env(POLYBOARD_DISABLE_PLUGIN_AUTOLOAD="1"))
    assert result.returncode == 0, result.output
    assert "LINK    [microbit] build/microbit/firmware.elf" in result.stdout  # release: the only profile then
    refused = run_scons(scratch_tree, "board=microbit", "plugins=-build_profiles", "profile=size", "-n", timeout=300,
                        env=child_env(POLYBOARD_DISABLE_PLUGIN_AUTOLOAD="1"))
    assert refused.returncode == 2 and "unknown option 'profile'" in refused.stderr, refused.output


def test_a_component_refines_a_profile_and_the_flags_reach_the_tools(profiled, tmp_path):
    """profile= on components in the SConstruct: after the board's refinement, for that component
    only, and only in that profile (release stays a null build)."""
    path = copy_built_tree(profiled.path, tmp_path / "tree")
    sconstruct = path / "SConstruct"
    text = sconstruct.read_text()
    for old, new in (
            ('crate="src/kernel")', 'crate="src/kernel", profile={"size": {"cargo": {"opt_level": "s"}}})'),
            ('"src/firmware/trace.c"],\n                   libs=[kernel])',
             '"src/firmware/trace.c"],\n                   libs=[kernel], profile={"size": {"c_flags": ["-O2"]}})'),
            ('project.go_program("app", package_dir="src/app", libs=[kernel])',
             'project.go_program("app", package_dir="src/app", libs=[kernel], profile={"size": {"go_flags": ["-gcflags=-B"]}})')):
        assert old in text, old
        text = text.replace(old, new)
    sconstruct.write_text(text)
    log = tmp_path / "spawn.log"
    built = run_scons(path, BOARDS, "profile=size", "-j2", timeout=RUN_TIMEOUT, env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert built.returncode == 0, built.output
    argvs = [p["argv"] for p in spawned_processes(log)]
    cargo = [a for a in argvs if Path(a[0]).name == "cargo" and "build" in a]
    assert cargo and all('profile.size.opt-level="s"' in a and "profile.size.lto=true" in a for a in cargo), cargo
    firmware = [a for a in argvs if a[0].endswith("gcc") and "-c" in a and any("/obj/firmware/" in s for s in a)]
    tests = [a for a in argvs if a[0].endswith("gcc") and "-c" in a and any("/obj/firmware-test/" in s for s in a)]
    assert firmware and {[f for f in a if f.startswith("-O")][-1] for a in firmware} == {"-O2"}, firmware
    assert not tests  # firmware-test has no refinement: its objects were up to date
    go = [a for a in argvs if Path(a[0]).name == "go" and "build" in a]
    assert go and all("-gcflags=-B" in a for a in go), go
    run = run_scons(path, "board=stm32f4", "profile=size", "run", timeout=RUN_TIMEOUT)
    assert run.returncode == 0 and "1 passed, 0 failed" in run.stdout, run.output
    # the release build does not see the size refinements: still a null build
    null = tmp_path / "release.log"
    again = run_scons(path, BOARDS, "-j2", env=child_env(POLYBOARD_SPAWN_LOG=str(null)))
    assert again.returncode == 0 and spawned(null) == "", spawned(null)


def test_the_objcopy_that_makes_shipped_bytes_is_locked(scratch_tree):
    """toolchains.lock pins the objcopy of the images and of the stripped programs, in any profile."""
    import tomllib

    result = run_scons(scratch_tree, BOARDS, "profile=debug", "lock-toolchains", timeout=300)
    assert result.returncode == 0, result.output
    tools = tomllib.loads((scratch_tree / "toolchains.lock").read_text())["tools"]
    for name, boards in (("arm-none-eabi-objcopy", ["stm32f4"]), ("aarch64-linux-gnu-objcopy", ["rpi4"])):
        assert tools[name]["version"].startswith("GNU objcopy") and tools[name]["boards"] == boards, tools.get(name)
    # a release build checks them against the lock: the same tools, nothing differs
    checked = run_scons(scratch_tree, BOARDS, "-n", timeout=300)
    assert checked.returncode == 0 and "toolchains.lock" not in checked.output, checked.output
