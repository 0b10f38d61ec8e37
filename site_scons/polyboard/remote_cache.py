"""A client for a remote build cache speaking Bazel's HTTP cache protocol (``remote_cache=URL``).

The store is any server of that protocol (bazel-remote, nginx with WebDAV, a commercial one):
``/ac/<key>`` maps a key to an ActionResult record naming the content's digest, ``/cas/<sha256>``
holds the bytes. The record is a real ``build.bazel.remote.execution.v2.ActionResult`` protobuf
(encoded here by hand: three messages, four fields), so bazel-remote accepts it with its default
validation of ``/ac/`` uploads, and the store stays inspectable by Bazel's own tools.

The cache is best effort, as teams expect of one: a server that is down, slow or failing never
fails a build. The first connection failure prints one warning and switches the store off for the
rest of the run (a dead server costs one timeout, not one per target); an HTTP error or a blob
whose content does not match its digest counts as an error and the target is built locally.
SCons fetches and pushes on its worker threads, so the counters sit behind a lock and each thread
keeps its own connection.

This module only talks HTTP and keeps counts; :mod:`polyboard.cache` hooks it into SCons.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass, field

from .errors import PolyboardError
from .remote_report import human_bytes

CONNECT_TIMEOUT = 2.0  # seconds: a server that does not answer costs this once per run
IO_TIMEOUT = 10.0  # seconds per read/write on an open connection: a stalled server is bounded
KEY_SALT = b"polyboard-scons-target-v1\0"  # a new record layout changes every key
USER_AGENT = "polyboard/remote-cache"  # tells its requests from ccache's in a server's log
USAGE = "expected http://HOST[:PORT]/[PREFIX/] (or https://), e.g. remote_cache=http://cache:8080/"


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int | None
    prefix: str  # path before /ac/ and /cas/, always ending with "/"

    @property
    def url(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{self.host}{port}{self.prefix}"


def parse_url(text: str, *, where: str) -> Endpoint:
    """The store's address, or one line saying what a valid one looks like."""
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise PolyboardError(f"not a valid URL ({exc}); {USAGE}", where=where) from None
    if parts.scheme not in ("http", "https"):
        raise PolyboardError(f"unsupported scheme {parts.scheme or '(none)'!r}; {USAGE}", where=where)
    if not parts.hostname:
        raise PolyboardError(f"no host in the URL; {USAGE}", where=where)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise PolyboardError(f"a query, fragment or user name is not supported; {USAGE}", where=where)
    prefix = parts.path if parts.path.endswith("/") else parts.path + "/"
    return Endpoint(parts.scheme, parts.hostname, port, prefix)


# --- the ActionResult record (protobuf wire format, only the fields we use) ------------------

def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _fields(data: bytes) -> list[tuple[int, bytes | int]]:
    """(field number, value) pairs of one message; ValueError on anything malformed."""
    out, i = [], 0

    def varint() -> int:
        nonlocal i
        value = shift = 0
        while True:
            if i >= len(data) or shift > 63:
                raise ValueError("truncated varint")
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            out.append((number, varint()))
        elif wire == 2:
            size = varint()
            if i + size > len(data):
                raise ValueError("truncated field")
            out.append((number, data[i:i + size]))
            i += size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


@dataclass(frozen=True)
class Blob:
    """One output: its path (informative), content digest and size, and executable bit."""
    path: str
    sha256: str
    size: int
    executable: bool = False


def encode_action_result(blob: Blob) -> bytes:
    """ActionResult{output_files: [OutputFile{path=1, digest=2{hash=1, size_bytes=2}, is_executable=4}]}."""
    digest = _field(1, blob.sha256.encode()) + _field(2, blob.size)
    output = _field(1, blob.path.encode()) + _field(2, digest) + (_field(4, 1) if blob.executable else b"")
    return _field(2, output)


def decode_action_result(data: bytes) -> Blob:
    """The single output file of a record this module wrote; ValueError for anything else."""
    outputs = [value for number, value in _fields(data) if number == 2 and isinstance(value, bytes)]
    if len(outputs) != 1:
        raise ValueError(f"{len(outputs)} output files in the record, expected 1")
    path, sha256, size, executable = "", "", -1, False
    for number, value in _fields(outputs[0]):
        if number == 1 and isinstance(value, bytes):
            path = value.decode()
        elif number == 2 and isinstance(value, bytes):
            for inner, item in _fields(value):
                if inner == 1 and isinstance(item, bytes):
                    sha256 = item.decode()
                elif inner == 2 and isinstance(item, int):
                    size = item
        elif number == 4 and isinstance(value, int):
            executable = bool(value)
    if len(sha256) != 64 or size < 0:
        raise ValueError("no sha256 digest in the record")
    return Blob(path, sha256, size, executable)


def action_key(signature: str) -> str:
    """The ``/ac/`` key of an SCons cache signature (which already covers the inputs, the
    command's contents and the target's path): sha256, as the protocol's 64 hex digits."""
    return hashlib.sha256(KEY_SALT + signature.encode()).hexdigest()


# --- the store -------------------------------------------------------------------------------

class _Failure(Exception):
    """The server cannot be reached or stalled: the circuit breaker opens."""


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    errors: int = 0
    uploads: int = 0
    bytes_down: int = 0
    bytes_up: int = 0


@dataclass
class RemoteStore:
    """The remote cache of one run: fetch/push whole files, count, and give up on a dead server."""

    endpoint: Endpoint
    upload: bool = True
    stats: Stats = field(default_factory=Stats)
    available: bool = True  # False after the first connection failure (circuit breaker)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._warned: set[str] = set()
        self._uploads_refused = False
        self._corrupt: set[str] = set()  # digests whose blob on the server is damaged

    # -- reporting --
    def warn(self, kind: str, text: str) -> None:
        """One line per kind of trouble, however many targets meet it."""
        with self._lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
        sys.stderr.write(f"polyboard: warning: remote cache {self.endpoint.url}: {text}\n")
        sys.stderr.flush()

    def count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def print_summary(self) -> None:
        """At the end of a build that asked the store anything (a null build asks nothing)."""
        if self.stats != Stats() or self._warned:
            print(self.summary())

    def summary(self) -> str:
        s = self.stats
        return (f"polyboard: remote cache {self.endpoint.url}: {s.hits} hits, {s.misses} misses, "
                f"{s.errors} errors, {s.uploads} uploads, {human_bytes(s.bytes_down)} down, {human_bytes(s.bytes_up)} up")

    # -- HTTP --
    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self.endpoint.scheme == "https" else http.client.HTTPConnection
            conn = cls(self.endpoint.host, self.endpoint.port, timeout=CONNECT_TIMEOUT)
            conn.connect()
            conn.sock.settimeout(IO_TIMEOUT)
            self._local.conn = conn
        return conn

    def _request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """(status, body); _Failure when the server cannot be reached (once retried on a fresh
        connection: a kept-alive connection the server closed is not a dead server)."""
        if not self.available:
            raise _Failure("switched off")
        url = self.endpoint.prefix + path
        headers = {"User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            reused = getattr(self._local, "conn", None) is not None
            try:
                conn = self._connection()
                conn.request(method, url, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.will_close:
                    self._drop()
                return response.status, data
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                if attempt == 1 and reused and not isinstance(exc, TimeoutError):
                    continue
                with self._lock:
                    first = self.available
                    self.available = False
                    if first:
                        self.stats.errors += 1
                if first:
                    self.warn("down", f"{_reason(exc)}; building without it for the rest of this run")
                raise _Failure(str(exc)) from None
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    # -- the cache --
    def fetch(self, signature: str, destination: str) -> Blob | None:
        """Write the file cached under *signature* to *destination* (atomically, only if its
        content matches the record's digest); None for a miss, an error or a switched-off store."""
        if not self.available:
            return None
        try:
            status, record = self._request("GET", "ac/" + action_key(signature))
            if status == 404:
                self.count(misses=1)
                return None
            if status != 200:
                self._error("http", f"GET /ac/ answered HTTP {status}; those targets are built locally")
                return None
            try:
                blob = decode_action_result(record)
            except (ValueError, UnicodeDecodeError) as exc:
                self._error("record", f"an unreadable /ac/ record ({exc}); those targets are built locally")
                return None
            status, content = self._request("GET", "cas/" + blob.sha256)
        except _Failure:
            return None
        if status == 404:  # the server evicted the blob but kept the record
            self.count(misses=1, bytes_down=len(record))
            return None
        if status != 200:
            self._error("http", f"GET /cas/ answered HTTP {status}; those targets are built locally")
            return None
        self.count(bytes_down=len(record) + len(content))
        if len(content) != blob.size or hashlib.sha256(content).hexdigest() != blob.sha256:
            with self._lock:
                self._corrupt.add(blob.sha256)  # the local build uploads a good copy over it
            self._error("corrupt", f"a blob whose content does not match its sha256 ({blob.sha256[:12]}...): "
                                   "ignored, those targets are built locally")
            return None
        try:
            _write_atomically(destination, content, blob.executable)
        except OSError as exc:
            self._error("write", f"cannot write {destination} ({exc.strerror}); those targets are built locally")
            return None
        self.count(hits=1)
        return blob

    def push(self, signature: str, source: str, name: str) -> None:
        """Upload the built file *source*: its bytes to /cas/ (unless there already), then the
        record to /ac/ (last, so a reader never finds a record without its blob)."""
        if not (self.upload and self.available) or self._uploads_refused:
            return
        try:
            with open(source, "rb") as stream:
                content = stream.read()
            executable = os.access(source, os.X_OK)
        except OSError:
            return
        blob = Blob(name, hashlib.sha256(content).hexdigest(), len(content), executable)
        try:
            with self._lock:
                damaged = blob.sha256 in self._corrupt
            status = 0 if damaged else self._request("HEAD", "cas/" + blob.sha256)[0]
            if status != 200:
                if not self._put("cas/" + blob.sha256, content):
                    return
            record = encode_action_result(blob)
            if self._put("ac/" + action_key(signature), record):
                self.count(uploads=1)
        except _Failure:
            return

    def _put(self, path: str, body: bytes) -> bool:
        status, _ = self._request("PUT", path, body)
        if status in (200, 201, 204):
            self.count(bytes_up=len(body))
            return True
        with self._lock:
            self._uploads_refused = True  # a server that refuses once (403, full disk) refuses again
        self._error("put", f"PUT answered HTTP {status}; not uploading for the rest of this run")
        return False

    def _error(self, kind: str, text: str) -> None:
        self.count(errors=1)
        self.warn(kind, text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"cannot connect ({text})"


def _write_atomically(destination: str, content: bytes, executable: bool) -> None:
    """The target appears whole or not at all (a build interrupted mid-fetch leaves no half file)."""
    folder = os.path.dirname(destination) or "."
    os.makedirs(folder, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".remote-")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o755 if executable else 0o644)
        os.replace(temporary, destination)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
