"""The Go layer of the remote cache (GOCACHEPROG, docs/remote-cache.md) with the real go command
against a real nginx WebDAV server (tests/test_remote_cache.py's fixture, started here).

Runner A, a clean checkout, builds rpi4's Go program (only that target, and the Rust library it
links) with ``remote_cache=``: go compiles the standard library and every package through the
helper, which uploads them. Runner B, a fresh clone at another path (no build/, no Go cache, no helper),
after one Go edit: the SCons layer brings the Rust library and the helper itself, go is the only
process, and the helper serves the standard library and the unchanged packages from the server.
The helper's own unit tests are Go tests (test_the_helpers_go_tests_pass).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from helpers import child_env, copy_built_tree, copy_tree, run_scons, spawned_processes
from polyboard import go_cache_layer
from polyboard.remote_cache import parse_url
from test_remote_cache import Nginx

BOARD = "board=rpi4"
APP = "build/rpi4/app"
GO_SUMMARY = re.compile(r"^polyboard: remote cache, (Go) packages \(GOCACHEPROG\): (\d+) hits, (\d+) local hits, "
                        r"(\d+) misses, (\d+) errors, (\d+) uploads, (.+) down, (.+) up$", re.MULTILINE)
HELPER_AGENT = "polyboard-gocacheprog"


def go_summary(output: str) -> dict[str, int]:
    match = GO_SUMMARY.search(output)
    assert match, f"no Go cache summary in:\n{output}"
    return dict(zip(("hits", "local_hits", "misses", "errors", "uploads"), map(int, match.groups()[1:6])))


def helper_stats(tree: Path) -> list[dict]:
    """One line per go command, written by the helper itself on close."""
    return [json.loads(line) for line in (tree / go_cache_layer.FOLDER / "stats.jsonl").read_text().splitlines()]


def edit_go(tree: Path, value: int) -> None:
    source = tree / "src" / "app" / "main.go"
    source.write_text(source.read_text() + f"\nfunc remoteCacheTestEdit() int {{ return {value} }}\n")


# --- pure logic --------------------------------------------------------------------------------

def test_gocacheprog_quotes_a_path_with_spaces_as_go_splits_it():
    value = go_cache_layer.gocacheprog("/a b/gocacheprog", Path("/a b"), parse_url("http://c:1/x", where="t"),
                                       upload=False)
    assert value == ('"/a b/gocacheprog" -dir "/a b/cache" -remote http://c:1/x/ -stats "/a b/stats.jsonl" '
                     "-upload=false")


def test_the_counts_of_every_go_command_add_up():
    lines = ['{"hits": 3, "misses": 1, "bytes_down": 10, "warnings": ["w"]}',
             '{"hits": 2, "local_hits": 5, "errors": 1, "warnings": ["w", "v"]}', '{"hits": 1']  # the last cut short
    totals, warnings = go_cache_layer.add_up(lines)
    assert (totals["hits"], totals["local_hits"], totals["misses"], totals["errors"]) == (5, 5, 1, 1)
    assert warnings == ["w", "v"]


def test_the_helpers_go_tests_pass():
    """The helper's unit tests (protocol through pipes, an httptest store: corrupt and truncated
    blobs, refused uploads, a dead server, read-only) run with the host's go."""
    go = shutil.which("go")
    assert go, "go is not installed"
    result = subprocess.run([go, "test", "-count=1", "."], cwd=go_cache_layer.HELPER_SOURCES, text=True,
                            capture_output=True, timeout=300,
                            env=child_env(GOFLAGS="-mod=mod", GOWORK="off", GOTOOLCHAIN="local"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok"), result.stdout


# --- the real go command and a real server ---------------------------------------------------------

@pytest.fixture(scope="module")
def go_server(tmp_path_factory):
    nginx = Nginx(tmp_path_factory.mktemp("go-nginx")).start()
    yield nginx
    nginx.stop()


@pytest.fixture(scope="module")
def go_runner_a(tree, go_server, tmp_path_factory):
    """A runner that builds rpi4's Go program (and the Rust library it links) with an empty Go
    cache: the SCons layer uploads the library and the helper, the Go layer every package go
    compiled, the standard library for arm64 included. It starts from a copy of the session's
    built tree without go's cache, the program and the library, so cargo's build-std folders
    are reused (cargo only copies the library out again) and go compiles everything."""
    a = copy_built_tree(tree.path, tmp_path_factory.mktemp("go-runner-a") / "tree")
    shutil.rmtree(a / "build" / ".gocache")
    for product in (APP, APP + ".debug", "build/rpi4/kernel/libkernel.a"):  # app.debug: what go links
        (a / product).unlink()
    started = time.monotonic()
    result = run_scons(a, BOARD, "-j2", APP, f"remote_cache={go_server.url}")
    elapsed = time.monotonic() - started
    shutil.rmtree(a / "build" / ".cargo", ignore_errors=True)  # cargo's build-std folders: never needed again
    assert result.returncode == 0, result.output
    counts = go_summary(result.stdout)
    assert counts["hits"] == counts["local_hits"] == counts["errors"] == 0, counts
    assert counts["misses"] >= 100 and counts["uploads"] >= 100, counts  # the standard library and all
    puts = [r for r in go_server.requests(HELPER_AGENT) if r.startswith("PUT ")]
    assert puts and all(r.endswith((" 201", " 204")) for r in puts), puts[:5]
    print(f"runner A: {elapsed:.1f} s, Go layer {counts}")
    return a


@pytest.mark.toolchain
def test_a_fresh_runner_gets_the_standard_library_from_gocacheprog(go_runner_a, go_server, tmp_path):
    b = copy_tree(tmp_path / "runner-b" / "another path" / "tree")
    edit_go(b, 12)
    spawn_log = tmp_path / "spawn.log"
    started = time.monotonic()
    result = run_scons(b, BOARD, "-j2", APP, f"remote_cache={go_server.url}",
                       env=child_env(POLYBOARD_SPAWN_LOG=str(spawn_log)))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.output
    # The SCons layer brought the Rust library and the helper; go is the only process. (The edit
    # adds a function nothing calls: go links the same app.debug, so the stripped app, whose
    # signature is app.debug's content, comes from the store too.)
    assert "Retrieved `build/rpi4/kernel/libkernel.a' from the remote cache" in result.stdout, result.stdout
    assert f"Retrieved `{go_cache_layer.FOLDER}/gocacheprog' from the remote cache" in result.stdout
    programs = [(Path(p["argv"][0]).name, p["argv"][1]) for p in spawned_processes(spawn_log)]
    assert programs == [("go", "build")], programs
    counts = go_summary(result.stdout)
    stats = helper_stats(b)
    assert len(stats) == 1 and stats[0]["hits"] == counts["hits"] and stats[0]["misses"] == counts["misses"]
    # The standard library (runtime, fmt, ... for arm64) and the unchanged package kern come from
    # the server; what misses is the edited package (its cgo and compile steps) and the link.
    assert counts["hits"] >= 100 and counts["errors"] == 0, counts
    assert counts["misses"] <= 8, counts
    print(f"runner B: {elapsed:.1f} s, Go layer {counts}")
    # A null build afterwards starts nothing and prints no Go line.
    spawn_log.unlink()
    again = run_scons(b, BOARD, APP, f"remote_cache={go_server.url}", env=child_env(POLYBOARD_SPAWN_LOG=str(spawn_log)))
    assert again.returncode == 0 and "is up to date" in again.stdout, again.output
    assert not spawn_log.exists() and not GO_SUMMARY.search(again.stdout)


@pytest.mark.toolchain
def test_a_read_only_runner_never_uploads_go_outputs(go_runner_a, go_server, tmp_path):
    c = copy_tree(tmp_path / "runner-c" / "tree")
    edit_go(c, 13)
    before = len(go_server.requests(HELPER_AGENT))
    result = run_scons(c, BOARD, "-j2", APP, f"remote_cache={go_server.url}", "remote_cache_upload=0")
    assert result.returncode == 0, result.output
    counts = go_summary(result.stdout)
    assert counts["hits"] >= 100 and counts["misses"] >= 1 and counts["uploads"] == 0, counts
    made = go_server.requests(HELPER_AGENT)[before:]
    assert made and all(r.startswith("GET ") for r in made), sorted(set(r.split()[0] for r in made))


@pytest.mark.toolchain
def test_a_corrupt_go_object_is_a_miss_with_one_warning(go_runner_a, go_server, tmp_path):
    """Runs last: it damages one object of the store that every runner after one Go edit asks
    for (a package of the standard library that runner B was served), cut in half."""
    served = [r.split()[1] for r in go_server.requests(HELPER_AGENT) if r.startswith("GET /ci/cas/") and r.endswith(" 200")]
    assert served, "no runner was served a Go object"
    # the largest: an archive no other action shares (an empty output cut in half stays whole)
    blob = max((go_server.storage / "cas" / path.rsplit("/", 1)[1] for path in served), key=lambda p: p.stat().st_size)
    blob.write_bytes(blob.read_bytes()[: blob.stat().st_size // 2])
    d = copy_tree(tmp_path / "runner-d" / "tree")
    edit_go(d, 14)
    result = run_scons(d, BOARD, "-j2", APP, f"remote_cache={go_server.url}")
    assert result.returncode == 0, result.output
    counts = go_summary(result.stdout)
    assert counts["errors"] == 1 and counts["hits"] >= 100, counts
    warnings = [line for line in result.stderr.splitlines() if "warning: remote cache (Go)" in line]
    assert len(warnings) == 1 and "does not match its sha256" in warnings[0], result.stderr
    assert "Traceback" not in result.output
