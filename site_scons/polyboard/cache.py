"""The shared build cache (``cache=DIR`` or ``SCONS_CACHE_DIR``): SCons's own CacheDir, plus a
seam for reports.

A CI runner that fetches everything from the cache runs no action, so nothing an action prints
(the memory table) would reach its log; ``POLYBOARD_ON_RETRIEVE`` lets the plugin print it.
"""

from __future__ import annotations

import SCons.CacheDir


class ReportingCacheDir(SCons.CacheDir.CacheDir):
    """SCons's CacheDir, plus: a target fetched from the cache calls its builder's
    ``POLYBOARD_ON_RETRIEVE(node, env)``, so a report a plugin prints when it builds the target
    (the memory table) is printed on a CI runner that only fetched it, too."""

    def retrieve(self, node) -> bool:
        retrieved = super().retrieve(node)
        if retrieved:
            env = node.get_build_env()
            on_retrieve = env.get("POLYBOARD_ON_RETRIEVE") if env is not None else None
            if on_retrieve is not None:
                on_retrieve(node, env)
        return retrieved
