"""``scons audit``: the components' Cargo.lock and go.mod against an advisory database.

The database is made here, in OSV's own layout (``<ecosystem>/all.zip`` of advisory JSON files,
as osv.dev publishes RustSec's and the Go vulnerability database's entries), and the audit runs
offline against it with the real osv-scanner that setup.sh installs. The tree is the reference
tree with one pinned crate added to the kernel's Cargo.lock and one module required by the Go
app's go.mod: reading the SConstruct and auditing builds nothing and needs no network.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import copy_tree, run_scons, snapshot

pytestmark = pytest.mark.toolchain
SCANNER = Path(sys.executable).parent / "osv-scanner"

LOCKED_CRATE = '''
[[package]]
name = "smallvec"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "fe0f37c9e8f3c5a4a66ad655a93c74daac4ad00f3f8f5ad2b5e3e3c31f5b2c52"
'''


def advisory(ident: str, ecosystem: str, name: str, fixed: str, range_type: str) -> dict:
    return {"schema_version": "1.6.0", "id": ident, "modified": "2026-01-01T00:00:00Z",
            "published": "2026-01-01T00:00:00Z", "summary": f"test advisory for {name}",
            "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                          "ranges": [{"type": range_type, "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}


def database(folder: Path, *, crate_fixed: str, module_fixed: str) -> Path:
    """An OSV database copy: one RustSec and one Go advisory, each fixed in the given version."""
    entries = {"crates.io": advisory("RUSTSEC-2021-0003", "crates.io", "smallvec", crate_fixed, "SEMVER"),
               "Go": advisory("GO-2021-0113", "Go", "golang.org/x/text", module_fixed, "SEMVER")}
    for ecosystem, entry in entries.items():
        (folder / ecosystem).mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(folder / ecosystem / "all.zip", "w") as archive:
            archive.writestr(f"{entry['id']}.json", json.dumps(entry))
    return folder


@pytest.fixture(scope="module")
def audited_tree(tmp_path_factory) -> Path:
    if not SCANNER.is_file():
        pytest.fail(f"{SCANNER} is missing: ./setup.sh installs it (docs/audit.md)")
    tree = copy_tree(tmp_path_factory.mktemp("audit") / "tree")
    lock = tree / "src" / "kernel" / "Cargo.lock"
    lock.write_text(lock.read_text() + LOCKED_CRATE)
    go_mod = tree / "src" / "app" / "go.mod"
    go_mod.write_text(go_mod.read_text() + "\nrequire golang.org/x/text v0.3.6\n")
    return tree


def test_a_vulnerable_crate_and_module_are_a_table_and_a_failure(audited_tree: Path, tmp_path: Path):
    db = database(tmp_path / "osv", crate_fixed="1.6.1", module_fixed="0.3.7")
    result = run_scons(audited_tree, "-Q", "board=rpi4", "audit", f"advisory_db={db}", timeout=300)
    assert result.returncode != 0, result.output
    assert "2 known vulnerabilities" in result.stdout, result.output
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("  ")]
    assert rows[0] == ["component", "package", "version", "advisory", "fixed", "in"], result.stdout
    # the Rust kernel is used by several components on rpi4 (the library and its tests)
    crate = next(r for r in rows if "smallvec" in r)
    assert crate[-4:] == ["smallvec", "1.6.0", "RUSTSEC-2021-0003", "1.6.1"] and "kernel" in " ".join(crate), rows
    module = next(r for r in rows if "golang.org/x/text" in r)
    assert module[-3:] == ["0.3.6", "GO-2021-0113", "0.3.7"] and "app" in " ".join(module), rows
    assert "Traceback" not in result.output


def test_without_an_affected_version_the_audit_is_clean(audited_tree: Path, tmp_path: Path):
    db = database(tmp_path / "osv", crate_fixed="1.5.0", module_fixed="0.3.5")  # fixed before our versions
    before = snapshot(audited_tree / "build")
    result = run_scons(audited_tree, "-Q", "board=rpi4", "audit", f"advisory_db={db}", timeout=300)
    assert result.returncode == 0, result.output
    assert "no known vulnerability in src/app/go.mod, src/kernel/Cargo.lock" in result.stdout, result.output
    assert snapshot(audited_tree / "build") == before  # the audit builds nothing
