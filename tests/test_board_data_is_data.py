"""Board files, board file names, options and checkout paths are data: nothing in them is ever
interpreted (no SCons ``$`` substitution, no re-splitting of command lines, no shell).

Each string-valued board key gets every payload below; the test reads the exact argument vector
each tool received from polyboard's spawn log and checks that no payload ran (no marker file).
Builds reuse the session tree (Rust's ``core`` is built already), one board file per key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import child_env, copy_built_tree, run_scons, spawned_processes, write

pytestmark = pytest.mark.toolchain


def payloads(marker: Path) -> list[str]:
    """Strings a shell, SCons's substitution or a re-split would act on; each would create *marker*."""
    return [
        f"${{__import__('os').system('touch {marker}')}}",   # SCons: ${...} is Python
        f"$(touch {marker})",                                 # shell command substitution
        f"`touch {marker}`",                                  # shell backticks
        f"x;touch {marker}",                                  # shell command separator
        "$HOME", "$$TWO", "${TARGET}",                        # SCons/shell variables
        'GREETING="hi there"', "it's", "two words",          # quotes and spaces: one argument each
        "back\\slash", "tab\there", "ÄÖÜ-ñ",
    ]


@pytest.fixture(scope="module")
def data_tree(tree, tmp_path_factory) -> Path:
    """One copy of the built session tree that every payload board of this module builds in."""
    path = copy_built_tree(tree.path, tmp_path_factory.mktemp("data") / "tree")
    yield path
    import shutil
    shutil.rmtree(path.parent, ignore_errors=True)


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


# key -> (board file body after the inherits line, scons verb, how an argument appears in argv)
KEYS = {
    "c.cflags": ("[c]\ncflags = {list}\n", None, "{p}"),
    "c.linkflags": ("[c]\nlinkflags = {list}\n", None, "{p}"),
    "c.libs": ("[c]\nlibs = {list}\n", None, "-l{p}"),
    "cpu.flags": ("[cpu]\nflags = {list}\n", None, "{p}"),
    "defines": ("defines = {defines}\n", None, "-D{p}"),
    "rust.rustflags": ("[rust]\nrustflags = {list}\n", None, "rustflags"),
    "emulator.args": ("[emulator]\nargs = {list}\n", "run", "{p}"),
}


@pytest.mark.parametrize("key", list(KEYS))
def test_every_board_string_reaches_its_tool_exactly(data_tree: Path, tmp_path: Path, key: str):
    marker = tmp_path / "MARKER"
    values = payloads(marker)
    body, verb, shape = KEYS[key]
    board = "p-" + key.replace(".", "-")
    text = body.format(list=_toml_list(values), defines=_toml_list(values))
    write(data_tree / "boards" / f"{board}.toml", f'inherits = "stm32f4"\ndescription = "payloads"\n{text}')
    log = tmp_path / "spawn.log"
    args = [f"board={board}", "-k"] + ([verb] if verb else [])
    result = run_scons(data_tree, *args, timeout=300, env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert "Traceback" not in result.output, result.output
    processes = spawned_processes(log)
    assert processes, result.output
    if shape == "rustflags":
        seen = [p["env"]["CARGO_ENCODED_RUSTFLAGS"].split("\x1f") for p in processes
                if "CARGO_ENCODED_RUSTFLAGS" in p["env"]]
        assert any(flags[:len(values)] == values for flags in seen), seen
    else:
        wanted = [shape.format(p=value) for value in values]
        assert any(_contains_run(p["argv"], wanted) for p in processes), \
            "no tool got the payloads as consecutive arguments:\n" + "\n".join(json.dumps(p["argv"]) for p in processes)
    assert not marker.exists(), f"a payload ran: {result.output}"


def _contains_run(argv: list[str], wanted: list[str]) -> bool:
    return any(argv[i:i + len(wanted)] == wanted for i in range(len(argv) - len(wanted) + 1))


@pytest.mark.parametrize("key", ["description", "c.cflags", "defines", "emulator.machine"])
def test_a_newline_in_a_board_string_is_one_line_error(scratch_tree: Path, key: str):
    table, _, name = key.rpartition(".")
    value = json.dumps(["a\nb"] if key in ("c.cflags", "defines") else "a\nb")
    body = (f"[{table}]\n" if table else "") + f"{name} = {value}\n"
    write(scratch_tree / "boards" / "nl.toml", 'inherits = "stm32f4"\n' + (
        'description = "x"\n' if key != "description" else "") + body)
    result = run_scons(scratch_tree, "board=nl", timeout=120)
    from test_errors import assert_user_error
    assert_user_error(result, "boards/nl.toml", key, "control character '\\n'")
    assert not (scratch_tree / "build").exists()


@pytest.mark.parametrize("option", ["features", "tags", "cargo", "go", "component", "timeout", "shard", "board",
                                    "boards"])
def test_option_payloads_run_nothing(scratch_tree: Path, tmp_path: Path, option: str):
    """Every option refuses or takes each payload as a plain value; none of them runs anything."""
    marker = tmp_path / "MARKER"
    log = tmp_path / "spawn.log"
    for value in payloads(marker)[:6]:  # the ones that would run something, and $HOME
        board = "board=rpi4" if option in ("tags", "go") else "board=stm32f4"
        args = [f"{option}={value}"] + ([board] if option not in ("board", "boards") else []) + ["list"]
        if option in ("component", "timeout"):
            args.append("run")
        result = run_scons(scratch_tree, *args, timeout=120, env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
        assert "Traceback" not in result.output, result.output
        assert not marker.exists(), f"{option}={value} ran something:\n{result.output}"
    assert spawned_processes(log) == []


def test_a_cache_folder_named_with_dollars_is_taken_literally(scratch_tree: Path, tmp_path: Path):
    cache = tmp_path / "${__import__('os').getcwd()}$HOME"
    result = run_scons(scratch_tree, f"cache={cache}", "board=stm32f4", "list", timeout=120)
    assert result.returncode == 0, result.output
    assert cache.is_dir()


def test_board_file_names_are_safe_ids(scratch_tree: Path):
    from test_errors import assert_user_error
    for name in ("${__import__('os').system('id')}", "..", "a b", "it's"):
        path = write(scratch_tree / "boards" / f"{name}.toml", 'inherits = "stm32f4"\ndescription = "x"\n')
        result = run_scons(scratch_tree, "board=stm32f4", timeout=120)
        assert_user_error(result, "not a valid board id", "rename the file")
        path.unlink()
    assert not (scratch_tree / "build").exists()


# A clean build and QEMU run from a checkout at a path with a space, a quote, a literal $HOME and
# non-ASCII letters, bit-identical to the session tree's: tests/test_reproducible.py.
