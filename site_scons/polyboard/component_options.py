"""Component options: what each kind accepts, checked when the SConstruct declares a component.

A kind declares its options (name, type, default, help) when it is registered; the core checks
every ``project.<kind>(name, **options)`` call against them before anything is declared, so a
misspelt option (``package_dri=``) or a mistyped one (``sources="main.c"``) is one line with a
"did you mean", not an option silently ignored. The board filters (``os=``, ``arch=``,
``boards=``, ``when=``) are the core's own and work for every kind. docs/components.md is
generated from these declarations (``component_reference``), and a test keeps it in sync.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable

import attrs

from .errors import PolyboardError

# Option types: what the SConstruct may pass, as said in messages and in docs/components.md.
TYPES: dict[str, str] = {
    "string": "a string",
    "bool": "True or False",
    "strings": "a list of strings",
    "components": "a list of components (what project.<kind>() returned)",
    "predicate": "a function of the board, returning True or False",
    "sizes": 'a dict of names to sizes (65536, "64 KiB", "80%")',
    "profiles": "a dict of profile names to refinements, as a board's `[profile]` table",
}


@attrs.frozen
class ComponentOption:
    """One option of a component kind: ``project.<kind>(name, <option>=value)``."""

    name: str
    type: str
    help: str
    default: Any = None

    def __attrs_post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"option type {self.type!r} is not one of {', '.join(TYPES)}")


def option(name: str, type: str, help: str, default: Any = None) -> ComponentOption:
    return ComponentOption(name, type, help, default)


# The core's board filters, accepted by every kind: a component declared with them is built only
# on the boards that match, and quietly skipped on the others (the SConstruct said so).
BOARD_FILTERS: tuple[ComponentOption, ...] = (
    option("os", "strings", "build only on boards whose `os` is one of these (`none`, `linux`)"),
    option("arch", "strings", "build only on boards whose `cpu.arch` is one of these (`arm`, `aarch64`, ...)"),
    option("boards", "strings", "build only on these board ids"),
    option("when", "predicate", "build only on boards for which `when(board)` is true (the resolved `Board`)"),
)
FILTER_NAMES = tuple(f.name for f in BOARD_FILTERS)
OS_VALUES = ("none", "linux")


def _type_error(value: Any, expected: str) -> str | None:
    """Why *value* is not of option type *expected* (None when it is)."""
    from .context import Component

    if expected == "string" and not isinstance(value, str):
        return "a string"
    if expected == "bool" and not isinstance(value, bool):
        return "True or False"
    if expected == "strings" and not (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
        return "a list of strings"
    if expected == "components" and not (isinstance(value, (list, tuple))
                                         and all(isinstance(v, (Component, str)) for v in value)):
        return "a list of components"
    if expected == "predicate" and not callable(value):
        return "a function of the board"
    if expected == "sizes" and not (isinstance(value, dict) and all(isinstance(k, str) for k in value)
                                    and all(isinstance(v, (int, str)) and not isinstance(v, bool)
                                            for v in value.values())):
        return 'a dict of names to sizes (65536, "64 KiB", "80%")'
    if expected == "profiles" and not isinstance(value, dict):
        return "a dict of profile names to refinements"

    return None


def check_options(kind: str, component: str, given: dict, declared: Iterable[ComponentOption] | None) -> None:
    """Refuse an unknown or mistyped option of ``project.<kind>(component, ...)``.

    *declared* None: the kind declared nothing (a third-party kind written before options could
    be declared): only the board filters are checked then."""
    known = {o.name: o for o in BOARD_FILTERS}
    if declared is not None:
        known.update({o.name: o for o in declared})
    for name, value in given.items():
        spec = known.get(name)
        if spec is None:
            if declared is None:
                continue
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f"did you mean {close[0]}=? " if close else ""
            raise PolyboardError(f"{kind} {component!r} has no option {name!r}; {hint}valid options: "
                                 f"{', '.join(sorted(known))}", where="SConstruct", key=f"{component}.{name}")
        expected = _type_error(value, spec.type)
        if expected:
            raise PolyboardError(f"{name}= must be {expected}, got {type(value).__name__} {value!r}",
                                 where="SConstruct", key=f"{component}.{name}")
        if spec.type == "profiles":  # the keys and values of a board's [profile] table, as strictly
            from .board_files import structure_profiles
            try:
                structure_profiles(value)
            except PolyboardError as error:
                raise PolyboardError(error.message, where="SConstruct", key=f"{component}.{error.key}") from None


def check_filters(component: str, given: dict, board_ids: Iterable[str], arches: Iterable[str]) -> None:
    """The filter values themselves: known OS names, architectures and board ids."""
    choices = {"os": tuple(OS_VALUES), "arch": tuple(sorted(arches)), "boards": tuple(sorted(board_ids))}
    for name, valid in choices.items():
        for value in given.get(name, ()):
            if value not in valid:
                close = difflib.get_close_matches(value, valid, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise PolyboardError(f"{name}= names {value!r}, which is not one; {hint}valid: {', '.join(valid)}",
                                     where="SConstruct", key=f"{component}.{name}")


def filter_reason(board, given: dict) -> str | None:
    """Why the component's board filters leave *board* out (None when it is in)."""
    if "os" in given and board.os not in given["os"]:
        return f"it is declared for os {', '.join(given['os'])} and {board.id} runs {board.os}"
    if "arch" in given and board.cpu.arch not in given["arch"]:
        return f"it is declared for arch {', '.join(given['arch'])} and {board.id} is {board.cpu.arch}"
    if "boards" in given and board.id not in given["boards"]:
        return f"it is declared for boards {', '.join(given['boards'])}"
    if "when" in given and not given["when"](board):
        return "its when= filter is false for this board"
    return None


def component_reference(kinds: dict) -> str:
    """docs/components.md's body: every kind with its options, from the declarations."""
    lines = ["| option | type | default | meaning |", "| --- | --- | --- | --- |"]
    filters = "\n".join(lines + [_row(o) for o in BOARD_FILTERS])
    parts = ["## Every kind: board filters", "",
             "A component declared with a filter is built only on the boards that match; on the others it "
             "is skipped quietly (the SConstruct said so).", "", filters]
    for name in sorted(kinds):
        kind = kinds[name]
        parts += ["", f"## `{name}` ({kind.plugin})", "", kind.help + ("." if kind.help and not kind.help.endswith(".") else ""), ""]
        if kind.options is None:
            parts.append("Options: not declared by its plugin (not checked).")
        else:
            parts.append("\n".join(lines + [_row(o) for o in kind.options]))
    return "\n".join(parts) + "\n"


def _row(o: ComponentOption) -> str:
    default = "" if o.default is None else f"`{o.default!r}`"
    return f"| `{o.name}` | {TYPES[o.type]} | {default} | {o.help} |"
