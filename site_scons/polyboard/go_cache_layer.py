"""The Go layer of the remote cache: every go command gets ``GOCACHEPROG``, a small helper
(``gocacheprog/``, Go, standard library only) that answers go's cache requests from a local
folder and from the same server (``/ac/`` ``/cas/``), so a fresh runner gets the standard
library and the unchanged packages from the store and compiles only what was edited.

The helper is an SCons node built once per tree with the host's go (``build/.gocacheprog/``);
the Go programs only *require* it (order-only), so a new helper never rebuilds a Go program,
and a null build starts nothing. ``GOCACHEPROG`` is set in the go action at build time, outside
every signature (as ``$CCACHE`` is for C): a build with or without ``remote_cache=`` has the
same SCons keys. Each go command starts its own helper; each appends its counts to
``build/.gocacheprog/stats.jsonl`` on exit, which :meth:`GoCacheLayer.counts` adds up for the
end-of-build report (:mod:`polyboard.remote_report`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

from SCons.Action import Action

from . import spawn
from .go_env import cgo_flag_list
from .remote_cache import Endpoint
from .remote_report import LayerCounts
from .scons_data import literal, node_name

HELPER_SOURCES = Path(__file__).resolve().parent / "gocacheprog"
FOLDER = "build/.gocacheprog"  # tree-relative: the helper, its local cache folder, the stats
COUNTS = ("hits", "local_hits", "misses", "errors", "uploads", "bytes_down", "bytes_up")


def helper_argv(go: str, output: str) -> list[str]:
    """The helper's build: path-free (``-trimpath``, no build ID), so its bytes are the same on
    every runner and the SCons layer can serve it."""
    return [go, "build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=", "-o", output, "."]


def gocacheprog(helper: str, folder: Path, endpoint: Endpoint, *, upload: bool) -> str:
    """``GOCACHEPROG``'s value: go splits it as it splits cgo's flags (cmd/internal/quoted), so a
    path with a space is quoted the same way."""
    args = [helper, "-dir", str(folder / "cache"), "-remote", endpoint.url, "-stats", str(folder / "stats.jsonl")]
    if not upload:
        args.append("-upload=false")
    return cgo_flag_list(args, "the checkout path")


def add_up(lines: list[str]) -> tuple[dict[str, int], list[str]]:
    """The counts of every go command's helper, and their distinct warnings."""
    totals = dict.fromkeys(COUNTS, 0)
    warnings: list[str] = []
    for line in lines:
        try:
            counts = json.loads(line)
        except ValueError:
            continue  # a helper killed mid-write
        for name in COUNTS:
            totals[name] += int(counts.get(name, 0))
        warnings += [w for w in counts.get("warnings") or [] if w not in warnings]
    return totals, warnings


class GoCacheLayer:
    """One run's Go layer: the helper's node (declared once, shared by every board) and the
    value of GOCACHEPROG."""

    def __init__(self, root: Path, endpoint: Endpoint, *, upload: bool):
        self.root = root
        self.endpoint = endpoint
        self.upload = upload
        self.folder = root / FOLDER
        self._node = None
        self._lock = threading.Lock()
        self._started = False

    def helper(self, env, go: str, go_version: str):
        """The helper's SCons node (built by the first board's environment that asks)."""
        if self._node is None:
            sources = sorted(p for p in HELPER_SOURCES.iterdir()
                             if p.name == "go.mod" or (p.suffix == ".go" and not p.name.endswith("_test.go")))
            signature = repr((go_version, helper_argv("go", "$TARGET")))
            self._node = env.Command(f"#{FOLDER}/gocacheprog", [env.File(node_name(p)) for p in sources],
                                     HELPER_ACTION, GOCACHEPROG_GO=literal(go),
                                     GOCACHEPROG_SIGNATURE=literal(signature))[0]
        return self._node

    def environment(self) -> str:
        """GOCACHEPROG for one go command (called at build time). The first call of a run
        starts a new stats file, so the summary counts this run only."""
        with self._lock:
            if not self._started:
                self._started = True
                self.folder.mkdir(parents=True, exist_ok=True)
                try:
                    os.remove(self.folder / "stats.jsonl")
                except FileNotFoundError:
                    pass
        return gocacheprog(str(self.folder / "gocacheprog"), self.folder, self.endpoint, upload=self.upload)

    def counts(self) -> LayerCounts | None:
        """This run's counts, added up from every helper's line (None: no go command ran)."""
        if not self._started:
            return None
        try:
            lines = (self.folder / "stats.jsonl").read_text(encoding="utf-8").splitlines()
        except OSError:
            return None
        totals, warnings = add_up(lines)
        for warning in warnings:
            sys.stderr.write(f"polyboard: warning: remote cache (Go): {warning}\n")
        return LayerCounts(hits=totals["hits"], local_hits=totals["local_hits"], misses=totals["misses"],
                           errors=totals["errors"], uploads=totals["uploads"], bytes_down=totals["bytes_down"],
                           bytes_up=totals["bytes_up"])


def _build_helper(target, source, env) -> int:
    output = target[0].abspath
    temporary = output + ".tmp"
    child_env = {name: value for name, value in env["ENV"].items() if not name.startswith(("GO", "CGO_"))}
    root = Path(env.Dir("#").abspath)
    child_env.update({"GOCACHE": str(root / "build" / ".gocache"), "GOPATH": str(root / "build" / ".gopath"),
                      "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOWORK": "off", "GOENV": "off",
                      "GOFLAGS": "-mod=mod"})
    return spawn.produce(helper_argv(str(env["GOCACHEPROG_GO"]), temporary), env=child_env,
                         cwd=str(HELPER_SOURCES), temporary=temporary, target=output,
                         nothing="go wrote no GOCACHEPROG helper")


HELPER_ACTION = Action(_build_helper, "GO      [host] $TARGET", varlist=["GOCACHEPROG_SIGNATURE"])
