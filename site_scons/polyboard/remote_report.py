"""The end-of-build report of ``remote_cache=``: per layer, what the store gave and took.

Four clients share the store (SCons's targets, ccache, sccache, Go's GOCACHEPROG helper), and
each counts in its own way: SCons's layer in this process, ccache in its stats log, sccache in
its server. A layer registers a *collector* (a function returning :class:`LayerCounts`, or None
when it did nothing this run); the report asks them all once, when the build ends, and prints
one line per layer that did something. A null build asks no layer anything that starts a
process, and prints nothing.

This module is the seam between the layers: a new layer (Go's) adds a collector with
:meth:`RemoteReport.add_layer` and touches nothing else here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class LayerCounts:
    """One layer's requests to the store in one build.

    ``bytes_unknown``: why this layer has no byte counts (then ``bytes_down`` and ``bytes_up``
    are None). ccache and sccache keep counters of requests and none of sizes, and they talk
    to the server themselves, so polyboard cannot count for them; the line says so instead of
    showing a number it does not have."""

    hits: int = 0
    misses: int = 0
    errors: int = 0
    uploads: int = 0
    bytes_down: int | None = 0
    bytes_up: int | None = 0
    local_hits: int | None = None  # served from the client's own local folder (Go's helper counts them)
    bytes_unknown: str = ""

    def render(self) -> str:
        local = "" if self.local_hits is None else f"{self.local_hits} local hits, "
        if self.bytes_unknown:
            moved = f"bytes not counted ({self.bytes_unknown})"
        else:
            moved = f"{human_bytes(self.bytes_down)} down, {human_bytes(self.bytes_up)} up"
        return f"{self.hits} hits, {local}{self.misses} misses, {self.errors} errors, {self.uploads} uploads, {moved}"


Collector = Callable[[], "LayerCounts | None"]


class RemoteReport:
    """The layers of one run, in the order they were added (SCons's first: its line names the
    store's URL, the lines of the tool layers follow it)."""

    def __init__(self, url: str):
        self.url = url
        self._layers: list[tuple[str, Collector]] = []

    def add_layer(self, label: str, collect: Collector) -> None:
        """*label* says what the layer caches and with which client: ``"Rust crates (sccache)"``."""
        self._layers.append((label, collect))

    def collect(self) -> list[tuple[str, LayerCounts]]:
        """The layers that did something this run, with their counts (a collector that fails is
        reported as a warning, never as a failed build: the cache is best effort)."""
        out = []
        for label, collect in self._layers:
            try:
                counts = collect()
            except Exception as exc:  # noqa: BLE001 - a broken counter must not fail a finished build
                sys.stderr.write(f"polyboard: warning: remote cache: no counts for {label} ({exc})\n")
                continue
            if counts is not None:
                out.append((label, counts))
        return out

    def lines(self) -> list[str]:
        return [f"polyboard: remote cache, {label}: {counts.render()}" for label, counts in self.collect()]

    def print(self) -> None:
        for line in self.lines():
            print(line)
        sys.stdout.flush()


def human_bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / (1024 * 1024):.1f} MiB"
