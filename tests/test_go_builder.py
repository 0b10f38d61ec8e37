"""The Go builder's pure logic: target environment, command line, dependency rules, lib staging."""

from __future__ import annotations

import attrs
import pytest

from helpers import REPO, write
from polyboard.board_files import BoardCatalog
from polyboard_plugins import go_builder
from polyboard_plugins.c_toolchain import cpu_flags


@pytest.fixture(scope="module")
def catalog():
    return BoardCatalog([REPO / "boards"], root=REPO)


def soft_float(board):
    return attrs.evolve(board, cpu=attrs.evolve(board.cpu, float_abi="soft", fpu=""))


def test_target_env_follows_the_board(catalog):
    rpi3 = go_builder.target_env(catalog.load("rpi3"), cpu_flags(catalog.load("rpi3")))
    assert rpi3["GOOS"] == "linux" and rpi3["GOARCH"] == "arm" and rpi3["GOARM"] == "7"
    assert rpi3["CC"] == "arm-linux-gnueabihf-gcc" and rpi3["CGO_ENABLED"] == "1"
    assert "-mfloat-abi=hard" in rpi3["CGO_CFLAGS"] and "-O2" in rpi3["CGO_CFLAGS"]
    rpi4 = go_builder.target_env(catalog.load("rpi4"), cpu_flags(catalog.load("rpi4")))
    assert rpi4["GOARCH"] == "arm64" and "GOARM" not in rpi4
    assert go_builder.target_env(catalog.load("visionfive2"), cpu_flags(catalog.load("visionfive2")))["GOARCH"] == "riscv64"


def test_soft_float_abi_reaches_goarm(catalog):
    board = soft_float(catalog.load("rpi3"))
    assert go_builder.goarm(board) == "7,softfloat"
    assert "-mfloat-abi=soft" in go_builder.target_env(board, cpu_flags(board))["CGO_CFLAGS"]


def test_target_env_holds_no_paths(catalog):
    for board_id in ("rpi3", "rpi4", "visionfive2"):
        assert "/" not in repr(go_builder.target_env(catalog.load(board_id), cpu_flags(catalog.load(board_id))))


def test_tags_merge_board_and_option(catalog):
    board = catalog.load("rpi4")
    board = attrs.evolve(board, go=attrs.evolve(board.go, tags=("board_rpi4", "netgo")))
    assert go_builder.build_tags(board, "netgo, debug,,") == ["board_rpi4", "netgo", "debug"]
    assert go_builder.build_tags(catalog.load("rpi4"), "") == []


def test_go_argv():
    argv = go_builder.go_argv("go", "build", "out.tmp", ".", ["a", "b"], 3)
    assert argv == ["go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=", "-p", "3", "-tags", "a,b", "-o", "out.tmp", "."]
    argv = go_builder.go_argv("go", "test", "t.tmp", "./kern", [], 0)
    assert argv[:3] == ["go", "test", "-c"] and "-tags" not in argv and argv[argv.index("-p") + 1] == "1"
    assert argv[-3:] == ["-o", "t.tmp", "./kern"]


def test_imports_are_read_from_single_and_grouped_imports():
    text = 'package x\n\nimport "fmt"\nimport k "ex.com/m/kern"\nimport (\n\t"os"\n\t_ "ex.com/m/util" // side effects\n)\n'
    assert go_builder.imports_of(text) == {"fmt", "ex.com/m/kern", "os", "ex.com/m/util"}


@pytest.fixture
def module(tmp_path):
    root = tmp_path / "mod"
    write(root / "go.mod", "module ex.com/m\n\ngo 1.22\n")
    write(root / "main.go", 'package main\n\nimport (\n\t"fmt"\n\t"ex.com/m/kern"\n)\n\nfunc main() { fmt.Println(kern.X) }\n')
    write(root / "kern" / "kern.go", 'package kern\n\nimport "ex.com/m/kern/inner"\n\nvar X = inner.Y\n')
    write(root / "kern" / "shim.c", "int shim(void) { return 0; }\n")
    write(root / "kern" / "kern_test.go", 'package kern\n\nimport "testing"\n\nfunc TestX(t *testing.T) {}\n')
    write(root / "kern" / "inner" / "inner.go", "package inner\n\nconst Y = 1\n")
    write(root / "kern" / "inner" / "inner_test.go", "package inner\n")
    write(root / "unused" / "unused.go", "package unused\n")
    write(root / "README.md", "not a source\n")
    return root


def names(files, root):
    return sorted(str(p.relative_to(root)) for p in files)


def test_program_depends_on_its_local_imports_without_tests(module):
    files = go_builder.package_files(module, module, tests=False)
    assert names(files, module) == ["go.mod", "kern/inner/inner.go", "kern/kern.go", "kern/shim.c", "main.go"]


def test_test_binary_depends_on_its_own_tests_only(module):
    files = go_builder.package_files(module, module / "kern", tests=True)
    assert names(files, module) == ["go.mod", "kern/inner/inner.go", "kern/kern.go", "kern/kern_test.go",
                                    "kern/shim.c"]


def test_module_root_and_path(module):
    assert go_builder.module_root(module / "kern" / "inner", module.parent) == module
    assert go_builder.module_root(module.parent, module.parent) is None
    assert go_builder.module_path(module / "go.mod") == "ex.com/m"


def test_go_version_is_read_from_goroot_without_a_process(tmp_path):
    write(tmp_path / "goroot" / "VERSION", "go1.26.8\ntime 2026-01-01\n")
    write(tmp_path / "goroot" / "bin" / "go", "")
    assert go_builder.go_version(str(tmp_path / "goroot" / "bin" / "go")) == "go1.26.8"
    assert go_builder.go_version(str(tmp_path / "nowhere" / "go")) == "unknown"


def test_library_staging_follows_content(tmp_path):
    lib = write(tmp_path / "libkernel.a", "one")
    first = go_builder.stage_library(str(lib), tmp_path / "stage")
    assert (first / "libkernel.a").read_text() == "one"
    assert go_builder.stage_library(str(lib), tmp_path / "stage") == first  # same bytes, same directory
    lib.write_text("two")
    second = go_builder.stage_library(str(lib), tmp_path / "stage")
    assert second != first and (second / "libkernel.a").read_text() == "two"
