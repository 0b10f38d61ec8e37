"""``scons boards`` (every known board, ``query=``, ``format=json``) and ``scons board=<id> info``
(the resolved board, each value with the file that set it): board data only, so neither starts a
process, needs a toolchain or builds anything."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import SCONS, child_env, copy_tree, run_scons, spawned, write

SHIPPED = ["hifive1", "lm3s6965", "microbit", "mps2-an505", "rpi3", "rpi4", "stm32f4", "visionfive2"]


@pytest.fixture(scope="module")
def src_tree(tmp_path_factory) -> Path:
    tree = copy_tree(tmp_path_factory.mktemp("listing") / "tree")
    write(tree / "boards" / "my-f4.toml", 'inherits = "stm32f4"\ndescription = "my STM32F4 board"\n\n'
                                           "[memory.regions.RAM]\nlength = 0x1_0000\n")
    return tree


def scons_quiet(tree: Path, *args: str, log: Path | None = None):
    env = child_env(POLYBOARD_SPAWN_LOG=str(log)) if log else None
    return run_scons(tree, "-Q", *args, timeout=120, env=env)


def test_boards_lists_every_board_and_starts_no_process(src_tree, tmp_path):
    log = tmp_path / "spawn.log"
    # PATH without the cross compilers: a listing needs no toolchain.
    result = run_scons(src_tree, "-Q", "boards", timeout=120,
                       env=child_env(POLYBOARD_SPAWN_LOG=str(log), PATH="/usr/bin/nonexistent:/bin"))
    assert result.returncode == 0, result.output
    assert spawned(log) == "", spawned(log)
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["Board", "Source", "CPU", "Float"]
    ids = [line.split()[0] for line in lines[1:]]
    assert ids == sorted(SHIPPED + ["my-f4"])
    assert "cortex-m" not in ids and "linux" not in ids, "abstract bases are not listed"
    row = {line.split()[0]: line for line in lines[1:]}
    assert row["microbit"].split()[1:] == ["boards/microbit.toml", "cortex-m0", "soft", "256", "KiB", "16", "KiB",
                                           "C,", "Rust", "qemu-system-arm", "-M", "microbit"]
    assert row["hifive1"].split()[2:4] == ["rv32imac", "ilp32"]
    assert "12 MiB" in row["hifive1"] and "qemu-system-riscv32 -M sifive_e" in row["hifive1"]
    assert "C, Rust, Go" in row["rpi4"]
    assert "boards/my-f4.toml" in row["my-f4"] and "64 KiB" in row["my-f4"]
    assert not (src_tree / "build").exists(), "boards built something"


def test_info_and_boards_start_no_process_per_strace(src_tree, tmp_path):
    """The spawn log only sees polyboard's own children; strace sees every execve."""
    trace = tmp_path / "strace.log"
    result = subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", str(trace), str(SCONS), "-Q",
                             "board=hifive1", "info", "boards"],
                            cwd=src_tree, env=child_env(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=120)
    assert result.returncode == 0, result.stdout
    assert "cpu.arch = \"riscv32\"" in result.stdout and "mps2-an505" in result.stdout
    execs = [line for line in trace.read_text().splitlines() if "execve(" in line and "= 0" in line]
    assert len(execs) == 1, "boards/info started processes:\n" + "\n".join(execs)  # scons itself


def test_boards_query_and_json(src_tree, tmp_path):
    log = tmp_path / "spawn.log"
    result = scons_quiet(src_tree, "boards", "query=stm32", "format=json", log=log)
    assert result.returncode == 0, result.output
    listed = json.loads(result.stdout)
    assert [row["id"] for row in listed] == ["my-f4", "stm32f4"]
    stm32f4 = listed[1]
    assert stm32f4 == {
        "id": "stm32f4", "source": "boards/stm32f4.toml", "from": "tree", "file": str(src_tree / "boards" / "stm32f4.toml"),
        "description": "STM32F405/407: Cortex-M4F, 1 MiB flash, 128 KiB SRAM + 64 KiB CCM",
        "os": "none", "arch": "arm", "cpu": "cortex-m4", "float_abi": "hard",
        "flash": 0x10_0000, "ram": 0x2_0000, "languages": ["C", "Rust"],
        "emulator": "qemu-system-arm -M netduinoplus2"}
    assert spawned(log) == ""
    riscv = json.loads(scons_quiet(src_tree, "boards", "query=RISCV", "format=json").stdout)
    assert [row["id"] for row in riscv] == ["hifive1", "visionfive2"]
    none = scons_quiet(src_tree, "boards", "query=z80")
    assert none.returncode == 0 and "no board matches query='z80'" in none.stdout


def test_info_names_the_file_of_every_value(src_tree, tmp_path):
    log = tmp_path / "spawn.log"
    result = scons_quiet(src_tree, "board=my-f4", "info", log=log)
    assert result.returncode == 0, result.output
    assert spawned(log) == ""
    origin = {}
    for line in result.stdout.splitlines()[2:]:
        setting, _, source = line.rpartition("   # ")
        key, _, value = setting.partition(" = ")
        origin[key] = (value.strip(), source)
    assert origin["description"] == ('"my STM32F4 board"', "boards/my-f4.toml")
    assert origin["memory.regions.RAM.length"] == ("0x10000", "boards/my-f4.toml")
    assert origin["memory.regions.RAM.origin"] == ("0x20000000", "boards/stm32f4.toml")
    assert origin["cpu.arch"] == ('"arm"', "boards/cortex-m.toml")
    assert origin["c.libs"] == ("[]", "(default)")
    assert "files (child first): boards/my-f4.toml, boards/stm32f4.toml, boards/cortex-m.toml" in result.stdout

    as_json = json.loads(scons_quiet(src_tree, "board=hifive1", "info", "format=json").stdout)
    assert as_json["values"]["cpu.flags"] == {"value": ["-march=rv32imac", "-mabi=ilp32"], "from": "boards/hifive1.toml"}
    assert as_json["values"]["memory.heap_size"] == {"value": 0x2000, "from": "(default)"}


@pytest.mark.parametrize("args, fragments", [
    (["boards", "format=xml"], ["format=xml", "'xml' is not valid", "text, json"]),
    (["boards", "run"], ["command line", "boards only prints board data", "run"]),
    (["board=nope", "info"], ["board=nope", "unknown board", "valid boards:"]),
])
def test_bad_requests_are_one_line(src_tree, args, fragments):
    result = run_scons(src_tree, *args, timeout=120)
    assert result.returncode == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("scons: *** "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_readme_and_boards_md_tables_are_the_board_files_data():
    """The board tables of README.md and docs/boards.md are `scons -Q boards format=markdown` of
    the shipped boards: a board file changed or added without the docs fails here."""
    from polyboard.board_files import BoardCatalog
    from polyboard.listing import boards_text

    from helpers import REPO

    expected = boards_text(BoardCatalog([REPO / "boards"], root=REPO), fmt="markdown")
    assert expected.count("\n") == len(SHIPPED) + 2
    for doc in ("README.md", "docs/boards.md"):
        text = (REPO / doc).read_text(encoding="utf-8")
        start = text.index("format=markdown` writes this table")
        table = text[text.index("\n", start) + 1:text.index("<!-- end of the generated table -->")]
        assert table == expected, f"{doc}: regenerate its board table with `scons -Q boards format=markdown`"


def test_boards_markdown_from_the_command_line(src_tree):
    result = scons_quiet(src_tree, "boards", "query=microbit", "format=markdown")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[2].startswith("| `microbit` | BBC micro:bit (nRF51822): Cortex-M0, 256 KiB flash")
    info = run_scons(src_tree, "board=microbit", "info", "format=markdown", timeout=120)
    assert info.returncode == 2 and "'markdown' is not valid; choose one of text, json" in info.stderr
