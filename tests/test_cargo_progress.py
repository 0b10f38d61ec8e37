"""The progress line of long cargo runs: cargo's own compiler-artifact messages, counted as they come."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polyboard_plugins.cargo_builder import Progress, package_name

from helpers import copy_tree, run_scons


def test_package_names_from_both_package_id_formats():
    assert package_name("path+file:///tree/src/kernel#kernel@0.1.0") == "kernel"
    assert package_name("path+file:///usr/lib/rustlib/src/rust/library/core#0.0.0") == "core"
    assert package_name("registry+https://github.com/rust-lang/crates.io-index#compiler_builtins@0.1.160") \
        == "compiler_builtins"
    assert package_name("core 0.0.0 (path+file:///usr/lib/rustlib/src/rust/library/core)") == "core"


def test_progress_counts_crates_once_and_stays_quiet_when_quick(capsys):
    progress = Progress("CARGO   [b] lib.a", interval=0.0)
    progress.artifact({"package_id": "path+file:///x/core#0.0.0", "target": {"name": "build-script-build"}})
    progress.artifact({"package_id": "path+file:///x/core#0.0.0", "target": {"name": "core"}})
    progress.tick()
    assert capsys.readouterr().out.startswith("CARGO   [b] lib.a: 1 crate compiled (last: core), ")
    quiet = Progress("CARGO   [b] lib.a")  # the default: nothing in the first 10 s
    quiet.tick()
    assert capsys.readouterr().out == ""


@pytest.mark.toolchain
def test_a_first_build_of_core_prints_progress(tmp_path: Path):
    tree = copy_tree(tmp_path / "tree")
    result = run_scons(tree, "board=lm3s6965", "-j1", "build/lm3s6965/kernel/libkernel.a")
    assert result.returncode == 0, result.output
    progress = re.findall(r"^CARGO   \[lm3s6965\] build/lm3s6965/kernel/libkernel\.a: (\d+) crates? compiled"
                          r"(?: \(last: (\w+)\))?, (\d+) s$", result.stdout, re.MULTILINE)
    assert progress, result.stdout  # core from source takes well over 10 s
    seconds = [int(s) for _, _, s in progress]
    assert seconds == sorted(seconds) and seconds[0] >= 10
