#!/usr/bin/env python3
"""One board's start-up and edits against an earlier revision of polyboard, on this machine now.

bench/run.py compares polyboard with the raw tools; its figures from another day also measure
that day's machine (the raw commands alone moved 10-40% between two days on the shared VM). This
script answers "is today's code slower than revision REV?" directly: it installs REV in its own
virtual environment, builds the reference tree with each, and times them interleaved, run after
run, so both see the same machine:

* a null build;
* one Go edit (``src/app/main.go``) and one Rust edit (``src/kernel/src/lib.rs``), each then built.

With ``--plugins-off a,b`` today's code is also timed with those plugins switched off
(``plugins=-a,-b``): what the core and the plugin API cost, apart from the plugins' features.

Usage: ``.venv/bin/python bench/against_revision.py [--revision f6eda91] [--repeat 9]
[--plugins-off abi_checks,size_report]``; prints medians and minimums as Markdown. Needs the
package index (pip installs REV's dependencies); builds in a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests")]
from helpers import copy_tree  # noqa: E402  (the tests' copy of the tree: sources only)

BOARD, TARGET = "rpi4", "build/rpi4/app"
EDITS = {"one Go edit": ("src/app/main.go", "\n// against_revision edit {n}\n"),
         "one Rust edit": ("src/kernel/src/lib.rs",
                           '\n#[no_mangle]\npub extern "C" fn kern_against_revision_{n}() -> u32 {{ {n} }}\n')}
TIMEOUT = 1800


def install(revision: str, folder: Path) -> Path:
    """REV's tree in *folder* with its own venv (an editable install, as setup.sh makes); its scons."""
    folder.mkdir(parents=True)
    known = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                           stdout=subprocess.DEVNULL, timeout=TIMEOUT)
    if known.returncode != 0:
        sys.stderr.write(f"bench: --revision {revision}: not a commit of this repository\n")
        sys.exit(2)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision], check=True, stdout=subprocess.PIPE,
                             timeout=TIMEOUT).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True, timeout=TIMEOUT)
    subprocess.run([sys.executable, "-m", "venv", str(folder / ".venv")], check=True, timeout=TIMEOUT)
    subprocess.run([str(folder / ".venv/bin/pip"), "install", "-q", "-e", str(folder)], check=True, timeout=TIMEOUT)
    return folder / ".venv/bin/scons"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revision", default="f6eda91", help="the earlier revision (default: 2026-11-25's, f6eda91)")
    parser.add_argument("--repeat", type=int, default=9, help="runs of each measurement (median and minimum)")
    parser.add_argument("--plugins-off", default="", help="also time today's code with these plugins off")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("SCONS_CACHE_DIR", "SCONSFLAGS", "POLYBOARD_REMOTE_CACHE",
                                                            "PYTHONDONTWRITEBYTECODE")}
    with tempfile.TemporaryDirectory(prefix="polyboard-bench-revision-") as tmp:
        work = Path(tmp)
        today = Path(sys.executable).parent / "scons"
        configs = {f"{args.revision}": (install(args.revision, work / "old"), work / "old", [])}
        configs["today"] = (today, copy_tree(work / "new"), [])
        if args.plugins_off:
            off = "plugins=" + ",".join(f"-{name}" for name in args.plugins_off.split(","))
            configs[f"today, {off}"] = (today, work / "new", [off])

        def build(name: str) -> float:
            scons, tree, extra = configs[name]
            started = time.perf_counter()
            result = subprocess.run([str(scons), "-Q", f"board={BOARD}", TARGET, *extra], cwd=tree, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
            if result.returncode != 0:
                sys.exit(f"bench: {name}: scons failed:\n{result.stdout[-3000:]}")
            return time.perf_counter() - started

        for name in configs:
            print(f"bench: {name}: first build {build(name):.0f} s", file=sys.stderr, flush=True)
        samples: dict[tuple[str, str], list[float]] = {}
        edits = 0
        for _ in range(args.repeat):
            for name in configs:
                samples.setdefault(("null build", name), []).append(build(name))
            for label, (path, text) in EDITS.items():
                for name, (_, tree, _) in configs.items():
                    edits += 1  # a new function or comment each time: every edit is a change
                    with open(tree / path, "a", encoding="utf-8") as handle:
                        handle.write(text.format(n=edits))
                    samples.setdefault((label, name), []).append(build(name))
    print(f"{BOARD}, {args.repeat} runs each, interleaved; load average at the end {os.getloadavg()[0]:.1f}\n")
    print("| measurement | code | median (s) | minimum (s) |")
    print("|---|---|---:|---:|")
    for (label, name), values in samples.items():
        print(f"| {label} | {name} | {statistics.median(values):.3f} | {min(values):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
