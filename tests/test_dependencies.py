"""Locked, vendored, verified dependencies and offline builds (docs/dependencies.md).

The offline test vendors a fresh copy of the reference tree (plus a small Go module the app
imports, so Go has something to vendor), then builds and runs stm32f4 and rpi4 from nothing in a
network namespace with no network (``unshare -n``), then edits a vendored crate and a vendored
Go module and sees one ``scons: ***`` line naming each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from helpers import spawned_processes, SCONS, SCONS_TIMEOUT, Result, child_env, copy_tree, run_scons, spawned, write
from polyboard import dependencies, source_date

GREETING_GO = '''\
// Package greeting is a dependency of the app that `scons vendor` copies into src/app/vendor.
package greeting

// Hello says hello.
func Hello() string { return "hello from a vendored Go module" }
'''


# -- pure logic -----------------------------------------------------------------------------------

def _git(cwd: Path, *args: str) -> str:
    env = child_env(GIT_AUTHOR_DATE="@1700000000 +0000", GIT_COMMITTER_DATE="@1700000000 +0000",
                    GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, text=True, capture_output=True).stdout


def test_source_date_epoch_comes_from_the_last_commit_without_a_process(tmp_path, monkeypatch):
    log = tmp_path / "spawn.log"
    monkeypatch.setenv("POLYBOARD_SPAWN_LOG", str(log))
    repo = tmp_path / "repo"
    repo.mkdir()
    assert source_date.source_date_epoch(repo, {}) is None  # not a checkout: not set
    _git(repo, "init", "-q")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    assert source_date.source_date_epoch(repo, {}) == "1700000000"  # a loose commit object, read in Python
    assert spawned(log) == ""
    _git(repo, "gc", "-q")  # the commit is now packed: one git log, then the cache answers
    (repo / source_date.CACHE).unlink()
    assert source_date.source_date_epoch(repo, {"PATH": os.environ["PATH"]}) == "1700000000"
    assert sum(p["argv"][:2] == ["git", "-C"] for p in spawned_processes(log)) == 1
    assert source_date.source_date_epoch(repo, {"PATH": os.environ["PATH"]}) == "1700000000"
    assert sum(p["argv"][:2] == ["git", "-C"] for p in spawned_processes(log)) == 1
    worktree = tmp_path / "wt"
    _git(repo, "worktree", "add", "-q", str(worktree))
    assert source_date.source_date_epoch(worktree, {"PATH": os.environ["PATH"]}) == "1700000000"


def test_go_vendor_list_catches_an_edited_an_added_and_a_missing_file(tmp_path):
    module = tmp_path / "tree" / "app"
    write(module / "vendor" / "modules.txt", "# example.com/dep v1.2.0\n## explicit\nexample.com/dep\n")
    write(module / "vendor" / "example.com" / "dep" / "dep.go", "package dep\n")
    assert dependencies.write_go_vendor_sum(module) == 2
    assert dependencies.verify_go_vendor(module, tmp_path / "tree") is None
    (module / "vendor" / "example.com" / "dep" / "dep.go").write_text("package dep // edited\n")
    error = dependencies.verify_go_vendor(module, tmp_path / "tree")
    assert "vendored Go module example.com/dep v1.2.0 was modified" in str(error)
    assert str(error).startswith("app/vendor/example.com/dep/dep.go: ")
    dependencies.write_go_vendor_sum(module)
    write(module / "vendor" / "example.com" / "dep" / "extra.go", "package dep\n")
    assert "is not listed in app/vendor/polyboard.sha256" in str(dependencies.verify_go_vendor(module, tmp_path / "tree"))


def test_vendored_crates_are_checked_against_their_checksum_files_and_cargo_lock(tmp_path):
    vendor = tmp_path / "vendor" / "rust"
    crate = write(vendor / "tiny" / "src" / "lib.rs", "pub fn f() {}\n").parent.parent
    write(crate / "Cargo.toml", '[package]\nname = "tiny"\nversion = "1.0.0"\n')
    digest = dependencies.sha256_file(crate / "src" / "lib.rs")
    write(crate / ".cargo-checksum.json", '{"files": {"src/lib.rs": "%s"}, "package": "%s"}' % (digest, "a" * 64))
    lock = write(tmp_path / "Cargo.lock", f'version = 4\n[[package]]\nname = "tiny"\nversion = "1.0.0"\n'
                                          f'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
                                          f'checksum = "{"a" * 64}"\n')
    assert dependencies.verify_vendored_crates(vendor, [lock], tmp_path) == (1, [])
    (crate / "src" / "lib.rs").write_text("pub fn f() { evil() }\n")
    count, problems = dependencies.verify_vendored_crates(vendor, [lock], tmp_path)
    assert problems == ["vendored crate tiny 1.0.0 was modified: vendor/rust/tiny/src/lib.rs does not match "
                        "vendor/rust/tiny/.cargo-checksum.json"]
    message = ("error: the listed checksum of `%s` has changed:\nexpected: 1\nactual:   2\n\ndirectory sources "
               "are not intended to be edited" % (crate / "src" / "lib.rs"))
    error = dependencies.cargo_checksum_error(message, tmp_path)
    assert "vendored crate tiny 1.0.0 was modified: vendor/rust/tiny/src/lib.rs" in str(error)


# -- end to end: vendor, verify, build and run with no network ------------------------------------

def run_offline(tree: Path, *args: str, timeout: float = SCONS_TIMEOUT * 2) -> Result:
    """scons in a new network namespace: only a loopback device that is down, no route anywhere."""
    completed = subprocess.run(["unshare", "-n", str(SCONS), *args], cwd=tree, env=child_env(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               timeout=timeout)
    return Result(completed.returncode, completed.stdout, completed.stderr)


def _add_go_dependency(tree: Path) -> None:
    write(tree / "src" / "greeting" / "go.mod", "module example.com/greeting\n\ngo 1.22\n")
    write(tree / "src" / "greeting" / "greeting.go", GREETING_GO)
    write(tree / "src" / "greeting" / "LICENSE", "MIT License\n")
    go_mod = tree / "src" / "app" / "go.mod"
    go_mod.write_text(go_mod.read_text() + "\nrequire example.com/greeting v0.0.0\n\n"
                      "replace example.com/greeting => ../greeting\n")
    main = tree / "src" / "app" / "main.go"
    text = main.read_text().replace('"polyboard.example/app/kern"',
                                    '"polyboard.example/app/kern"\n\t"example.com/greeting"', 1)
    main.write_text(text.replace("func main() {", "func main() {\n\tfmt.Println(greeting.Hello())", 1))


@pytest.mark.toolchain
@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs unshare -n as root")
def test_vendored_tree_builds_and_runs_with_no_network(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    _add_go_dependency(tree)
    boards = "boards=stm32f4,rpi4"

    vendored = run_scons(tree, boards, "vendor", timeout=300)
    print(vendored.stdout)
    assert vendored.returncode == 0, vendored.output
    assert "polyboard: vendored 40 crates into vendor/rust for src/kernel and the standard library" in vendored.stdout \
        or "crates into vendor/rust for src/kernel and the standard library" in vendored.stdout
    assert (tree / "vendor" / "rust" / "cfg-if" / ".cargo-checksum.json").is_file()  # one of std's crates
    assert (tree / "src" / "app" / "vendor" / "example.com" / "greeting" / "greeting.go").is_file()

    verified = run_offline(tree, boards, "verify-deps", "offline=1", timeout=300)
    print(verified.stdout)
    assert verified.returncode == 0, verified.output
    assert "vendored crates in vendor/rust match their .cargo-checksum.json and the Cargo.lock files" in verified.stdout
    assert "src/app/vendor matches vendor/polyboard.sha256" in verified.stdout
    assert any(line.split()[:2] == ["cfg-if", "1.0.4"] and "MIT OR Apache-2.0" in line
               for line in verified.stdout.splitlines())
    assert any(line.split()[:1] == ["example.com/greeting"] and "MIT License" in line
               for line in verified.stdout.splitlines())

    netns = subprocess.run(["unshare", "-n", "cat", "/proc/net/dev"], text=True, capture_output=True, check=True)
    devices = [line.split(":")[0].strip() for line in netns.stdout.splitlines()[2:]]
    assert devices == ["lo"], devices

    started = time.monotonic()
    build = run_offline(tree, boards, "offline=1", "-j2")
    seconds = time.monotonic() - started
    print(f"offline cold build of {boards}: {seconds:.0f} s\n" + "\n".join(build.stdout.splitlines()[-12:]))
    assert build.returncode == 0, build.output
    for path in ("build/stm32f4/firmware.elf", "build/rpi4/app", "build/rpi4/kern-test",
                 "build/rpi4/kernel-test/kernel-test"):
        assert (tree / path).is_file(), path
    ran = run_offline(tree, boards, "offline=1", "run", timeout=300)
    print("\n".join(ran.stdout.splitlines()[-14:]))
    assert ran.returncode == 0, ran.output
    assert "[rpi4] hello from a vendored Go module" in ran.stdout
    assert "[stm32f4] hello from polyboard firmware on stm32f4" in ran.stdout

    # An edited vendored crate (cfg-if is one of std's): the next cargo run stops, one line.
    cfg_if = tree / "vendor" / "rust" / "cfg-if" / "src" / "lib.rs"
    original = cfg_if.read_text()
    cfg_if.write_text(original + "\n// edited\n")
    kernel = tree / "src" / "kernel" / "src" / "lib.rs"
    kernel.write_text(kernel.read_text() + "\n// touched\n")
    edited = run_offline(tree, "board=rpi4", "offline=1")
    print(edited.stderr)
    assert edited.returncode == 2, edited.output
    errors = [line for line in edited.stderr.splitlines() if line.startswith("scons: ***")]
    assert len(errors) == 1 and len(edited.stderr.strip().splitlines()) == 1, edited.stderr
    assert "vendored crate cfg-if 1.0.4 was modified: vendor/rust/cfg-if/src/lib.rs does not match" in errors[0]
    failed_verify = run_offline(tree, boards, "verify-deps", "offline=1", timeout=300)
    assert failed_verify.returncode == 2 and "cfg-if" in failed_verify.stderr, failed_verify.output
    cfg_if.write_text(original)

    # An edited vendored Go module: go would build it silently; polyboard's list stops it.
    greeting = tree / "src" / "app" / "vendor" / "example.com" / "greeting" / "greeting.go"
    greeting.write_text(greeting.read_text().replace("hello from", "HACKED"))
    edited = run_offline(tree, "board=rpi4", "offline=1")
    print(edited.stderr)
    assert edited.returncode == 2, edited.output
    errors = [line for line in edited.stderr.splitlines() if line.startswith("scons: ***")]
    assert len(errors) == 1, edited.stderr
    assert "src/app/vendor/example.com/greeting/greeting.go" in errors[0]
    assert "vendored Go module example.com/greeting v0.0.0 was modified" in errors[0]


@pytest.mark.toolchain
def test_offline_without_vendor_is_one_line(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    result = run_scons(tree, "board=stm32f4", "offline=1", timeout=120)
    assert result.returncode == 2, result.output
    assert result.stderr.strip().removesuffix("  Stop.") == (
        "scons: *** offline=1: offline=1 builds Rust from vendored crates and "
        "vendor/rust does not exist; vendor them first (with network): scons vendor")
    assert not (tmp_path / "tree" / "build" / "stm32f4").exists()


@pytest.mark.toolchain
def test_verify_deps_without_vendoring_lists_every_component(tmp_path):
    """No vendor/: cargo fetch --locked and go mod verify check, then each component is listed."""
    tree = copy_tree(tmp_path / "tree")
    result = run_scons(tree, "board=all", "verify-deps", timeout=300)
    print(result.stdout)
    assert result.returncode == 0, result.output
    assert "matches its checksum (cargo fetch --locked)" in result.stdout
    assert "polyboard: Rust dependencies of src/kernel (1 packages):" in result.stdout
    assert "(standard library, build-std)" in result.stdout
    assert any(line.split()[:2] == ["libc", "0.2.183"] and len(line.split()[2]) == 64
               for line in result.stdout.splitlines())
    assert "polyboard: verify-deps: src/app: go mod verify: all modules verified" in result.stdout
    assert not (tree / "build" / "stm32f4").exists(), "verify-deps built something"
