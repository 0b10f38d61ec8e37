"""The shared build cache (``cache=DIR`` or ``SCONS_CACHE_DIR``): SCons's own CacheDir, plus a
seam for reports.

A CI runner that fetches everything from the cache runs no action, so nothing an action prints
(the memory table) would reach its log; ``POLYBOARD_ON_RETRIEVE`` lets the plugin print it.
"""

from __future__ import annotations

import os

from .scons_compat import CacheDir, build_env_of


class ReportingCacheDir(CacheDir):
    """SCons's CacheDir, plus: a target fetched from the cache calls its builder's
    ``POLYBOARD_ON_RETRIEVE(node, env)``, so a report a plugin prints when it builds the target
    (the memory table) is printed on a CI runner that only fetched it, too."""

    def retrieve(self, node) -> bool:
        retrieved = super().retrieve(node)
        if retrieved:
            env = build_env_of(node)
            on_retrieve = env.get("POLYBOARD_ON_RETRIEVE") if env is not None else None
            if on_retrieve is not None:
                on_retrieve(node, env)
        return retrieved


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
