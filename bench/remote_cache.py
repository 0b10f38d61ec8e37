#!/usr/bin/env python3
"""What ``remote_cache=`` saves a fresh CI runner: its build time against a cold clean build.

For one board and for all boards, each against its own empty store (nginx with WebDAV, started
here on 127.0.0.1 as the tests start it):

1. cold: a fresh copy of the tree, no cache at all;
2. runner A: a fresh copy with ``remote_cache=``, which fills the store;
3. runner B, no change: a fresh copy at another path (no ``build/``, no local caches);
4. runner B, one Rust edit: the same, after one edit of the kernel crate;
5. runner B, one Go edit: the same, after one edit of the Go program (``src/app/main.go``; a
   selection without a Linux board builds no Go, and this row is then the no-change one).

Each runner's requests and bytes per layer are read from the server's access log (by
User-Agent: ``polyboard/`` for SCons's layer, ``ccache/``, ``sccache/``,
``polyboard-gocacheprog``): ccache and sccache do not count bytes themselves
(docs/remote-cache.md). Each row also gives the machine's load average as the build ended
(``os.getloadavg``, what ``uptime`` prints): on a shared machine the times say little without it.

Usage: ``nice .venv/bin/python bench/remote_cache.py [--boards rpi4] [--all]``; prints
Markdown tables for docs/benchmarks.md. Builds in temporary folders, removed as it goes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "site_scons")]
from helpers import copy_tree  # noqa: E402  (the tests' copy of the tree: sources only)
from test_remote_cache import Nginx  # noqa: E402  (the tests' server, one process, everything in a folder)

SCONS = Path(sys.executable).parent / "scons"
RUST_EDIT = ("src/kernel/src/lib.rs", '\n#[no_mangle]\npub extern "C" fn kern_bench_remote_edit() -> u32 { 7 }\n')
GO_EDIT = ("src/app/main.go", "\nfunc benchRemoteEdit() int { return 7 }\n")
CLIENTS = {"polyboard/": "SCons targets", "ccache/": "C (ccache)", "sccache/": "Rust (sccache)",
           "polyboard-gocacheprog": "Go (GOCACHEPROG)"}
LOG_FORMAT = ('log_format bench \'$remote_addr - - [$time_local] "$request" $status $body_bytes_sent '
              '"$http_referer" "$http_user_agent" $request_length\';')
TIMEOUT = 3600


def bench_server(folder: Path) -> Nginx:
    """The tests' nginx, its log also naming each request's length (the bytes a PUT uploads)."""
    nginx = Nginx(folder)
    conf = folder / "nginx.conf"
    text = conf.read_text()
    text = text.replace(f"access_log {nginx.access_log};", f"{LOG_FORMAT}\n    access_log {nginx.access_log} bench;")
    conf.write_text(text)
    return nginx.start()


def traffic(nginx: Nginx, since: int) -> tuple[dict[str, Counter], int]:
    """Per client, from log line *since* on: requests, bytes down (GET bodies), bytes up (PUTs)."""
    lines = nginx.access_log.read_text().splitlines() if nginx.access_log.exists() else []
    out: dict[str, Counter] = {name: Counter() for name in CLIENTS.values()}
    pattern = re.compile(r'"(\w+) \S+ HTTP/[\d.]+" (\d+) (\d+) "[^"]*" "([^"]*)" (\d+)$')
    for line in lines[since:]:
        match = pattern.search(line)
        if not match:
            continue
        method, status, sent, agent, length = match.groups()
        client = next((name for prefix, name in CLIENTS.items() if agent.startswith(prefix)), None)
        if client is None:
            continue
        counts = out[client]
        counts["requests"] += 1
        if method == "GET" and status == "200":
            counts["down"] += int(sent)
        if method == "PUT":
            counts["up"] += int(length)
    return out, len(lines)


def build(tree: Path, selection: str, *extra: str) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SCONS_CACHE_DIR", "SCONSFLAGS", "POLYBOARD_REMOTE_CACHE")}
    started = time.perf_counter()
    result = subprocess.run([str(SCONS), selection, "-j2", *extra], cwd=tree, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"bench: scons {selection} {' '.join(extra)} failed:\n{result.stdout[-3000:]}")
    return elapsed, result.stdout


def report_lines(output: str) -> str:
    return "; ".join(line.partition("remote cache")[2].strip(" ,") for line in output.splitlines()
                     if line.startswith("polyboard: remote cache"))


def human(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MiB" if count >= 1024 * 1024 else f"{count / 1024:.1f} KiB"


def measure(selection: str, work: Path):
    """The runs of one board selection, each as it ends (a run that times out loses no earlier
    figure): (name, seconds, ratio to cold, traffic, report, load average)."""
    nginx = bench_server(work / "nginx")
    try:
        cold_tree = copy_tree(work / "cold" / "tree")
        cold, _ = build(cold_tree, selection)
        shutil.rmtree(work / "cold")
        yield "cold clean build, no cache", cold, None, {}, "", os.getloadavg()[0]
        seen = 0
        runs = [("runner A: fresh, fills the store", "a/tree", None),
                ("runner B: fresh at another path, no change", "b/some/other/place/tree", None),
                ("runner B: fresh at another path, one Rust edit", "c/yet/another/tree", RUST_EDIT),
                ("runner B: fresh at another path, one Go edit", "d/and/another/tree", GO_EDIT)]
        for name, where, edit in runs:
            tree = copy_tree(work / where)
            if edit:
                source = tree / edit[0]
                source.write_text(source.read_text() + edit[1])
            seconds, output = build(tree, selection, f"remote_cache={nginx.url}")
            moved, seen = traffic(nginx, seen)
            shutil.rmtree(work / where.split("/")[0])
            yield name, seconds, seconds / cold, moved, report_lines(output), os.getloadavg()[0]
    finally:
        nginx.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="rpi4", help="the one-board selection (board ids, comma-separated); "
                        "rpi4 builds Rust (the staticlib's core and the Rust test's std from source) and Go; "
                        "C compiles (ccache) are the microcontrollers' (stm32f4)")
    parser.add_argument("--all", action="store_true", help="also board=all")
    args = parser.parse_args()
    selections = [f"boards={args.boards}"] + (["board=all"] if args.all else [])
    print("| selection | run | time (s) | of cold | load | "
          + " | ".join(f"{client}: requests, down, up" for client in CLIENTS.values()) + " |")
    print("|---|---|---:|---:|---:|" + "---|" * len(CLIENTS))
    reports = []
    for selection in selections:
        with tempfile.TemporaryDirectory(prefix="polyboard-bench-remote-") as folder:
            for name, seconds, ratio, moved, report, load in measure(selection, Path(folder)):
                cells = [f"{c['requests']}, {human(c['down'])}, {human(c['up'])}" if c else ""
                         for c in (moved.get(client) for client in CLIENTS.values())]
                share = f"{ratio:.1%}" if ratio is not None else ""
                print(f"| {selection} | {name} | {seconds:.1f} | {share} | {load:.1f} | {' | '.join(cells)} |",
                      flush=True)
                if report:
                    reports.append(f"- {selection}, {name}: {report}")
                    print(f"bench: {reports[-1]}", file=sys.stderr, flush=True)
    print("\nThe end-of-build reports:\n")
    print("\n".join(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
