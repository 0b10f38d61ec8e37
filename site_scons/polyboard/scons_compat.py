"""Every SCons internal polyboard relies on, in one place.

SCons's documented API (``Environment``, ``Builder``, ``Action``, ``Command``, ``Alias``,
``Depends``, ``SetOption``/``GetOption``, ``GetBuildFailures``, ``CacheDir``, construction
variables such as ``SPAWN`` or ``PRINT_CMD_LINE_FUNC``) is used where it is needed. What SCons
does not document, and may move in any release, is reached only through this module, so a new
SCons breaks here, and tests/test_scons_compat.py names the internal that moved (one test each).

May touch: SCons's modules. Must not: board data, plugins, the command line.
"""

from __future__ import annotations

import glob
import os
import sys

import SCons.CacheDir
import SCons.Defaults
import SCons.Errors
import SCons.Node.FS
import SCons.Subst
import SCons.Tool
import SCons.Util

# -- values, errors ---------------------------------------------------------------------------------

#: ``SCons.Subst.Literal``: a value SCons substitutes as one word, never expanded (``env.Literal``
#: makes one; polyboard subclasses it for signatures, see scons_data.Data, and reads ``lstr``).
Literal = SCons.Subst.Literal

#: ``SCons.Errors.StopError``: what SCons reports while reading SConscript files as one
#: ``scons: *** <message>  Stop.`` line, exit status 2, no traceback.
StopError = SCons.Errors.StopError


def build_error(message: str, status: int):
    """``SCons.Errors.BuildError``: an action's failure printed as ``scons: *** [target] message``."""
    return SCons.Errors.BuildError(errstr=message, exitstatus=status)


# -- the C tools' builders --------------------------------------------------------------------------

def object_builders(env):
    """The static and shared object builders SCons's ``cc`` tool added to *env*
    (``SCons.Tool.createObjBuilders``), to attach our actions per suffix."""
    return SCons.Tool.createObjBuilders(env)


def static_library_builder(env):
    """The ``StaticLibrary`` builder of *env* (``SCons.Tool.createStaticLibBuilder``)."""
    return SCons.Tool.createStaticLibBuilder(env)


#: ``SCons.Defaults.StaticObjectEmitter``: marks a static object's targets as such.
static_object_emitter = SCons.Defaults.StaticObjectEmitter


# -- the record of the last build (.sconsign) --------------------------------------------------------

SCONSIGN_GLOB = ".sconsign*.dblite"  # SCons's default signature database (SConsignFile())


def sconsign_files(top: str) -> list[str]:
    """The signature database files SCons keeps at the top of the tree."""
    return glob.glob(os.path.join(top, SCONSIGN_GLOB))


def is_file_node(node) -> bool:
    return isinstance(node, SCons.Node.FS.File)


def may_be_file_node(node) -> bool:
    """A File, or an Entry: a target named by a string that SCons has not yet decided is a file."""
    return isinstance(node, (SCons.Node.FS.File, SCons.Node.FS.Entry))


def as_file(node):
    """*node* as a File when it is one: an Entry (a target named by a string) becomes a File once
    ``disambiguate()`` finds a file on disk (SCons changes the node's class in place); else None."""
    if isinstance(node, SCons.Node.FS.Entry):
        node = node.disambiguate()
    return node if isinstance(node, SCons.Node.FS.File) else None


def recorded_info(node):
    """What SCons recorded for *node* after its last build (``get_stored_info().ninfo``: ``csig``,
    ``size``, ``timestamp``; an attribute is missing when never recorded)."""
    return node.get_stored_info().ninfo


def file_signature(path: str) -> str:
    """The content signature SCons records as ``csig`` (``SCons.Util.hash_file_signature``)."""
    return SCons.Util.hash_file_signature(path)


# -- nodes --------------------------------------------------------------------------------------------

def build_env_of(node):
    """The environment *node* is built with (``Node.get_build_env``), or None without a builder."""
    return node.get_build_env() if node.has_builder() else None


def built_files_in(folder) -> list:
    """The files declared as targets directly in *folder* (``Dir.entries``; an entry declared by
    path is an ``Entry`` until ``disambiguate()`` makes it a File)."""
    found = []
    for name, node in folder.entries.items():
        if name in (".", ".."):
            continue
        node = node.disambiguate()
        if is_file_node(node) and node.has_builder():
            found.append(node)
    return found


# -- the shared cache ---------------------------------------------------------------------------------

class CacheDir(SCons.CacheDir.CacheDir):
    """SCons's CacheDir class, whose ``retrieve(node)`` (called on worker threads, returns True
    when the node was fetched) polyboard's cache extends; see cache.py. The remote cache also
    overrides ``push(node)``, ``cachepath(node)`` and ``is_enabled()``, and calls ``is_readonly()``."""


def cache_enabled() -> bool:
    """False under ``--cache-disable`` (``SCons.CacheDir.cache_enabled``)."""
    return SCons.CacheDir.cache_enabled


def executing_actions() -> bool:
    """False under ``-n`` (``SCons.Action.execute_actions``)."""
    import SCons.Action
    return SCons.Action.execute_actions


def printing_actions() -> bool:
    """False under ``-s``/``-Q``-like silence of actions (``SCons.Action.print_actions``)."""
    import SCons.Action
    return SCons.Action.print_actions


# -- keep going ---------------------------------------------------------------------------------------

def set_keep_going() -> bool:
    """``-k`` from the SConstruct. ``SetOption`` refuses ``keep_going``, so this sets it where
    SetOption keeps its own values (``SCons.Script.Main.OptionsParser.values``'
    ``__SConscript_settings__``), so an explicit ``-k`` on the command line still wins.

    Returns False, after one warning line, when that internal is not there: the build then
    stops at the first failure as SCons does by default (``-k`` still works)."""
    import SCons.Script.Main as main

    values = getattr(getattr(main, "OptionsParser", None), "values", None)
    settings = getattr(values, "__dict__", {}).get("__SConscript_settings__")
    if not isinstance(settings, dict):
        sys.stderr.write("polyboard: warning: this SCons keeps its SConscript settings elsewhere, so several "
                         "boards do not keep going after a failure; pass -k to keep going\n")
        return False
    settings["keep_going"] = True
    return True
