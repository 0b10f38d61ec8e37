"""Board definition files: TOML loading, inheritance, merging, structuring and semantic checks.

Merge rules (documented in docs/boards.md; tested in tests/test_board_files.py):

* a board file may name one parent with ``inherits = "id"`` (a list gives several parents,
  applied left to right, each later one winning);
* scalars and arrays in the child replace the parent's value;
* tables merge key by key, recursively;
* an explicit empty value (``""``, ``[]``, ``{}``) clears the inherited value;
* ``abstract = true`` marks a base that cannot be built; it is never inherited;
* a cycle in ``inherits`` is an error naming the chain.

Every error names the file and the dotted key path, and for closed choices the valid values.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from pathlib import Path

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn

from .board import (FLASH_METHOD_KEYS, Board, BoardProfiles, Checks, Cpu, CToolchain, Emulator, Flash, Go, Memory,
                    MemoryRegion, Rust, Sections, split_server)
from .errors import PolyboardError

GOARCH_KNOWN = (
    "386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle",
    "ppc64", "ppc64le", "riscv64", "s390x", "wasm",
)
GOOS_KNOWN = ("linux", "android", "freebsd", "netbsd", "openbsd", "darwin", "windows", "js", "wasip1")
RESERVED_KEYS = ("inherits", "abstract")
# A board id names a file, a folder under build/ and an SCons alias: a plain, portable name.
BOARD_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
BOARD_ID_RULE = "letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64"
# GNU ld reads a region name as a symbol: ASCII, and none of its script keywords.
REGION_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LD_KEYWORDS = frozenset((
    "ABSOLUTE", "ADDR", "ALIGN", "ALIGNOF", "ASSERT", "AT", "BLOCK", "CONSTANT", "DATA_SEGMENT_ALIGN",
    "DATA_SEGMENT_END", "DEFINED", "ENTRY", "EXTERN", "FILL", "GROUP", "INCLUDE", "INPUT", "KEEP",
    "LENGTH", "LOADADDR", "MAX", "MEMORY", "MIN", "NEXT", "NOLOAD", "ORIGIN", "OUTPUT", "OUTPUT_ARCH",
    "OUTPUT_FORMAT", "OVERLAY", "PHDRS", "PROVIDE", "PROVIDE_HIDDEN", "REGION_ALIAS", "SEARCH_DIR",
    "SECTIONS", "SIZEOF", "SIZEOF_HEADERS", "SORT", "STARTUP", "TARGET", "VERSION",
))
# The address space of each CPU architecture: a region must end inside it.
ADDRESS_BITS = {"arm": 32, "riscv32": 32, "aarch64": 64, "riscv64": 64}
GO_TAG_PATTERN = re.compile(r"[A-Za-z0-9_.]+")
# Which Rust target triples fit each CPU architecture (the triple's first part).
RUST_ARCH_PREFIXES = {"arm": ("thumb", "arm"), "aarch64": ("aarch64",), "riscv32": ("riscv32",),
                      "riscv64": ("riscv64",)}


# -- the on-disk schema (what a file may say), separate from the merged Board ---------------------

@attrs.frozen
class _RegionSpec:
    origin: int
    length: int
    attributes: str = "rwx"


@attrs.frozen
class _MemorySpec:
    regions: dict[str, _RegionSpec]
    sections: Sections
    heap_size: int = 0x2000
    stack_size: int = 0x1000
    linker_script: str = ""


@attrs.frozen
class _BoardSpec:
    description: str
    os: typing.Literal["none", "linux"]
    cpu: Cpu
    c: CToolchain
    rust: Rust | None = None
    go: Go | None = None
    memory: _MemorySpec | None = None
    emulator: Emulator | None = None
    flash: Flash | None = None
    defines: tuple[str, ...] = ()
    checks: Checks = Checks()
    profile: BoardProfiles = BoardProfiles()


# The top-level keys of a board file polyboard itself defines (plugins add tables beside them).
BUILT_IN_KEYS = frozenset(f.name for f in attrs.fields(_BoardSpec)) | frozenset(RESERVED_KEYS)


class _ChoiceError(ValueError):
    pass


def _type_name(value) -> str:
    return {bool: "boolean", int: "integer", str: "string", float: "float", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _make_converter() -> cattrs.Converter:
    """A private converter that refuses what the default one would silently coerce."""
    conv = cattrs.Converter(forbid_extra_keys=True)

    def strict_str(value, _):
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {_type_name(value)} {value!r}")
        return value

    def strict_int(value, _):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer (bytes; hex allowed), got {_type_name(value)} {value!r}")
        return value

    def str_tuple(value, _):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"expected an array of strings, got {value!r}")
        return tuple(value)

    def literal(value, cls):
        choices = typing.get_args(cls)
        if value not in choices:
            close = ", ".join(repr(c) for c in choices)
            raise _ChoiceError(f"{value!r} is not valid; choose one of {close}")
        return value

    conv.register_structure_hook(str, strict_str)
    conv.register_structure_hook(int, strict_int)
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], str_tuple)
    conv.register_structure_hook_func(lambda t: typing.get_origin(t) is typing.Literal, literal)

    def table(cls):
        inner = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)

        def hook(value, _):
            if not isinstance(value, dict):
                raise TypeError(f"expected a table, got {_type_name(value)} {value!r}")
            return inner(value, cls)
        return hook

    conv.register_structure_hook_factory(attrs.has, table)
    return conv


_CONVERTER = _make_converter()


def _first_error(exc: BaseException, path: str = "", extra_top_level: tuple[str, ...] = ()) -> tuple[str, str]:
    """Walk a cattrs exception group to the first leaf: (dotted key path, message).
    *extra_top_level*: the plugins' tables, valid at the top level too (named in the message)."""
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        first = sorted(exc.extra_fields)[0]
        allowed = ", ".join([f.name for f in attrs.fields(exc.cl)] + (list(extra_top_level) if not path else []))
        where = f"in [{path}]" if path else "at the top level"
        return f"{path}.{first}" if path else first, f"unknown key {first!r}; valid keys {where}: {allowed}"
    if isinstance(exc, (cattrs.ClassValidationError, cattrs.IterableValidationError, ExceptionGroup)):
        notes_by_exc = []
        if isinstance(exc, cattrs.ClassValidationError):
            with_notes, without = exc.group_exceptions()
            notes_by_exc = [(e, n.name) for e, n in with_notes] + [(e, None) for e in without]
        elif isinstance(exc, cattrs.IterableValidationError):
            with_notes, without = exc.group_exceptions()
            notes_by_exc = [(e, str(n.index)) for e, n in with_notes] + [(e, None) for e in without]
        else:
            notes_by_exc = [(e, None) for e in exc.exceptions]
        for sub, name in notes_by_exc:
            sub_path = f"{path}.{name}" if name and path else (name or path)
            return _first_error(sub, sub_path, extra_top_level)
    if isinstance(exc, KeyError):
        missing = exc.args[0] if exc.args else "?"
        return path, f"required key {missing!r} is missing"
    return path, str(exc)


# -- loading and merging --------------------------------------------------------------------------

def _control_character(value, path: str = "") -> tuple[str, str] | None:
    """The first (key path, character) of a string holding a control character (newline, NUL...;
    a tab is white space like a blank and allowed)."""
    if isinstance(value, str):
        for char in value:
            if (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
                return path, char
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and _control_character(key) is not None:
            return f"{path}.{key}" if path else key, _control_character(key)[1]
        found = _control_character(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _is_empty(value) -> bool:
    return value == "" or value == [] or value == {}


def merge(parent: dict, child: dict) -> dict:
    """Apply the merge rules: tables merge, other values replace, an empty value clears."""
    result = dict(parent)
    for key, value in child.items():
        if _is_empty(value):
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


@attrs.frozen
class BoardFile:
    id: str
    path: Path
    raw: dict
    owner: str = ""  # "pack <distribution>" / "plugin <name>" for a plugin's folder; "" for the tree's

    @property
    def abstract(self) -> bool:
        return self.raw.get("abstract") is True

    @property
    def parents(self) -> list[str]:
        parents = self.raw.get("inherits", [])
        return [parents] if isinstance(parents, str) else list(parents)


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return os.path.relpath(path, root)
        except ValueError:
            pass
    return str(path)


class BoardCatalog:
    """Every board file found in the search path, loaded lazily and validated on demand.

    The search path is the tree's ``boards/`` folder first, then folders that plugins (board
    packs) contribute; *owners* says who contributed each plugin folder (``pack acme-boards``).
    A folder without an owner (the tree's) wins over the folders after it, so a tree can override
    a pack's board; two owned folders giving one id is an error naming both packs and files.
    A pack's file is shown as ``name.toml (pack acme-boards)``: path-free, and naming the pack.
    """

    def __init__(self, directories: list[Path], *, root: Path | None = None, reserved: tuple[str, ...] = (),
                 tables: dict | None = None, owners: dict | None = None):
        self.root = root
        self.tables = dict(tables or {})  # name -> registry.BoardTable (plugins' tables)
        self.files: dict[str, BoardFile] = {}
        owners = dict(owners or {})
        seen: set[Path] = set()
        for directory in directories:
            if not directory.is_dir() or directory.resolve() in seen:
                continue  # the same folder twice: this repository's boards/ with an editable install
            seen.add(directory.resolve())
            owner = owners.get(directory, "")
            for path in sorted(directory.glob("*.toml")):
                board_id = path.stem
                candidate = BoardFile(board_id, path, {}, owner)
                self._check_id(board_id, candidate, reserved)
                earlier = self.files.get(board_id)
                if earlier is not None and not (earlier.owner and owner):
                    continue  # the tree's file (first in the path) overrides
                if earlier is not None:
                    raise PolyboardError(
                        f"two board packs define board {board_id!r}: {earlier.owner} ({earlier.path}) and "
                        f"{owner} ({path}); uninstall one, or give the tree its own boards/{board_id}.toml "
                        "(the tree's file overrides both)", where=f"board {board_id}")
                self.files[board_id] = BoardFile(board_id, path, self._read(candidate), owner)
        self._cache: dict[str, Board] = {}
        self._origins: dict[str, _Origins] = {}

    def _label(self, board_file: BoardFile) -> str:
        if board_file.owner:
            return f"{board_file.path.name} ({board_file.owner})"
        return _display(board_file.path, self.root)

    def _check_id(self, board_id: str, board_file: BoardFile, reserved: tuple[str, ...]) -> None:
        """A board file's name is its id: a safe name (never ``..``, no ``$``, no newline)."""
        shown = repr(self._label(board_file))
        if not BOARD_ID_PATTERN.fullmatch(board_id):
            raise PolyboardError(f"{board_id!r} is not a valid board id ({BOARD_ID_RULE} characters); "
                                 "rename the file", where=f"board file {shown}")
        if board_id in reserved:
            raise PolyboardError(f"board id {board_id!r} is reserved (it is a keyword on the command line: "
                                 f"{', '.join(reserved)}); rename the file", where=f"board file {shown}")

    def _read(self, board_file: BoardFile) -> dict:
        path = board_file.path
        shown = self._label(board_file)
        try:
            with path.open("rb") as handle:
                data = handle.read()
            raw = tomllib.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise PolyboardError(f"not UTF-8 text (byte {data[exc.start]:#04x} on line {line}); TOML files "
                                 "are UTF-8", where=shown) from None
        except tomllib.TOMLDecodeError as exc:
            raise PolyboardError(f"malformed TOML: {exc}", where=shown) from None
        except OSError as exc:
            raise PolyboardError(f"cannot read board file: {exc.strerror}", where=shown) from None
        bad = _control_character(raw)
        if bad is not None:
            key, char = bad
            raise PolyboardError(f"control character {char!r} in a string; board values are single-line text",
                                 where=shown, key=key)
        inherits = raw.get("inherits", [])
        if not (isinstance(inherits, str) or (isinstance(inherits, list) and all(isinstance(i, str) for i in inherits))):
            raise PolyboardError("expected a board id or an array of board ids", where=shown, key="inherits")
        if "abstract" in raw and not isinstance(raw["abstract"], bool):
            raise PolyboardError(f"expected true or false, got {raw['abstract']!r}", where=shown, key="abstract")
        return raw

    def shown(self, board_id: str) -> str:
        return self._label(self.files[board_id])

    @property
    def concrete_ids(self) -> list[str]:
        return sorted(i for i, f in self.files.items() if not f.abstract)

    def unknown_board_error(self, board_id: str, *, key: str = "board") -> PolyboardError:
        choices = self.concrete_ids
        close = difflib.get_close_matches(board_id, choices, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        return PolyboardError(
            f"unknown board {board_id!r}; {hint}valid boards: {', '.join(choices) or '(none)'}",
            where=f"{key}={board_id}" if key == "board" else None,
        )

    def chain(self, board_id: str, _seen: tuple[str, ...] = ()) -> list[BoardFile]:
        """The files a board is made of, root ancestor first, detecting cycles and missing parents."""
        if board_id in _seen:
            cycle = " -> ".join(_seen[_seen.index(board_id):] + (board_id,))
            raise PolyboardError(f"inheritance cycle: {cycle}", where=self.shown(_seen[-1]), key="inherits")
        board_file = self.files[board_id]
        result: list[BoardFile] = []
        for parent in board_file.parents:
            if parent not in self.files:
                close = difflib.get_close_matches(parent, list(self.files), n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise PolyboardError(
                    f"parent board {parent!r} does not exist{hint} (board files: {', '.join(sorted(self.files))})",
                    where=self.shown(board_id), key="inherits")
            for ancestor in self.chain(parent, _seen + (board_id,)):
                if ancestor not in result:
                    result.append(ancestor)
        result.append(board_file)
        return result

    def load(self, board_id: str) -> Board:
        if board_id in self._cache:
            return self._cache[board_id]
        if board_id not in self.files:
            raise self.unknown_board_error(board_id)
        board_file = self.files[board_id]
        shown = self.shown(board_id)
        if board_file.abstract:
            raise PolyboardError(
                f"board {board_id!r} is abstract (a base for other boards) and cannot be built; "
                f"valid boards: {', '.join(self.concrete_ids)}", where=shown, key="abstract")
        merged: dict = {}
        origin = _Origins(shown)  # dotted key path -> file that last set it, for error messages
        for part in self.chain(board_id):
            body = {k: v for k, v in part.raw.items() if k not in RESERVED_KEYS}
            merged = merge(merged, body)
            origin.record(body, self.shown(part.id))
        own = {key: value for key, value in merged.items() if key not in self.tables}
        try:
            spec = _CONVERTER.structure(own, _BoardSpec)
        except Exception as exc:  # cattrs raises exception groups; keep the first leaf
            key, message = _first_error(exc, extra_top_level=tuple(self.tables))
            raise PolyboardError(message, where=origin.file_of(key), key=key or None) from None
        tables = []
        for name, table in sorted(self.tables.items()):
            if name not in merged:
                continue
            try:
                tables.append((name, _CONVERTER.structure(merged[name], table.cls)))
            except Exception as exc:
                key, message = _first_error(exc, name)
                raise PolyboardError(message, where=origin.file_of(key), key=key or None) from None
        board = _to_board(board_id, shown, spec, merged, [self.shown(p.id) for p in self.chain(board_id)])
        board = attrs.evolve(board, tables=tuple(tables))
        _check(board, origin)
        for name, value in tables:
            check = self.tables[name].check
            if check is None:
                continue
            try:
                check(value, board)
            except PolyboardError as error:
                key = error.key or name
                raise PolyboardError(error.message, where=origin.file_of(key), key=key) from None
        self._cache[board_id] = board
        self._origins[board_id] = origin
        return board

    def trial(self, board_id: str, text: str, path: Path) -> Board:
        """Load a board file that is not written yet (``new-board`` and ``import-board`` check
        what they are about to write): the catalog as it is, plus *text* as *path*."""
        import copy

        trial = copy.copy(self)
        trial.files = dict(self.files)
        trial.files[board_id] = BoardFile(board_id, path, tomllib.loads(text))
        trial._cache, trial._origins = {}, {}
        return trial.load(board_id)

    def origins(self, board_id: str) -> "_Origins":
        """Which file set each dotted key of a (loaded, valid) board: ``scons info`` shows it."""
        self.load(board_id)
        return self._origins[board_id]


class _Origins:
    """Which file last set each dotted key path, so an error names the file to edit."""

    def __init__(self, default: str):
        self.default = default
        self.files: dict[str, str] = {}

    def record(self, body: dict, file: str, prefix: str = "") -> None:
        for key, value in body.items():
            path = f"{prefix}{key}"
            self.files[path] = file
            if isinstance(value, dict):
                self.record(value, file, path + ".")

    def file_of(self, key: str) -> str:
        """The file of *key*, or of its nearest enclosing table that a file set."""
        parts = key.split(".") if key else []
        while parts:
            found = self.files.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return self.default


def _freeze(value):
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in sorted(value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _to_board(board_id: str, shown: str, spec: _BoardSpec, merged: dict, sources: list[str]) -> Board:
    memory = None
    if spec.memory is not None:
        regions = tuple(MemoryRegion(name, r.origin, r.length, r.attributes) for name, r in spec.memory.regions.items())
        memory = Memory(regions, spec.memory.sections, spec.memory.heap_size, spec.memory.stack_size,
                        spec.memory.linker_script)
    return Board(
        id=board_id, path=shown, description=spec.description, os=spec.os, cpu=spec.cpu, c=spec.c,
        rust=spec.rust, go=spec.go, memory=memory, emulator=spec.emulator, flash=spec.flash,
        defines=spec.defines, checks=spec.checks, profile=spec.profile, sources=tuple(reversed(sources)),
        data=_freeze(merged),
    )


def _profile_problem(profiles: BoardProfiles) -> tuple[str, str] | None:
    """(key, message) of a ``[profile]`` value a type cannot refuse, or None."""
    for name, refinement in attrs.asdict(profiles, recurse=False).items():
        cargo = refinement.cargo if refinement is not None else None
        if cargo is not None and cargo.codegen_units is not None and cargo.codegen_units < 1:
            return (f"profile.{name}.cargo.codegen_units",
                    f"{cargo.codegen_units} is not valid; give a whole number >= 1 (cargo's codegen-units)")
    return None


def structure_profiles(value) -> BoardProfiles:
    """A ``[profile]`` table given outside a board file (a component's ``profile=`` option in the
    SConstruct), structured and checked exactly as a board file's: the same keys, the same
    errors. Raises ``PolyboardError(message, key="profile.<name>...")``; the caller says where."""
    def plain(item):  # the SConstruct is Python: tuples are arrays there too
        if isinstance(item, dict):
            return {key: plain(inner) for key, inner in item.items()}
        return [plain(inner) for inner in item] if isinstance(item, (list, tuple)) else item

    try:
        profiles = _CONVERTER.structure(plain(value), BoardProfiles)
    except Exception as exc:  # cattrs raises exception groups; keep the first leaf
        key, message = _first_error(exc, "profile")
        raise PolyboardError(message, key=key) from None
    problem = _profile_problem(profiles)
    if problem is not None:
        raise PolyboardError(problem[1], key=problem[0])
    return profiles


def _depth(file: str, board: Board) -> int:
    """How derived *file* is for *board*: 0 for the board's own file, then its parents."""
    return board.sources.index(file) if file in board.sources else len(board.sources)


def _check(board: Board, origin: _Origins) -> None:
    """Semantic rules that a schema cannot express; each error names the file and the key."""

    def fail(key: str, message: str) -> None:
        raise PolyboardError(message, where=origin.file_of(key), key=key)

    if board.bare_metal and board.memory is None:
        fail("memory", "a bare-metal board (os = \"none\") needs a [memory] table with regions and sections")
    if board.memory is not None:
        names = [r.name for r in board.memory.regions]  # never empty: an empty table clears the key
        bits = ADDRESS_BITS.get(board.cpu.arch, 64)
        seen: dict[str, str] = {}
        for region in board.memory.regions:
            if not REGION_NAME_PATTERN.fullmatch(region.name):
                fail(f"memory.regions.{region.name}",
                     "region names must be ASCII identifiers (letters A-Z/a-z, digits, _), as GNU ld reads them")
            if region.name.upper() in LD_KEYWORDS:
                fail(f"memory.regions.{region.name}", f"{region.name!r} is a GNU ld script keyword; choose another name")
            if region.name.lower() in seen:
                fail(f"memory.regions.{region.name}",
                     f"regions {seen[region.name.lower()]!r} and {region.name!r} differ only in case (both would "
                     f"get an output section .{region.name.lower()})")
            seen[region.name.lower()] = region.name
            if region.origin >= 0 and region.length > 0 and region.end > 2 ** bits:
                fail(f"memory.regions.{region.name}",
                     f"region {region.name} [{region.origin:#x}, {region.end:#x}) ends beyond the {bits}-bit "
                     f"address space of cpu.arch {board.cpu.arch!r} ({2 ** bits:#x})")
            if region.length <= 0:
                fail(f"memory.regions.{region.name}.length", f"region size must be positive, got {region.length}")
            if region.origin < 0:
                fail(f"memory.regions.{region.name}.origin", f"origin must not be negative, got {region.origin}")
            if set(region.attributes) - set("rwxail!"):
                fail(f"memory.regions.{region.name}.attributes",
                     f"{region.attributes!r} is not a GNU ld attribute string (letters from r, w, x, a, i, l, !)")
        ordered = sorted(board.memory.regions, key=lambda r: r.origin)
        for low, high in zip(ordered, ordered[1:]):
            if high.origin < low.end:
                # Blame the region the most derived file set: that is the file just edited.
                culprit = min((high, low), key=lambda r: _depth(origin.file_of(f"memory.regions.{r.name}"), board))
                other = low if culprit is high else high
                fail(f"memory.regions.{culprit.name}",
                     f"region {culprit.name} [{culprit.origin:#x}, {culprit.end:#x}) overlaps region {other.name} "
                     f"[{other.origin:#x}, {other.end:#x})")
        for kind, region_name in attrs.asdict(board.memory.sections).items():
            if region_name and region_name not in names:
                fail(f"memory.sections.{kind}",
                     f"region {region_name!r} does not exist; valid regions: {', '.join(names)}")
        for key in ("heap_size", "stack_size"):
            if getattr(board.memory, key) < 0:
                fail(f"memory.{key}", "must not be negative")
        script = board.memory.linker_script
        if script and (os.path.isabs(script) or ".." in Path(script).parts):
            fail("memory.linker_script", f"{script!r} must be a relative path inside the tree")
    if board.go is not None:
        if board.go.goarch not in GOARCH_KNOWN:
            close = difflib.get_close_matches(board.go.goarch, GOARCH_KNOWN, n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            fail("go.goarch", f"{board.go.goarch!r} is not a GOARCH Go knows; {hint}valid: {', '.join(GOARCH_KNOWN)}")
        if board.go.goos not in GOOS_KNOWN:
            fail("go.goos", f"{board.go.goos!r} is not a GOOS this framework supports; valid: {', '.join(GOOS_KNOWN)}")
        for index, tag in enumerate(board.go.tags):
            if not GO_TAG_PATTERN.fullmatch(tag):
                fail(f"go.tags.{index}", f"{tag!r} is not a Go build tag (letters, digits, '_' and '.')")
        if board.go.goarch == "arm" and board.go.goarm not in ("5", "6", "7"):
            fail("go.goarm", f"GOARCH=arm needs goarm \"5\", \"6\" or \"7\", got {board.go.goarm!r}")
    if board.rust is not None and board.rust.target:
        prefixes = RUST_ARCH_PREFIXES.get(board.cpu.arch, ())
        parts = board.rust.target.split("-")
        if len(parts) < 2 or not all(re.fullmatch(r"[a-z0-9_.]+", p) for p in parts):
            fail("rust.target", f"{board.rust.target!r} is not a Rust target triple (e.g. thumbv7em-none-eabihf)")
        if prefixes and not parts[0].startswith(prefixes):
            fail("rust.target", f"Rust target {board.rust.target!r} is not for cpu.arch {board.cpu.arch!r} "
                 f"(its triple should start with {' or '.join(prefixes)})")
    if board.cpu.arch == "arm" and board.rust is not None:
        hf = board.rust.target.endswith("hf")
        if hf != (board.cpu.float_abi == "hard"):
            fail("rust.target", f"Rust target {board.rust.target!r} does not match cpu.float_abi = "
                 f"{board.cpu.float_abi!r} (hard float needs a '...hf' target, soft/softfp a non-hf one)")
    if board.cpu.arch == "arm" and board.cpu.float_abi != "soft" and not board.cpu.fpu:
        fail("cpu.fpu", f"float_abi {board.cpu.float_abi!r} needs an FPU name (e.g. \"fpv4-sp-d16\")")
    if board.cpu.arch.startswith("riscv"):
        # The C flags come from board data only: a RISC-V board says its ISA and ABI itself.
        for option, example in (("-march=", "-march=rv32imac"), ("-mabi=", "-mabi=ilp32")):
            if not any(flag.startswith(option) for flag in board.cpu.flags):
                fail("cpu.flags", f"a {board.cpu.arch} board names its ISA and ABI in cpu.flags; "
                     f"{option}... is missing (e.g. \"{example}\")")
    problem = _profile_problem(board.profile)
    if problem is not None:
        fail(*problem)
    if board.emulator is not None and board.os == "linux" and not board.emulator.sysroot:
        fail("emulator.sysroot", "a Linux user-mode emulator needs the target's sysroot (e.g. /usr/aarch64-linux-gnu)")
    if board.flash is not None:
        flash = board.flash
        for key in FLASH_METHOD_KEYS[flash.method]:
            if not getattr(flash, key):
                fail(f"flash.{key}", f"flash method {flash.method!r} needs {key} "
                     f"(it needs: {', '.join(FLASH_METHOD_KEYS[flash.method])}; docs/flash-debug.md)")
        if flash.gdb_server:
            try:
                split_server(flash.gdb_server)
            except ValueError as exc:
                fail("flash.gdb_server", str(exc))
        if flash.timeout <= 0:
            fail("flash.timeout", f"must be a positive number of seconds, got {flash.timeout}")
