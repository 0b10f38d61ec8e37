"""Go builder plugin: cgo programs and test binaries for embedded Linux boards.

Component kinds:

* ``go_program(name, package_dir="src/app", package=".", libs=[components])``:
  ``go build`` -> ``build/<board>/<name>``;
* ``go_test(name, package_dir="src/app", package="./kern", libs=[components])``:
  ``go test -c`` -> ``build/<board>/<name>``, a test binary that ``scons test`` runs (``-test.v``)
  under the board's emulator.

``package_dir`` is a directory inside the Go module (its ``go.mod`` is found upwards), ``package``
is relative to it. ``libs`` are earlier components with a ``library`` (e.g. ``rust_staticlib``):
polyboard gives cgo everything it needs to use them (``-I`` of their include folders in
``CGO_CFLAGS``, ``-L<folder> -l<name>`` in ``CGO_LDFLAGS``), so the Go source needs only
``#include "<header>.h"``; their headers are dependencies.

The target comes from the board: GOOS/GOARCH/GOARM from ``[go]`` (GOARM gets ``,softfloat`` when
``cpu.float_abi = "soft"``, the same float ABI that picks the C flags and the Rust target),
``CC=<c.prefix>gcc``, ``CGO_CFLAGS`` from the CPU and ``[c] cflags``, build tags from ``go.tags``
plus the ``tags=a,b`` option; the CPU flags are ``build.cpu_flags`` (the ``polyboard_cpu_flags``
hook, answered by the C toolchain plugin). Bare-metal boards are handed to the plugin that
answers ``polyboard_go_backend`` (the TinyGo plugin); without one they skip with the reason.

What SCons sees (computed at read time from files, no ``go list``): go.mod/go.sum, the package's
``.go``/``.c``/``.h``/``.s`` files (``_test.go`` only for go_test) and those of every package of
the same module it imports, transitively (imports are read with a regular expression, which can
only over-approximate); the libraries' nodes and their include directories' headers.
Go's cache does not notice a changed C library (``go help cache``): the libraries' content hash
goes into ``-ldflags`` (see go_argv), so a new ``libkernel.a`` relinks the program, and only
relinks it; ``CGO_LDFLAGS`` names the libraries' own folders and stays the same.

Also an SCons tool (:func:`generate`/:func:`exists`): the ``Go`` builder. go's argument vector is
built by Python at build time (``-p`` from the job tokens it holds), so there is no command
template to override; ``$GOCOMSTR`` (``go build``) and ``$GOTESTCOMSTR`` (``go test -c``) are its
display strings.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import attrs
from SCons.Action import Action
from SCons.Builder import Builder

from polyboard import PolyboardError, Skip, dependencies, hookimpl, jobs, profiles, spawn
from polyboard.component_options import option
from polyboard.board_files import GO_TAG_PATTERN
from polyboard.context import Artifact
from polyboard.errors import action_error
from polyboard.go_env import GoPackage, cgo_flag_list, content_hash, link_name, stage_library, tool_env  # noqa: F401
from polyboard.scons_data import literal, node_name

GO_SOURCE_SUFFIXES = (".go", ".c", ".h", ".s", ".S", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".syso")
MODULE_FILES = ("go.mod", "go.sum")
HEADER_SUFFIXES = (".h", ".hh", ".hpp")
TEST_RUN_ARGS = ("-test.v",)

_MODULE_LINE = re.compile(r'^\s*module\s+"?([^"\s]+)"?', re.M)
_IMPORT_BLOCK = re.compile(r'^import\s*\((.*?)\)', re.S | re.M)
_IMPORT_SINGLE = re.compile(r'^import\s+(?:[\w.]+\s+)?"([^"]+)"', re.M)
_QUOTED = re.compile(r'"([^"\n]+)"')


def generate(env) -> None:
    """SCons tool: ``env.Go(target, sources, GO_JOB=..., GO_SIGNATURE=..., GOCOMSTR=...)``."""
    env.SetDefault(GOCOMSTR="GO      [$POLYBOARD_BOARD_ID] $TARGET",
                   GOTESTCOMSTR="GOTEST  [$POLYBOARD_BOARD_ID] $TARGET",
                   # profile release/size: the shipped program without symbols or debug sections
                   # (what go's -ldflags=-s -w would give), from the <name>.debug go linked
                   GOSTRIPCOM="$OBJCOPY --strip-all $SOURCE ${TARGET}.tmp",
                   GOSTRIPCOMSTR="STRIP   [$POLYBOARD_BOARD_ID] $TARGET")
    env.Append(BUILDERS={"Go": GO_BUILDER, "GoStrip": GO_STRIP_BUILDER})


def exists(env) -> bool:
    """SCons tool: whether go is on the environment's PATH (no process started)."""
    return shutil.which("go", path=env["ENV"].get("PATH")) is not None


@hookimpl
def polyboard_configure_board(build):
    if not build.board.bare_metal:
        build.env.Tool(generate)


@hookimpl
def polyboard_register(registry):
    go_options = [
        option("package_dir", "string", "a folder inside the Go module (its go.mod is found upwards), "
               "tree-relative", "src/app"),
        option("package", "string", "the package to build, relative to `package_dir`", "."),
        option("libs", "components", "libraries for cgo (e.g. a `rust_staticlib`): polyboard passes their "
               "include folder, `-L` and `-l`, so the Go source needs only the `#include`", []),
        profiles.COMPONENT_OPTION,
    ]
    registry.add_component_kind("go_program", declare_program, help="a Go (cgo) program for an embedded Linux board",
                                options=go_options)
    registry.add_component_kind("go_test", declare_test, help="a Go package's test binary (go test -c)",
                                options=go_options)
    registry.add_option("tags", "comma-separated Go build tags added to every board's go.tags", check=check_tags)
    registry.add_option("go", "the go command to use (default: go on PATH)")
    registry.add_verb("vendor", vendor_modules, help="go mod vendor every Go module (and list its files' sha256)")
    registry.add_verb("verify-deps", verify_modules, help="go mod verify every Go module and list its modules")


# -- pure functions (unit-tested in tests/test_go_builder.py) ---------------------------------------

def goarm(board) -> str:
    """GOARM for the board: the float ABI decides hard or soft float, as it does for C and Rust."""
    if board.go.goarch != "arm":
        return ""
    return board.go.goarm + (",softfloat" if board.cpu.float_abi == "soft" else "")


def cgo_cflags(board, cpu_flags) -> list[str]:
    """The board's CPU flags (``build.cpu_flags``) and C flags for cgo, without its warning flags
    (``-W...``): cgo compiles every cgo package with them, third-party modules' bundled C included,
    and a board's ``-Wall -Wextra`` is for the tree's own C code. ``-Wa,``/``-Wl,``/``-Wp,`` pass
    options on."""
    return [*cpu_flags, *(f for f in board.c.cflags if not _is_warning_flag(f))]


def _is_warning_flag(flag: str) -> bool:
    return flag.startswith("-W") and not flag.startswith(("-Wa,", "-Wl,", "-Wp,"))


def check_tags(text: str) -> None:
    """The ``tags=`` option: comma-separated Go build tags (letters, digits, ``_`` and ``.``)."""
    for tag in (t.strip() for t in text.split(",")):
        if tag and not GO_TAG_PATTERN.fullmatch(tag):
            raise PolyboardError(f"{tag!r} is not a Go build tag (letters, digits, '_' and '.')")


def build_tags(board, option: str, switched: list[str] = ()) -> list[str]:
    """The board's go.tags, the command line's ``tags=a,b``, then the tags plugins switched on
    (``build.go_tags``), without duplicates."""
    tags: list[str] = []
    for tag in [*board.go.tags, *option.split(","), *switched]:
        tag = tag.strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def target_env(board, cpu_flags=()) -> dict[str, str]:
    """The Go environment that selects the target (no paths: it is part of the action signature)."""
    env = {
        "CGO_ENABLED": "1",
        "GOOS": board.go.goos,
        "GOARCH": board.go.goarch,
        "CC": f"{board.c.prefix}gcc",
        "CGO_CFLAGS": cgo_flag_list(cgo_cflags(board, cpu_flags), f"board {board.id} ({board.path})"),
    }
    if board.go.goarch == "arm":
        env["GOARM"] = goarm(board)
    return env


def go_argv(go: str, mode: str, output: str, package: str, tags: list[str], parallel: int,
            link_inputs: str = "", flags: tuple = ()) -> list[str]:
    """``go build`` or ``go test -c`` writing *output*; always ``-trimpath``, no VCS stamping.

    *link_inputs* (the C libraries' content hash) goes into the link flags: Go's cache does not
    see C libraries, and a changed flag makes it relink, and only relink (a changed CGO_LDFLAGS
    would recompile every cgo package, runtime/cgo included). ``-X`` names no variable that
    exists, so the bytes do not carry the hash."""
    argv = [go, "test", "-c"] if mode == "test" else [go, "build"]
    # -buildid= : the build ID hashes the action's inputs, including CGO_LDFLAGS with the tree's
    # absolute library path; without it the bytes depend only on the sources.
    ldflags = "-buildid=" + (f" -X=main.polyboardLinkInputs={link_inputs}" if link_inputs else "")
    argv += ["-trimpath", "-buildvcs=false", f"-ldflags={ldflags}", "-p", str(max(1, parallel))]
    if tags:
        argv += ["-tags", ",".join(tags)]
    return argv + [*flags, "-o", output, package]


def module_root(start: Path, tree: Path) -> Path | None:
    """The directory holding the go.mod that *start* belongs to (not above *tree*)."""
    here = start
    while True:
        if (here / "go.mod").is_file():
            return here
        if here == tree or here.parent == here:
            return None
        here = here.parent


def module_path(go_mod: Path) -> str:
    match = _MODULE_LINE.search(go_mod.read_text(encoding="utf-8"))
    return match.group(1) if match else ""


def imports_of(text: str) -> set[str]:
    found = set(_IMPORT_SINGLE.findall(text))
    for block in _IMPORT_BLOCK.findall(text):
        found.update(_QUOTED.findall(block))
    return found


def package_files(module_dir: Path, package_dir: Path, *, tests: bool) -> list[Path]:
    """The files a build of *package_dir* reads from the module: its own sources and those of the
    module's packages it imports, transitively; plus go.mod/go.sum (and vendor/, if present)."""
    modpath = module_path(module_dir / "go.mod")
    files: set[Path] = {module_dir / name for name in MODULE_FILES if (module_dir / name).is_file()}
    queue, seen = [package_dir], {package_dir}
    while queue:
        directory = queue.pop()
        with_tests = tests and directory == package_dir  # tests of imported packages are not compiled
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            continue
        embeds = False
        for path in entries:
            if not path.is_file() or not path.name.endswith(GO_SOURCE_SUFFIXES):
                continue
            if path.name.endswith("_test.go") and not with_tests:
                continue
            files.add(path)
            if path.suffix != ".go":
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            embeds = embeds or "//go:embed" in text
            for imported in imports_of(text):
                if modpath and (imported == modpath or imported.startswith(modpath + "/")):
                    local = module_dir / imported[len(modpath):].lstrip("/")
                    if local.is_dir() and local not in seen:
                        seen.add(local)
                        queue.append(local)
        if embeds:  # //go:embed may name any file below the package: take them all
            for root, dirs, names in os.walk(directory):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
                files.update(Path(root) / n for n in names)
    vendor = module_dir / "vendor"
    if vendor.is_dir():
        for root, _, names in os.walk(vendor):
            files.update(Path(root) / n for n in names)
    return sorted(files)


def header_files(include_dirs: list[Path]) -> list[Path]:
    found = []
    for include in include_dirs:
        for root, dirs, names in os.walk(include):
            dirs.sort()
            found += [Path(root) / n for n in sorted(names) if n.endswith(HEADER_SUFFIXES)]
    return found


def go_version(go_path: str) -> str:
    """The Go release from ``$GOROOT/VERSION`` (a file read; a null build starts no process)."""
    version_file = Path(go_path).resolve().parent.parent / "VERSION"
    try:
        return version_file.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return "unknown"


# -- declaration ------------------------------------------------------------------------------------

def locate_package(build, component) -> tuple[Path, Path, str]:
    """The component's Go module folder, package folder, and package argument (``./kern``),
    from ``package_dir=`` and ``package=``, all inside the tree."""
    options = component.options
    where = f"SConstruct: {component.kind} {component.name!r}"
    package_rel = options.get("package_dir", "src/app")
    package_dir = build.source(package_rel, key=where)
    if not package_dir.is_dir():
        raise PolyboardError(f"package_dir {package_rel!r} is not a directory", where=where)
    module_dir = module_root(package_dir, build.root.resolve())
    if module_dir is None:
        raise PolyboardError(f"no go.mod in {package_rel!r} or above it inside the tree", where=where)
    package = options.get("package", ".")
    target_package = (package_dir / package).resolve()
    if not target_package.is_dir() or not target_package.is_relative_to(module_dir):
        raise PolyboardError(f"package {package!r} is not a directory of the module in {package_rel!r}", where=where)
    package_arg = "./" + os.path.relpath(target_package, module_dir) if target_package != module_dir else "."
    return module_dir, target_package, package_arg


@attrs.frozen
class GoJob:
    """What one go action needs at build time (not its signature: that is GO_SIGNATURE)."""

    build: object
    mode: str
    go: str
    module_dir: Path
    package: str
    tags: tuple
    libs: tuple      # SCons nodes of the static libraries
    include_dirs: tuple = ()  # their header folders (absolute), for CGO_CFLAGS
    flags: tuple = ()  # build.go_flags: switched on by plugins (coverage=1: -cover)
    shipped: str = ""  # the stripped program made from this one (profile release/size): gone if this fails


def go_package(build, component, mode: str) -> GoPackage:
    """What a Go component builds on this board: the package, its tags, its libraries and every
    file SCons watches for it; also what a backend for other boards (TinyGo) is given."""
    board = build.board
    env = build.env
    where = f"SConstruct: {component.kind} {component.name!r}"
    module_dir, target_package, package_arg = locate_package(build, component)
    libs = [build.dependency(lib, f"{component.kind} {component.name!r}")
            for lib in component.options.get("libs", [])]
    for lib in libs:
        if lib.library is None:
            raise PolyboardError(f"libs: {lib.component!r} is a {lib.kind}, not a library", where=where)
    tags = build_tags(board, build.options.get("tags", ""), build.go_tags) if board.go is not None else []
    sources = [env.File(node_name(p)) for p in package_files(module_dir, target_package, tests=mode == "test")]
    include_dirs = [Path(d.abspath) for lib in libs for d in lib.include_dirs]
    sources += [env.File(node_name(p)) for p in header_files(include_dirs)]
    sources += [lib.library for lib in libs]
    return GoPackage(module_dir=module_dir, package_dir=target_package, package=package_arg, tags=tuple(tags),
                     libs=tuple(libs), sources=tuple(sources))


def _declare(build, component, mode: str) -> Artifact:
    board = build.board
    if board.bare_metal:
        backend = build.hooks.go_backend(build) if build.hooks is not None else None
        if backend is None:
            raise Skip("Go needs TinyGo on a microcontroller and no TinyGo plugin is installed")
        return backend(build, component, mode, go_package(build, component, mode))
    if board.go is None:
        raise Skip(f"the board has no [go] table in {board.path}")
    env = build.env
    package = go_package(build, component, mode)
    module_dir, package_arg, libs, tags = package.module_dir, package.package, package.libs, list(package.tags)
    go = build.require_tool(build.options.get("go") or "go", ("golang-go",), f"to build Go for board {board.id}")
    build.uses_tool("go", go, version_argv=[go, "version"])
    strip = mode != "test" and build.profile.strip
    refinement = profiles.component_refinement(build, component)  # its go_flags after every plugin's
    flags = (*build.go_flags, *(refinement.go_flags if refinement is not None else ()))
    job = GoJob(build=build, mode=mode, go=go, module_dir=module_dir, package=package_arg, tags=tuple(tags),
                libs=package.libraries, include_dirs=package.include_dirs, flags=flags,
                shipped=str(build.abspath(component.name)) if strip else "")
    command_line = go_argv("go", mode, "$TARGET", package_arg, tags, 1, flags=job.flags)  # the flags, not the paths
    signature_text = repr((go_version(go), target_env(board, build.cpu_flags), command_line, os.path.relpath(module_dir, build.root),
                      [os.path.basename(str(lib.library)) for lib in libs]))
    # A program shipped stripped (profile release/size) is linked as <name>.debug, which keeps the
    # symbols and DWARF that the ABI check, the size attribution and gdb read; <name> is its copy
    # without them. Go's own -ldflags=-s -w would leave no file with symbols at all.
    linked = build.path(component.name + (".debug" if strip else ""))
    nodes = env.Go(linked, list(package.sources), GO_SIGNATURE=literal(signature_text),
                   GO_JOB=job, GO_DISPLAY="$GOTESTCOMSTR" if mode == "test" else "$GOCOMSTR")
    if build.go_cache is not None:  # remote_cache=: go runs with the GOCACHEPROG helper, built first
        env.Requires(nodes, build.go_cache.helper(env, go, go_version(go)))
    if mode == "test":
        return Artifact(component=component.name, kind=component.kind, nodes=list(nodes), program=nodes[0],
                        test=True, args=list(TEST_RUN_ARGS), package_dir=module_dir)
    extra = build.after_link(component.name, nodes[0])
    # The shipped program is objcopy's output in release and size: pinned like the compiler
    # (toolchains.lock), in every profile, so that one lock serves them all.
    objcopy = str(env["OBJCOPY"])
    build.uses_tool(objcopy, build.require_tool(objcopy, board.c.packages, f"to strip {component.name}"))
    program, symbols = nodes[0], None
    if strip:
        program, symbols = env.GoStrip(build.path(component.name), nodes[0])[0], nodes[0]
    return Artifact(component=component.name, kind=component.kind, nodes=[program, *nodes, *extra], program=program,
                    symbols=symbols,
                    debug_sources=[(module_path(module_dir / "go.mod"), str(module_dir))],  # -trimpath names
                    package_dir=module_dir)


def declare_program(build, component):
    return _declare(build, component, "build")


def declare_test(build, component):
    return _declare(build, component, "test")


# -- the action -------------------------------------------------------------------------------------

def go_action(target, source, env):
    """Run go build / go test -c into ``$TARGET.tmp`` and rename; on failure remove the old target."""
    job = env["GO_JOB"]
    build, board = job.build, job.build.board
    out = target[0].abspath
    tmp = out + ".tmp"
    child_env = dict(env["ENV"])
    child_env.update(target_env(board, build.cpu_flags))
    # What cgo needs for each library in libs=, so the Go source needs only its #include: the
    # headers' folder, the library's folder and its -l name (through the environment: go checks
    # #cgo lines against an allow-list that refuses a checkout path with a space or a quote).
    include_flags = [f"-I{d}" for d in job.include_dirs]
    child_env["CGO_CFLAGS"] += " " + cgo_flag_list([*include_flags, f"-ffile-prefix-map={build.root}=."],
                                                    "the checkout path")
    lib_dirs = sorted({os.path.dirname(node.abspath) for node in job.libs})
    lib_names = [link_name(node.abspath) for node in job.libs]
    link_inputs = "".join(content_hash(node.abspath) for node in job.libs)
    child_env.update(tool_env(build.root, job.module_dir, offline=build.offline))
    edited = dependencies.verify_go_vendor(job.module_dir, build.root)  # go itself never checks vendor/
    if edited is not None:
        raise action_error(edited)
    child_env["CGO_LDFLAGS"] = cgo_flag_list([*(f"-L{d}" for d in lib_dirs), *(f"-l{n}" for n in lib_names)],
                                             "the checkout path")
    if build.go_cache is not None:
        child_env["GOCACHEPROG"] = build.go_cache.environment()
    if os.path.exists(tmp):
        os.remove(tmp)
    # go has no jobserver client: it gets -p equal to the job tokens it could take at start.
    with jobs.tokens(extra_wanted=jobs.size() - 1) as held:
        argv = go_argv(job.go, job.mode, tmp, job.package, list(job.tags), held, link_inputs, job.flags)
        what = "test binary" if job.mode == "test" else "program"
        status = spawn.produce(argv, env=child_env, cwd=str(job.module_dir), temporary=tmp, target=out,
                               nothing=f"go wrote no {what} for {job.package} (no test files?)")
    if status != 0 and job.shipped and os.path.exists(job.shipped):
        os.remove(job.shipped)  # the stripped copy of the program that failed must not survive it either
    return status


GO_BUILDER = Builder(action=Action(go_action, "$GO_DISPLAY", varlist=["GO_SIGNATURE"]))
GO_STRIP_BUILDER = Builder(action=spawn.committed("$GOSTRIPCOM", "$GOSTRIPCOMSTR"))


# -- editors (scons ide) ----------------------------------------------------------------------------

@hookimpl
def polyboard_editor_settings(build, components):
    """gopls's environment for this board: GOOS/GOARCH/GOARM, cgo's compiler and flags and the
    Rust libraries' folders, so gopls type-checks the cgo files as this board's build does
    (gopls settings: ``build.env``; the VS Code Go extension: ``go.toolsEnvVars``)."""
    board = build.board
    if board.go is None or board.bare_metal:
        return {}
    go_components = [c for c in components if c.kind in ("go_program", "go_test") and c.name in build.artifacts]
    if not go_components:
        return {}
    env = target_env(board, build.cpu_flags)
    names = {lib if isinstance(lib, str) else lib.name for c in go_components for lib in c.options.get("libs", [])}
    artifacts = [build.artifacts[n] for n in sorted(names) if n in build.artifacts]
    libraries = [a.library for a in artifacts if a.library is not None]
    # what go_action gives cgo for libs= (the Go files carry no #cgo lines for them)
    includes = [f"-I{d.abspath}" for a in artifacts for d in a.include_dirs]
    env["CGO_CFLAGS"] += " " + cgo_flag_list([*includes, f"-ffile-prefix-map={build.root}=."], "the checkout path")
    env["CGO_LDFLAGS"] = cgo_flag_list([*(f"-L{os.path.dirname(lib.abspath)}" for lib in libraries),
                                        *(f"-l{link_name(lib.abspath)}" for lib in libraries)], "the checkout path")
    tags = build_tags(board, build.options.get("tags", ""), build.go_tags)
    if tags:
        env["GOFLAGS"] = "-tags=" + ",".join(tags)
    env = {k: v for k, v in env.items() if v}
    return {"gopls": {"build.env": env}, "go.toolsEnvVars": env}


# -- vendor and verify-deps -------------------------------------------------------------------------

GO_KINDS = ("go_program", "go_test")


def _go_modules(builds) -> tuple[list[Path], str]:
    modules, go = set(), ""
    for build in builds:
        for artifact in build.artifacts.values():
            if artifact.kind in GO_KINDS and artifact.package_dir is not None:
                modules.add(artifact.package_dir)
                go = go or build.require_tool(build.options.get("go") or "go", ("golang-go",), "to vendor Go modules")
    return sorted(modules), go


def _go_env(builds, root: Path, module_dir: Path, mode: str | None) -> dict:
    env = dict(builds[0].env["ENV"])
    env.update(tool_env(root, module_dir, offline=builds[0].offline))
    env["GOFLAGS"] = "-modcacherw" + (f" -mod={mode}" if mode else "")
    return env


def vendor_modules(builds, root: Path) -> int:
    """``scons vendor``: ``go mod vendor`` in every Go module, then ``vendor/polyboard.sha256``
    (go never checks vendored files; every Go build then does, see go_action)."""
    modules, go = _go_modules(builds)
    for module_dir in modules:
        shown = os.path.relpath(module_dir, root)
        result = spawn.run([go, "mod", "vendor"], env=_go_env(builds, root, module_dir, None), cwd=str(module_dir),
                           capture=True)
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            raise PolyboardError(f"go mod vendor failed (exit status {result.returncode}; its output is above)",
                                 where=shown)
        if (module_dir / "vendor").is_dir():
            count = dependencies.write_go_vendor_sum(module_dir)
            print(f"polyboard: vendored the Go dependencies of {shown} into {shown}/vendor "
                  f"({count} files, listed in vendor/{dependencies.GO_VENDOR_SUM})")
        else:
            print(f"polyboard: {shown}: no Go dependencies to vendor")
    return 0


def _license(directory: str) -> str:
    """The first line of a module's LICENSE file, when the module's files are at hand."""
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING"):
        path = Path(directory) / name if directory else None
        if path is not None and path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    return line.strip()[:40]
    return "-"


def verify_modules(builds, root: Path) -> int:
    """``scons verify-deps`` (Go part): the vendored files against vendor/polyboard.sha256, or
    ``go mod verify`` (the module cache against go.sum); then every module of the build list."""
    modules, go = _go_modules(builds)
    for module_dir in modules:
        shown = os.path.relpath(module_dir, root)
        vendored = (module_dir / "vendor").is_dir()
        if vendored:
            edited = dependencies.verify_go_vendor(module_dir, root)
            if edited is not None:
                raise edited
            print(f"polyboard: verify-deps: {shown}/vendor matches vendor/{dependencies.GO_VENDOR_SUM}")
        else:
            result = spawn.run([go, "mod", "verify"], env=_go_env(builds, root, module_dir, "readonly"),
                               cwd=str(module_dir), capture=True)
            if result.returncode != 0:
                sys.stderr.write(result.stdout + result.stderr)
                raise PolyboardError("go mod verify found modules that do not match go.sum (its output is above)",
                                     where=f"{shown}/go.sum")
            print(f"polyboard: verify-deps: {shown}: go mod verify: {result.stdout.strip()}")
        sums = {}
        go_sum = module_dir / "go.sum"
        if go_sum.is_file():
            for line in go_sum.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) == 3 and not parts[1].endswith("/go.mod"):
                    sums[(parts[0], parts[1])] = parts[2]
        rows = []
        for raw in _vendored_modules(module_dir) if vendored else _listed_modules(go, builds, root, module_dir):
            version = raw.get("Version", "(main module)" if raw.get("Main") else "-")
            replace = raw.get("Replace")
            checksum = sums.get((raw["Path"], raw.get("Version", "")), "(in the tree)" if raw.get("Main") or (
                replace and not replace.get("Version")) else "-")
            rows.append((raw["Path"], version, checksum, _license((replace or raw).get("Dir", ""))))
        print(dependencies.dependency_table(f"polyboard: Go modules of {shown} ({len(rows)} modules):", rows))
    return 0


def _listed_modules(go: str, builds, root: Path, module_dir: Path) -> list[dict]:
    result = spawn.run([go, "list", "-m", "-json", "all"], env=_go_env(builds, root, module_dir, "readonly"),
                       cwd=str(module_dir), capture=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise PolyboardError("go list -m all failed (its output is above)", where=os.path.relpath(module_dir, root))
    return _json_stream(result.stdout)


def _vendored_modules(module_dir: Path) -> list[dict]:
    """The build list of a vendored module, from vendor/modules.txt (``go list -m all`` refuses
    vendor mode), in ``go list -m -json``'s shape."""
    found = [{"Path": module_path(module_dir / "go.mod"), "Main": True, "Dir": str(module_dir)}]
    for line in (module_dir / "vendor" / "modules.txt").read_text(encoding="utf-8").splitlines():
        if not line.startswith("# "):
            continue
        parts = line[2:].split()
        if len(parts) > 1 and parts[1] == "=>" and any(m["Path"] == parts[0] for m in found):
            continue  # the replacement's own line, after the module's
        entry = {"Path": parts[0], "Version": parts[1] if len(parts) > 1 and parts[1] != "=>" else ""}
        if "=>" in parts:
            target = parts[parts.index("=>") + 1:]
            entry["Replace"] = {"Path": target[0], "Version": target[1] if len(target) > 1 else "",
                                "Dir": str((module_dir / target[0]).resolve()) if len(target) == 1 else ""}
        entry["Dir"] = str(module_dir / "vendor" / parts[0])
        found.append(entry)
    return found


def _json_stream(text: str) -> list[dict]:
    """``go list -json`` prints one JSON object after another."""
    import json

    decoder, found, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return found
        value, at = decoder.raw_decode(text, at)
        found.append(value)
