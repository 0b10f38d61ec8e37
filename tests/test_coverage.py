"""``coverage=1`` (docs/coverage.md): Go coverage measured on the emulated target, thresholds
enforced, and the languages that cannot be measured here say so.

The Go test binary of the reference tree runs under qemu-aarch64 (rpi4) with its counters written
to build/rpi4/coverage/; the host's go tool turns them into the figure and an HTML report.
"""

from __future__ import annotations

import json
import re

import pytest

from helpers import child_env, run_scons, spawned_processes

pytestmark = pytest.mark.toolchain


def test_go_coverage_on_the_target_with_a_threshold(built_scratch_tree, tmp_path):
    tree = built_scratch_tree
    log = tmp_path / "spawn.log"
    strict = run_scons(tree, "board=rpi4", "test", "coverage=1", "coverage_min=99.5",
                       env=child_env(POLYBOARD_SPAWN_LOG=str(log)))
    assert strict.returncode != 0, strict.output
    go_said = re.search(r"\[rpi4\] coverage: ([\d.]+)% of statements", strict.stdout)
    assert go_said, strict.stdout  # the test binary's own line, under qemu-aarch64
    builds = [p["argv"] for p in spawned_processes(log) if p["argv"][1:3] == ["test", "-c"]]
    assert builds and all({"-cover", "-covermode=atomic", "-coverpkg=./..."} <= set(a) for a in builds), builds
    runs = [p["argv"] for p in spawned_processes(log) if "qemu-aarch64" in p["argv"][0] and
            p["argv"][-1].startswith("-test.gocoverdir=")]
    assert runs, "the test binary did not get its coverage folder"

    report = json.loads((tree / "build/rpi4/coverage/kern-test.json").read_text())
    assert report["percent"] == pytest.approx(float(go_said.group(1)), abs=0.1)
    assert 0 < report["covered"] < report["statements"]
    assert any(name.endswith("kern/kern.go") for name in report["files"]), report["files"]
    html = (tree / "build/rpi4/coverage/kern-test.html").read_text()
    assert "kern.go" in html and "<html" in html
    row = next(line for line in strict.stdout.splitlines() if line.strip().startswith("rpi4   kern-test"))
    assert f"{report['percent']:.1f}%" in row and "FAIL (coverage" in row, row
    assert f"coverage {report['percent']:.1f}% is below coverage_min 99.5%" in strict.stderr
    rust = next(line for line in strict.stdout.splitlines() if line.strip().startswith("rpi4   kernel-test"))
    assert "pass" in rust and "not measured: Rust: no profiler runtime" in rust, rust

    relaxed = run_scons(tree, "board=rpi4", "test", "coverage=1", "coverage_min=50")
    assert relaxed.returncode == 0, relaxed.output
    assert "GOTEST" not in relaxed.stdout  # the same switch: nothing rebuilt, only run again


def test_profile_figures_count_each_block_once():
    from polyboard_plugins.coverage import profile_figures

    profile = ("mode: atomic\n"
               "m/k/a.go:3.10,5.2 2 1\n"
               "m/k/a.go:6.10,8.2 3 0\n"
               "m/k/a.go:3.10,5.2 2 0\n"   # the same block from another run: still covered
               "m/k/b.go:1.1,2.2 5 0\n")
    covered, total, files = profile_figures(profile)
    assert (covered, total) == (2, 10)
    assert files == {"m/k/a.go": {"covered": 2, "statements": 5}, "m/k/b.go": {"covered": 0, "statements": 5}}


@pytest.mark.parametrize("value", ["150", "-1", "most"])
def test_coverage_min_is_a_percentage(tree, value):
    result = run_scons(tree.path, "board=rpi4", "coverage=1", f"coverage_min={value}", "test")
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("scons: ***")]
    assert len(lines) == 1 and f"coverage_min={value}" in lines[0] and "from 0 to 100" in lines[0], result.stderr
