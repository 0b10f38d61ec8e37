"""A user's own firmware tree, outside this repository: their SConstruct, their Rust crate, their C
code and their board file inheriting a board that ships with polyboard (found through the
``shipped_boards`` plugin). Built and run in QEMU with the installed polyboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REPO, run_scons, write

pytestmark = pytest.mark.toolchain

SCONSTRUCT = '''\
# A firmware tree that uses polyboard (pip install polyboard): one Rust library, one C firmware.
import polyboard

project = polyboard.start(default_board="my-f4")
answer = project.rust_staticlib("answer", crate="rust/answer")
project.c_firmware("app", sources=["c/startup.c", "c/main.c"], libs=[answer])
project.finish()
'''
# cargo runs with --locked: a crate commits its Cargo.lock (this one has no dependencies)
CARGO_LOCK = '''\
version = 4

[[package]]
name = "answer"
version = "0.1.0"
'''
CARGO_TOML = '''\
[package]
name = "answer"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["staticlib"]

[profile.dev]
panic = "abort"

[profile.release]
panic = "abort"
opt-level = "s"
'''
LIB_RS = '''\
#![no_std]

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// The answer, computed in Rust for the C firmware.
#[no_mangle]
pub extern "C" fn answer_times(factor: u32) -> u32 {
    factor.wrapping_mul(6)
}
'''
ANSWER_H = '''\
#ifndef ANSWER_H
#define ANSWER_H
#include <stdint.h>
uint32_t answer_times(uint32_t factor);
#endif
'''
MAIN_C = '''\
#include <stdio.h>
#include "answer.h"

int main(void)
{
    printf("user firmware on %s rev %d: answer = %lu\\n", BOARD_NAME, MY_BOARD_REVISION,
           (unsigned long)answer_times(7));
    return answer_times(7) == 42u ? 0 : 1;
}
'''
MY_BOARD = '''\
# My board: an STM32F405 whose upper 64 KiB of SRAM belong to a DMA buffer the firmware keeps out of.
inherits = "stm32f4"
description = "my STM32F4 board"
defines = ["MY_BOARD_REVISION=2"]

[memory]
stack_size = 0x2000

[memory.regions.RAM]
length = 0x1_0000
'''


@pytest.fixture(scope="module")
def user_tree(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("user") / "my-firmware"
    write(tree / "SConstruct", SCONSTRUCT)
    write(tree / "rust" / "answer" / "Cargo.toml", CARGO_TOML)
    write(tree / "rust" / "answer" / "Cargo.lock", CARGO_LOCK)
    write(tree / "rust" / "answer" / "src" / "lib.rs", LIB_RS)
    write(tree / "rust" / "answer" / "include" / "answer.h", ANSWER_H)
    write(tree / "c" / "startup.c", (REPO / "src" / "firmware" / "startup.c").read_text())
    write(tree / "c" / "main.c", MAIN_C)
    write(tree / "boards" / "my-f4.toml", MY_BOARD)
    assert not tree.resolve().is_relative_to(REPO)
    return tree


def test_user_tree_sees_its_own_and_the_shipped_boards(user_tree):
    result = run_scons(user_tree, "board=nope", timeout=120)
    assert result.returncode == 2, result.output
    assert "valid boards: " in result.stderr
    valid = result.stderr.split("valid boards: ")[1].split(", ")
    assert {"my-f4", "stm32f4", "lm3s6965"} <= {v.strip() for v in valid}
    assert "cortex-m" not in result.stderr


def test_user_tree_builds_and_runs_in_qemu(user_tree):
    build = run_scons(user_tree, "board=my-f4", "-j2")
    assert build.returncode == 0, build.output
    out = user_tree / "build" / "my-f4"
    for name in ("app.elf", "app.bin", "app.hex", "app.map", "app.memory.txt", "answer/libanswer.a"):
        assert (out / name).is_file(), name
    script = (out / "link.ld").read_text()
    assert "RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 0x10000" in script
    assert "_min_stack_size = 0x2000;" in script
    assert "CCM" in (out / "app.memory.txt").read_text(), "regions inherited from the shipped stm32f4"

    run = run_scons(user_tree, "run", timeout=180)  # the SConstruct's default board
    assert run.returncode == 0, run.output
    assert "[my-f4] user firmware on my-f4 rev 2: answer = 42" in run.stdout

    # The crate's Cargo.lock is committed and cargo runs with --locked: nothing is rebuilt.
    again = run_scons(user_tree, "board=my-f4", timeout=120)
    assert again.returncode == 0, again.output
    assert "CARGO" not in again.stdout and "LINK" not in again.stdout, again.stdout


def test_user_tree_ships_a_manifest_of_its_own_parts(user_tree):
    """The size report needs nothing in the SConstruct: the user's crate and C files are
    components of their own, and the parts add up (docs/manifest.md)."""
    from test_size_report import assert_sizes_add_up

    build = run_scons(user_tree, "board=my-f4", timeout=600)
    assert build.returncode == 0, build.output
    data = assert_sizes_add_up(user_tree, "my-f4")
    flash = next(r for r in data["programs"][0]["regions"] if r["name"] == "FLASH")
    assert flash["components"]["answer"] > 0 and flash["components"]["c/main.c"] > 0, flash["components"]
    assert (user_tree / "build" / "my-f4" / "size-report.html").is_file()
    sizes = run_scons(user_tree, "board=my-f4", "sizes", timeout=120)
    assert sizes.returncode == 0 and "build/my-f4/app.elf (my-f4):" in sizes.stdout, sizes.output
