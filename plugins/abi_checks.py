"""ABI checks plugin: the float ABI, struct layouts and function signatures that C, Rust and Go
share, checked at build time from the objects themselves (docs/abi.md).

For each linked program (``polyboard_after_link``) it declares SCons nodes with Python actions:

* ``abi/<program>.float-abi.txt`` (ARM boards): every object and archive member given to the link
  carries the board's ``Tag_ABI_VFP_args`` (or ELF float flags); an archive's members are read
  once per board into ``abi/float/<archive>.float-abi.json``. The link depends on it, so a
  mismatch stops the build before GNU ld refuses the objects with a less helpful message.
* ``abi/<lib>.probe.o``: the board's C compiler's view of a Rust staticlib's headers (its
  ``include/`` folder), compiled from a generated C file that references every struct and
  function the headers declare (GCC's ``-aux-info`` lists the functions).
* ``abi/<lib>.layouts.json``: the headers' structs and functions as the probe and the Rust
  staticlib (``#[repr(C)]`` structs, ``#[no_mangle]`` functions) record them in DWARF, read once
  per board and library (every program linking it shares it).
* ``<program>.abi.json`` (the ABI record): those layouts compared with each other and with the C
  objects of a ``c_firmware`` (before the link) or cgo's view inside a Go program (after the
  link; a failure then deletes the program, as the memory report does); and which checks ran.

A null build runs none of this (the nodes are up to date); a node re-runs only when one of its
inputs changed. Each check is ``error``, ``warn`` or ``off``: the board's ``[checks]`` table, then
the ``checks=`` option; the record says which checks ran and why one did not. ``scons abi-diff
baseline=MANIFEST`` compares the records and memory maps with an earlier manifest
(:mod:`polyboard.abi_changelog`).
Reading DWARF and ELF lives in :mod:`polyboard.abi`, imported by the actions that read (a build that
runs no check does not pay for its import).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from SCons.Action import Action

from polyboard import PolyboardError, hookimpl, manifest, spawn
from polyboard.board import CHECK_NAMES
from polyboard.scons_data import node_name, signature

MODES = ("error", "warn", "off")
OBJECT_SUFFIXES = (".o", ".obj")
ARCHIVE_SUFFIXES = (".a",)


@hookimpl
def polyboard_register(registry):
    registry.add_option("checks", "ABI checks to change, as check=mode,... (checks: "
                        f"{', '.join(CHECK_NAMES)}, or all; modes: {', '.join(MODES)}); default: the "
                        "board's [checks], else error", check=parse_checks)
    registry.add_option("baseline", "with abi-diff: a manifest.json (one board's or build/manifest.json) of an "
                        "earlier build, whose ABI records and memory maps this build's are compared with",
                        shared=True)
    registry.add_option("fail_on", f"with abi-diff: {' or '.join(FAIL_ON)} (default nothing): breaking makes "
                        "abi-diff exit 1 when the ABI or memory map changed incompatibly", check=_check_fail_on)
    registry.add_verb(ABI_DIFF, print_abi_diff, help="what changed in the ABI and memory map since "
                      "baseline=MANIFEST, compatible or breaking (format=markdown, fail_on=breaking)")


ABI_DIFF = "abi-diff"
FAIL_ON = ("nothing", "breaking")
DIFF_OUTPUTS = ("abi-diff.txt", "abi-diff.md", "abi-diff.json")


def _check_fail_on(value: str) -> None:
    if value and value not in FAIL_ON:
        raise PolyboardError(f"abi-diff fails on {' or '.join(FAIL_ON)}; choose one of {', '.join(FAIL_ON)}",
                             where=f"fail_on={value}")


def parse_checks(text: str) -> dict[str, str]:
    """``float_abi=off,struct_layout=warn`` -> {check: mode}; ``all=mode`` sets every check."""
    modes: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, mode = item.partition("=")
        if name != "all" and name not in CHECK_NAMES:
            raise PolyboardError(f"unknown check {name!r}; valid checks: {', '.join(CHECK_NAMES)}, all",
                                 where=f"checks={text}")
        if not sep or mode not in MODES:
            raise PolyboardError(f"check {name!r} needs a mode: {name}=error, {name}=warn or {name}=off",
                                 where=f"checks={text}")
        for check in (CHECK_NAMES if name == "all" else (name,)):
            modes[check] = mode
    return modes


def check_modes(build) -> dict[str, str]:
    modes = {name: getattr(build.board.checks, name) for name in CHECK_NAMES}
    modes.update(parse_checks(build.options.get("checks", "")))
    return modes


# -- declaration ------------------------------------------------------------------------------------

def check_origins(build) -> dict[str, str]:
    """Where each check's mode comes from, for the manifest: the option, the board file, the default."""
    given = parse_checks(build.options.get("checks", ""))
    return {name: "checks= option" if name in given else
            f"{build.board.path} [checks]" if getattr(build.board.checks, name) != "error" else "default"
            for name in CHECK_NAMES}


def _check_entry(mode: str, origin: str, skipped: str = "") -> dict:
    entry = {"mode": mode, "from": origin, "ran": mode != "off" and not skipped}
    if mode == "off":
        entry["skipped"] = f"switched off ({origin})"
    elif skipped:
        entry["skipped"] = skipped
    return entry


_ACTIONS: dict = {}
ABI_DISPLAY = "ABI     [$POLYBOARD_BOARD_ID] $TARGET"


def _actions() -> dict:
    """One SCons action per kind of check, shared by every board and program: SCons signs a
    Python action by reading its function's code, about a millisecond per Action created,
    which five per program made a visible part of a many-board null build."""
    if not _ACTIONS:
        _ACTIONS.update(
            float=Action(float_abi_action, ABI_DISPLAY, varlist=["ABI_FLOAT_SIGNATURE"]),
            layout=Action(layout_action, ABI_DISPLAY, varlist=["ABI_LAYOUT_SIGNATURE"]),
            archive_float=Action(archive_float_abi_action, ABI_DISPLAY),
            library_layouts=Action(library_layouts_action, ABI_DISPLAY, varlist=["ABI_CRATE_SIGNATURE"]),
            probe=Action(probe_action, ABI_DISPLAY, varlist=["ABI_PROBE_SIGNATURE"]))
    return _ACTIONS


@hookimpl
def polyboard_after_link(build, component, elf):
    modes = check_modes(build)
    origins = check_origins(build)
    env = build.env
    inputs = [s for s in elf.sources if str(s).endswith(OBJECT_SUFFIXES + ARCHIVE_SUFFIXES)]
    before_link = any(str(s).endswith(OBJECT_SUFFIXES) for s in inputs)  # c_firmware: objects + libs
    nodes = []
    board = build.board
    checks = {}  # what ran, or why not: the ABI record says it (docs/abi.md)
    if board.cpu.arch != "arm":
        checks["float_abi"] = _check_entry(modes["float_abi"], origins["float_abi"],
                                           f"not an ARM board ({board.cpu.arch})")
    elif not inputs:
        checks["float_abi"] = _check_entry(modes["float_abi"], origins["float_abi"],
                                           "no object or archive of the tree is linked")
    else:
        checks["float_abi"] = _check_entry(modes["float_abi"], origins["float_abi"])
    if checks["float_abi"]["ran"]:
        check = env.Command(
            build.path("abi", f"{component}.float-abi.txt"),
            [archive_float_abi(build, s) if str(s).endswith(ARCHIVE_SUFFIXES) else s for s in inputs],
            _actions()["float"],
            ABI_FLOAT_SIGNATURE=signature((board.cpu.float_abi, modes["float_abi"])),
            POLYBOARD_BOARD=board, ABI_MODE=modes["float_abi"], POLYBOARD_CHECK=1)
        env.Depends(elf, check)  # before the link: GNU ld's own refusal is less clear
        nodes += check
    sources = {str(s) for s in elf.sources}
    libraries = [a for a in build.artifacts.values()
                 if a.library is not None and a.include_dirs and str(a.library) in sources]
    for name in ("struct_layout", "function_signature"):
        checks[name] = _check_entry(modes[name], origins[name],
                                    "" if libraries else "no library linked into it has a C header (include/)")
    compare = checks["struct_layout"]["ran"] or checks["function_signature"]["ran"]
    if compare:
        layouts = [library_layouts(build, artifact) for artifact in libraries]
        objects = [s for s in inputs if str(s).endswith(OBJECT_SUFFIXES)]
        program = [] if before_link else [elf]
        check_sources = [*layouts, *objects, *program]
    else:  # the record still says which checks ran; written after the link, from nothing it reads
        libraries, check_sources = [], [elf]
    check = env.Command(
        build.path(f"{component}{manifest.ABI_RECORD_SUFFIX}"), check_sources,
        _actions()["layout"],
        ABI_LAYOUT_SIGNATURE=signature((modes["struct_layout"], modes["function_signature"], before_link,
                                        len(libraries), checks)),
        POLYBOARD_BOARD=board, ABI_MODES=modes, ABI_PROGRAM=None if before_link or not compare else elf,
        ABI_LIBRARIES=len(libraries), ABI_COMPONENT=component, ABI_CHECKS=checks,
        POLYBOARD_CHECK=1)
    if before_link and compare:
        env.Depends(elf, check)
    nodes += check
    return nodes


ARCHIVE_FLOAT_SUFFIX = ".float-abi.json"


def archive_float_abi(build, archive):
    """``abi/float/<archive>.float-abi.json``: each member's float ABI, read once per archive
    (declared once): the programs that link a staticlib share it, so a Rust edit reads the
    archive's members once per board, not once per program."""
    env = build.env
    relative = os.path.relpath(archive.abspath, str(build.abspath()))
    if relative.startswith(os.pardir):  # an archive from outside the board's build folder
        relative = os.path.join("outside", os.path.basename(archive.abspath))
    target = env.File(build.path("abi", "float", relative + ARCHIVE_FLOAT_SUFFIX))
    if not target.has_builder():
        env.Command(target, archive, _actions()["archive_float"])
    return target


def archive_float_abi_action(target, source, env):
    from polyboard import abi  # ELF and DWARF: imported when a check runs, not at start-up

    members = [[label, found.abi, found.detail]
               for label, data in abi.elf_inputs(source[0].abspath, str(source[0]))
               for found in [abi.float_abi_of_data(data)]]
    os.makedirs(os.path.dirname(target[0].abspath), exist_ok=True)
    manifest.write_json(target[0].abspath, {"archive": str(source[0]), "members": members})
    return 0


def library_layouts(build, artifact):
    """``abi/<lib>.layouts.json``: the headers' structs and functions as the board's C compiler
    and the Rust staticlib's DWARF record them, read once per board and library and kept as
    JSON (declared once): every program linking the library compares with it, and a relink
    re-reads only what changed (the C objects, the Go program), never the staticlib again."""
    env = build.env
    name = os.path.basename(str(artifact.library))
    target = env.File(build.path("abi", f"{name}.layouts.json"))
    if target.has_builder():
        return target
    crate = os.path.relpath(artifact.debug_sources[0][1], build.root) if artifact.debug_sources else ""
    env.Command(target, [probe_object(build, artifact), artifact.library],
                _actions()["library_layouts"],
                ABI_CRATE_SIGNATURE=signature(crate), ABI_CRATE=crate)
    return target


def probe_object(build, artifact):
    """``abi/<lib>.probe.o`` for a library's headers (declared once per board and library)."""
    env = build.env
    name = os.path.basename(str(artifact.library))
    target = env.File(build.path("abi", f"{name}.probe.o"))
    if target.has_builder():
        return target
    headers = []
    for folder in artifact.include_dirs:
        for root, dirs, names in os.walk(folder.abspath):
            dirs.sort()
            headers += [env.File(node_name(Path(root) / n)) for n in sorted(names) if n.endswith(".h")]
        # A header another plugin generates (a build target, not on disk yet in a clean tree) is
        # in SCons's node tree: without it the first build would probe fewer headers than the
        # second, and the second would not be a null build.
        headers += [n for n in folder.glob("*.h", ondisk=False) if n not in headers]
    include_dirs = tuple(d.abspath for d in artifact.include_dirs)
    # The generated C is a declared target (cached and restored with the object, removed by -c);
    # GCC's -aux-info list holds absolute paths, so it lives in a temporary folder only.
    env.Command([target, env.File(node_name(target.abspath[:-2] + ".c"))], headers,
                _actions()["probe"],
                ABI_PROBE_SIGNATURE=signature((build.board.c, build.board.cpu, build.cpu_flags,
                                               [*build.board.defines, *build.defines],
                                               [os.path.relpath(d, build.root) for d in include_dirs])),
                ABI_INCLUDE_DIRS=include_dirs, ABI_ROOT=str(build.root), POLYBOARD_BOARD=build.board,
                ABI_CPU_FLAGS=tuple(build.cpu_flags), ABI_DEFINES=(*build.board.defines, *build.defines))
    return target


# -- actions ----------------------------------------------------------------------------------------

def _report(env, target, failures: list[str], lines: list[str], mode: str, label: str,
            program: str | None = None) -> int:
    board = env["POLYBOARD_BOARD"]
    if failures and mode == "error":
        sys.stderr.write(f"polyboard: {label} check failed on board {board.id}:\n" +
                         "\n".join(failures) + f"\n  (checks in docs/abi.md; {board.path} [checks] or "
                                               f"checks=... turns a check to warn or off)\n")
        if program and os.path.exists(program):
            os.remove(program)  # never taken as up to date afterwards
        return 1
    if failures:
        sys.stderr.write(f"polyboard: warning: {label} check on board {board.id}:\n" + "\n".join(failures) + "\n")
    tmp = target[0].abspath + ".tmp"
    os.makedirs(os.path.dirname(tmp), exist_ok=True)
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    spawn.commit(tmp, target[0].abspath)
    return 0


def float_abi_action(target, source, env):
    from polyboard import abi  # ELF and DWARF: imported when a check runs, not at start-up

    board = env["POLYBOARD_BOARD"]
    wanted = abi.expected_vfp_args(board.cpu.float_abi)
    failures, lines = [], []
    for node in source:
        if node.abspath.endswith(ARCHIVE_FLOAT_SUFFIX):  # an archive's members, read by its own node
            with open(node.abspath, encoding="utf-8") as handle:
                members = json.load(handle)["members"]
            found_in = [(label, abi.FloatAbi(name, detail)) for label, name, detail in members]
        else:
            found_in = [(label, abi.float_abi_of_data(data))
                        for label, data in abi.elf_inputs(node.abspath, str(node))]
        for label, found in found_in:
            lines.append(f"{label}: {found.abi or 'unknown'} ({found.detail})")
            if abi.float_abi_mismatch(found, board.cpu.float_abi):
                failures.append(f"  {label} uses the {found.abi}-float ABI ({found.detail}); board {board.id} "
                                f"is {board.cpu.float_abi}-float ({wanted}: Tag_ABI_VFP_args="
                                f"{1 if wanted == 'hard' else 0}; {board.path}, cpu.float_abi)")
    return _report(env, target, failures, lines, env["ABI_MODE"], "float ABI")


def probe_action(target, source, env):
    """Compile the generated probe: first ``-fsyntax-only -aux-info`` lists the headers' functions
    (the compiler's own list, no header parsing here), then the file referencing them, with -g."""
    from polyboard import abi  # ELF and DWARF: imported when a check runs, not at start-up

    out = Path(target[0].abspath)
    out.parent.mkdir(parents=True, exist_ok=True)
    headers = [node.abspath for node in source]
    relative = []
    for header in headers:
        for folder in env["ABI_INCLUDE_DIRS"]:
            if header.startswith(folder + os.sep):
                relative.append(os.path.relpath(header, folder))
                break
    board = env["POLYBOARD_BOARD"]
    compiler = [f"{board.c.prefix}gcc", *env["ABI_CPU_FLAGS"], *board.c.cflags, *(f"-D{d}" for d in env["ABI_DEFINES"])]
    includes = [f"-I{d}" for d in env["ABI_INCLUDE_DIRS"]]
    source_c = out.with_suffix(".c")
    source_c.write_text(abi.probe_source(relative, []), encoding="utf-8")
    child_env = {k: str(v) for k, v in env["ENV"].items()}
    with tempfile.TemporaryDirectory(prefix="polyboard-abi-") as scratch:
        aux = os.path.join(scratch, "probe.aux")
        result = spawn.run([*compiler, *includes, "-fsyntax-only", "-aux-info", aux, str(source_c)],
                           env=child_env, cwd=str(out.parent))
        if result.returncode != 0:
            return result.returncode
        with open(aux, encoding="utf-8", errors="replace") as handle:
            functions = abi.aux_info_functions(handle.read(), [os.path.realpath(h) for h in headers] + headers)
    source_c.write_text(abi.probe_source(relative, functions), encoding="utf-8")
    return spawn.produce([*compiler, *includes, "-g", "-fno-eliminate-unused-debug-types",
                          f"-ffile-prefix-map={env['ABI_ROOT']}=.", "-c", "-o", str(out) + ".tmp", str(source_c)],
                         env=child_env, cwd=str(out.parent), temporary=str(out) + ".tmp", target=str(out),
                         nothing="the C compiler wrote no ABI probe object")


def _no_dwarf(label: str, kind: str, crate: str, error: str = "") -> str:
    if error:
        return f"  {label}: its DWARF could not be read ({error}), so its layouts are not checked"
    if kind == "rust":
        where = f"{crate}/Cargo.toml" if crate else "the crate's Cargo.toml"
        return (f"  {label} has no DWARF debug info, so its layouts cannot be checked: set debug = true "
                f"under [profile.release] in {where}")
    if kind == "go":
        return (f"  {label} has no DWARF debug info, so cgo's layouts cannot be checked: do not strip it "
                "(no -ldflags=-s/-w)")
    return (f"  {label} has no DWARF debug info, so its layouts cannot be checked: compile it with -g "
            "(the board's [c] cflags)")


def library_layouts_action(target, source, env):
    from polyboard import abi  # ELF and DWARF: imported when a check runs, not at start-up

    probe, library = source
    probe_data = Path(probe.abspath).read_bytes()
    header_names = sorted({Path(s.abspath).name for s in probe.sources})
    structs = set(abi.structs_declared_in(probe_data, set(header_names)))
    functions = _probe_functions(probe_data)
    c_view = abi.read_dwarf(probe_data, f"{probe} (the headers compiled for the board)", structs=structs,
                            functions=functions, languages=("c",))
    functions = {name for (_, name) in c_view.functions}
    index = abi.archive_symbol_index(Path(library.abspath).read_bytes())
    members = list(abi.elf_inputs(library.abspath, str(library)))
    rust, no_dwarf = abi.DwarfFacts(), []
    for label, data in abi.crate_members(members, functions, index) or members:
        facts = abi.read_dwarf(data, label, structs=structs, functions=functions, languages=("rust",))
        if not facts.has_dwarf:
            no_dwarf.append(_no_dwarf(label, "rust", env["ABI_CRATE"], facts.error))
        rust.has_dwarf |= facts.has_dwarf
        for key, value in facts.structs.items():
            rust.structs.setdefault(key, value)
        for key, value in facts.functions.items():
            rust.functions.setdefault(key, value)
    manifest.write_json(target[0].abspath, {
        "library": os.path.basename(str(library)), "headers": header_names, "structs": sorted(structs),
        "c": abi.facts_to_data(c_view), "rust": abi.facts_to_data(rust), "no_dwarf": no_dwarf})
    return 0


def layout_action(target, source, env):
    from polyboard import abi  # ELF and DWARF: imported when a check runs, not at start-up

    modes = env["ABI_MODES"]
    count = env["ABI_LIBRARIES"]
    layouts, rest = source[:count], source[count:]
    program = env["ABI_PROGRAM"]
    # no library to compare with (the checks are off, or no header): the record only, nothing read
    objects = [n for n in rest if program is None or n.abspath != program.abspath] if count else []
    others: list[tuple[dict, abi.DwarfFacts]] = []  # ({language: column title}, facts)
    missing_dwarf: list[str] = []
    structs_wanted: set[str] = set()
    per_library = []
    for node in layouts:
        with open(node.abspath, encoding="utf-8") as handle:
            data = json.load(handle)
        per_library.append(data)
        structs_wanted |= set(data["structs"])
    for node in objects:
        facts = abi.read_dwarf(Path(node.abspath).read_bytes(), str(node), structs=structs_wanted,
                               functions=set(), languages=("c",))
        if not facts.has_dwarf:
            missing_dwarf.append(_no_dwarf(str(node), "c", "", facts.error))
        others.append(({"c": f"C {os.path.basename(str(node))}"}, facts))
    if program is not None:
        facts = abi.read_dwarf(Path(program.abspath).read_bytes(), str(program), structs=structs_wanted,
                               functions=set(), languages=("go", "c"))
        if not facts.has_dwarf:
            missing_dwarf.append(_no_dwarf(str(program), "go", "", facts.error))
        others.append(({"go": "Go (cgo's Go type)", "c": "cgo's C"}, facts))
    layout_failures, function_failures, unchecked = [], [], list(missing_dwarf)
    checks = {name: dict(entry) for name, entry in env["ABI_CHECKS"].items()}
    record = {"board": env["POLYBOARD_BOARD"].id, "component": env["ABI_COMPONENT"], "checks": checks,
              "libraries": {}}
    without_dwarf = []
    for data in per_library:
        rust = abi.facts_from_data(data["rust"])
        failures, functions_failed, entry = _check_library(data["library"], set(data["headers"]),
                                                           set(data["structs"]), abi.facts_from_data(data["c"]),
                                                           rust, others)
        layout_failures += failures
        function_failures += functions_failed
        unchecked += data["no_dwarf"]
        record["libraries"][data["library"]] = entry
        if not rust.has_dwarf:
            without_dwarf.append(data["library"])
    if per_library and len(without_dwarf) == len(per_library):
        for name in ("struct_layout", "function_signature"):
            if checks[name]["ran"]:
                checks[name].update(ran=False, skipped=f"no DWARF in {', '.join(without_dwarf)} (set debug = true "
                                                       "under [profile.release] in the crate's Cargo.toml)")
    if unchecked:
        # Not an error: cargo's release profile has no debug info unless the crate asks for it,
        # and a tree that never heard of these checks must still build. Said on every check.
        board = env["POLYBOARD_BOARD"]
        sys.stderr.write(f"polyboard: warning: ABI check on board {board.id} cannot check everything:\n" +
                         "\n".join(unchecked) + "\n")
        record["unchecked"] = [line.strip() for line in unchecked]
    to_fail, to_warn = [], []
    for mode, failures in ((modes["struct_layout"], layout_failures), (modes["function_signature"], function_failures)):
        if mode == "error":
            to_fail += failures
        elif mode == "warn":
            to_warn += failures
    if to_warn:
        board = env["POLYBOARD_BOARD"]
        sys.stderr.write(f"polyboard: warning: ABI check on board {board.id}:\n" + "\n".join(to_warn) + "\n")
    text = json.dumps(record, indent=1, sort_keys=True)
    return _report(env, target, to_fail, [text], "error", "ABI (struct layout / function signature)",
                   program.abspath if program is not None else None)


def _check_library(library_name: str, header_names: set[str], structs: set[str], probe_facts, rust, others):
    """Compare one staticlib's Rust view with its headers' C view and the other sources'; (struct
    failures, function failures, the record of the headers' ABI)."""
    from polyboard import abi  # ELF and DWARF: imported when a check runs, not at start-up

    functions = {name for (_, name) in probe_facts.functions}
    headers = ", ".join(sorted(header_names))
    layout_failures, function_failures = [], []
    entry = {"headers": sorted(header_names), "structs": {}, "functions": {}}
    for name in sorted(structs):
        reference = probe_facts.structs.get(("c", name))
        if reference is None:
            continue
        entry["structs"][name] = abi.layout_record(reference)
        layouts = [(f"C {headers}", reference)]
        rust_layout = rust.structs.get(("rust", name))
        if rust_layout is None:
            if rust.has_dwarf:
                layout_failures.append(
                    f"  struct {name} ({headers}) has no Rust counterpart in {library_name}: no struct named "
                    f"{_camel(name)} or {name} in its DWARF (a #[repr(C)] struct must exist, and be used by an "
                    "exported function to be in the debug info)")
        else:
            layouts.append((f"Rust {rust_layout.name}", rust_layout))
        for titles, facts in others:
            for language, title in titles.items():
                found = facts.structs.get((language, name))
                if found is not None:
                    layouts.append((title, found))
        message = abi.compare_structs(name, layouts) if len(layouts) > 1 else None
        if message:
            layout_failures.append("  " + message.replace("\n", "\n  "))
    for name in sorted(functions):
        reference = probe_facts.functions[("c", name)]
        entry["functions"][name] = abi.signature_record(reference)
        ours = rust.functions.get(("rust", name))
        if ours is None:
            if rust.has_dwarf:
                function_failures.append(f"  function {name} ({headers}) is not defined by {library_name}: no "
                                         "#[no_mangle] extern \"C\" fn of that name in its DWARF")
            continue
        message = abi.compare_signatures(name, [(f"C {headers}", reference), ("Rust", ours)])
        if message:
            function_failures.append("  " + message.replace("\n", "\n  "))
    return layout_failures, function_failures, entry


# -- abi-diff ---------------------------------------------------------------------------------------

@hookimpl
def polyboard_after_components(builds, root):
    """``scons abi-diff baseline=MANIFEST``: per board, ``build/<board>/abi-diff.{txt,md,json}``
    from the board's manifest and the baseline (both sources: a new baseline or a new build
    re-runs it, nothing else does). The input is checked here, before anything is built."""
    import SCons.Script as S

    if ABI_DIFF not in S.COMMAND_LINE_TARGETS or not builds:
        return []
    given = builds[0].options.get("baseline", "")
    old = manifest.diff_baseline(ABI_DIFF, [b.board.id for b in builds], S.ARGUMENTS, given, str(root))
    path = os.path.join(str(root), given)
    compared = [b for b in builds if b.board.id in old]
    if not any("abi" in old[b.board.id] for b in compared):
        raise PolyboardError("the baseline manifest has no ABI record (\"abi\"): it was written before ABI "
                             "records were kept; rebuild the baseline's revision with this polyboard",
                             where=f"baseline={given}")
    nodes = []
    for build in builds:
        if build.board.id not in old:
            print(f"polyboard: abi-diff: board {build.board.id} is not in {given}; not compared", flush=True)
            continue
        env = build.env
        nodes += env.Command([build.path(name) for name in DIFF_OUTPUTS],
                             [env.File(build.path("manifest.json")), env.File(node_name(path))],
                             _ABI_DIFF_ACTION, ABIDIFFCOMSTR=f"ABIDIFF [{build.board.id}] $TARGET",
                             POLYBOARD_BOARD=build.board, ABI_BASELINE_NAME=given)
    S.Alias(ABI_DIFF, nodes)
    return nodes


def abi_diff_action(target, source, env):
    from polyboard import abi_changelog

    board = env["POLYBOARD_BOARD"].id
    given = env["ABI_BASELINE_NAME"]
    with open(source[0].abspath, encoding="utf-8") as handle:
        current = json.load(handle)
    baseline = manifest.load(source[1].abspath, where=f"baseline={given}")[board]
    changes = abi_changelog.diff(baseline, current)
    text, markdown, data = target
    _write(text.abspath, abi_changelog.render_text(board, given, changes))
    _write(markdown.abspath, abi_changelog.render_markdown(board, given, changes))
    manifest.write_json(data.abspath, abi_changelog.as_json(board, given, changes))
    return 0


def _write(path: str, text: str) -> None:
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)


_ABI_DIFF_ACTION = Action(abi_diff_action, "$ABIDIFFCOMSTR")


def print_abi_diff(builds, root) -> int:
    """Print each compared board's changelog (built by the nodes above); with ``fail_on=breaking``,
    exit 1 when a change breaks the ABI or the memory map."""
    import SCons.Script as S

    markdown = S.ARGUMENTS.get("format") == "markdown"
    breaking = False
    for build in builds:
        outputs = [build.abspath(name) for name in DIFF_OUTPUTS]
        if not outputs[2].is_file():
            continue  # not in the baseline (said while reading the SConstruct)
        sys.stdout.write(outputs[1 if markdown else 0].read_text(encoding="utf-8"))
        breaking |= json.loads(outputs[2].read_text(encoding="utf-8"))["verdict"] == "breaking"
    sys.stdout.flush()
    return 1 if breaking and builds[0].options.get("fail_on") == "breaking" else 0


def _probe_functions(data: bytes) -> set[str]:
    """The functions the probe references (its ``polyboard_abi_<name>`` symbols)."""
    from polyboard import abi  # ELF and DWARF: imported when a check runs, not at start-up

    return {name[len(abi.PROBE_PREFIX):] for name in abi.defined_symbols(data) if name.startswith(abi.PROBE_PREFIX)}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))
