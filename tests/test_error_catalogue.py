"""docs/errors.md lists every user-facing error; each row names the test that produces it.

A row's test is a ``CASES`` id of tests/test_errors.py (the message text quoted in the row must be
part of what that case expects on the one line) or a test function there (the text must appear in
its source). Those tests also check that no error prints a traceback (``assert_user_error``).
"""

from __future__ import annotations

import inspect
import re
import test_errors
from helpers import REPO

ROW = re.compile(r"^\| `(?P<message>[^`]+)` \|.*\| (?P<tests>(`[^`]+`(, )?)+) \|$")


def catalogue() -> list[tuple[str, list[str]]]:
    rows = []
    for line in (REPO / "docs" / "errors.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows.append((match["message"], re.findall(r"`([^`]+)`", match["tests"])))
    return rows


def test_the_catalogue_is_not_empty():
    assert len(catalogue()) >= 80


def test_every_catalogued_error_is_produced_by_a_named_test():
    cases = {case.id: " | ".join(case.values[3]) for case in test_errors.CASES}
    functions = {name: inspect.getsource(fn) for name, fn in vars(test_errors).items()
                 if name.startswith("test_") and callable(fn)}
    problems = []
    for message, tests in catalogue():
        for test in tests:
            if test in cases:
                if message not in cases[test]:
                    problems.append(f"{test}: does not expect {message!r} (expects: {cases[test]})")
            elif "::" in test:
                module_name, _, function = test.partition("::")
                import importlib
                module = importlib.import_module(module_name.removesuffix(".py"))
                if message not in inspect.getsource(getattr(module, function)):
                    problems.append(f"{test}: its source does not mention {message!r}")
            elif test in functions:
                if message not in functions[test]:
                    problems.append(f"{test}: its source does not mention {message!r}")
            else:
                problems.append(f"{message!r}: no test named {test!r} in tests/test_errors.py")
    assert not problems, "\n".join(problems)


def test_every_error_case_is_catalogued():
    """The other way round: a new error case must get its row (cause and fix) in docs/errors.md."""
    listed = {test for _, tests in catalogue() for test in tests}
    missing = sorted(case.id for case in test_errors.CASES if case.id not in listed)
    assert not missing, f"add these to docs/errors.md: {missing}"
