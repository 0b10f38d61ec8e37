"""The live status line on a terminal (polyboard.status) and its neighbours' lines kept whole.

In CI mode (no terminal) long cargo runs print a plain line every 10 s instead: that is
test_cargo_progress.py.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from helpers import SCONS, child_env

from polyboard import status

ERASE = status.ERASE


def visible_lines(raw: str) -> list[str]:
    """What a terminal shows of each line: the text after the last carriage return."""
    return [line.rsplit("\r", 1)[-1].replace("\x1b[K", "") for line in raw.split("\n")]


def test_status_is_erased_before_each_line_and_redrawn_after(monkeypatch):
    monkeypatch.setattr(status, "SHOW_AFTER", 0.0)
    out = io.StringIO()
    stream = status.StatusStream(out)
    try:
        job = stream.begin(lambda: "[b] kernel: 2 crates compiled")
        stream.write("CC      [b] main.c.o\n")
        stream.write("LINK    [b] firmware.elf\n")
        stream.end(job)
        stream.write("done\n")
    finally:
        stream.close()
    raw = out.getvalue()
    assert raw.count("[b] kernel: 2 crates compiled, 0 s") == 2, raw
    assert visible_lines(raw) == ["CC      [b] main.c.o", "LINK    [b] firmware.elf", "done", ""], raw
    assert raw.endswith("done\n"), raw  # the job ended: nothing redrawn below


def test_quick_jobs_never_show_and_a_broken_text_is_skipped(monkeypatch):
    out = io.StringIO()
    stream = status.StatusStream(out)
    try:
        job = stream.begin(lambda: "quick")  # SHOW_AFTER = 1 s
        stream.begin(lambda: 1 / 0)
        stream.write("line\n")
        stream.end(job)
    finally:
        stream.close()
    assert out.getvalue() == "line\n"


def test_no_status_line_without_a_terminal(monkeypatch):
    assert not status.wanted(io.StringIO())
    monkeypatch.setenv("TERM", "dumb")

    class Tty(io.StringIO):
        def isatty(self):
            return True
    assert not status.wanted(Tty())
    monkeypatch.setenv("TERM", "xterm")
    assert status.wanted(Tty())


def run_on_a_terminal(argv: list[str], cwd: Path, env: dict, timeout: float = 900) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal 200 columns wide; return (status, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                               start_new_session=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        else:
            process.kill()
            pytest.fail("scons did not finish on the terminal")
        returncode = process.wait(timeout=60)
    finally:
        os.close(master)
    return returncode, b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.toolchain
def test_a_long_cargo_run_shows_a_live_status_line_on_a_terminal(built_scratch_tree):
    tree = built_scratch_tree
    build_rs = tree / "src/kernel/build.rs"  # a build script that takes a while: cargo runs for seconds
    build_rs.write_text(build_rs.read_text().replace(
        "fn main() {", "fn main() {\n    std::thread::sleep(std::time::Duration::from_secs(4));", 1))
    lib = tree / "src/kernel/src/lib.rs"  # and a change to the library: the firmware relinks afterwards
    lib.write_text(lib.read_text() + '\n#[no_mangle]\npub extern "C" fn kern_status_probe() -> u32 {\n    7\n}\n')
    env = child_env(TERM="xterm")
    returncode, raw = run_on_a_terminal([str(SCONS), "board=stm32f4", "-j2"], tree, env)
    assert returncode == 0, raw
    label = "[stm32f4] build/stm32f4/kernel/libkernel.a: "
    shown = [part for part in raw.split(ERASE) if part.startswith(label)]
    assert len(shown) >= 2, raw  # redrawn while cargo ran
    assert all(" crate" in part and part.rstrip("\n").endswith(" s") for part in shown), shown
    lines = visible_lines(raw)
    assert "LINK    [stm32f4] build/stm32f4/firmware.elf" in lines, lines
    assert not [line for line in lines if label in line], "a status line was left on the screen"
    assert not [line for line in lines if "crates compiled" in line or "crate compiled" in line], lines
