"""The shared build cache (``cache=DIR`` or ``SCONS_CACHE_DIR``): SCons's own CacheDir, plus a
seam for reports, plus a remote store (``remote_cache=URL``, :mod:`polyboard.remote_cache`).

A CI runner that fetches everything from the cache runs no action, so nothing an action prints
(the memory table) would reach its log; ``POLYBOARD_ON_RETRIEVE`` lets the plugin print it.
"""

from __future__ import annotations

import os
import sys

from .scons_compat import CacheDir, build_env_of, cache_enabled, executing_actions, printing_actions

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the remote store is imported by the builds that use one (start-up time)
    from .remote_cache import RemoteStore


class ReportingCacheDir(CacheDir):
    """SCons's CacheDir, plus: a target fetched from the cache calls its builder's
    ``POLYBOARD_ON_RETRIEVE(node, env)``, so a report a plugin prints when it builds the target
    (the memory table) is printed on a CI runner that only fetched it, too."""

    def retrieve(self, node) -> bool:
        retrieved = self._retrieve(node)
        if retrieved:
            env = build_env_of(node)
            on_retrieve = env.get("POLYBOARD_ON_RETRIEVE") if env is not None else None
            if on_retrieve is not None:
                on_retrieve(node, env)
        return retrieved

    def _retrieve(self, node) -> bool:
        return super().retrieve(node)


class RemoteCacheDir(ReportingCacheDir):
    """The local cache folder first (when one is configured), then the remote store; a target
    built here goes to both. Each subclass made by :func:`remote_cache_dir` holds one run's store
    (SCons makes one instance per environment, by class and folder, so the store is shared)."""

    remote: RemoteStore

    def is_enabled(self) -> bool:
        return cache_enabled()  # --cache-disable switches the remote off too

    def cachepath(self, node) -> tuple:
        if self.path is None:  # remote only: no local file for SCons's -n bookkeeping
            return None, None
        return super().cachepath(node)

    def _retrieve(self, node) -> bool:
        if not self.is_enabled():
            return False
        if self.path is not None and super()._retrieve(node):
            return True
        if not executing_actions():  # -n: show the build, fetch nothing
            return False
        name = node.get_internal_path()
        if self.remote.fetch(node.get_cachedir_bsig(), name) is None:
            return False
        if printing_actions():
            sys.stdout.write(f"Retrieved `{name}' from the remote cache\n")
            sys.stdout.flush()
        if self.path is not None and not self.is_readonly():
            super().push(node)  # the next build on this machine needs no network
        return True

    def push(self, node):
        if not self.is_enabled():
            return None
        if self.path is not None:
            super().push(node)
        self.remote.push(node.get_cachedir_bsig(), node.get_internal_path(), node.get_internal_path())
        return None


def remote_cache_dir(store: RemoteStore) -> type[RemoteCacheDir]:
    """The CacheDir class for one run's store (SCons takes a class, and makes the instances)."""
    return type("RemoteCacheDir", (RemoteCacheDir,), {"remote": store})


def check_cache_dir(path: str, *, where: str, readonly: bool) -> None:
    """A usable cache folder, or one line saying why not (SCons would raise a traceback for a
    file, and wait on its lock for a read-only folder)."""
    from .errors import PolyboardError

    if os.path.exists(path) and not os.path.isdir(path):
        raise PolyboardError(f"{path} is a file, not a folder; give a folder for the shared build cache", where=where)
    if not os.path.exists(path):
        if readonly:
            raise PolyboardError(f"{path} does not exist (nothing to read with --cache-readonly)", where=where)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise PolyboardError(f"cannot create the cache folder {path}: {exc.strerror}", where=where) from None
    if not os.access(path, os.R_OK | os.X_OK):
        raise PolyboardError(f"cannot read the cache folder {path} (permission denied)", where=where)
    if not readonly and not os.access(path, os.W_OK):
        raise PolyboardError(f"cannot write to the cache folder {path}; to only fetch from it, add "
                             "--cache-readonly", where=where)
