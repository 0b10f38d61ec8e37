"""How polyboard decides that a target is out of date (the SCons ``Decider`` of every board env).

Two rules on top of SCons's own content signatures:

* **content, not timestamps**: SCons records whole-second modification times, so a file written
  twice within one second (a regenerated ``link.ld``, a scripted edit) would look unchanged to
  the ``content-timestamp`` decider;
* **a target must still be what SCons recorded**: a build killed after a target was moved into
  place but before SCons wrote ``.sconsign`` leaves new bytes under an old record. Revert the
  sources and SCons would call the target up to date (SCons bug tracker #2718). So a target
  whose content hash differs from the one recorded for it is rebuilt.

A target is hashed only when its size and whole-second mtime cannot tell (see target_is_stale),
and so is a dependency: SCons would otherwise re-read every file changed in the last two days
(its ``max_drift``) on each build, among them the large intermediate files (``libkernel.a``,
``app.debug``) that several nodes depend on: most of a null build's reading (see
reuse_recorded_signature).
"""

from __future__ import annotations

import os
import threading

from . import scons_compat

_VERIFIED: dict[int, bool] = {}
_REUSED: set[int] = set()
_RECORD_SECOND: int | None = None
_LOCK = threading.Lock()


def _record_second(top: str) -> int:
    """The whole second in which SCons last wrote its record (.sconsign), -1 if never."""
    global _RECORD_SECOND
    if _RECORD_SECOND is None:
        times = [os.stat(path).st_mtime for path in scons_compat.sconsign_files(top)]
        _RECORD_SECOND = int(max(times)) if times else -1
    return _RECORD_SECOND


# What a file's size and modification second say about SCons's record of it, without reading it.
SAME, DIFFERS, CANNOT_TELL = "same", "differs", "cannot tell"


def _against_record(node) -> tuple[str, str | None]:
    """(verdict, recorded content signature) for the file *node*.

    A different size or modification second proves the file DIFFERS. Equal ones prove it the
    SAME only when the record is older than SCons's last write of .sconsign: a record taken in
    that same second may have been followed by a rewrite within it, so CANNOT_TELL (as when
    the record has no size or second, or the file cannot be stat'ed): only hashing can tell."""
    record = scons_compat.recorded_info(node)
    recorded = getattr(record, "csig", None)
    size, second = getattr(record, "size", None), getattr(record, "timestamp", None)
    if not recorded or size is None or second is None:
        return CANNOT_TELL, recorded or None
    try:
        stat = os.stat(node.get_abspath())
    except OSError:
        return CANNOT_TELL, recorded
    if size != stat.st_size or second != int(stat.st_mtime):
        return DIFFERS, recorded
    if second >= _record_second(node.fs.Dir("#").get_abspath()):
        return CANNOT_TELL, recorded
    return SAME, recorded


def target_is_stale(target) -> bool:
    """True when *target* exists but is not the file its last recorded build made: decided by
    :func:`_against_record`, hashing the file only when that cannot tell. So a null build
    reads no target that has been at rest for a second."""
    key = id(target)
    with _LOCK:
        if key in _VERIFIED:
            return _VERIFIED[key]
    stale = False
    # A target named by a string is an Entry until SCons disambiguates it: check it as the file
    # it is (the whole-build manifest was such a target, and escaped this check).
    target = scons_compat.as_file(target) if scons_compat.may_be_file_node(target) else None
    if target is not None and target.exists():
        verdict, recorded = _against_record(target)
        if recorded:
            if verdict == CANNOT_TELL:
                stale = scons_compat.file_signature(target.get_abspath()) != recorded
            else:
                stale = verdict == DIFFERS
    with _LOCK:
        _VERIFIED[key] = stale
    return stale


def recorded_signature_if_unchanged(node) -> str | None:
    """The content signature SCons recorded for the file *node* when :func:`_against_record`
    proves the file the same; None when only reading the file can tell."""
    verdict, recorded = _against_record(node)
    return recorded if verdict == SAME else None


def reuse_recorded_signature(dependency) -> None:
    """Give *dependency* its recorded content signature when the file is provably unchanged, so
    SCons's ``get_csig`` does not hash it. A file built in this run has a fresh signature
    already (SCons clears and recomputes it after the build), which this leaves alone."""
    key = id(dependency)
    with _LOCK:
        if key in _REUSED:
            return
        _REUSED.add(key)
    node = scons_compat.as_file(dependency) if scons_compat.may_be_file_node(dependency) else None
    if node is None or not node.exists():
        return
    ninfo = node.get_ninfo()
    if getattr(ninfo, "csig", None):
        return
    recorded = recorded_signature_if_unchanged(node)
    if recorded:
        ninfo.csig = recorded


def decide(dependency, target, prev_ni, repo_node=None) -> bool:
    """SCons Decider: has *dependency* changed for *target* (or is *target* itself untrustworthy)?"""
    if target_is_stale(target):
        return True
    reuse_recorded_signature(dependency)
    return dependency.changed_content(target, prev_ni, repo_node)
