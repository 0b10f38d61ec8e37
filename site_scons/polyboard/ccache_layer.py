"""The C layer of the remote cache: every gcc compile goes through ccache, whose remote storage is
the same server (``remote_storage=http://...|layout=bazel``: entries under ``/ac/``).

SCons's own layer (:mod:`polyboard.cache`) only helps when a target's signature is unchanged. A
compile whose source changed in a way that leaves the preprocessed code equal (a comment, a
header that adds nothing this file uses) or that another runner already compiled from the same
code is a SCons miss but a ccache hit. ccache is Debian's (>= 4.4 for remote storage, 4.7.5 on
Debian 12); polyboard writes no cache client for C.

``$CCACHE`` sits inside ``$( $)`` in the compile command, so it is not part of any signature:
a build with or without ``remote_cache=`` has the same SCons keys, and one without it runs gcc
exactly as before.
"""

from __future__ import annotations

from pathlib import Path

from .remote_cache import Endpoint
from .remote_report import LayerCounts
from .scons_data import literal

CONNECT_TIMEOUT_MS = 500  # per compile: ccache has no memory between processes (no circuit breaker)


def storage_url(endpoint: Endpoint, *, upload: bool) -> str:
    """ccache's ``remote_storage`` value: the store's URL (no trailing slash: ccache adds
    ``/ac/<key>``) and its attributes."""
    attributes = ["layout=bazel", f"connect-timeout={CONNECT_TIMEOUT_MS}"]
    if not upload:
        attributes.append("read-only=true")
    return "|".join([endpoint.url.rstrip("/"), *attributes])


# ccache's counters (``ccache --print-stats``, 4.7.5 on Debian 12) count remote requests
# (remote_storage_hit, _miss, _write, _error, _timeout); the only size is its local folder's.
BYTES_UNKNOWN = "ccache counts requests, not bytes"


def stats_log(root: Path) -> Path:
    """ccache's log of counter updates (``stats_log``): a text file that ccache appends to for
    every compile, read by :class:`StatsLog` without starting a process."""
    return root / "build" / ".ccache" / "stats.log"


class StatsLog:
    """This build's ccache counts: what ccache appended to its stats log since the build started
    (``ccache --print-stats`` would be a process, and counts every build since the last ``-z``)."""

    def __init__(self, root: Path):
        self.path = stats_log(root)
        try:
            self.offset = self.path.stat().st_size
        except OSError:
            self.offset = 0

    def counts(self) -> LayerCounts | None:
        """None when no compile went through ccache this build."""
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                lines = log.read().decode(errors="replace").splitlines()
        except OSError:
            return None
        if not lines:
            return None
        names = {name: lines.count(name) for name in ("remote_storage_hit", "remote_storage_miss", "remote_storage_error",
                                                      "remote_storage_timeout", "remote_storage_write")}
        return LayerCounts(hits=names["remote_storage_hit"], misses=names["remote_storage_miss"],
                           errors=names["remote_storage_error"] + names["remote_storage_timeout"],
                           uploads=names["remote_storage_write"], bytes_down=None, bytes_up=None,
                           bytes_unknown=BYTES_UNKNOWN)


def configure(build, endpoint: Endpoint, *, upload: bool) -> None:
    """Compile C through ccache with the remote store; the local ccache folder is the tree's own
    (``build/.ccache``), so a fresh runner starts empty and is served by the server."""
    ccache = build.require_tool("ccache", ("ccache",), "for the C layer of remote_cache=")
    build.env["CCACHE"] = literal(ccache)
    build.env["ENV"].update({
        "CCACHE_DIR": str(build.root / "build" / ".ccache"),
        "CCACHE_STATSLOG": str(stats_log(build.root)),
        "CCACHE_REMOTE_STORAGE": storage_url(endpoint, upload=upload),
        # Paths: the command line holds tree-relative paths and -ffile-prefix-map=<root>=., so
        # objects carry no checkout path; then the working folder need not be hashed either
        # (measured: a checkout at another path hits).
        "CCACHE_BASEDIR": str(build.root),
        "CCACHE_NOHASHDIR": "1",
    })
