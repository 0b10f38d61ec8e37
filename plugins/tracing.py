"""Tracing plugin: ``trace=1`` switches lightweight instrumentation on in C, Rust and Go at once.

One option, three languages, each through its own native switch (the typed seams of
``polyboard_switches``): the C define ``POLYBOARD_TRACE=1`` on every C file, the cargo feature
``trace`` for every crate that defines it, and the Go build tag ``polyboard_trace``. Off (the
default) adds nothing, so a release image carries no tracing code.

The instrumented programs print ``TRACE <kind> key=value ...`` lines on the channel they already
have (semihosting or stdout). After ``scons trace=1 run`` (or ``test``) this plugin collects them
from each run's output, prints one summary table per board and writes them as JSON next to the
program (``build/<board>/<component>.trace.json``). The record format is in docs/tracing.md.
"""

from __future__ import annotations

import os
import sys

from polyboard import hookimpl, manifest

DEFINE = "POLYBOARD_TRACE=1"
GO_TAG = "polyboard_trace"
CARGO_FEATURE = "trace"
PREFIX = "TRACE "

_traced_boards: set[str] = set()  # boards of this run built with trace=1 (one SCons run per process)


@hookimpl
def polyboard_register(registry):
    registry.add_option("trace", "1 turns on tracing in C (POLYBOARD_TRACE), Rust (feature trace) and Go "
                        "(tag polyboard_trace); run prints a summary (docs/tracing.md)",
                        default="0", choices=("0", "1"))


@hookimpl
def polyboard_switches(build):
    if build.options.get("trace", "0") == "1":
        _traced_boards.add(build.board.id)
        build.defines.append(DEFINE)
        build.go_tags.append(GO_TAG)
        build.cargo_features.append(CARGO_FEATURE)


def parse_records(lines) -> list[dict]:
    """``TRACE <kind> k=v ...`` lines as ``{"kind": kind, k: v, ...}`` (integers where they are).

    Anything else on a line is ignored: the records share the console with the program's output."""
    records = []
    for line in lines:
        line = line.strip()
        if not line.startswith(PREFIX):
            continue
        fields = line[len(PREFIX):].split()
        if not fields or "=" in fields[0]:
            continue
        record: dict = {"kind": fields[0]}
        for field in fields[1:]:
            key, sep, value = field.partition("=")
            if not sep or not key:
                continue
            record[key] = int(value) if value.isdigit() else value
        records.append(record)
    return records


def summary_rows(records: list[dict]) -> list[tuple[str, str]]:
    """One (what, figures) row per record, for the table."""
    rows = []
    for record in records:
        kind = record["kind"]
        if kind == "call":
            figures = (f"{record.get('calls', '?')} calls ({record.get('rust_calls', '?')} counted by Rust), "
                       f"{record.get('total_us', '?')} us total, {record.get('max_us', '?')} us max")
            rows.append((f"call {record.get('fn', '?')}", figures))
        else:
            figures = ", ".join(f"{k}={v}" for k, v in record.items() if k != "kind")
            rows.append((kind, figures))
    return rows


@hookimpl
def polyboard_summary(results):
    traced = [r for r in results if r.board in _traced_boards and r.program]
    for result in traced:
        records = parse_records(result.output)
        if not records and result.verb != "run":
            continue  # a test program that traces nothing (a Rust or Go unit test) is not news
        path = os.path.join(os.path.dirname(result.program), f"{result.component}.trace.json")
        document = {"board": result.board, "component": result.component, "verb": result.verb,
                    "status": result.status, "records": records}
        manifest.write_json(path, document)  # whole or not at all
        print(f"\npolyboard trace: {result.board} {result.component} ({os.path.relpath(path)}):")
        if not records:
            print("  no TRACE records in the output (does the program include the tracing code? docs/tracing.md)")
            continue
        rows = summary_rows(records)
        width = max(len(what) for what, _ in rows)
        for what, figures in rows:
            print(f"  {what.ljust(width)}  {figures}")
    sys.stdout.flush()
