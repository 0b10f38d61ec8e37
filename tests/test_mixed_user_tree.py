"""A stranger's mixed tree outside the repository, built as the docs say, with no tree plugin:
C firmware and a Rust staticlib for a microcontroller, a cortex-m-rt Rust ``bin`` crate from the
crate registry kept off the Linux board with ``os=["none"]``, and a Go program for a Linux board
that links the same Rust staticlib through cgo (``libs=[answer]``: only ``#include "answer.h"``
in the Go file) and uses a real cgo module from the Go module proxy (mattn/go-sqlite3, whose
bundled C would warn under the board's ``-Wall``). One ``boards=stm32f4,rpi4`` invocation builds
all of it; ``run`` runs each board's program in QEMU.

The registries must be reachable (as on the project's machines); the test skips only when they
answer that they are not.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from helpers import REPO, child_env, run_scons, write
from test_external_tree import ANSWER_H, CARGO_TOML as ANSWER_CARGO_TOML, LIB_RS
from test_rust_program import CARGO_TOML as BLINKY_CARGO_TOML, MAIN_RS as BLINKY_MAIN_RS, NETWORK_ERRORS

pytestmark = pytest.mark.toolchain

SCONSTRUCT = '''\
import polyboard

project = polyboard.start()
answer = project.rust_staticlib("answer", crate="rust/answer")
project.c_firmware("fw", sources=["c/startup.c", "c/main.c"], libs=[answer])
project.rust_program("blinky", crate="rust/blinky", os=["none"])
project.go_program("app", package_dir="go/app", libs=[answer])
project.finish()
'''
MAIN_C = '''\
#include <stdio.h>
#include "answer.h"

int main(void)
{
    printf("mixed firmware: answer = %lu\\n", (unsigned long)answer_times(7));
    return answer_times(7) == 42u || answer_times(7) == 84u ? 0 : 1;
}
'''
# The answer crate with a feature a board file turns on: [rust] features = ["double"].
DOUBLE_FEATURE = "\n[features]\ndouble = []\n"
DOUBLE_LIB_RS = LIB_RS.replace("factor.wrapping_mul(6)",
                               "if cfg!(feature = \"double\") { factor.wrapping_mul(12) } else { factor.wrapping_mul(6) }")
DOUBLE_BOARD = 'inherits = "stm32f4"\ndescription = "an STM32F4 whose answer crate doubles"\n[rust]\nfeatures = ["double"]\n'
GO_MOD = '''\
module example.com/mixed

go 1.21

require github.com/mattn/go-sqlite3 v1.14.22
'''
MAIN_GO = '''\
package main

/*
#include "answer.h"
*/
import "C"

import (
	"database/sql"
	"fmt"
	"os"

	_ "github.com/mattn/go-sqlite3"
)

func main() {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	var version string
	if err := db.QueryRow("select sqlite_version()").Scan(&version); err != nil {
		fmt.Println("query:", err)
		os.Exit(1)
	}
	answer := uint32(C.answer_times(7))
	fmt.Printf("mixed app: answer = %d, sqlite %s\\n", answer, version)
	if answer != 42 {
		os.Exit(1)
	}
}
'''
GO_NETWORK_ERRORS = ("dial tcp", "no such host", "connection refused", "i/o timeout", "proxy.golang.org")


def _go() -> str:
    for candidate in ("/usr/local/go/bin/go", "go"):
        if candidate == "go" or os.path.exists(candidate):
            return candidate
    return "go"


@pytest.fixture(scope="module")
def mixed_tree(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("mixed") / "mixed-firmware"
    write(tree / "SConstruct", SCONSTRUCT)
    write(tree / "rust" / "answer" / "Cargo.toml", ANSWER_CARGO_TOML + DOUBLE_FEATURE)
    write(tree / "rust" / "answer" / "src" / "lib.rs", DOUBLE_LIB_RS)
    write(tree / "boards" / "f4-double.toml", DOUBLE_BOARD)
    write(tree / "rust" / "answer" / "include" / "answer.h", ANSWER_H)
    write(tree / "rust" / "blinky" / "Cargo.toml", BLINKY_CARGO_TOML)
    write(tree / "rust" / "blinky" / "src" / "main.rs", BLINKY_MAIN_RS)
    write(tree / "c" / "startup.c", (REPO / "src" / "firmware" / "startup.c").read_text())
    write(tree / "c" / "main.c", MAIN_C)
    write(tree / "go" / "app" / "go.mod", GO_MOD)
    write(tree / "go" / "app" / "main.go", MAIN_GO)
    assert not tree.resolve().is_relative_to(REPO)
    cargo = "/usr/bin/cargo" if os.path.exists("/usr/bin/cargo") else "cargo"
    for crate in ("answer", "blinky"):  # application crates commit their Cargo.lock
        lock = subprocess.run([cargo, "generate-lockfile"], cwd=tree / "rust" / crate, text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
        if any(text in lock.stderr for text in NETWORK_ERRORS):
            pytest.skip(f"crates.io is unreachable: {lock.stderr.strip().splitlines()[-1]}")
        assert lock.returncode == 0, lock.stderr
    env = dict(child_env(), GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
               GOMODCACHE=str(tree / "build" / ".gopath" / "pkg" / "mod"))
    tidy = subprocess.run([_go(), "mod", "tidy"], cwd=tree / "go" / "app", text=True, capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=300, env=env)
    if any(text in tidy.stderr for text in GO_NETWORK_ERRORS):
        pytest.skip(f"the Go module proxy is unreachable: {tidy.stderr.strip().splitlines()[-1]}")
    assert tidy.returncode == 0, tidy.stderr
    return tree


def test_a_mixed_tree_builds_for_mcu_and_linux_boards_in_one_invocation(mixed_tree: Path):
    build = run_scons(mixed_tree, "boards=stm32f4,rpi4", "-j2", timeout=1200)
    assert build.returncode == 0, build.output
    out = mixed_tree / "build"
    for path in ("stm32f4/fw.elf", "stm32f4/fw.bin", "stm32f4/blinky.elf", "stm32f4/blinky.map",
                 "stm32f4/blinky.bin", "rpi4/app", "rpi4/answer/libanswer.a"):
        assert (out / path).is_file(), path
    assert not (out / "rpi4" / "blinky.elf").exists()
    # the notices: c_firmware is for bare-metal boards (said), blinky is limited by os= (quiet)
    assert "c_firmware 'fw' skipped on rpi4" in build.stdout
    assert "blinky" not in "".join(line for line in build.stdout.splitlines() if "skipped" in line)
    # the board's warning flags are for the tree's C, not for go-sqlite3's bundled sqlite3.c
    assert "sqlite3-binding.c" not in build.output, build.output

    run = run_scons(mixed_tree, "boards=stm32f4,rpi4", "run", timeout=300)
    assert run.returncode == 0, run.output
    assert "[stm32f4] mixed firmware: answer = 42" in run.stdout
    assert "[rpi4] mixed app: answer = 42, sqlite 3." in run.stdout

    blinky = run_scons(mixed_tree, "board=stm32f4", "run", "component=blinky", timeout=300)
    assert blinky.returncode == 0, blinky.output
    assert "[stm32f4] hello from rust_program" in blinky.stdout

    again = run_scons(mixed_tree, "boards=stm32f4,rpi4", timeout=300)
    assert again.returncode == 0, again.output
    assert not any(word in again.stdout for word in ("CARGO ", "GO ", "CC ", "LINK ")), again.stdout


def test_a_board_files_rust_feature_reaches_cargo(mixed_tree: Path):
    """[rust] features in a board file: the crate that defines the feature gets it (the answer
    doubles in QEMU); the crate that does not (blinky) builds without it."""
    run = run_scons(mixed_tree, "board=f4-double", "run", "component=fw", timeout=900)
    assert run.returncode == 0, run.output
    assert "[f4-double] mixed firmware: answer = 84" in run.stdout
