"""The plugin host: one pluggy PluginManager per run, and the facade core code calls hooks through.

Plugins come from exactly two places: the ``polyboard`` entry-point group (built-in plugins are
registered there too, in pyproject.toml) and the firmware tree's own ``plugins/`` folder. Nothing
else is imported. A plugin that fails to import, fails validation or raises inside a hook is
reported as one :class:`PolyboardError` naming the plugin.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

from . import hookspec
from .errors import PolyboardError

ENTRY_POINT_GROUP = "polyboard"


def _plugin_error(name: str, exc: BaseException, doing: str) -> PolyboardError:
    if isinstance(exc, PolyboardError):
        return exc
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return PolyboardError(f"{doing} raised {type(exc).__name__}: {exc}{where}", where=f"plugin {name}")


# What a plugin may raise that becomes one line naming it: any error, and SystemExit (a plugin
# calling sys.exit() must not end the build silently with its own status).
PLUGIN_FAILURES = (Exception, SystemExit)


class _PluginManager(pluggy.PluginManager):
    """Hook functions are recognised by name as well as by ``@hookimpl`` (as pytest does), so an
    undecorated ``polyboard_*`` function is registered like a decorated one, and a misspelt one is
    caught by ``check_pending`` instead of being silently ignored.

    ``distributions`` maps an entry-point plugin's name to the pip distribution that installed it
    (``polyboard`` for the built-ins, ``acme-boards`` for a board pack): what a board pack's
    boards are listed under, and what an error about them names."""

    def __init__(self, project_name: str):
        super().__init__(project_name)
        self.distributions: dict[str, str] = {}

    def parse_hookimpl_opts(self, plugin, name: str):
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(f"{hookspec.PROJECT}_"):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                opts = {}
        return opts


def new_manager() -> pluggy.PluginManager:
    manager = _PluginManager(hookspec.PROJECT)
    manager.add_hookspecs(hookspec)
    return manager


def _load_folder_module(path: Path) -> Any:
    module_name = f"polyboard_local_plugins.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


OWN_DISTRIBUTION = "polyboard"  # its entry points are the built-in plugins
AUTOLOAD_VARIABLE = "POLYBOARD_DISABLE_PLUGIN_AUTOLOAD"


def select_entry_points(entry_points: list, selection: str = "", *, autoload: bool = True,
                        local: tuple[str, ...] = ()) -> list:
    """Which entry-point plugins to load: ``autoload=False`` (``POLYBOARD_DISABLE_PLUGIN_AUTOLOAD=1``,
    as pytest's) keeps only polyboard's own built-ins; ``plugins=-name,+name`` then switches a
    plugin off or on by its name (an entry point's, or a tree plugin's file name in *local*). A
    name that no plugin has is an error listing the ones there are."""
    def own(ep) -> bool:
        dist = getattr(ep, "dist", None)
        return dist is None or (dist.name or "").lower() == OWN_DISTRIBUTION

    by_name = {ep.name: ep for ep in entry_points}
    by_name.update({name: None for name in local if name not in by_name})
    chosen = {ep.name for ep in entry_points if autoload or own(ep)}
    for word in (w.strip() for w in selection.split(",")):
        if not word:
            continue
        sign, name = (word[0], word[1:]) if word[0] in "+-" else ("+", word)
        if name not in by_name:
            raise PolyboardError(f"no installed plugin is named {name!r}; plugins: "
                                 f"{', '.join(sorted(by_name)) or '(none)'}", where=f"plugins={selection}")
        (chosen.add if sign == "+" else chosen.discard)(name)
    return [ep for ep in entry_points if ep.name in chosen]


def switched_off(selection: str) -> set[str]:
    """The names ``plugins=-a,-b`` switches off (for the tree's own plugins/ folder too)."""
    return {w.strip()[1:] for w in selection.split(",") if w.strip().startswith("-")}


def load_plugins(manager: pluggy.PluginManager, plugin_dir: Path | None,
                 entry_points: list | None = None, *, selection: str = "", autoload: bool = True) -> None:
    """Register entry-point plugins, then the tree's ``plugins/*.py``.

    A file in the tree's ``plugins/`` folder named like an entry-point plugin's module
    (``c_toolchain.py`` for ``polyboard_plugins.c_toolchain``) overrides that plugin, as the
    tree's ``boards/`` override a board pack's files: a copy or a second checkout of this
    repository builds with its own built-ins, and the entry point is not even imported. When both
    are the same file (this repository with an editable install) it is registered once, under the
    entry point's name."""
    folder: dict[str, Path] = {}
    if plugin_dir is not None and plugin_dir.is_dir():
        folder = {p.stem: p for p in sorted(plugin_dir.glob("*.py")) if not p.name.startswith("_")}
    if entry_points is None:
        entry_points = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    entry_points = select_entry_points(entry_points, selection, autoload=autoload, local=tuple(folder))
    for name in switched_off(selection):
        folder.pop(name, None)
    for ep in sorted(entry_points, key=lambda e: e.name):
        local = folder.get(ep.module.rpartition(".")[2])
        if local is not None and not _same_file(ep.module, local):
            continue  # overridden: registered from the folder below
        folder.pop(ep.module.rpartition(".")[2], None)
        dist = distribution_of(ep)
        try:
            plugin = ep.load()
        except PLUGIN_FAILURES as exc:  # any import failure is the plugin's fault, reported as such
            shown = f"{ep.name} (distribution {dist})" if dist else ep.name
            raise _plugin_error(shown, exc, f"loading entry point {ep.value!r}") from None
        if dist and hasattr(manager, "distributions"):
            manager.distributions[ep.name] = dist
        _register(manager, plugin, ep.name)
    for path in folder.values():
        shown = f"{plugin_dir.name}/{path.name}"
        try:
            module = _load_folder_module(path)
        except PLUGIN_FAILURES as exc:
            raise _plugin_error(shown, exc, "importing") from None
        _register(manager, module, shown)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _unknown_hook_error(manager, exc) from None


def distribution_of(entry_point) -> str:
    """The name of the pip distribution that installed *entry_point* ("" when unknown)."""
    dist = getattr(entry_point, "dist", None)
    return (getattr(dist, "name", None) or "") if dist is not None else ""


def _same_file(module_name: str, path: Path) -> bool:
    """Whether *module_name* would be imported from *path* (found without running the module)."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None and Path(spec.origin).resolve() == path.resolve()


def _unknown_hook_error(manager: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> PolyboardError:
    """check_pending's error, said with the hook's name, a close match and the known hooks."""
    name = manager.get_name(exc.plugin) or "?"
    known = sorted(n for n in vars(hookspec) if n.startswith(f"{hookspec.PROJECT}_"))
    unknown = sorted(hook for hook, caller in vars(manager.hook).items()
                     if isinstance(caller, pluggy.HookCaller) and not caller.has_spec()
                     and any(impl.plugin is exc.plugin for impl in caller.get_hookimpls()))
    if not unknown:
        return PolyboardError(f"failed validation: {exc}", where=f"plugin {name}")
    close = difflib.get_close_matches(unknown[0], known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return PolyboardError(f"implements an unknown hook {unknown[0]!r}; {hint}known hooks: {', '.join(known)}",
                          where=f"plugin {name}")


def _register(manager: pluggy.PluginManager, plugin: Any, name: str) -> None:
    if manager.is_registered(plugin) or manager.get_plugin(name) is not None:
        return
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PolyboardError(f"failed validation: {exc}", where=f"plugin {name}") from None


class Hooks:
    """Typed facade over the hooks; every call converts a plugin's exception into a user error."""

    def __init__(self, manager: pluggy.PluginManager):
        self.manager = manager

    def _call(self, hook_name: str, **kwargs: Any) -> Any:
        hook = getattr(self.manager.hook, hook_name)
        try:
            return hook(**kwargs)
        except PolyboardError:
            raise
        except PLUGIN_FAILURES as exc:
            culprit = self._culprit(exc, hook_name)
            raise _plugin_error(culprit, exc, hook_name) from None

    def _culprit(self, exc: BaseException, hook_name: str) -> str:
        """Name the plugin whose code raised: the innermost traceback frame inside a plugin module."""
        files = {}
        for name, plugin in self.manager.list_name_plugin():
            module_file = getattr(plugin, "__file__", None)
            if module_file:
                files[str(Path(module_file).resolve())] = name
        culprit = hook_name
        tb = exc.__traceback__
        while tb is not None:
            name = files.get(str(Path(tb.tb_frame.f_code.co_filename).resolve()))
            if name:
                culprit = name
            tb = tb.tb_next
        return culprit

    def register(self, registry) -> None:
        """Call each plugin's ``polyboard_register`` in registration order, telling the registry
        which plugin is adding what (for its error messages)."""
        names = {id(plugin): name for name, plugin in self.manager.list_name_plugin()}
        distributions = getattr(self.manager, "distributions", {})
        for impl in self.manager.hook.polyboard_register.get_hookimpls():  # in registration order
            name = names.get(id(impl.plugin), impl.plugin_name)
            registry.current_plugin = name
            registry.current_distribution = distributions.get(name, "")
            try:
                impl.function(**{arg: registry for arg in impl.argnames if arg == "registry"})
            except PolyboardError:
                raise
            except PLUGIN_FAILURES as exc:
                raise _plugin_error(name, exc, "polyboard_register") from None
        registry.current_plugin = registry.current_distribution = ""

    def cpu_flags(self, board) -> list[str]:
        flags = self._call("polyboard_cpu_flags", board=board)
        return list(flags or [])

    def go_backend(self, build):
        return self._call("polyboard_go_backend", build=build)

    def coverage(self, build, artifact):
        return self._call("polyboard_coverage", build=build, artifact=artifact)

    def switches(self, build) -> None:
        self._call("polyboard_switches", build=build)

    def configure_board(self, build) -> None:
        self._call("polyboard_configure_board", build=build)

    def after_link(self, build, component: str, elf) -> list:
        results = self._call("polyboard_after_link", build=build, component=component, elf=elf)
        return [node for result in results for node in (result or [])]

    def after_components(self, builds: list, root) -> list:
        results = self._call("polyboard_after_components", builds=list(builds), root=root)
        return [node for result in results for node in (result or [])]

    def run_command(self, board, program: str, args: list[str]) -> list[str] | None:
        """The first answer, checked: an argument vector of strings. The implementations are
        called here one by one, in pluggy's order for a ``firstresult`` hook, so that a bad answer
        names the plugin that gave it."""
        kwargs = {"board": board, "program": program, "args": list(args)}
        for impl in reversed(self.manager.hook.polyboard_run_command.get_hookimpls()):
            name = self.manager.get_name(impl.plugin) or impl.plugin_name
            try:
                argv = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except PolyboardError:
                raise
            except PLUGIN_FAILURES as exc:
                raise _plugin_error(name, exc, "polyboard_run_command") from None
            if argv is None:
                continue
            if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
                raise PolyboardError(f"polyboard_run_command returned {argv!r} for board {board.id}; it must "
                                     "return a non-empty list of strings (the argument vector) or None",
                                     where=f"plugin {name}")
            return argv
        return None

    def debug_server(self, board, program: str, args: list[str], port: int) -> list[str] | None:
        return self._call("polyboard_debug_server", board=board, program=program, args=list(args), port=port)

    def flash_command(self, board, elf: str, server: str, dry_run: bool) -> list[list[str]] | None:
        return self._call("polyboard_flash_command", board=board, elf=elf, server=server, dry_run=dry_run)

    def editor_settings(self, build, components: list) -> dict:
        merged: dict = {}
        for result in self._call("polyboard_editor_settings", build=build, components=list(components)):
            for key, value in (result or {}).items():
                if key in merged and merged[key] != value:
                    raise PolyboardError(f"two plugins set editor setting {key!r}", where=f"board {build.board.id}")
                merged[key] = value
        return merged

    def summary(self, results: list) -> None:
        self._call("polyboard_summary", results=results)
