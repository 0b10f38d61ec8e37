"""Size report plugin: what each program's bytes are, the artifact manifest, budgets, size diffs.

* After each link, ``<name>.sizes.json``: the program's regions (MCU) or sections (Linux) split
  into components, with each component's largest symbols (:mod:`polyboard.attribution`), checked
  against the board's ``[budgets]`` (:mod:`polyboard.budgets`).
* Once every component is declared, ``build/<board>/manifest.json`` and, for several boards,
  ``build/manifest.json`` (:mod:`polyboard.manifest`, docs/manifest.md).
* ``scons sizes`` prints the components table; ``scons size-diff baseline=FILE [format=markdown]``
  compares with another revision's manifest.

All of them are SCons nodes whose sources are the artifacts and whose varlist holds the facts
they record (toolchains, options, revision, budgets): a null build rebuilds none of them and
starts no process. The facts are read while the SConstruct is read, from files only.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from SCons.Action import Action

from polyboard import PolyboardError, hookimpl
from polyboard import budgets, manifest, scons_compat, source_date, toolchains
from polyboard.component_options import option
from polyboard.context import Artifact
from polyboard.errors import action_error
from polyboard.scons_data import node_name, signature

SIZES_SUFFIX = ".sizes.json"
REPORT_SUFFIXES = (SIZES_SUFFIX, ".memory.txt", ".d")  # reports about artifacts, not artifacts
VERBS = ("sizes", "size-diff")
VERB_ONLY_OPTIONS = ("baseline", "fail_on")
# polyboard.attribution.VERSION, repeated so that declaring a report does not import the module
# (tests/test_size_report.py checks that they agree).
ATTRIBUTION_VERSION = 2
# What the manifest action writes, in its signature: SCons's signature of a Python action misses
# some code changes, and a build cache would hand back manifests of the old content.
MANIFEST_CONTENT = 2  # 2: the programs' ABI records ("abi"), not listed as artifacts
SCONSTRUCT_BUDGETS = "size_budgets"  # build.extra: this plugin's own (name, Budgets) of the SConstruct


@hookimpl
def polyboard_register(registry):
    registry.add_board_table(budgets.TABLE, budgets.Budgets, check=budgets.check,
                             help="size budgets per memory region and per component (docs/manifest.md)")
    registry.add_option("baseline", "with size-diff: a manifest.json (one board's or build/manifest.json) "
                        "from another revision to compare with", check=_check_baseline, shared=True)
    registry.add_component_kind(
        "size_budget", declare_budget,
        help="size budgets from the SConstruct, like a board file's [budgets] (docs/manifest.md#budgets)",
        options=[option("regions", "sizes", "per memory region: bytes or a percent of the region", {}),
                 option("components", "sizes", "per component, summed over a program's regions: bytes", {}),
                 option("warn", "string", "a percent of each budget from which the build warns, e.g. \"90%\"")])
    registry.add_verb("sizes", print_sizes, help="print each program's regions split into components")
    registry.add_verb("size-diff", size_diff, help="compare sizes with baseline=MANIFEST (format=markdown for a PR)")


def _check_baseline(value: str) -> None:
    """For size-diff, a baseline that is not a manifest of this schema stops before anything is
    built (``baseline=`` is shared with abi-diff, which checks it itself)."""
    import SCons.Script as S

    if value and "size-diff" in S.COMMAND_LINE_TARGETS:
        manifest.load(value, where=f"baseline={value}")


def _check_size_diff(builds, root) -> None:
    """``scons size-diff``'s input, checked while the SConstruct is read (one line, nothing built)."""
    import SCons.Script as S

    manifest.diff_baseline("size-diff", [b.board.id for b in builds], S.ARGUMENTS,
                           builds[0].options.get("baseline", ""), str(root))


# -- the SConstruct's budgets ---------------------------------------------------------------------

def declare_budget(build, component):
    """``project.size_budget(name, regions={...}, components={...}, warn="90%")``: checked against
    each board it applies to (the core's board filters choose them), then applied with the board
    file's ``[budgets]`` (the smaller budget wins). Nothing is built for it."""
    options = component.options
    table = budgets.Budgets(regions=dict(options.get("regions") or {}),
                            components=dict(options.get("components") or {}), warn=options.get("warn"))
    try:
        budgets.check(table, build.board)
    except PolyboardError as error:
        key = (error.key or "").removeprefix(f"{budgets.TABLE}.")
        raise PolyboardError(f"{error.message} (board {build.board.id})",
                             where=f"SConstruct: size_budget {component.name!r}", key=key or None) from None
    build.extra.setdefault(SCONSTRUCT_BUDGETS, []).append((component.name, table))
    return Artifact(component=component.name, kind=component.kind)


class _Limits:
    """A program's region budgets, read when its report is built or its signature computed: the
    SConstruct may call ``size_budget`` after declaring the programs it limits."""

    def __init__(self, build):
        self.build = build

    def regions_and_warn(self) -> tuple[dict, float | None]:
        regions, _, warn = budgets.limits(self.build.board, self.build.root,
                                          self.build.extra.get(SCONSTRUCT_BUDGETS, []))
        return regions, warn

    def signature(self, target, source, env, for_signature):
        """``$SIZE_FACTS``: a construction variable SCons calls while substituting it."""
        board = self.build.board
        return signature((ATTRIBUTION_VERSION, board.memory.regions if board.memory else None,
                          *self.regions_and_warn()))


# -- per program --------------------------------------------------------------------------------

@hookimpl
def polyboard_after_link(build, component, elf):
    env = build.env
    board = build.board
    sources = [elf]
    if board.memory is not None:
        link_map = env.File(build.path(f"{component}.map"))
        if link_map.has_builder():
            sources.append(link_map)
    else:  # the libraries a Linux program may link: their symbol index names the C and Rust parts
        sources += [a.library for a in build.artifacts.values()
                    if a.library is not None and str(a.library).endswith(".a")]
    limits = _Limits(build)
    return env.Command(build.path(f"{component}{SIZES_SUFFIX}"), sources, _SIZES_ACTION,
                       SIZESCOMSTR=f"SIZES   [{board.id}] $TARGET",
                       SIZE_FACTS=limits.signature,
                       POLYBOARD_BOARD=board, POLYBOARD_ROOT=str(build.root), POLYBOARD_COMPONENT=component,
                       POLYBOARD_LIMITS=limits,
                       # only for the message when a budget is exceeded: what grew since then
                       POLYBOARD_BASELINE=os.path.join(build.root, build.options.get("baseline") or "")
                       if build.options.get("baseline") else "")


def sizes_action(target, source, env):
    from polyboard import attribution

    board = env["POLYBOARD_BOARD"]
    root = env["POLYBOARD_ROOT"]
    elf = source[0].abspath
    if board.memory is not None:
        text = ""
        if len(source) > 1:
            with open(source[1].abspath, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        sizes = attribution.firmware_sizes(elf, text, board.memory.regions)
    else:
        sizes = attribution.linux_program_sizes(elf, [s.abspath for s in source[1:]])
    program = os.path.relpath(elf, root)
    sizes = {"component": env["POLYBOARD_COMPONENT"], "path": program, **sizes}
    region_limits, warn = env["POLYBOARD_LIMITS"].regions_and_warn()
    for region in sizes["regions"]:
        limit = region_limits.get(region["name"])
        if limit is None:
            continue
        what = f"region {region['name']}"
        if budgets.over(region["used"], limit):
            _print_growth(env.get("POLYBOARD_BASELINE", ""), board.id, program, region)
            raise action_error(PolyboardError(budgets.message(program, what, region["used"], limit)))
        if warn is not None and region["used"] > warn * limit.bytes:
            sys.stderr.write(f"polyboard: warning: {budgets.message(program, what, region['used'], limit)}"
                             .replace(", over its budget of", f", over {warn:.0%} of its budget of") + "\n")
    manifest.write_json(target[0].abspath, sizes)
    return 0


def _print_growth(baseline: str, board_id: str, program: str, region: dict) -> None:
    """The components of *region* that grew most since the baseline manifest (if one is given)."""
    if not baseline:
        return
    try:
        old = manifest.load(baseline, where=f"baseline={baseline}")
    except PolyboardError:
        return  # checked when the SConstruct was read; a file changed since is not this error's story
    if not any(p.get("path") == program for p in old.get(board_id, {}).get("programs", [])):
        return  # the baseline did not build this program: everything would have "grown"
    rows = [r for r in manifest.diff_rows({board_id: old.get(board_id, {})},
                                          {board_id: {"programs": [{"path": program, "regions": [region]}]}})
            if r[3] != "(total)" and r[6] > 0]
    if rows:
        grown = ", ".join(f"{r[3]} +{r[6]} B" for r in sorted(rows, key=lambda r: -r[6])[:5])
        print(f"polyboard: {program}: {region['name']} grew most since {baseline}: {grown}", flush=True)


# -- per board and per tree ----------------------------------------------------------------------

def _facts(build) -> dict:
    board = build.board
    return {
        "board": {"id": board.id, "file": board.path, "description": board.description, "os": board.os,
                  "cpu": board.cpu.name or board.cpu.arch},
        "revision": _revision(build.root),
        # the options the build ran with; baseline= and fail_on= only say what the diff verbs
        # compare with and how they exit (size-diff, abi-diff): not how anything was built
        "options": {k: v for k, v in sorted(build.options.items()) if k not in VERB_ONLY_OPTIONS},
    }


def _tool_files(build) -> list:
    """What identifies the board's tools without running or reading them: resolved path, size and
    modification time (a stat each). Their versions and sha256 are read when the manifest is
    built (:func:`_toolchains`), so a checkout that fetches its manifest from the build cache,
    or finds it up to date, starts no version probe."""
    found = []
    for use in sorted(build.tools.values(), key=lambda u: (u.name, u.path)):
        real = os.path.realpath(use.path)
        try:
            stat = os.stat(real)
            found.append((use.name, real, stat.st_size, stat.st_mtime_ns))
        except OSError:
            found.append((use.name, real, None, None))
    return found


_FINGERPRINTS = threading.Lock()  # one board's manifest at a time updates the fingerprint cache


def _toolchains(build) -> list[dict]:
    """The board's tools as ``scons lock-toolchains`` records them (cached by path, size, mtime)."""
    with _FINGERPRINTS:
        found = toolchains.fingerprints(build.root, [build], dict(build.env["ENV"]))
    return sorted(({"name": _tool_name(f), "path": f.path, "version": f.version, "sha256": f.sha256}
                   for f in found), key=lambda t: (t["name"], t["path"]))


def _tool_name(fingerprint) -> str:
    """The tool's own name: the lock's label adds ``@path`` when the selected boards use two files
    of one name (the host's cargo and Debian's), which would make a board's manifest depend on
    which other boards were built with it."""
    suffix = "@" + fingerprint.path
    return fingerprint.name[:-len(suffix)] if fingerprint.name.endswith(suffix) else fingerprint.name


def _revision(root) -> dict | None:
    found = source_date.head_commit(root)  # git's files, read directly: no process
    return {"commit": found[0]} if found is not None else None


@hookimpl
def polyboard_after_components(builds, root):
    import SCons.Script as S

    if not builds:
        return []
    if "size-diff" in S.COMMAND_LINE_TARGETS:
        _check_size_diff(builds, root)
    nodes, reports = [], []
    for build in builds:
        files, components = [], {}
        for artifact in build.artifacts.values():
            if artifact.test:
                # Test programs are not shipped; and a null build hashes the sources of every
                # node it checks, a Rust test binary (22 MB) too: they stay out.
                continue
            for node in artifact.nodes:
                # Entry: a target named by a string, not yet known to be a file (SCons decides late)
                if scons_compat.may_be_file_node(node) and node not in components:
                    files.append(node)
                    components[node] = artifact.component
        if not files:
            continue
        facts = _facts(build)
        node = build.env.Command([build.path("manifest.json"), build.path("size-report.html")], files,
                                 _MANIFEST_ACTION, MANIFESTCOMSTR=f"MANIFEST [{build.board.id}] $TARGET",
                                 MANIFEST_FACTS=signature((MANIFEST_CONTENT, facts, _tool_files(build),
                                                           build.extra.get(SCONSTRUCT_BUDGETS, []))),
                                 POLYBOARD_FACTS=facts,
                                 POLYBOARD_BUILD=build,
                                 POLYBOARD_COMPONENTS={str(n): c for n, c in components.items()},
                                 POLYBOARD_ROOT=str(root), POLYBOARD_BOARD=build.board)
        build.env.Alias(build.board.id, node)
        nodes.append(node[0])
        reports.append(node[1])
    if len(nodes) > 1:
        suffix = builds[0].profile.folder_suffix  # build/manifest@debug.json: profiles never overwrite each other
        tree = builds[0].env.Command([node_name(f"#build/manifest{suffix}.json"), node_name(f"#build/report{suffix}.html")],
                                     list(nodes), Action(tree_manifest_action, f"MANIFEST build/manifest{suffix}.json"))
        nodes.append(tree[0])
        reports.append(tree[1])
    reports += _diff_report(builds, root, nodes)
    for verb in VERBS:
        if verb in S.COMMAND_LINE_TARGETS:
            S.Alias(verb, nodes + reports[-1:] if verb == "size-diff" else nodes)  # built (or up to date) first
    return nodes + reports


def _diff_report(builds, root, manifests: list) -> list:
    """With ``baseline=MANIFEST``: ``build/size-diff.html``, the report with each region's and
    component's change since the baseline. Its own node (the baseline file is one of its sources),
    so the manifests and ``report.html`` never depend on which baseline was given. A baseline that
    is not a manifest declares nothing (the verb that reads it says why)."""
    given = builds[0].options.get("baseline", "")
    if not given or not manifests:
        return []
    path = os.path.join(root, given)
    try:
        manifest.load(path, where=f"baseline={given}")
    except PolyboardError:
        return []
    board_manifests = [n for n in manifests if os.path.dirname(n.abspath) != os.path.join(str(root), "build")]
    env = builds[0].env
    return env.Command(node_name("#build/size-diff.html"), [*board_manifests, env.File(node_name(path))],
                       Action(diff_report_action, "SIZES   build/size-diff.html"))


def diff_report_action(target, source, env):
    from polyboard import size_html

    boards = {}
    for node in source[:-1]:
        with open(node.abspath, encoding="utf-8") as handle:
            data = json.load(handle)
        boards[data["board"]["id"]] = data
    baseline = manifest.load(source[-1].abspath, where=f"baseline={source[-1]}")
    title = f"Sizes of {', '.join(boards)} against {os.path.basename(str(source[-1]))}"
    _write_text(target[0].abspath, size_html.render(boards, title, baseline=baseline))
    return 0


def manifest_action(target, source, env):
    from polyboard import size_html

    facts = env["POLYBOARD_FACTS"]
    root = env["POLYBOARD_ROOT"]
    board = env["POLYBOARD_BOARD"]
    components = env["POLYBOARD_COMPONENTS"]
    artifacts, programs, records = [], [], {}
    for node in source:
        path = node.abspath
        if path.endswith(SIZES_SUFFIX):
            with open(path, encoding="utf-8") as handle:
                programs.append(json.load(handle))
        if path.endswith(manifest.ABI_RECORD_SUFFIX):
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
            records[record.get("component", components[str(node)])] = {
                k: v for k, v in record.items() if k not in ("board", "component")}
            continue
        if path.endswith(REPORT_SUFFIXES):
            continue
        artifacts.append({"path": os.path.relpath(path, root), "component": components[str(node)],
                          "bytes": os.path.getsize(path), "sha256": _sha256(path)})
    _, component_limits, _ = budgets.limits(board, root, env["POLYBOARD_BUILD"].extra.get(SCONSTRUCT_BUDGETS, []))
    for name, limit in component_limits.items():
        found = [p for p in programs if any(name in r["components"] for r in p["regions"])]
        if not found:
            valid = sorted({c for p in programs for r in p["regions"] for c in r["components"]})
            raise action_error(PolyboardError(f"no component {name!r} in any program of board {board.id}; "
                                              f"valid components: {', '.join(valid)}",
                                              where=limit.file, key=limit.key))
        for program in found:
            used = sum(r["components"].get(name, 0) for r in program["regions"])
            if budgets.over(used, limit):
                raise action_error(PolyboardError(budgets.message(program["path"], f"component {name}", used, limit)))
    data = manifest.board_manifest(board=facts["board"], revision=facts["revision"], options=facts["options"],
                                   toolchains=_toolchains(env["POLYBOARD_BUILD"]), artifacts=artifacts,
                                   programs=programs, abi=dict(sorted(records.items())))
    manifest.write_json(target[0].abspath, data)
    _write_text(target[1].abspath, size_html.render({board.id: data}, f"Sizes of {board.id}"))
    return 0


def _write_text(path: str, text: str) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def tree_manifest_action(target, source, env):
    from polyboard import size_html

    boards = []
    for node in source:
        with open(node.abspath, encoding="utf-8") as handle:
            boards.append(json.load(handle))
    data = manifest.tree_manifest(boards)
    manifest.write_json(target[0].abspath, data)
    _write_text(target[1].abspath, size_html.render(data["boards"], f"Sizes of {', '.join(data['boards'])}"))
    return 0


def _sha256(path: str) -> str:
    from polyboard.dependencies import sha256_file
    return sha256_file(path)


# One action object each, shared by every board's nodes (as SCons's own tools define builders once).
_SIZES_ACTION = Action(sizes_action, "$SIZESCOMSTR", varlist=["SIZE_FACTS"])
_MANIFEST_ACTION = Action(manifest_action, "$MANIFESTCOMSTR", varlist=["MANIFEST_FACTS"])


# -- verbs ---------------------------------------------------------------------------------------

def _manifests(builds, root) -> dict[str, dict]:
    found = {}
    for build in builds:
        path = build.abspath("manifest.json")
        if path.is_file():
            found[build.board.id] = json.loads(path.read_text(encoding="utf-8"))
    return found


def print_sizes(builds, root) -> int:
    found = _manifests(builds, root)
    for board_id, data in found.items():
        sys.stdout.write(manifest.sizes_text(data))
    if not found:
        print("polyboard: sizes: no manifest (nothing was built)")
    sys.stdout.flush()
    return 0


def size_diff(builds, root) -> int:
    """Compare with the baseline (checked when the SConstruct was read: _check_size_diff)."""
    import SCons.Script as S

    baseline = builds[0].options["baseline"]
    old = manifest.load(os.path.join(root, baseline), where=f"baseline={baseline}")
    new = _manifests(builds, root)
    rows = manifest.diff_rows({k: v for k, v in old.items() if k in new}, new)
    render = manifest.diff_markdown if S.ARGUMENTS.get("format") == "markdown" else manifest.diff_text
    sys.stdout.write(render(rows, sorted(new)))
    sys.stdout.flush()
    return 0
