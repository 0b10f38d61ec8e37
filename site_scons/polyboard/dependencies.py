"""Locked, vendored and verified third-party sources (docs/dependencies.md).

Pure file work, no child process: the cargo and go plugins run the tools (``cargo vendor``,
``go mod vendor``, ``go mod verify``) and use these helpers for what the tools do not do:

* the cargo configuration an ``offline=1`` build uses (crates.io replaced by ``vendor/rust``,
  which holds the crates of every Rust component AND of the standard library build-std compiles);
* checking every vendored crate against its ``.cargo-checksum.json`` and the Cargo.lock files
  (cargo itself checks only the crates a build compiles, and only while compiling them);
* a checksum list for a Go module's ``vendor/`` folder: ``go build -mod=vendor`` never checks the
  vendored files against go.sum (go.sum hashes whole module zips, vendor/ holds only the packages
  used), so ``scons vendor`` writes ``vendor/polyboard.sha256`` and every Go build checks it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import tomllib
from pathlib import Path

from .errors import PolyboardError

VENDOR_RUST = Path("vendor") / "rust"
CARGO_OFFLINE_CONFIG = Path("build") / ".polyboard" / "cargo-offline.toml"
GO_VENDOR_SUM = "polyboard.sha256"
_LISTED_CHECKSUM = re.compile(r"the listed checksum of `([^`]+)` has changed")


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# -- Rust ---------------------------------------------------------------------------------------

def cargo_offline_config(root: Path) -> Path:
    """The cargo configuration of an ``offline=1`` build (``cargo --config FILE``): crates.io is
    replaced by the tree's ``vendor/rust``. Written when it is missing or different (no process)."""
    vendor = root / VENDOR_RUST
    if not vendor.is_dir():
        raise PolyboardError(f"offline=1 builds Rust from vendored crates and {VENDOR_RUST} does not exist; "
                             "vendor them first (with network): scons vendor", where="offline=1")
    config = root / CARGO_OFFLINE_CONFIG
    _write_if_changed(config, "# Written by polyboard for offline=1 (docs/dependencies.md)\n"
                              "[source.crates-io]\nreplace-with = \"polyboard-vendored\"\n\n"
                              f"[source.polyboard-vendored]\ndirectory = {json.dumps(str(vendor))}\n")
    return config


def crate_of(path: Path) -> tuple[Path, str]:
    """The vendored crate folder holding *path*, and ``name version`` from its Cargo.toml."""
    for folder in [path, *path.parents]:
        if (folder / ".cargo-checksum.json").is_file():
            return folder, _name_version(folder)
    return path.parent, path.parent.name


def _name_version(folder: Path) -> str:
    try:
        with open(folder / "Cargo.toml", "rb") as handle:
            package = tomllib.load(handle).get("package", {})
        return f"{package.get('name', folder.name)} {package.get('version', '?')}"
    except (OSError, tomllib.TOMLDecodeError):
        return folder.name


def cargo_checksum_error(stderr: str, root: Path) -> PolyboardError | None:
    """Cargo's several-line complaint about an edited vendored file, said in one line."""
    match = _LISTED_CHECKSUM.search(stderr)
    if match is None:
        return None
    path = Path(match.group(1))
    folder, crate = crate_of(path)
    shown = os.path.relpath(path, root) if path.is_relative_to(root) else str(path)
    return PolyboardError(f"vendored crate {crate} was modified: {shown} does not match its "
                          f"{os.path.relpath(folder, root) if folder.is_relative_to(root) else folder}/"
                          ".cargo-checksum.json; restore it, or vendor again with: scons vendor",
                          where=shown)


_CHECKED: dict[str, PolyboardError | None] = {}
_CHECKED_LOCK = threading.Lock()


def check_vendored_crates_once(root: Path) -> None:
    """Before an offline cargo run: every vendored file matches its ``.cargo-checksum.json``
    (once per scons run, ~0.3 s for the ~90 MB the standard library brings). cargo checks a
    vendored crate only when it compiles it afresh, so an edit would otherwise go unnoticed
    while cargo's fingerprints are fresh, and be built into the next clean build."""
    vendor = root / VENDOR_RUST
    with _CHECKED_LOCK:
        if str(vendor) not in _CHECKED:
            _, problems = verify_vendored_crates(vendor, [], root)
            _CHECKED[str(vendor)] = None if not problems else PolyboardError(
                problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "") +
                "; restore it, or vendor again with: scons vendor", where=str(VENDOR_RUST))
        error = _CHECKED[str(vendor)]
    if error is not None:
        raise error


def lock_checksums(lockfile: Path) -> dict[tuple[str, str], str]:
    """(name, version) -> checksum of every registry package a Cargo.lock pins."""
    with open(lockfile, "rb") as handle:
        data = tomllib.load(handle)
    return {(p["name"], p["version"]): p["checksum"] for p in data.get("package", []) if "checksum" in p}


def verify_vendored_crates(vendor: Path, lockfiles: list[Path], root: Path) -> tuple[int, list[str]]:
    """Every vendored crate's files against its ``.cargo-checksum.json``, and its package checksum
    against the Cargo.lock files that pin it. Returns (crates checked, problems)."""
    pinned: dict[tuple[str, str], str] = {}
    for lockfile in lockfiles:
        pinned.update(lock_checksums(lockfile))
    problems, count = [], 0
    for listing in sorted(vendor.glob("*/.cargo-checksum.json")):
        folder = listing.parent
        count += 1
        recorded = json.loads(listing.read_text(encoding="utf-8"))
        crate = _name_version(folder)
        for relative, expected in sorted(recorded.get("files", {}).items()):
            path = folder / relative
            actual = sha256_file(path) if path.is_file() else "(missing)"
            if actual != expected:
                problems.append(f"vendored crate {crate} was modified: {os.path.relpath(path, root)} does not "
                                f"match {os.path.relpath(listing, root)}")
        name, _, version = crate.partition(" ")
        locked = pinned.get((name, version))
        if locked is not None and recorded.get("package") not in (None, locked):
            problems.append(f"vendored crate {crate}: package checksum {recorded.get('package')} differs from "
                            f"Cargo.lock's {locked}")
    return count, problems


def cargo_lockfile(crate_dir: Path, root: Path) -> Path | None:
    """The Cargo.lock that pins *crate_dir*'s dependencies: its own, or its workspace's above it
    (not above the tree). polyboard never writes one: see docs/dependencies.md."""
    root = root.resolve()
    here = crate_dir
    while True:
        if (here / "Cargo.lock").is_file():
            return here / "Cargo.lock"
        if here == root or here.parent == here or not here.is_relative_to(root):
            return None
        here = here.parent


def dependency_table(title: str, rows: list[tuple[str, str, str, str]]) -> str:
    """``verify-deps``'s listing: a title, then name, version, checksum, license per dependency."""
    rows = [("name", "version", "checksum", "license")] + sorted(rows)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join([title] + ["  " + "  ".join(c.ljust(widths[i]) if i < 3 else c for i, c in enumerate(r))
                                for r in rows])


# -- Go -----------------------------------------------------------------------------------------

def _vendor_files(vendor: Path) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(vendor):
        dirs.sort()
        found += [Path(folder) / n for n in sorted(names) if not (Path(folder) == vendor and n == GO_VENDOR_SUM)]
    return found


def write_go_vendor_sum(module_dir: Path) -> int:
    """After ``go mod vendor``: the sha256 of every vendored file, in ``vendor/polyboard.sha256``."""
    vendor = module_dir / "vendor"
    files = _vendor_files(vendor)
    lines = [f"{sha256_file(p)}  {p.relative_to(vendor).as_posix()}\n" for p in files]
    _write_if_changed(vendor / GO_VENDOR_SUM, "".join(lines))
    return len(files)


def _vendored_module(vendor: Path, relative: str) -> str:
    """The module a vendored file belongs to (from vendor/modules.txt's ``# path version`` lines)."""
    best = ""
    try:
        for line in (vendor / "modules.txt").read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                parts = line[2:].split()
                if parts and (relative == parts[0] or relative.startswith(parts[0] + "/")) and len(parts[0]) > len(best):
                    best = " ".join(parts[:2])
    except OSError:
        pass
    return best or relative.rsplit("/", 1)[0]


def verify_go_vendor(module_dir: Path, root: Path) -> PolyboardError | None:
    """A vendored Go file that is not the one ``scons vendor`` wrote, as one error (None: all match)."""
    vendor = module_dir / "vendor"
    listing = vendor / GO_VENDOR_SUM
    if not vendor.is_dir():
        return None
    shown_vendor = os.path.relpath(vendor, root)
    if not listing.is_file():
        return PolyboardError(f"{shown_vendor} has no {GO_VENDOR_SUM}, so its files cannot be checked; "
                              "write it with: scons vendor", where=shown_vendor)
    expected = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        digest, _, relative = line.partition("  ")
        expected[relative] = digest
    present = {p.relative_to(vendor).as_posix(): p for p in _vendor_files(vendor)}
    for relative in sorted(set(expected) | set(present)):
        path = present.get(relative)
        actual = sha256_file(path) if path is not None else "(missing)"
        if expected.get(relative) != actual:
            state = "is not listed in" if relative not in expected else (
                "is missing from" if path is None else "does not match")
            module = _vendored_module(vendor, relative)
            return PolyboardError(f"vendored Go module {module} was modified: the file {state} "
                                  f"{shown_vendor}/{GO_VENDOR_SUM}; restore it, or vendor again with: scons vendor",
                                  where=f"{shown_vendor}/{relative}")
    return None
