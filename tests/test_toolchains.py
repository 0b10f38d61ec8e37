"""Toolchain pinning: ``scons lock-toolchains`` writes toolchains.lock, every build checks it.

The end-to-end tests use a copy of the built session tree: the lock is written with the real
tools, one tool's entry is edited, and the build then stops before building anything (exit 2,
one ``scons: ***`` line naming the tool, then a table); ``toolchains=warn`` builds; a null build
with a lock present still starts no process (the fingerprints come from build/.polyboard's cache).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers import child_env, run_scons, spawned, write
from polyboard import toolchains
from polyboard.toolchains import Fingerprint, ToolUse

BOARDS = "boards=stm32f4,lm3s6965,rpi3,rpi4,visionfive2"


# -- pure logic -------------------------------------------------------------------------------------

def _build(board_id: str, *uses: ToolUse) -> SimpleNamespace:
    return SimpleNamespace(board=SimpleNamespace(id=board_id), tools={f"{u.name}\0{u.path}": u for u in uses})


def test_tools_used_by_several_boards_are_locked_once_and_namesakes_are_told_apart(tmp_path):
    host_cargo = write(tmp_path / "host" / "cargo", "")
    debian_cargo = write(tmp_path / "debian" / "cargo", "")
    gcc = write(tmp_path / "gcc", "")
    builds = [_build("a", ToolUse("cargo", str(debian_cargo)), ToolUse("gcc", str(gcc))),
              _build("b", ToolUse("cargo", str(debian_cargo)), ToolUse("cargo", str(host_cargo)))]
    tools = toolchains.used_tools(builds)
    assert sorted(tools) == sorted([f"cargo@{debian_cargo}", f"cargo@{host_cargo}", "gcc"])
    assert tools[f"cargo@{debian_cargo}"][1] == ("a", "b")
    assert tools["gcc"][1] == ("a",)


def test_lock_round_trip_and_differences():
    found = [Fingerprint("rustc", "/usr/bin/rustc", "rustc 1.96.0", "a" * 64, ("rpi4",)),
             Fingerprint('odd "name"', "/x", "v \\ 1", "b" * 64, ("stm32f4",))]
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"lock-{os.getpid()}.toml"
    path.write_text(toolchains.render_lock(found))
    try:
        locked = toolchains.read_lock(path)
    finally:
        path.unlink()
    assert locked["rustc"] == {"path": "/usr/bin/rustc", "version": "rustc 1.96.0", "sha256": "a" * 64,
                               "boards": ["rpi4"]}
    assert toolchains.differences(locked, found) == []
    newer = [Fingerprint("rustc", "/usr/bin/rustc", "rustc 1.97.0", "c" * 64),
             Fingerprint("go", "/usr/bin/go", "go1.26", "d" * 64)]
    rows = toolchains.differences(locked, newer)
    assert rows == [("rustc", "version", "rustc 1.96.0", "rustc 1.97.0"),
                    ("rustc", "sha256", "a" * 64, "c" * 64),
                    ("go", "tool", "(not locked)", "/usr/bin/go")]
    table = toolchains.table(rows)
    assert "aaaaaaaaaaaaaaaa..." in table and "rustc 1.97.0" in table


def test_fingerprints_probe_a_tool_only_when_its_file_changed(tmp_path, monkeypatch):
    """A real program is probed through spawn.run once; later checks read the cache (0 processes)
    until the file's size or mtime changes."""
    tool = write(tmp_path / "bin" / "fake-cc", "#!/bin/sh\necho 'fake-cc 1.0'\n")
    tool.chmod(0o755)
    log = tmp_path / "spawn.log"
    monkeypatch.setenv("POLYBOARD_SPAWN_LOG", str(log))
    builds = [_build("a", ToolUse("fake-cc", str(tool), (str(tool), "--version")))]
    root = tmp_path / "tree"
    first = toolchains.fingerprints(root, builds, {"PATH": "/usr/bin:/bin"})
    assert first[0].version == "fake-cc 1.0"
    assert len(spawned(log).splitlines()) == 1
    assert toolchains.fingerprints(root, builds, {"PATH": "/usr/bin:/bin"}) == first
    assert len(spawned(log).splitlines()) == 1, "an unchanged tool was probed again"
    tool.write_text("#!/bin/sh\necho 'fake-cc 2.0 (rebuilt)'\n")
    again = toolchains.fingerprints(root, builds, {"PATH": "/usr/bin:/bin"})
    assert again[0].version == "fake-cc 2.0 (rebuilt)" and again[0].sha256 != first[0].sha256
    assert len(spawned(log).splitlines()) == 2


# -- end to end, with the real tools ------------------------------------------------------------

def _lock(tree: Path) -> dict:
    result = run_scons(tree, BOARDS, "lock-toolchains", timeout=120)
    assert result.returncode == 0, result.output
    print(result.stdout)
    with open(tree / "toolchains.lock", "rb") as handle:
        return tomllib.load(handle)["tools"]


def _edit_lock(tree: Path, tool: str, key: str, value: str) -> None:
    lock = tree / "toolchains.lock"
    text = lock.read_text()
    pattern = re.compile(rf'(\[tools\."{re.escape(tool)}"\]\n(?:.*\n)*?{key} = )"[^"]*"')
    assert pattern.search(text), f"no {key} for {tool} in the lock"
    lock.write_text(pattern.sub(lambda m: m.group(1) + f'"{value}"', text, count=1))


@pytest.mark.toolchain
def test_lock_then_a_changed_tool_stops_the_build(built_scratch_tree: Path):
    tree = built_scratch_tree
    tools = _lock(tree)
    assert {"arm-none-eabi-gcc", "aarch64-linux-gnu-gcc", "arm-linux-gnueabihf-gcc", "riscv64-linux-gnu-gcc",
            "cargo", "rustc", "rust-src", "go", "qemu-system-arm", "qemu-arm", "qemu-aarch64",
            "qemu-riscv64", "arm-none-eabi-objcopy", "aarch64-linux-gnu-objcopy", "arm-linux-gnueabihf-objcopy",
            "riscv64-linux-gnu-objcopy"} <= set(tools)
    assert tools["rustc"]["version"].startswith("rustc 1.")
    assert tools["go"]["version"].startswith("go version go1.")
    assert re.fullmatch(r"[0-9a-f]{64}", tools["cargo"]["sha256"])
    assert tools["rust-src"]["path"].endswith("library/Cargo.lock")

    # A null build with the lock present: the check reads the cache, and nothing starts.
    log = tree / "spawn.log"
    null = run_scons(tree, BOARDS, env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert null.returncode == 0, null.output
    assert spawned(log) == "", f"a null build with a lock started processes:\n{spawned(log)}"

    _edit_lock(tree, "rustc", "version", "rustc 1.95.0 (from the lock)")
    _edit_lock(tree, "arm-none-eabi-gcc", "sha256", "0" * 64)
    (tree / "src" / "kernel" / "src" / "lib.rs").write_text(
        (tree / "src" / "kernel" / "src" / "lib.rs").read_text() + "\n// changed\n")
    failed = run_scons(tree, BOARDS, env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    print(failed.stderr)
    assert failed.returncode == 2, failed.output
    lines = failed.stderr.splitlines()
    assert lines[0].startswith("scons: *** toolchains.lock: 2 tool(s) differ from the lock: arm-none-eabi-gcc, rustc")
    assert not any(line.startswith("scons: ***") for line in lines[1:])
    assert any("rustc" in line and "version" in line and "rustc 1.95.0 (from the lock)" in line for line in lines)
    assert any("arm-none-eabi-gcc" in line and "sha256" in line and "0000000000000000..." in line for line in lines)
    assert "CARGO" not in failed.stdout and "Traceback" not in failed.output
    assert spawned(log) == "", "the failed check started processes"

    warned = run_scons(tree, BOARDS, "toolchains=warn")
    assert warned.returncode == 0, warned.output
    assert "polyboard: warning: toolchains.lock: 2 tool(s) differ" in warned.stderr
    assert "CARGO   [stm32f4] build/stm32f4/kernel/libkernel.a" in warned.stdout  # the edit was built

    quiet = run_scons(tree, BOARDS, "toolchains=off")
    assert quiet.returncode == 0 and "toolchains.lock" not in quiet.output, quiet.output

    _lock(tree)
    accepted = run_scons(tree, BOARDS)
    assert accepted.returncode == 0 and "toolchains.lock" not in accepted.output, accepted.output
