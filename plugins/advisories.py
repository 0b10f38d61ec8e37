"""Advisories plugin: ``scons audit`` checks every component's pinned dependencies against the
security advisories (RustSec for crates, the Go vulnerability database for modules).

Why one scanner: both databases are published in the OSV format, and Google's ``osv-scanner``
(installed by setup.sh, pinned, into the .venv) reads Cargo.lock and go.mod alike, online
(api.osv.dev) or offline from a local copy of OSV's per-ecosystem ``all.zip`` files
(``advisory_db=PATH``: ``PATH/crates.io/all.zip``, ``PATH/Go/all.zip``; docs/audit.md). cargo-audit
and govulncheck would be two tools, two database layouts and two outputs for one table.

The verb reads the lock files the components name (``artifact.package_dir``: a crate's Cargo.lock,
a Go module's go.mod), runs the scanner once, prints one table (component, package, version,
advisory, fixed in) and fails (status 1) on a finding. It builds nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from polyboard import PolyboardError, dependencies, hookimpl, spawn

VERB = "audit"
SCANNER = "osv-scanner"
ECOSYSTEMS = ("crates.io", "Go")  # the folders of an OSV database copy that this audit reads
TIMEOUT = 600
RUST_KINDS = ("rust_staticlib", "rust_program", "rust_test")
GO_KINDS = ("go_program", "go_test")


def check_database(text: str) -> None:
    """``advisory_db=PATH``: a folder holding ``<ecosystem>/all.zip`` archives (OSV's layout)."""
    path = Path(text)
    if not path.is_dir():
        raise PolyboardError("no such folder; give a copy of the OSV database (crates.io/all.zip, Go/all.zip; "
                             "docs/audit.md)")
    found = [path / eco / "all.zip" for eco in ECOSYSTEMS if (path / eco / "all.zip").is_file()]
    if not found:
        raise PolyboardError(f"not an advisory database: no {' or '.join(f'{e}/all.zip' for e in ECOSYSTEMS)} "
                             "in it (docs/audit.md)")
    for archive in found:
        if not zipfile.is_zipfile(archive):
            raise PolyboardError(f"not an advisory database: {archive.relative_to(path)} is not a zip archive")


@hookimpl
def polyboard_register(registry):
    registry.add_option("advisory_db", "with audit: a local copy of the OSV advisory database (folders crates.io/ "
                        "and Go/ with all.zip) for an offline audit (docs/audit.md)", check=check_database)
    registry.add_verb(VERB, audit, help="check every Cargo.lock and go.mod of the components against the "
                      "RustSec and Go vulnerability databases (osv-scanner); exit 1 on a finding")


def lock_files(builds, root: Path) -> dict[Path, list[str]]:
    """Each lock file the components pin their dependencies with -> the components using it."""
    found: dict[Path, list[str]] = {}
    for build in builds:
        for artifact in build.artifacts.values():
            if artifact.package_dir is None:
                continue
            folder = Path(artifact.package_dir)
            if artifact.kind in RUST_KINDS:
                lock = dependencies.cargo_lockfile(folder, root)
            elif artifact.kind in GO_KINDS:
                lock = folder / "go.mod" if (folder / "go.mod").is_file() else None
            else:
                continue
            if lock is not None and artifact.component not in found.setdefault(lock, []):
                found[lock].append(artifact.component)
    return found


def scanner_path() -> str | None:
    """The osv-scanner setup.sh installed next to this Python (the .venv), else one on PATH."""
    here = Path(sys.executable).parent / SCANNER
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(SCANNER)


def scanner_argv(scanner: str, locks: list[Path], database: Path | None, db_dir: Path | None) -> list[str]:
    # --no-call-analysis: govulncheck inside it would compile the cgo programs; the lock files are the question
    argv = [scanner, "scan", "source", "--format", "json", "--no-resolve", "--no-call-analysis=all"]
    if database is not None:
        argv += ["--offline", "--local-db-path", str(db_dir)]  # --offline: no network at all
    for lock in locks:
        argv += ["--lockfile", str(lock)]
    return argv


def fixed_in(vulnerability: dict, ecosystem: str, name: str) -> str:
    """The first version with the fix, from the advisory's affected ranges (``-`` if none)."""
    versions = []
    for affected in vulnerability.get("affected", []):
        package = affected.get("package", {})
        if package.get("name") != name or package.get("ecosystem") != ecosystem:
            continue
        for range_ in affected.get("ranges", []):
            versions += [e["fixed"] for e in range_.get("events", []) if "fixed" in e]
    return ", ".join(versions) or "-"


def findings(report: dict, components: dict[str, list[str]]) -> list[tuple[str, str, str, str, str]]:
    """(component, package, version, advisory, fixed in) rows from osv-scanner's JSON report."""
    rows = []
    for result in report.get("results") or []:
        source = os.path.realpath(result.get("source", {}).get("path", ""))
        users = ", ".join(components.get(source, ["?"]))
        for entry in result.get("packages") or []:
            package = entry.get("package", {})
            name, version, ecosystem = package.get("name", "?"), package.get("version", "?"), package.get("ecosystem", "")
            if ecosystem == "Go" and name in ("stdlib", "toolchain"):
                continue  # go.mod's `go` line is a minimum, not the Go that builds (toolchains.lock says that)
            for vulnerability in entry.get("vulnerabilities") or []:
                advisory = vulnerability.get("id", "?")
                aliases = [a for a in vulnerability.get("aliases", []) if a.startswith(("RUSTSEC-", "GO-", "CVE-"))]
                if aliases and not advisory.startswith(("RUSTSEC-", "GO-")):
                    advisory = f"{advisory} ({', '.join(aliases)})"
                rows.append((users, name, version, advisory, fixed_in(vulnerability, ecosystem, name)))
    return sorted(set(rows))


def table(rows: list[tuple[str, ...]]) -> str:
    rows = [("component", "package", "version", "advisory", "fixed in"), *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  " + "  ".join(c.ljust(widths[i]) if i < len(widths) else c for i, c in enumerate(r))
                     for r in rows) + "\n"


def audit(builds, root) -> int:
    root = Path(root)
    locks = lock_files(builds, root)
    if not locks:
        print("polyboard: audit: no component pins dependencies (no Cargo.lock or go.mod): nothing to check")
        return 0
    given = builds[0].options.get("advisory_db", "") if builds else ""
    database = Path(given).resolve() if given else None
    scanner = scanner_path()
    if scanner is None:
        raise PolyboardError(f"{SCANNER} not found next to {sys.executable} or on PATH (needed by audit); "
                             "install it with ./setup.sh (docs/audit.md)", where=VERB)
    components = {os.path.realpath(lock): users for lock, users in locks.items()}
    with tempfile.TemporaryDirectory(prefix="polyboard-audit-") as scratch:
        db_dir = None
        if database is not None:
            # osv-scanner reads <local-db-path>/osv-scalibr/<ecosystem>/all.zip: point that at the copy
            db_dir = Path(scratch)
            (db_dir / "osv-scalibr").symlink_to(database, target_is_directory=True)
        argv = scanner_argv(scanner, sorted(locks), database, db_dir)
        env = {**builds[0].env["ENV"], "HOME": os.environ.get("HOME", scratch)} if builds else None
        try:
            result = spawn.run(argv, env=env, cwd=str(root), capture=True, timeout=TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PolyboardError(f"{SCANNER} did not finish: {error}", where=VERB) from None
    try:
        report = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise PolyboardError(f"{SCANNER} failed (status {result.returncode}): {last}", where=VERB) from None
    if result.returncode not in (0, 1):  # 1: vulnerabilities found; anything else: it could not scan
        errors = [line for line in result.stderr.splitlines() if "error" in line.lower()] or \
                 result.stderr.strip().splitlines() or ["no output"]
        hint = "" if database is not None else "; without a network, audit a local copy: advisory_db=PATH (docs/audit.md)"
        raise PolyboardError(f"{SCANNER} failed (status {result.returncode}): {errors[-1]}{hint}", where=VERB)
    rows = findings(report, components)
    source = f"advisory_db={given}" if given else "api.osv.dev"
    names = ", ".join(os.path.relpath(lock, root) for lock in sorted(locks))
    if not rows:
        print(f"polyboard: audit: no known vulnerability in {names} ({source})")
        return 0
    sys.stdout.write(f"polyboard: audit: {len(rows)} known vulnerabilit{'y' if len(rows) == 1 else 'ies'} "
                     f"({source}):\n{table(rows)}")
    sys.stdout.flush()
    return 1
