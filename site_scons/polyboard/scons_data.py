"""Data where it meets SCons's substitution: board values, options and paths, never interpreted.

SCons expands ``$NAME`` and evaluates ``${...}`` as Python in every construction variable, COMSTR,
signature varlist and file name it is given; a newline in a list element starts a new command.
A board file, an option value or a checkout path is data, so it enters SCons only through these
helpers:

* :func:`literal` / :func:`literals`: an argument (or a list of arguments) that SCons passes
  through as one word, unexpanded (``SCons.Subst.Literal``): ``-DGREETING="hi there"`` reaches
  gcc as one argument, exactly as written, and ``${...}`` stays text;
* :func:`signature`: a Python value as an action's signature varlist entry (a literal ``repr``);
* :func:`node_name`: a file or folder name for ``env.File``/``env.Dir``/targets (``$`` doubled,
  which is SCons's own escape in names).

How the arguments then reach the tool without a shell or a re-split: :mod:`polyboard.spawn`.
"""

from __future__ import annotations

from typing import Iterable

from .scons_compat import Literal


class Data(Literal):
    """A ``Literal`` that is also safe in a signature.

    SCons computes a command's signature as one string, then drops ``$( ... $)`` spans and turns
    ``$$`` into ``$``; a literal holding ``$(`` (a C flag such as ``-DQ=$(x)``) would look like a
    strip marker ("Unbalanced $(/$)"). Doubled, every ``$`` of the data survives that as itself."""

    def for_signature(self) -> str:
        return self.lstr.replace("$", "$$")


def literal(value: object) -> Data:
    """One command-line argument that SCons must not expand or split."""
    return Data(str(value))


def literals(values: Iterable[object]) -> list[Data]:
    return [literal(value) for value in values]


def signature(value: object) -> Data:
    """A varlist value: ``repr(value)`` as the action's signature, never expanded."""
    return Data(repr(value))


def node_name(path: object) -> str:
    """A path as SCons reads a node's name (``$`` is SCons's escape character there)."""
    return str(path).replace("$", "$$")
