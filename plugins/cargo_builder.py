"""Cargo builder plugin: Rust crates for the board's target triple.

Component kinds:

* ``rust_staticlib(name, crate=DIR)``: a ``staticlib`` for linking with C (and Go through cgo);
* ``rust_program(name, crate=DIR)``: a Rust ``bin`` crate that is the whole firmware (e.g. a
  cortex-m-rt application; the generated ``memory.x`` is put on its linker search path).

What SCons sees: the crate's own files (``*.rs``, ``Cargo.toml``, ``Cargo.lock``, ``build.rs``)
up front, plus every in-tree file cargo's dep-info lists after a build (a target scanner reads
the ``.d`` file we keep next to the artifact). Files outside the tree (the toolchain's rust-src,
the registry) belong to the toolchain. The artifact path comes from cargo's JSON messages.
Absolute paths stay out of the action's signature and out of the binary (``--remap-path-prefix``),
so a checkout elsewhere fetches the same artifact from a shared CacheDir.

Also an SCons tool (:func:`generate`/:func:`exists`): the ``Cargo`` and ``CargoTest`` builders.
cargo's argument vector is built by Python at build time (from the board and cargo's JSON
messages), so there is no command template to override; ``$CARGOCOMSTR`` is their display
string (``[$POLYBOARD_BOARD_ID]`` is ``host`` for a host test build).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import zlib
from pathlib import Path

import attrs
from SCons.Action import Action
from SCons.Builder import Builder
from SCons.Scanner import Scanner

from polyboard import PolyboardError, Skip, hookimpl, profiles
from polyboard.component_options import option
from polyboard.context import Artifact
from polyboard.errors import action_error
from polyboard.scons_data import literal, node_name, signature
from polyboard import dependencies, jobs, spawn, status

DEBIAN_CARGO = "/usr/bin/cargo"
DEBIAN_RUSTC = "/usr/bin/rustc"
CRATE_FILES = ("*.rs", "Cargo.toml", "Cargo.lock", "build.rs", "*.h", "*.x", "*.ld")


def generate(env) -> None:
    """SCons tool: ``env.Cargo(...)`` (a staticlib or a program) and ``env.CargoTest(...)``."""
    env.SetDefault(CARGOCOMSTR="CARGO   [$POLYBOARD_BOARD_ID] $TARGET")
    env.Append(BUILDERS={"Cargo": CARGO_BUILDER, "CargoTest": CARGO_TEST_BUILDER})


def exists(env) -> bool:
    """SCons tool: whether cargo is on the environment's PATH (no process started)."""
    return shutil.which("cargo", path=env["ENV"].get("PATH")) is not None


@hookimpl
def polyboard_configure_board(build):
    build.env.Tool(generate)


@hookimpl
def polyboard_register(registry):
    crate = option("crate", "string", "the crate's folder (with Cargo.toml), tree-relative; required")
    features = option("features", "strings", "cargo features to enable (checked against Cargo.toml)", [])
    registry.add_component_kind("rust_staticlib", declare_staticlib, help="a Rust staticlib for C/cgo", options=[
        crate, features, profiles.COMPONENT_OPTION,
        option("lib_name", "string", "the library's name when it differs from the component's (`lib<name>.a`)")])
    registry.add_component_kind("rust_program", declare_program, help="a Rust bin crate that is the firmware", options=[
        crate, features, profiles.COMPONENT_OPTION,
        option("link_script", "string", "the linker script passed as `-T` (cortex-m-rt's `link.x`, which includes "
               "the generated `memory.x`); `\"\"` leaves it to the crate's build.rs", "link.x"),
        option("test", "bool", "a test image: `scons test` runs it instead of `scons run`", False)])
    registry.add_component_kind("rust_test", declare_test,
                                help="a crate's unit tests, run on the board's emulated target (or the host)",
                                options=[crate, features,
                                         option("on", "string", "`target`: built for the board and run under its "
                                                "emulator; `host`: built and run on the build machine", "target")])
    registry.add_option("cargo", "the cargo to use (default: /usr/bin/cargo when the board needs build-std, else cargo)")
    registry.add_option("rustc", "the rustc cargo uses (default: /usr/bin/rustc when the board needs build-std, else rustc)")
    registry.add_option("features", "comma-separated cargo features for every Rust component")
    registry.add_verb("vendor", vendor_crates, help="cargo vendor every Rust component's and the standard "
                      "library's crates into vendor/rust")
    registry.add_verb("verify-deps", verify_crates, help="check the Rust crates' checksums and list them")


def _tools(build) -> tuple[str, str]:
    board = build.board
    default_cargo, default_rustc = "cargo", "rustc"
    if board.rust.build_std and os.path.exists(DEBIAN_CARGO):
        default_cargo, default_rustc = DEBIAN_CARGO, DEBIAN_RUSTC
    cargo = build.options.get("cargo") or default_cargo
    rustc = build.options.get("rustc") or default_rustc
    hint = ("rustc-web cargo-web rust-web-src",)
    cargo_path = build.require_tool(cargo, hint, f"to build Rust for {board.rust.target}")
    rustc_path = build.require_tool(rustc, hint, f"to build Rust for {board.rust.target}")
    build.uses_tool("cargo", cargo_path)
    build.uses_tool("rustc", rustc_path)
    if board.rust.build_std:
        sysroot_src = rust_library_src(rustc_path)
        if not sysroot_src.is_dir():
            raise PolyboardError(
                f"{rustc_path} has no rust-src (needed for -Zbuild-std on {board.rust.target}); "
                f"install it with: apt-get install rust-web-src, or pass rustc=/usr/bin/rustc cargo=/usr/bin/cargo",
                where=f"board {board.id} ({board.path})", key="rust.build_std")
        # The standard library build-std compiles, pinned by its own Cargo.lock (rust-web-src's
        # version is the folder it lives in: /usr/src/rustc-1.96.0).
        build.uses_tool("rust-src", str(sysroot_src / "Cargo.lock"), version_argv=[],
                        version=sysroot_src.resolve().parent.name)
    return cargo_path, rustc_path


def rust_library_src(rustc_path: str) -> Path:
    """The standard library's sources that -Zbuild-std compiles, for this rustc."""
    return Path(rustc_path).resolve().parent.parent / "lib" / "rustlib" / "src" / "rust" / "library"


def crate_sources(crate_dir: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(crate_dir):
        dirs[:] = sorted(d for d in dirs if d not in ("target", ".git") and not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if any(path.match(pattern) for pattern in CRATE_FILES):
                files.append(path)
    return files


def requested_features(build, component, crate_dir: Path, crate_rel: str) -> list[str]:
    """The component's and the command line's cargo features, checked against the crate's
    Cargo.toml when the SConstruct is read (a typo is one line, before anything is built), and
    the board's ``rust.features`` that the crate defines (a board feature is for the crates
    that know it: a board-support feature of one crate must not break the others)."""
    from_line = [f for f in build.options.get("features", "").split(",") if f]
    from_board = list(build.board.rust.features) if build.board.rust is not None else []
    from_board += build.cargo_features  # switched on by plugins (trace=1): for the crates that know them
    wanted = sorted(set(component.options.get("features", [])) | set(from_line))
    if not wanted and not from_board:
        return wanted
    with open(crate_dir / "Cargo.toml", "rb") as handle:
        manifest = tomllib.load(handle)
    optional = {name for name, spec in manifest.get("dependencies", {}).items()
                if isinstance(spec, dict) and spec.get("optional")}
    known = set(manifest.get("features", {})) | optional
    wanted = sorted(set(wanted) | {f for f in from_board if f in known})
    for feature in wanted:
        if feature not in known:
            where = f"features={','.join(from_line)}" if feature in from_line else "SConstruct"
            raise PolyboardError(f"crate {crate_rel!r} ({crate_rel}/Cargo.toml) has no feature {feature!r}; "
                                 f"valid features: {', '.join(sorted(known)) or '(none)'}", where=where)
    return wanted


def parse_depinfo(text: str) -> list[str]:
    """The prerequisites of a Makefile-style dep-info file (cargo escapes spaces with ``\\ ``)."""
    deps: list[str] = []
    for line in text.splitlines():
        if ":" not in line or line.startswith("#"):
            continue
        _, _, rest = line.partition(": ")
        token = ""
        i = 0
        while i < len(rest):
            ch = rest[i]
            if ch == "\\" and i + 1 < len(rest) and rest[i + 1] == " ":
                token += " "
                i += 2
                continue
            if ch == " ":
                if token:
                    deps.append(token)
                token = ""
            else:
                token += ch
            i += 1
        if token:
            deps.append(token)
    return deps


def _cargo_argv(build, profile, crate_dir: Path, cargo: str, kind: str, features: list[str]) -> list[str]:
    """*profile*: the board's profile refined for the component (profiles.for_component)."""
    board = build.board
    # A program's link arguments go to the final crate only (``cargo rustc --bins -- ARGS``): in
    # RUSTFLAGS they would change the fingerprint of `core` and every dependency, and a staticlib
    # sharing the target folder would rebuild them all, alternately.
    argv = [cargo, "rustc" if kind == "program" else "build", *profile.cargo_args(), "--locked",
            "--message-format=json-render-diagnostics",
            "--manifest-path", str(crate_dir / "Cargo.toml"), "--target", board.rust.target]
    if kind == "staticlib":
        argv.append("--lib")
    if kind == "program":
        argv.append("--bins")
    if board.rust.build_std:
        argv.append("-Zbuild-std=" + ",".join(board.rust.build_std))
    if features:
        argv += ["--features", ",".join(features)]
    if build.offline:
        argv += ["--offline", "--config", str(dependencies.cargo_offline_config(build.root))]
    return argv


@attrs.frozen
class CargoJob:
    """What one cargo action needs at build time (not part of its signature: see RUST_SIGNATURE)."""

    build: object
    crate_dir: Path
    crate_rel: str
    cargo: str
    rustc: str
    kind: str
    features: list
    target_dir: Path
    link_args: tuple = ()  # rust_program: see _program_link_args
    build_name: str = ""   # the component's name (rust_program's map file)
    profile: object = None  # the build profile refined for this component (profiles.for_component)


def _crate(build, component) -> tuple[str, Path]:
    """The component's ``crate=DIR`` (as written, and resolved inside the tree), with a Cargo.toml."""
    crate_rel = component.options.get("crate")
    if not crate_rel:
        raise PolyboardError(f"{component.kind} {component.name!r} needs crate=DIR", where="SConstruct")
    crate_dir = build.source(crate_rel, key="SConstruct")
    if not (crate_dir / "Cargo.toml").is_file():
        raise PolyboardError(f"no Cargo.toml in {crate_rel!r}", where="SConstruct", key=f"{component.name}.crate")
    if lockfile(crate_dir, build.root) is None:
        raise PolyboardError(
            f"{crate_rel}/Cargo.lock is missing: cargo runs with --locked, so the dependency versions must be "
            f"pinned and committed; create it with: cargo generate-lockfile --manifest-path {crate_rel}/Cargo.toml",
            where="SConstruct", key=f"{component.name}.crate")
    return crate_rel, crate_dir


lockfile = dependencies.cargo_lockfile  # also what `scons audit` reads (plugins/advisories.py)


def _remap_flags(root: Path, build_std: bool) -> list[str]:
    """Keep the checkout's path out of the binary. With build-std we already run a bootstrapped
    rustc, and -Zremap-cwd-prefix keeps RUSTFLAGS path-free too, so a copied or relocated tree
    keeps cargo's fingerprints (core is not rebuilt) and its outputs are bit-identical."""
    return ["-Zremap-cwd-prefix=."] if build_std else [f"--remap-path-prefix={root}=."]


def _declare(build, component, kind: str) -> Artifact:
    board = build.board
    env = build.env
    if board.rust is None or not board.rust.target:
        raise Skip("the board has no [rust] target")
    crate_rel, crate_dir = _crate(build, component)
    if kind == "program" and not board.bare_metal and _no_std_binary(crate_dir):
        raise Skip(f"{crate_rel}/src/main.rs is #![no_std], a program for a bare-metal board, and "
                   f"{board.id} runs {board.os} (limit it with os=[\"none\"])")
    cargo, rustc = _tools(build)
    features = requested_features(build, component, crate_dir, crate_rel)
    if build.offline:
        dependencies.cargo_offline_config(build.root)  # no vendor/rust: one line now, not at build time
    lib_name = component.options.get("lib_name") or component.name
    if kind == "staticlib":
        target = build.path(component.name, f"lib{lib_name}.a")
        outputs = [target, target + ".d"]
    else:  # laid out like c_firmware's: build/<board>/<name>.elf, .map (then .bin, .hex, ...)
        target = build.path(f"{component.name}.elf")
        outputs = [target, target + ".d", build.path(f"{component.name}.map")]
    # Boards with the same Rust configuration share one cargo target folder: cargo's own
    # fingerprints keep it correct, and 50 boards of one triple build `core` once, not 50 times.
    config = repr((board.rust.target, board.rust.build_std, board.rust.rustflags, features, cargo, rustc))
    target_dir = build.root / "build" / ".cargo" / f"{board.rust.target}-{zlib.crc32(config.encode()):08x}"
    link_args = _program_link_args(build, component) if kind == "program" else ()
    profile = profiles.for_component(build, component)
    job = CargoJob(build=build, crate_dir=crate_dir, crate_rel=crate_rel, cargo=cargo, rustc=rustc,
                   kind=kind, features=features, target_dir=target_dir, link_args=link_args,
                   build_name=component.name, profile=profile)
    # cargo's profile arguments join the signature unless they are the plain --release of a build
    # before profiles existed (so such a tree is still up to date)
    profile_args = profile.cargo_args()
    env_signature = repr((board.rust, features, kind, cargo, rustc) + ((link_args,) if link_args else ())
                         + ((profile_args,) if profile_args != ["--release"] else ()))
    sources = [env.File(node_name(p)) for p in crate_sources(crate_dir)]
    nodes = env.Cargo(outputs, sources, RUST_SIGNATURE=signature(env_signature), CARGO_JOB=job)
    # A failed cargo run keeps the previous library (nothing deleted): its record in .sconsign
    # still matches its bytes, so the next build decides from the sources as usual.
    env.Precious(nodes)
    if kind == "program" and build.memory_x is not None:
        env.Depends(nodes, build.memory_x)  # the only generated file it uses (signatures.py)
    include = crate_dir / "include"
    artifact = Artifact(component=component.name, kind=component.kind, nodes=[nodes[0]], package_dir=crate_dir,
                        include_dirs=[env.Dir(node_name(include))] if include.is_dir() else [],
                        debug_sources=[("", str(crate_dir))])  # paths are crate-relative (_remap_flags)
    if kind == "staticlib":
        artifact.library = nodes[0]
    else:
        artifact.program = nodes[0]
        artifact.test = bool(component.options.get("test", False))
        artifact.nodes.extend(build.after_link(component.name, nodes[0]))
    return artifact


def _no_std_binary(crate_dir: Path) -> bool:
    """Whether the crate's binary is ``#![no_std]`` (read from src/main.rs: no process)."""
    main = crate_dir / "src" / "main.rs"
    try:
        text = main.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*#!\[no_std\]", text, re.MULTILINE) is not None


def _program_link_args(build, component) -> tuple:
    """How a ``rust_program`` links (arguments for the final crate's rustc, path-free).

    The board's C toolchain is the linker (``<c.prefix>gcc`` with the board's CPU flags; Debian's
    rustc has no working rust-lld). On a bare-metal board: ``-nostartfiles`` (the crate brings its
    runtime) and ``-T<link_script>`` (option ``link_script``, default ``link.x``: cortex-m-rt's
    script, which INCLUDEs the ``memory.x`` generated for the board; build/<board>/ is put on the
    search path). polyboard sets the RUSTFLAGS, so a crate's ``.cargo/config.toml`` rustflags are
    ignored; ``link_script=""`` leaves the script to the crate's build.rs (``cargo:rustc-link-arg``).
    """
    board = build.board
    linker = f"{board.c.prefix}gcc"
    build.require_tool(linker, board.c.packages, f"to link Rust program {component.name!r} for board {board.id}")
    args = ["-C", f"linker={linker}"]
    link_flags = list(build.cpu_flags)
    if board.bare_metal:
        link_flags.append("-nostartfiles")
        script = component.options.get("link_script", "link.x")
        if script:
            link_flags.append(f"-T{script}")
    for flag in link_flags:
        args += ["-C", f"link-arg={flag}"]
    return tuple(args)


PROGRESS_AFTER = 10.0  # seconds: a cargo run longer than this prints a progress line this often


def package_name(package_id: str) -> str:
    """``path+file:///...#kernel@0.1.0`` (cargo >= 1.77) or ``core 0.0.0 (path+...)`` -> the name."""
    if "#" in package_id:  # "#name@version", or "#version" when the folder is named after the package
        source, _, fragment = package_id.rpartition("#")
        return fragment.partition("@")[0] if "@" in fragment else source.rstrip("/").rsplit("/", 1)[-1]
    return package_id.split(" ", 1)[0] or "?"


class Progress:
    """What a long cargo run is doing (a first build of ``core`` takes about 25 s with nothing
    else on the screen): the crates compiled so far, from cargo's own ``compiler-artifact``
    messages, out of the total of the last run of the same build when there was one (cargo does
    not announce it; *remember* is where it is kept).

    On a terminal: the live status line (polyboard.status). Elsewhere (CI): one plain line every
    PROGRESS_AFTER seconds. Quick runs print nothing either way."""

    def __init__(self, label: str, interval: float = PROGRESS_AFTER, remember: Path | None = None):
        self.label = label
        self.interval = interval
        self.started = time.monotonic()
        self.next_line = self.started + interval
        self.crates: list[str] = []
        self.lock = threading.Lock()
        self.remember = remember
        self.total = 0
        if remember is not None:
            try:
                self.total = int(remember.read_text().strip() or 0)
            except (OSError, ValueError):
                self.total = 0
        self.status_job = status.begin(self.status_text)

    def counted(self) -> str:
        count = len(self.crates)
        if self.total >= count and self.total:
            return f"{count} of {self.total} crates compiled"
        return f"{count} crate{'s' * (count != 1)} compiled"

    def status_text(self) -> str:
        with self.lock:
            last = f" (last: {self.crates[-1]})" if self.crates else ""
            return f"{self.label.split(None, 1)[-1]}: {self.counted()}{last}"

    def done(self, succeeded: bool) -> None:
        status.end(self.status_job)
        if succeeded and self.remember is not None and self.crates:
            try:
                self.remember.parent.mkdir(parents=True, exist_ok=True)
                self.remember.write_text(f"{len(self.crates)}\n")
            except OSError:
                pass  # only a hint for the next progress line

    def artifact(self, message: dict) -> None:
        package = package_name(message.get("package_id", ""))
        with self.lock:
            if package not in self.crates:  # a build script and its library are one crate
                self.crates.append(package)

    def tick(self) -> None:
        if self.status_job is not None:
            return  # the status line shows it, redrawn every second
        now = time.monotonic()
        with self.lock:
            if now < self.next_line:
                return
            self.next_line = now + self.interval
            last = f" (last: {self.crates[-1]})" if self.crates else ""
            counted = self.counted()
        sys.stdout.write(f"{self.label}: {counted}{last}, {now - self.started:.0f} s\n")
        sys.stdout.flush()


def run_cargo(argv: list[str], child_env: dict, crate_dir: Path, label: str = "",
              root: Path | None = None, target_dir: Path | None = None) -> tuple[int, list[dict]]:
    """Run cargo on the shared jobserver (our token is cargo's implicit one; it takes more).

    Returns the exit status and cargo's ``compiler-artifact`` messages for *crate_dir*'s own
    package: artifact paths are what cargo says, never guessed. Errors are shown as cargo
    rendered them. cargo's JSON messages are read as they come, for the progress line."""
    if root is not None and "--offline" in argv:
        try:
            dependencies.check_vendored_crates_once(root)
        except PolyboardError as error:
            raise action_error(error) from None
    target_dir = target_dir or child_env.get("CARGO_TARGET_DIR")
    remember = Path(target_dir) / "polyboard-crates" / hashlib.sha256(" ".join(argv).encode()).hexdigest()[:16] \
        if target_dir else None
    progress = Progress(label or f"CARGO   {crate_dir.name}", remember=remember)
    lines: list[str] = []
    with jobs.tokens():
        child_env["MAKEFLAGS"] = jobs.makeflags()
        spawn._log(argv, child_env)
        if spawn.VERBOSE:
            sys.stdout.write(f"cd {shlex.quote(str(crate_dir))} && {shlex.join(argv)}\n")
        process = subprocess.Popen(argv, env=child_env, cwd=str(crate_dir), text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)
        reader.start()
        done = threading.Event()

        def heartbeat():
            while not done.wait(1.0):
                progress.tick()
        ticker = threading.Thread(target=heartbeat, daemon=True)
        ticker.start()
        try:
            for line in process.stdout:
                lines.append(line)
                if '"compiler-artifact"' in line:
                    try:
                        progress.artifact(json.loads(line))
                    except json.JSONDecodeError:
                        pass
            returncode = process.wait()
        finally:
            done.set()
            progress.done(process.poll() == 0)
            if process.poll() is None:
                process.kill()
                process.wait()
            reader.join(timeout=10)
    if returncode != 0:
        edited = dependencies.cargo_checksum_error("".join(errors), root) if root else None
        if edited is not None:  # cargo's several lines, said in one
            raise action_error(edited)
        sys.stderr.write("".join(errors))
        if not "".join(errors).strip():
            sys.stderr.write(f"polyboard: {argv[0]} exited with status {returncode} and printed no "
                             f"error (is cargo={argv[0]} really cargo?)\n")
        return returncode, []
    messages = []
    for line in lines:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if message.get("reason") == "compiler-artifact" and \
                message.get("manifest_path") == str(crate_dir / "Cargo.toml"):
            messages.append(message)
    return 0, messages


def _through_rust_cache(rust_cache, argv: list[str], child_env: dict, target_dir: Path) -> None:
    """Run rustc through the build's sccache (``remote_cache=``), when there is one and it runs.
    sccache hashes every ``CARGO_*`` variable: the target folder as an argument
    (``--target-dir``, right after cargo's subcommand) instead of ``CARGO_TARGET_DIR`` keeps the
    checkout's path out of its keys, so a runner at another path gets hits."""
    wrapper = rust_cache.cargo_env() if rust_cache is not None else {}
    if wrapper:
        child_env.update(wrapper)
        child_env.pop("CARGO_TARGET_DIR", None)
        argv[2:2] = ["--target-dir", str(target_dir)]


def _label(target, source, env) -> str:
    """The progress line's prefix: the action's own display string (``$CARGOCOMSTR``)."""
    return env.subst("$CARGOCOMSTR", raw=1, target=target, source=source) or f"CARGO   {target[0]}"


def cargo_action(target, source, env):
    """Run cargo, take the artifact named by its JSON messages, keep its in-tree dep-info."""
    job = env["CARGO_JOB"]
    build, board, root, kind = job.build, job.build.board, job.build.root, job.kind
    argv = _cargo_argv(build, job.profile, job.crate_dir, job.cargo, kind, job.features)
    rustflags = list(board.rust.rustflags) + _remap_flags(root, bool(board.rust.build_std))
    if kind == "program":
        argv += ["--", *job.link_args]
        if build.memory_x is not None:
            memory_x = Path(build.memory_x.abspath)
            # cargo does not track linker inputs: the memory map's checksum in the final crate's
            # arguments makes cargo relink when memory.x changes (SCons reruns cargo for that).
            crc = zlib.crc32(memory_x.read_bytes())
            argv += ["-C", f"link-arg=-L{memory_x.parent}", "--cfg", f'polyboard_memory_x="{crc:08x}"']
    if kind == "program":
        # The linker's map, kept per board in cargo's folder: when cargo finds the program fresh
        # it does not link, and the map of its last link for this board is still the right one.
        link_map = job.target_dir / "polyboard-maps" / build.folder / f"{job.build_name}.map"
        link_map.parent.mkdir(parents=True, exist_ok=True)
        argv += ["-C", f"link-arg=-Wl,-Map={link_map}"]
    child_env = dict(env["ENV"])
    child_env.update({
        "RUSTC": job.rustc, "CARGO_TARGET_DIR": str(job.target_dir),
        "CARGO_ENCODED_RUSTFLAGS": "\x1f".join(rustflags),
        "CARGO_TERM_COLOR": "never", "CARGO_INCREMENTAL": "0",
    })
    if board.rust.build_std:
        child_env["RUSTC_BOOTSTRAP"] = "1"
    _through_rust_cache(build.rust_cache, argv, child_env, job.target_dir)
    status, messages = run_cargo(argv, child_env, job.crate_dir, _label(target, source, env), root,
                                 target_dir=job.target_dir)
    if status != 0:
        return status
    artifact = None
    for message in messages:
        for filename in message.get("filenames", []):
            if (kind == "staticlib" and filename.endswith(".a")) or \
                    (kind == "program" and message.get("executable") == filename):
                artifact = filename
    if artifact is None:
        sys.stderr.write(f"polyboard: cargo reported no {kind} artifact for {job.crate_rel}\n")
        return 1
    out = target[0].abspath
    shutil.copyfile(artifact, out + ".tmp")
    deps_text = ""
    cargo_d = os.path.splitext(artifact)[0] + ".d"
    if os.path.exists(cargo_d):
        with open(cargo_d, encoding="utf-8") as handle:
            # Sources in the tree only: the toolchain's rust-src is the toolchain's, and files
            # cargo generates under build/ (OUT_DIR) are cargo's own business.
            in_tree = [d for d in parse_depinfo(handle.read())
                       if Path(d).is_relative_to(root) and not Path(d).is_relative_to(root / "build")]
        deps_text = "".join(os.path.relpath(d, root) + "\n" for d in sorted(set(in_tree)))
    with open(target[1].abspath + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(deps_text)
    if kind == "program":
        if link_map.exists():
            shutil.copyfile(link_map, target[2].abspath + ".tmp")
        else:
            with open(target[2].abspath + ".tmp", "w", encoding="utf-8") as handle:
                handle.write("polyboard: the linker wrote no map for this program (cargo did not link it)\n")
        spawn.commit(target[2].abspath + ".tmp", target[2].abspath)
    spawn.commit(out + ".tmp", out)
    spawn.commit(target[1].abspath + ".tmp", target[1].abspath)
    return 0


def _depinfo_scanner(node, env, path):
    """Files cargo said the artifact depends on, as recorded by the previous build."""
    depfile = node.abspath + ".d"
    if not os.path.exists(depfile):
        return []
    top = env.Dir("#").abspath
    explicit = {source.abspath for source in node.sources}
    with open(depfile, encoding="utf-8") as handle:
        paths = [os.path.join(top, line.strip()) for line in handle if line.strip()]
    # Only what the explicit sources miss, so the dependency list is the same before and after
    # the first build (a changed list alone would make SCons rebuild).
    return [env.File(node_name(p)) for p in paths if p not in explicit and os.path.exists(p)]


def declare_staticlib(build, component):
    return _declare(build, component, "staticlib")


def declare_program(build, component):
    return _declare(build, component, "program")


# -- rust_test: the crate's #[test]s, on the board's target (under its emulator) or on the host ---

@attrs.frozen
class TestJob:
    """What a test build needs at build time (its signature is RUST_TEST_SIGNATURE)."""

    root: Path
    crate_dir: Path
    crate_rel: str
    cargo: str
    features: tuple
    target_dir: Path
    rustc: str = ""          # empty: the host toolchain as found on PATH
    triple: str = ""         # empty: the build host
    build_std: bool = False
    linker: str = ""
    offline_config: str = ""  # offline=1: the cargo --config that points crates-io at vendor/rust
    # remote_cache=: the Rust layer (sccache_layer.SccacheLayer) that target tests' rustc runs
    # through, so std and test (-Zbuild-std) come from the store on a fresh runner
    rust_cache: object = attrs.field(default=None, eq=False, repr=False)


def _offline_config(build) -> str:
    return str(dependencies.cargo_offline_config(build.root)) if build.offline else ""


def declare_test(build, component):
    """``rust_test(name, crate=DIR, os=[...], on="target"|"host")``: the crate's unit tests.

    ``on="target"`` (the default, for boards that run Linux): built for the board's Rust target,
    with ``std`` and ``test`` built from source where the target has no prebuilt std, linked by
    the board's C compiler, and run under the board's emulator like any program: the kernel is
    tested on the emulated CPU, not only on the build host. Tests unwind (libtest runs
    panic=abort tests in child processes it cannot start under qemu-user).
    ``on="host"``: built once per run for the build host (``build/host/<name>/``) and run there.
    The core's ``os=`` filter limits the boards the suite belongs to (microcontrollers test with
    test firmware).
    """
    board = build.board
    options = component.options
    on = options.get("on", "target")
    if on not in ("target", "host"):
        raise PolyboardError(f"on={on!r} is not valid; choose 'target' or 'host'", where="SConstruct",
                             key=f"{component.name}.on")
    crate_rel, crate_dir = _crate(build, component)
    features = tuple(requested_features(build, component, crate_dir, crate_rel))
    env = build.env
    sources = [env.File(node_name(p)) for p in crate_sources(crate_dir)]
    if on == "target" and board.os == "linux" and board.rust is not None and board.rust.target:
        cargo, rustc = _tools(build)
        build.require_tool(f"{board.c.prefix}gcc", board.c.packages, f"to link Rust tests for {board.id}")
        job = TestJob(root=build.root, crate_dir=crate_dir, crate_rel=crate_rel, cargo=cargo, features=features,
                      target_dir=build.root / "build" / ".cargo" / f"{board.rust.target}-tests",
                      rustc=rustc, triple=board.rust.target, build_std=bool(board.rust.build_std),
                      linker=f"{board.c.prefix}gcc", offline_config=_offline_config(build),
                      rust_cache=build.rust_cache)
        program = env.File(build.path(component.name, component.name))
        env.CargoTest(program, sources,
                      RUST_TEST_SIGNATURE=signature(("target-test", crate_rel, features, board.rust, job.linker, cargo,
                                                     rustc)),
                      RUST_TEST_JOB=job)
        return Artifact(component=component.name, kind=component.kind, nodes=[program], program=program, test=True,
                        package_dir=crate_dir)
    program = env.File(f"#build/host/{component.name}/{component.name}")
    if not program.has_builder():  # the first board declares it; the others share the node
        cargo = build.require_tool("cargo", ("cargo",), "to build the Rust tests for the build host")
        build.uses_tool("cargo", cargo)
        job = TestJob(root=build.root, crate_dir=crate_dir, crate_rel=crate_rel, cargo=cargo,
                      features=features, target_dir=build.root / "build" / ".cargo" / "host",
                      offline_config=_offline_config(build))
        env.CargoTest(program, sources, POLYBOARD_BOARD_ID=literal("host"),
                      RUST_TEST_SIGNATURE=signature(("host-test", crate_rel, features)), RUST_TEST_JOB=job)
    return Artifact(component=component.name, kind=component.kind, nodes=[program], program=program,
                    test=True, runner="host", package_dir=crate_dir)


def test_action(target, source, env):
    """Build the crate's test harness; the executable's path comes from cargo's JSON messages."""
    job = env["RUST_TEST_JOB"]
    argv = [job.cargo, "test", "--no-run", "--lib", "--locked", "--message-format=json-render-diagnostics",
            "--manifest-path", str(job.crate_dir / "Cargo.toml")]
    if job.features:
        argv += ["--features", ",".join(job.features)]
    if job.offline_config:
        argv += ["--offline", "--config", job.offline_config]
    child_env = dict(env["ENV"])
    child_env.update({"CARGO_TARGET_DIR": str(job.target_dir), "CARGO_TERM_COLOR": "never",
                      "CARGO_INCREMENTAL": "0"})
    if job.triple:
        argv += ["--target", job.triple]
        triple_key = job.triple.upper().replace("-", "_")
        child_env.update({"RUSTC": job.rustc, f"CARGO_TARGET_{triple_key}_LINKER": job.linker,
                          "CARGO_PROFILE_DEV_PANIC": "unwind"})
        if job.build_std:
            argv.append("-Zbuild-std=std,panic_unwind,test")
            child_env["RUSTC_BOOTSTRAP"] = "1"
    child_env["CARGO_ENCODED_RUSTFLAGS"] = "\x1f".join(_remap_flags(job.root, job.build_std))
    _through_rust_cache(job.rust_cache, argv, child_env, job.target_dir)
    status, messages = run_cargo(argv, child_env, job.crate_dir, _label(target, source, env), job.root,
                                 target_dir=job.target_dir)
    if status != 0:
        return status
    executable = None
    for message in messages:
        if message.get("executable") and message.get("profile", {}).get("test"):
            executable = message["executable"]
    if executable is None:
        sys.stderr.write(f"polyboard: cargo reported no test executable for {job.crate_rel}\n")
        return 1
    out = target[0].abspath
    shutil.copy(executable, out + ".tmp")  # copy keeps the executable bit
    spawn.commit(out + ".tmp", out)
    return 0


# The builders (module-level, as SCons's own tools have them): Python actions whose signature is
# the varlist; the dep-info scanner adds the files cargo read at its last run.
CARGO_BUILDER = Builder(action=Action(cargo_action, "$CARGOCOMSTR", varlist=["RUST_SIGNATURE"]),
                        target_scanner=Scanner(function=_depinfo_scanner, name="cargo-depinfo"))
CARGO_TEST_BUILDER = Builder(action=Action(test_action, "$CARGOCOMSTR", varlist=["RUST_TEST_SIGNATURE"]))


# -- editors (scons ide) ----------------------------------------------------------------------------

@hookimpl
def polyboard_editor_settings(build, components):
    """rust-analyzer's settings for this board's crates: the same target, features, build-std
    and toolchain as the build (rust-analyzer manual, "Configuration": rust-analyzer.linkedProjects,
    rust-analyzer.cargo.target / features / extraArgs / extraEnv / allTargets). VS Code passes
    .vscode/settings.json to the server; other editors pass the same keys without the
    ``rust-analyzer.`` prefix."""
    board = build.board
    crates, features = [], set()
    for component in components:
        if component.kind not in ("rust_staticlib", "rust_program") or component.name not in build.artifacts:
            continue
        crate_rel, crate_dir = _crate(build, component)
        crates.append(f"{crate_rel}/Cargo.toml")
        features.update(requested_features(build, component, crate_dir, crate_rel))
    if not crates:
        return {}
    cargo, rustc = _tools(build)
    settings = {
        "rust-analyzer.linkedProjects": crates,
        "rust-analyzer.cargo.target": board.rust.target,
        "rust-analyzer.cargo.features": sorted(features),
        "rust-analyzer.cargo.allTargets": False,  # tests and benches need std, which a no_std target lacks
        "rust-analyzer.cargo.extraEnv": {"CARGO": cargo, "RUSTC": rustc},
        "rust-analyzer.server.extraEnv": {"CARGO": cargo, "RUSTC": rustc},
    }
    if board.rust.build_std:
        settings["rust-analyzer.cargo.extraArgs"] = ["-Zbuild-std=" + ",".join(board.rust.build_std)]
        settings["rust-analyzer.cargo.extraEnv"]["RUSTC_BOOTSTRAP"] = "1"
    return settings


# -- vendor and verify-deps: the crates of every Rust component, and of the standard library ------

RUST_KINDS = ("rust_staticlib", "rust_program", "rust_test")


def _rust_inputs(builds) -> tuple[list[Path], list[Path], str, str]:
    """The selected boards' Rust crates, the standard library sources build-std compiles for
    them, and the cargo/rustc to vendor them with (the build-std ones when any board uses it)."""
    crates: set[Path] = set()
    libraries: set[Path] = set()
    tools: list[tuple[bool, str, str]] = []
    for build in builds:
        mine = [a.package_dir for a in build.artifacts.values() if a.kind in RUST_KINDS and a.package_dir]
        if not mine:
            continue
        crates.update(mine)
        cargo, rustc = _tools(build) if build.board.rust and build.board.rust.target else ("cargo", "rustc")
        if build.board.rust and build.board.rust.build_std:
            libraries.add(rust_library_src(rustc))
        tools.append((bool(build.board.rust and build.board.rust.build_std), cargo, rustc))
    tools.sort(key=lambda t: not t[0])
    cargo, rustc = (tools[0][1], tools[0][2]) if tools else ("cargo", "rustc")
    return sorted(crates), sorted(libraries), cargo, rustc


def _cargo_env(builds, rustc: str) -> dict:
    env = dict(builds[0].env["ENV"])
    env.update({"RUSTC": rustc, "CARGO_TERM_COLOR": "never", "RUSTC_BOOTSTRAP": "1"})
    return env


def vendor_crates(builds, root: Path) -> int:
    """``scons vendor``: one ``cargo vendor`` into ``vendor/rust`` for every Rust component crate
    AND the standard library's workspace (build-std resolves std's own Cargo.lock): an
    ``offline=1`` build replaces crates.io by that one folder, so it must hold both."""
    crates, libraries, cargo, rustc = _rust_inputs(builds)
    if not crates:
        print("polyboard: vendor: no Rust component on the selected boards")
        return 0
    manifests = [c / "Cargo.toml" for c in crates] + [lib / "Cargo.toml" for lib in libraries]
    out = root / dependencies.VENDOR_RUST
    argv = [cargo, "vendor", "--locked", "--manifest-path", str(manifests[0])]
    for manifest in manifests[1:]:
        argv += ["--sync", str(manifest)]
    result = spawn.run(argv + [str(out)], env=_cargo_env(builds, rustc), cwd=str(root), capture=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise PolyboardError(f"cargo vendor failed (exit status {result.returncode}; its output is above)",
                             where=str(dependencies.VENDOR_RUST))
    count = len(list(out.glob("*/.cargo-checksum.json")))
    names = ", ".join(os.path.relpath(c, root) for c in crates)
    std = f" and the standard library ({', '.join(str(lib) for lib in libraries)})" if libraries else ""
    print(f"polyboard: vendored {count} crates into {dependencies.VENDOR_RUST} for {names}{std}")
    return 0


def _metadata(cargo: str, manifest: Path, env: dict, offline_config: Path | None) -> dict:
    argv = [cargo, "metadata", "--locked", "--format-version", "1", "--manifest-path", str(manifest)]
    if offline_config is not None:
        argv += ["--offline", "--config", str(offline_config)]
    result = spawn.run(argv, env=env, cwd=str(manifest.parent), capture=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise PolyboardError(f"cargo metadata --locked failed for {manifest} (its output is above)", where=str(manifest))
    return json.loads(result.stdout)


def verify_crates(builds, root: Path) -> int:
    """``scons verify-deps`` (Rust part): checksums, then the dependency list of each crate.

    With ``vendor/rust``: every vendored file against its ``.cargo-checksum.json`` and every
    vendored crate against the Cargo.lock files. Without: ``cargo fetch --locked`` downloads (or
    finds in cargo's cache) every pinned crate and checks it against Cargo.lock's checksum."""
    crates, libraries, cargo, rustc = _rust_inputs(builds)
    if not crates:
        return 0
    env = _cargo_env(builds, rustc)
    vendor = root / dependencies.VENDOR_RUST
    offline_config = dependencies.cargo_offline_config(root) if vendor.is_dir() else None
    lockfiles = [lockfile(c, root) for c in crates] + [lib / "Cargo.lock" for lib in libraries]
    if offline_config is not None:
        count, problems = dependencies.verify_vendored_crates(vendor, [p for p in lockfiles if p], root)
        for problem in problems:
            print(f"polyboard: verify-deps: {problem}", file=sys.stderr)
        if problems:
            raise PolyboardError(f"{len(problems)} problem(s) in vendored crates (listed above); restore the "
                                 "files, or vendor again with: scons vendor", where=str(dependencies.VENDOR_RUST))
        print(f"polyboard: verify-deps: {count} vendored crates in {dependencies.VENDOR_RUST} match their "
              ".cargo-checksum.json and the Cargo.lock files")
    else:
        for manifest in [c / "Cargo.toml" for c in crates] + [lib / "Cargo.toml" for lib in libraries]:
            result = spawn.run([cargo, "fetch", "--locked", "--manifest-path", str(manifest)], env=env,
                               cwd=str(manifest.parent), capture=True)
            if result.returncode != 0:
                sys.stderr.write(result.stderr)
                raise PolyboardError("cargo fetch --locked failed: a crate does not match Cargo.lock's checksum, "
                                     "or Cargo.lock is out of date (cargo's output is above)", where=str(manifest))
        print(f"polyboard: verify-deps: every crate pinned by {len(lockfiles)} Cargo.lock file(s) matches its checksum "
              "(cargo fetch --locked)")
    for folder in [*crates, *libraries]:
        locked = lockfile(folder, root) if folder in crates else folder / "Cargo.lock"
        checksums = dependencies.lock_checksums(locked) if locked else {}
        metadata = _metadata(cargo, folder / "Cargo.toml", env, offline_config)
        rows = []
        for package in metadata["packages"]:
            key = (package["name"], package["version"])
            checksum = checksums.get(key, "(path)" if package.get("source") is None else "-")
            rows.append((package["name"], package["version"], checksum, package.get("license") or "-"))
        shown = os.path.relpath(folder, root) if folder.is_relative_to(root) else f"{folder} (standard library, build-std)"
        print(dependencies.dependency_table(f"polyboard: Rust dependencies of {shown} ({len(rows)} packages):", rows))
    return 0
