"""ABI checks plugin: the float ABI, struct layouts and function signatures that C, Rust and Go
share, checked at build time from the objects themselves (docs/abi.md).

For each linked program (``polyboard_after_link``) it declares SCons nodes with Python actions:

* ``abi/<program>.float-abi.txt`` (ARM boards): every object and archive member given to the link
  carries the board's ``Tag_ABI_VFP_args`` (or ELF float flags). The link depends on it, so a
  mismatch stops the build before GNU ld refuses the objects with a less helpful message.
* ``abi/<lib>.probe.o``: the board's C compiler's view of a Rust staticlib's headers (its
  ``include/`` folder), compiled from a generated C file that references every struct and
  function the headers declare (GCC's ``-aux-info`` lists the functions).
* ``<program>.abi.json`` (the ABI record): the headers' structs and functions compared, from DWARF, with the
  Rust staticlib (``#[repr(C)]`` structs, ``#[no_mangle]`` functions), the C objects of a
  ``c_firmware`` (before the link) or cgo's view inside a Go program (after the link; a failure
  then deletes the program, as the memory report does).

A null build runs none of this (the nodes are up to date); a node re-runs only when one of its
inputs changed. Each check is ``error``, ``warn`` or ``off``: the board's ``[checks]`` table, then
the ``checks=`` option. ``scons abi-diff baseline=FILE`` compares the records with an earlier one.
Reading DWARF and ELF lives in :mod:`polyboard.abi`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from SCons.Action import Action

from polyboard import PolyboardError, abi, hookimpl, spawn
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
    registry.add_option("baseline", "the ABI record (an earlier <program>.abi.json) that `scons abi-diff` "
                        "compares this build's records with", shared=True)


ABI_DIFF = "abi-diff"


@hookimpl
def polyboard_configure_board(build):
    """``scons abi-diff`` needs ``baseline=FILE``, a readable ABI record (checked before building)."""
    import SCons.Script

    if ABI_DIFF not in SCons.Script.COMMAND_LINE_TARGETS or "abi_baseline" in build.extra:
        return
    path = build.options.get("baseline", "")
    if not path:
        raise PolyboardError("abi-diff needs baseline=FILE: an ABI record (<program>.abi.json) of an earlier "
                             "build", where=ABI_DIFF)
    try:
        with open(build.root / path, encoding="utf-8") as handle:
            baseline = json.load(handle)
    except OSError as exc:
        raise PolyboardError(f"cannot read the ABI record: {exc.strerror}", where=f"baseline={path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PolyboardError(f"not an ABI record (JSON): {exc}", where=f"baseline={path}") from None
    if not isinstance(baseline, dict) or not isinstance(baseline.get("libraries"), dict):
        raise PolyboardError("not an ABI record: no 'libraries' table (use a <program>.abi.json from "
                             "build/<board>/)", where=f"baseline={path}")
    build.extra["abi_baseline"] = (path, baseline)
    build.env.Alias(ABI_DIFF, [])  # exists even when no program of this board is compared
    if baseline.get("board") not in (None, build.board.id):
        print(f"polyboard: abi-diff: {path} is a record of board {baseline.get('board')}; board "
              f"{build.board.id} is not compared (select board={baseline.get('board')})", flush=True)


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

@hookimpl
def polyboard_after_link(build, component, elf):
    modes = check_modes(build)
    env = build.env
    inputs = [s for s in elf.sources if str(s).endswith(OBJECT_SUFFIXES + ARCHIVE_SUFFIXES)]
    before_link = any(str(s).endswith(OBJECT_SUFFIXES) for s in inputs)  # c_firmware: objects + libs
    nodes = []
    board = build.board
    if board.cpu.arch == "arm" and modes["float_abi"] != "off" and inputs:
        check = env.Command(
            build.path("abi", f"{component}.float-abi.txt"), inputs,
            Action(float_abi_action, f"ABI     [{board.id}] $TARGET",
                   varlist=["ABI_FLOAT_SIGNATURE"]),
            ABI_FLOAT_SIGNATURE=signature((board.cpu.float_abi, modes["float_abi"])),
            POLYBOARD_BOARD=board, ABI_MODE=modes["float_abi"], POLYBOARD_CHECK=1)
        env.Depends(elf, check)  # before the link: GNU ld's own refusal is less clear
        nodes += check
    if modes["struct_layout"] == "off" and modes["function_signature"] == "off":
        return nodes
    sources = {str(s) for s in elf.sources}
    libraries = [a for a in build.artifacts.values()
                 if a.library is not None and a.include_dirs and str(a.library) in sources]
    if not libraries:
        return nodes
    probes = [probe_object(build, artifact) for artifact in libraries]
    objects = [s for s in inputs if str(s).endswith(OBJECT_SUFFIXES)]
    program = [] if before_link else [elf]
    check = env.Command(
        build.path(f"{component}.abi.json"), [*probes, *(a.library for a in libraries), *objects, *program],
        Action(layout_action, f"ABI     [{board.id}] $TARGET",
               varlist=["ABI_LAYOUT_SIGNATURE"]),
        ABI_LAYOUT_SIGNATURE=signature((modes["struct_layout"], modes["function_signature"], before_link,
                                        len(libraries))),
        POLYBOARD_BOARD=board, ABI_MODES=modes, ABI_PROGRAM=None if before_link else elf,
        ABI_LIBRARIES=len(libraries), ABI_COMPONENT=component,
        ABI_CRATES=[os.path.relpath(a.debug_sources[0][1], build.root) if a.debug_sources else ""
                    for a in libraries],
        POLYBOARD_CHECK=1)
    if before_link:
        env.Depends(elf, check)
    nodes += check
    path, baseline = build.extra.get("abi_baseline", ("", {}))
    if baseline and baseline.get("component") in (None, component) and baseline.get("board") in (None, board.id):
        diff = env.Command(build.path("abi", f"{component}.abi-diff.txt"), check,
                           Action(abi_diff_action, None), ABI_BASELINE=(path, baseline), POLYBOARD_BOARD=board)
        env.AlwaysBuild(diff)
        env.Alias(ABI_DIFF, diff)
    return nodes


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
                Action(probe_action, f"ABI     [{build.board.id}] $TARGET", varlist=["ABI_PROBE_SIGNATURE"]),
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
    board = env["POLYBOARD_BOARD"]
    wanted = abi.expected_vfp_args(board.cpu.float_abi)
    failures, lines = [], []
    for node in source:
        for label, data in abi.elf_inputs(node.abspath, str(node)):
            found = abi.float_abi_of(abi.open_elf(data))
            lines.append(f"{label}: {found.abi or 'unknown'} ({found.detail})")
            if abi.float_abi_mismatch(found, board.cpu.float_abi):
                failures.append(f"  {label} uses the {found.abi}-float ABI ({found.detail}); board {board.id} "
                                f"is {board.cpu.float_abi}-float ({wanted}: Tag_ABI_VFP_args="
                                f"{1 if wanted == 'hard' else 0}; {board.path}, cpu.float_abi)")
    return _report(env, target, failures, lines, env["ABI_MODE"], "float ABI")


def probe_action(target, source, env):
    """Compile the generated probe: first ``-fsyntax-only -aux-info`` lists the headers' functions
    (the compiler's own list, no header parsing here), then the file referencing them, with -g."""
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


def layout_action(target, source, env):
    modes = env["ABI_MODES"]
    count = env["ABI_LIBRARIES"]
    probes, libraries, rest = source[:count], source[count:2 * count], source[2 * count:]
    program = env["ABI_PROGRAM"]
    objects = [n for n in rest if program is None or n.abspath != program.abspath]
    others: list[tuple[dict, abi.DwarfFacts]] = []  # ({language: column title}, facts)
    missing_dwarf: list[str] = []
    structs_wanted: set[str] = set()
    per_library = []
    for probe, library, crate in zip(probes, libraries, env["ABI_CRATES"]):
        probe_data = Path(probe.abspath).read_bytes()
        header_names = {Path(s.abspath).name for s in probe.sources}
        structs = set(abi.structs_declared_in(probe_data, header_names))
        facts = abi.read_dwarf(probe_data, f"{probe} (the headers compiled for the board)", structs=structs,
                               functions=_probe_functions(probe_data), languages=("c",))
        per_library.append((library, crate, header_names, structs, facts))
        structs_wanted |= structs
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
    record = {"board": env["POLYBOARD_BOARD"].id, "component": env["ABI_COMPONENT"], "libraries": {}}
    for library, crate, header_names, structs, probe_facts in per_library:
        failures, functions_failed, no_dwarf, entry = _check_library(library, crate, header_names, structs,
                                                                     probe_facts, others)
        layout_failures += failures
        function_failures += functions_failed
        unchecked += no_dwarf
        record["libraries"][os.path.basename(str(library))] = entry
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


def _check_library(library, crate: str, header_names: set[str], structs: set[str], probe_facts, others):
    """Compare one staticlib with its headers' C view and the other sources; (struct failures,
    function failures, members without DWARF, the record of the headers' ABI)."""
    functions = {name for (_, name) in probe_facts.functions}
    headers = ", ".join(sorted(header_names))
    layout_failures, function_failures, no_dwarf = [], [], []
    members = list(abi.elf_inputs(library.abspath, str(library)))
    index = abi.archive_symbol_index(Path(library.abspath).read_bytes())
    rust = abi.DwarfFacts()
    for label, data in abi.crate_members(members, functions, index) or members:
        facts = abi.read_dwarf(data, label, structs=structs, functions=functions, languages=("rust",))
        if not facts.has_dwarf:
            no_dwarf.append(_no_dwarf(label, "rust", crate, facts.error))
        rust.has_dwarf |= facts.has_dwarf
        for key, value in facts.structs.items():
            rust.structs.setdefault(key, value)
        for key, value in facts.functions.items():
            rust.functions.setdefault(key, value)
    library_name = os.path.basename(str(library))
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
    return layout_failures, function_failures, no_dwarf, entry


def abi_diff_action(target, source, env):
    """Compare this build's ABI record with the baseline: removed or changed structs and functions
    break the ABI (exit 1), added ones do not."""
    path, baseline = env["ABI_BASELINE"]
    with open(source[0].abspath, encoding="utf-8") as handle:
        current = json.load(handle)
    breaks, additions = abi.diff_records(baseline, current)
    board = env["POLYBOARD_BOARD"].id
    what = f"ABI of {current.get('component')} on {board} against {path}"
    lines = [f"{what}: " + ("INCOMPATIBLE" if breaks else "compatible") +
             f" ({len(breaks)} change(s) that break it, {len(additions)} addition(s))"]
    lines += [f"  - {b}" for b in breaks] + [f"  + {a}" for a in additions]
    print("\n".join(lines), flush=True)
    with open(target[0].abspath, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return 1 if breaks else 0


def _probe_functions(data: bytes) -> set[str]:
    """The functions the probe references (its ``polyboard_abi_<name>`` symbols)."""
    return {name[len(abi.PROBE_PREFIX):] for name in abi.defined_symbols(data) if name.startswith(abi.PROBE_PREFIX)}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))
