"""A build killed at any point (SIGKILL or SIGINT) and built again gives outputs bit-identical to a
clean build, including SCons's known trap (#2718): build v1, edit to v2, interrupt while targets
are being written, revert to v1, build: a truncated target must not be taken as up to date.

The kill points are random (seeded, printed on failure) and the loop is bounded.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import SCONS, child_env, copy_built_tree, run_scons

pytestmark = pytest.mark.toolchain

BOARDS = "stm32f4,rpi4"  # C + Rust firmware, and Go + cgo + Rust: every builder kind
ROUNDS = 8
V2_C = ('printf("hello from polyboard firmware', 'printf("hello (v2) from polyboard firmware')
V2_RUST = "\n#[no_mangle]\npub extern \"C\" fn kern_interrupt_probe() -> u32 {\n    2\n}\n"
V2_GO = ('package main', 'package main\n\n// v2')


def outputs(tree: Path) -> dict[str, str]:
    """Digest of every board's build products: not the tools' caches (build/.cargo, build/.go...),
    not SCons's database, not a temporary file a killed build left behind (never a target), and
    not the whole-build files directly in build/ (manifest.json, report.html): they describe the
    boards an invocation selected, and the session tree was built for more boards than these."""
    digests = {}
    for path in sorted((tree / "build").rglob("*")):
        parts = path.relative_to(tree / "build").parts
        if path.is_file() and len(parts) > 1 and not parts[0].startswith(".") and ".sconsign" not in path.name \
                and not path.name.endswith(".tmp"):
            digests[path.relative_to(tree).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def set_version(tree: Path, version: int, originals: dict[Path, str]) -> None:
    for path, text in originals.items():
        if version == 1:
            path.write_text(text)
        elif path.suffix == ".c":
            path.write_text(text.replace(*V2_C))
        elif path.suffix == ".rs":
            path.write_text(text + V2_RUST)
        else:
            path.write_text(text.replace(*V2_GO))


def interrupted_build(tree: Path, delay: float, sig: int) -> None:
    process = subprocess.Popen([str(SCONS), f"boards={BOARDS}", "-j2"], cwd=tree, env=child_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    if process.poll() is None:
        # SIGKILL hits the whole process group, as a CI runner's cancel does; SIGINT goes to
        # SCons only, as a Ctrl-C in a terminal that SCons then forwards.
        if sig == signal.SIGKILL:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_interrupted_builds_end_bit_identical_to_clean_builds(tree, tmp_path):
    tree = copy_built_tree(tree.path, tmp_path / "tree")
    files = [tree / "src/firmware/main.c", tree / "src/kernel/src/lib.rs", tree / "src/app/main.go"]
    originals = {path: path.read_text() for path in files}

    # The session tree was built cleanly, so its outputs are v1's clean-build reference; v2's is
    # the build right after the edit. Each later round must end in exactly one of them.
    reference: dict[int, dict[str, str]] = {}
    durations: dict[int, float] = {}
    for version in (1, 2):
        set_version(tree, version, originals)
        started = time.monotonic()
        result = run_scons(tree, f"boards={BOARDS}", "-j2")
        durations[version] = time.monotonic() - started
        assert result.returncode == 0, result.output
        reference[version] = outputs(tree)
    assert reference[1] != reference[2]
    # v2 is built; now the rounds switch versions and kill the rebuild at a random moment.
    seed = int(os.environ.get("POLYBOARD_KILL_SEED", "20261124"))
    rng = random.Random(seed)
    version = 2
    for round_number in range(ROUNDS):
        version = 3 - version
        set_version(tree, version, originals)
        delay = rng.uniform(0.05, max(0.5, durations[2]))
        sig = signal.SIGKILL if round_number % 3 != 2 else signal.SIGINT
        interrupted_build(tree, delay, sig)
        if rng.random() < 0.5:
            # the trap: revert to the other version before building again
            version = 3 - version
            set_version(tree, version, originals)
        result = run_scons(tree, f"boards={BOARDS}", "-j2")
        assert result.returncode == 0, f"seed {seed} round {round_number}:\n{result.output}"
        got = outputs(tree)
        changed = sorted(k for k in reference[version] if got.get(k) != reference[version][k])
        assert not changed, (f"seed {seed} round {round_number}: killed after {delay:.2f} s with "
                             f"{signal.Signals(sig).name}; v{version} differs from a clean build in {changed}")


def test_killed_after_the_rename_before_sconsign_was_written(tree, tmp_path):
    """The trap without timing luck: v2's bytes are in place but SCons's record still says v1
    (as after a SIGKILL between the rename and the .sconsign write); back at v1, the build must
    notice that the targets are not what was recorded, and rebuild them."""
    tree = copy_built_tree(tree.path, tmp_path / "tree")
    files = [tree / "src/firmware/main.c", tree / "src/kernel/src/lib.rs", tree / "src/app/main.go"]
    originals = {path: path.read_text() for path in files}
    v1 = outputs(tree)
    v1_record = (tree / ".sconsign.dblite").read_bytes()
    set_version(tree, 2, originals)
    result = run_scons(tree, f"boards={BOARDS}", "-j2")
    assert result.returncode == 0, result.output
    assert outputs(tree) != v1
    (tree / ".sconsign.dblite").write_bytes(v1_record)  # the record the kill left behind
    set_version(tree, 1, originals)
    result = run_scons(tree, f"boards={BOARDS}", "-j2")
    assert result.returncode == 0, result.output
    got = outputs(tree)
    assert [k for k in v1 if got.get(k) != v1[k]] == []
