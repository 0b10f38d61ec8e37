"""How polyboard decides that a target is out of date (the SCons ``Decider`` of every board env).

Two rules on top of SCons's own content signatures:

* **content, not timestamps**: SCons records whole-second modification times, so a file written
  twice within one second (a regenerated ``link.ld``, a scripted edit) would look unchanged to
  the ``content-timestamp`` decider;
* **a target must still be what SCons recorded**: a build killed after a target was moved into
  place but before SCons wrote ``.sconsign`` leaves new bytes under an old record. Revert the
  sources and SCons would call the target up to date (SCons bug tracker #2718). So a target
  whose content hash differs from the one recorded for it is rebuilt.

Hashing a target costs what hashing a dependency costs; measured in docs/benchmarks.md.
"""

from __future__ import annotations

import threading

import SCons.Node.FS
import SCons.Util

_VERIFIED: dict[int, bool] = {}
_LOCK = threading.Lock()


def target_is_stale(target) -> bool:
    """True when *target* exists but its bytes are not the bytes its last recorded build made."""
    key = id(target)
    with _LOCK:
        if key in _VERIFIED:
            return _VERIFIED[key]
    stale = False
    if isinstance(target, SCons.Node.FS.File) and target.exists():
        recorded = getattr(target.get_stored_info().ninfo, "csig", None)
        if recorded:
            stale = SCons.Util.hash_file_signature(target.get_abspath()) != recorded
    with _LOCK:
        _VERIFIED[key] = stale
    return stale


def decide(dependency, target, prev_ni, repo_node=None) -> bool:
    """SCons Decider: has *dependency* changed for *target* (or is *target* itself untrustworthy)?"""
    if target_is_stale(target):
        return True
    return dependency.changed_content(target, prev_ni, repo_node)
