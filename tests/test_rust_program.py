"""``rust_program``: a Rust ``bin`` crate that is the whole firmware (a cortex-m-rt application).

A user tree outside the repository (its own SConstruct, like test_external_tree.py) declares
``project.rust_program("blinky", crate="app")``. The crate is a plain cortex-m-rt application
with no linker configuration of its own; what a user gets from polyboard for a bare-metal board:

* the linker is the board's C toolchain driver (``<c.prefix>gcc``, here arm-none-eabi-gcc, with
  the board's CPU flags and ``-nostartfiles``): Debian's rustc ships no working rust-lld;
* ``-Tlink.x`` (cortex-m-rt's script, option ``link_script``; ``link_script=""`` leaves it to the
  crate's build.rs) with ``build/<board>/`` on the search path, so cortex-m-rt's ``INCLUDE
  memory.x`` takes the memory map polyboard generated from the board file. polyboard sets cargo's
  RUSTFLAGS, so the cortex-m-quickstart habit of ``-Tlink.x`` in ``.cargo/config.toml`` rustflags
  would be ignored: that is why polyboard adds it;
* the link arguments go to the final crate only (``cargo rustc``), so ``core`` and the
  dependencies keep the fingerprint they have for a staticlib of the same board;
* the ELF gets the usual after-link products (``.bin``, ``.hex``, the memory table) and runs with
  ``scons run`` in QEMU; a change of the board's memory map relinks the program.

The crate commits its Cargo.lock (as application crates do), so the second build is a null build.
The crates come from crates.io; the test skips only when cargo cannot reach it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from helpers import REPO, child_env, run_scons, write

pytestmark = pytest.mark.toolchain

SCONSTRUCT = '''\
import polyboard

project = polyboard.start(default_board="stm32f4")
project.rust_program("blinky", crate="app")
project.finish()
'''
CARGO_TOML = '''\
[package]
name = "blinky"
version = "0.1.0"
edition = "2021"

[dependencies]
cortex-m-rt = "0.7.5"
cortex-m-semihosting = "0.5.0"
panic-halt = "1.0.0"

[profile.release]
opt-level = "s"
debug = true
'''
MAIN_RS = '''\
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_halt as _;

#[entry]
fn main() -> ! {
    hprintln!("hello from rust_program");
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}
'''
SMALL_BOARD = '''\
inherits = "stm32f4"
description = "an STM32F4 with less RAM for the program"

[memory.regions.RAM]
length = {length:#x}
'''
NETWORK_ERRORS = ("Unable to update registry", "failed to download", "Couldn't resolve host",
                  "spurious network error", "failed to query replaced source", "Could not resolve host")


def _skip_if_offline(output: str) -> None:
    if any(text in output for text in NETWORK_ERRORS):
        pytest.skip(f"crates.io is unreachable: {output.strip().splitlines()[-1]}")


def initial_sp(elf_path: Path) -> int:
    """The first word of the vector table: the initial stack pointer (cortex-m-rt: the top of RAM)."""
    with open(elf_path, "rb") as handle:
        elf = ELFFile(handle)
        section = elf.get_section_by_name(".vector_table")
        assert section is not None, "no .vector_table: not linked with cortex-m-rt's link.x"
        return int.from_bytes(section.data()[:4], "little")


@pytest.fixture(scope="module")
def user_tree(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("rust-program") / "blinky-firmware"
    write(tree / "SConstruct", SCONSTRUCT)
    write(tree / "app" / "Cargo.toml", CARGO_TOML)
    write(tree / "app" / "src" / "main.rs", MAIN_RS)
    write(tree / "boards" / "small-f4.toml", SMALL_BOARD.format(length=0x1_0000))
    assert not tree.resolve().is_relative_to(REPO)
    cargo = "/usr/bin/cargo" if os.path.exists("/usr/bin/cargo") else "cargo"
    lock = subprocess.run([cargo, "generate-lockfile"], cwd=tree / "app", text=True, capture_output=True,
                          env=child_env(RUSTC="/usr/bin/rustc" if os.path.exists("/usr/bin/rustc") else "rustc"),
                          stdin=subprocess.DEVNULL, timeout=300)
    _skip_if_offline(lock.stderr)
    assert lock.returncode == 0, lock.stderr
    return tree


def test_rust_program_builds_runs_and_uses_the_generated_memory_x(user_tree):
    build = run_scons(user_tree, "board=stm32f4", "-j2")
    _skip_if_offline(build.output)
    assert build.returncode == 0, build.output
    assert "CARGO   [stm32f4] build/stm32f4/blinky.elf" in build.stdout, build.stdout
    out = user_tree / "build" / "stm32f4"
    elf = out / "blinky.elf"
    for path in (elf, out / "blinky.bin", out / "blinky.hex", out / "blinky.map", out / "blinky.memory.txt",
                 out / "memory.x"):
        assert path.is_file(), path
    # laid out like c_firmware's products, with the linker's map of this very link
    assert "Reset" in (out / "blinky.map").read_text() and "Memory Configuration" in (out / "blinky.map").read_text()

    # The memory table is printed and written: FLASH holds the program, RAM its .bss.
    assert "Memory usage of build/stm32f4/blinky.elf (stm32f4):" in build.stdout, build.stdout
    table = (out / "blinky.memory.txt").read_text()
    rows = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
    assert {"FLASH", "RAM", "CCM"} <= set(rows), table
    assert rows["FLASH"][3] == f"{0x10_0000}" and int(rows["FLASH"][1]) > 0, table
    assert rows["RAM"][3] == f"{0x2_0000}", table

    # cortex-m-rt puts _stack_start = ORIGIN(RAM) + LENGTH(RAM) of memory.x first in the vector
    # table: the top of the board file's RAM (0x20000000 + 128 KiB) proves polyboard's memory.x.
    assert initial_sp(elf) == 0x2000_0000 + 0x2_0000
    with open(elf, "rb") as handle:
        assert ELFFile(handle).header["e_entry"] & ~1 >= 0x0800_0000, "entry point outside FLASH"
    assert (out / "blinky.bin").stat().st_size > 0x400  # vector table + code, from FLASH only

    run = run_scons(user_tree, "board=stm32f4", "run", timeout=240)
    assert run.returncode == 0, run.output
    assert "[stm32f4] hello from rust_program" in run.stdout, run.output

    again = run_scons(user_tree, "board=stm32f4", timeout=120)
    assert again.returncode == 0, again.output
    for step in ("CARGO", "OBJCOPY", "GEN", "Memory usage"):
        assert step not in again.stdout, again.stdout


def test_rust_program_follows_the_board_memory_map(user_tree):
    """Another board of the same triple shares cargo's target folder (no `core` rebuild) and links
    against its own memory.x; editing the board's RAM relinks with the new top of stack."""
    small = user_tree / "build" / "small-f4" / "blinky.elf"
    first = run_scons(user_tree, "board=small-f4", timeout=300)
    _skip_if_offline(first.output)
    assert first.returncode == 0, first.output
    assert initial_sp(small) == 0x2000_0000 + 0x1_0000
    assert "RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 0x10000" in (small.parent / "memory.x").read_text()

    write(user_tree / "boards" / "small-f4.toml", SMALL_BOARD.format(length=0x8000))
    second = run_scons(user_tree, "board=small-f4", timeout=300)
    assert second.returncode == 0, second.output
    assert "CARGO   [small-f4]" in second.stdout, second.stdout
    assert initial_sp(small) == 0x2000_0000 + 0x8000
    assert re.search(r"^RAM\s+\d+ B\s+32768 B", (small.parent / "blinky.memory.txt").read_text(), re.M)

    run = run_scons(user_tree, "board=small-f4", "run", timeout=240)
    assert run.returncode == 0, run.output
    assert "[small-f4] hello from rust_program" in run.stdout, run.output
