"""``scons ide``: the editor files are right, because the real tools accept them.

* ``compile_commands.json``: every entry's argument list, run with ``-fsyntax-only`` by the
  cross gcc it names, parses the firmware's C files (clang is not installed here: Debian's
  clang 14 is a few hundred MB; the entries are the cross gcc's own command lines anyway).
* ``.vscode/settings.json``: ``cargo check`` with rust-analyzer's target, features, extra
  arguments and environment checks the kernel; ``go vet`` with gopls's ``build.env`` type-checks
  the cgo app for the board.
* a second ``scons ide`` starts no process (the spawn log stays empty).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from helpers import child_env, copy_tree, run_scons, spawned, write

pytestmark = pytest.mark.toolchain


def test_ide_writes_a_compilation_database_the_compiler_accepts(tmp_path: Path):
    tree = copy_tree(tmp_path / "tree")
    result = run_scons(tree, "board=stm32f4", "ide", timeout=180)
    assert result.returncode == 0, result.output
    entries = json.loads((tree / "compile_commands.json").read_text())
    files = sorted(Path(e["file"]).relative_to(tree).as_posix() for e in entries)
    assert files == ["src/firmware/main.c", "src/firmware/startup.c", "src/firmware/startup.c",
                     "src/firmware/test_main.c", "src/firmware/trace.c", "src/firmware/trace.c"]
    for entry in entries:
        argv = entry["arguments"]
        assert argv[0] == "arm-none-eabi-gcc"
        assert "-mcpu=cortex-m4" in argv and "-mfloat-abi=hard" in argv
        assert not any(a.endswith(".tmp") for a in argv), argv  # the object, not the build's temporary
        assert argv[argv.index("-o") + 1] == os.path.relpath(entry["output"], entry["directory"])
        # the compiler itself parses the file with exactly these arguments
        checked = [a for i, a in enumerate(argv) if a != "-o" and argv[i - 1] != "-o"] + ["-fsyntax-only"]
        parsed = subprocess.run(checked, cwd=entry["directory"], capture_output=True, text=True, timeout=60)
        assert parsed.returncode == 0 and "error" not in parsed.stderr, (checked, parsed.stderr)
    # ide builds what the commands need (the generated header), not the firmware
    assert (tree / "build" / "stm32f4" / "include" / "memory_map.h").is_file()
    assert not (tree / "build" / "stm32f4" / "firmware.elf").exists()
    # nothing to do the second time: no process at all
    log = tmp_path / "spawn.log"
    again = run_scons(tree, "board=stm32f4", "ide", timeout=120, env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert again.returncode == 0, again.output
    assert spawned(log) == ""


def test_ide_settings_drive_cargo_check_for_the_board_target(tmp_path: Path):
    tree = copy_tree(tmp_path / "tree")
    write(tree / ".vscode" / "settings.json", json.dumps({"editor.tabSize": 4}))  # the user's own keys stay
    result = run_scons(tree, "board=stm32f4", "ide", "features=table-crc", timeout=180)
    assert result.returncode == 0, result.output
    settings = json.loads((tree / ".vscode" / "settings.json").read_text())
    assert settings["editor.tabSize"] == 4
    assert settings["rust-analyzer.cargo.target"] == "thumbv7em-none-eabihf"
    assert settings["rust-analyzer.cargo.features"] == ["table-crc"]
    assert settings["rust-analyzer.cargo.extraArgs"] == ["-Zbuild-std=core"]
    assert "gopls" not in settings  # no Go on a microcontroller
    # what rust-analyzer would run: cargo check with the same target, features, arguments, environment
    extra_env = settings["rust-analyzer.cargo.extraEnv"]
    (manifest,) = settings["rust-analyzer.linkedProjects"]
    argv = [extra_env["CARGO"], "check", "--manifest-path", str(tree / manifest),
            "--target", settings["rust-analyzer.cargo.target"],
            "--features", ",".join(settings["rust-analyzer.cargo.features"]),
            *settings["rust-analyzer.cargo.extraArgs"], "--message-format=short"]
    env = dict(os.environ, **extra_env, CARGO_TARGET_DIR=str(tmp_path / "ra-target"))
    checked = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert re.search(r"(Checking|Compiling) kernel v", checked.stderr), checked.stderr
    # checked for the board's target (core built from source), not for the host
    target = settings["rust-analyzer.cargo.target"]
    assert list((tmp_path / "ra-target" / target / "debug" / "deps").glob("libkernel-*.rmeta"))


def test_ide_settings_give_gopls_the_boards_cgo_environment(tmp_path: Path):
    tree = copy_tree(tmp_path / "tree")
    result = run_scons(tree, "board=rpi4", "ide", timeout=180)
    assert result.returncode == 0, result.output
    settings = json.loads((tree / ".vscode" / "settings.json").read_text())
    go_env = settings["gopls"]["build.env"]
    assert settings["go.toolsEnvVars"] == go_env
    assert (go_env["GOOS"], go_env["GOARCH"], go_env["CGO_ENABLED"], go_env["CC"]) == \
        ("linux", "arm64", "1", "aarch64-linux-gnu-gcc")
    assert "-mcpu=cortex-a72" in go_env["CGO_CFLAGS"]
    assert settings["rust-analyzer.cargo.target"] == "aarch64-unknown-linux-gnu"
    # what gopls runs (go list and the type checker through cgo), as go vet does
    env = dict(os.environ, **go_env, GOCACHE=str(tmp_path / "gocache"), GOFLAGS="-mod=readonly")
    vetted = subprocess.run(["go", "vet", "./..."], cwd=tree / "src" / "app", env=env, capture_output=True,
                            text=True, timeout=600)
    assert vetted.returncode == 0, vetted.stderr[-3000:]
