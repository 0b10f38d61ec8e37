"""``scons flash`` and ``scons debug`` with the real tools: QEMU's GDB server and gdb-multiarch.

* flash, method ``gdb``: the test starts ``qemu-system-arm -S -gdb`` with no firmware, ``scons
  flash server=...`` loads the ELF through gdb, and the emulated board then runs it to its end.
* flash, methods ``openocd`` and ``probe-rs``: no probe here, so ``dry_run=1`` command lines are
  compared with golden argument lists from those tools' documentation.
* debug: gdb in batch mode breaks in the Rust kernel's ``kern_crc32`` called from C (stm32f4,
  qemu-system-arm) and from Go (rpi4, qemu-aarch64), prints an argument, finishes with the CRC,
  and lists Rust source lines (so the remapped source paths resolve to the tree).

Every test checks that no emulator or debugger started for its tree is left running.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from helpers import SCONS, child_env, copy_built_tree, copy_tree, run_scons, write

pytestmark = pytest.mark.toolchain

CRC_LINE = "crc32(123456789) = cbf43926"
QEMU_TIMEOUT = 60
GDB_SCRIPT = """\
break kern_crc32
continue
print len
finish
print/x $
list kernel::crc32
"""


@pytest.fixture(scope="module")
def built(tree, tmp_path_factory) -> Path:
    """A copy of the built session tree at another path: the images are bit-identical from any
    checkout path, and the debugger must find the sources in this copy, not the session tree's."""
    folder = tmp_path_factory.mktemp("flash-debug")
    yield copy_built_tree(tree.path, folder / "tree")
    shutil.rmtree(folder / "tree", ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def survivors(marker: str) -> list[str]:
    """Command lines of running processes that mention *marker* (a tree path or a port)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        line = " ".join(a.decode(errors="replace") for a in argv if a)
        if marker in line and ("qemu" in line or "gdb" in line or "openocd" in line):
            found.append(line)
    return found


def assert_nothing_left(marker: str) -> None:
    deadline = time.monotonic() + 5  # a killed process may take a moment to disappear
    while survivors(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert survivors(marker) == []


def after(prefix: str, output: str) -> list[list[str]]:
    """The argument lists printed on lines that start with *prefix*."""
    return [shlex.split(line[len(prefix):]) for line in output.splitlines() if line.startswith(prefix)]


# -- flash ----------------------------------------------------------------------------------------

def test_flash_loads_the_firmware_through_qemus_gdb_server(built: Path):
    port = free_port()
    qemu = subprocess.Popen(
        ["qemu-system-arm", "-M", "netduinoplus2", "-S", "-gdb", f"tcp:127.0.0.1:{port}", "-nographic",
         "-monitor", "none", "-serial", "null", "-semihosting-config", "enable=on,target=native"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    try:
        time.sleep(0.5)  # the GDB server listens before the machine starts: nothing to run before it
        result = run_scons(built, "board=stm32f4", "flash", f"server=127.0.0.1:{port}", timeout=120)
        assert result.returncode == 0, result.output
        commands = after("polyboard: stm32f4: flash: ", result.stdout)
        elf = str(built / "build" / "stm32f4" / "firmware.elf")
        assert commands == [["gdb-multiarch", "-batch", "-nx", "-q", "-ex", "set pagination off",
                             "-ex", "set confirm off", "-ex", "set width 0",
                             "-ex", f"target remote 127.0.0.1:{port}",
                             "-ex", "python for step in ['load', 'monitor system_reset', 'detach']: gdb.execute(step)",
                             elf]]
        assert "Start address 0x08000040" in result.stdout  # gdb's load
        output, _ = qemu.communicate(timeout=QEMU_TIMEOUT)  # detached: the board runs the new image
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
    assert CRC_LINE in output, output
    assert "OK: 0 check(s) failed" in output
    assert qemu.returncode == 0
    assert_nothing_left(str(port))


# Golden argument lists. openocd: its manual, "Flash Programming"
# (https://openocd.org/doc/html/Flash-Programming.html):
#     openocd -f board/stm32f3discovery.cfg -c "program filename.elf verify reset exit"
# with the adapter and chip as two -f configs (interface/..., target/... as the manual's "Config
# File Guidelines" split them) and the file name in Tcl braces. probe-rs: probe-rs-tools'
# src/bin/probe-rs/cmd/download.rs (`probe-rs download --chip <CHIP> <PATH>`, no reset) and
# cmd/reset.rs (`probe-rs reset --chip <CHIP>`); the chip name is from probe-rs/targets/STM32F4_Series.yaml.
OPENOCD_GOLDEN = {
    "lm3s6965": ["openocd", "-f", "interface/ftdi/luminary.cfg", "-f", "target/stellaris.cfg",
                 "-c", "program {ELF} verify reset exit"],
    "f4-openocd": ["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32f4x.cfg",
                   "-c", "program {ELF} verify reset exit"],
}
PROBE_RS_GOLDEN = [["probe-rs", "download", "--chip", "STM32F405RGTx", "ELF"],
                   ["probe-rs", "reset", "--chip", "STM32F405RGTx"]]


@pytest.mark.parametrize("board", sorted(OPENOCD_GOLDEN))
def test_flash_dry_run_openocd_matches_the_manual(tmp_path: Path, board: str):
    tree = copy_tree(tmp_path / "tree")
    write(tree / "boards" / "f4-openocd.toml",
          'inherits = "stm32f4"\ndescription = "STM32F4 Discovery through openocd"\n[flash]\nmethod = "openocd"\n')
    result = run_scons(tree, f"board={board}", "flash", "dry_run=1", timeout=120)
    assert result.returncode == 0, result.output
    elf = str(tree / "build" / board / "firmware.elf")
    golden = [arg.replace("ELF", elf) for arg in OPENOCD_GOLDEN[board]]
    assert after(f"polyboard: {board}: flash: ", result.stdout) == [golden]
    assert not (tree / "build" / board / "firmware.elf").exists()  # dry run: nothing built


def test_flash_dry_run_probe_rs_matches_its_cli(tmp_path: Path):
    tree = copy_tree(tmp_path / "tree")
    write(tree / "boards" / "f4-probe.toml",
          'inherits = "stm32f4"\ndescription = "STM32F405 through probe-rs"\n[flash]\nmethod = "probe-rs"\n')
    result = run_scons(tree, "board=f4-probe", "flash", "dry_run=1", timeout=120)
    assert result.returncode == 0, result.output
    elf = str(tree / "build" / "f4-probe" / "firmware.elf")
    golden = [[arg.replace("ELF", elf) for arg in argv] for argv in PROBE_RS_GOLDEN]
    assert after("polyboard: f4-probe: flash: ", result.stdout) == golden
    assert not (tree / "build").exists() or not any((tree / "build").rglob("*.elf"))


# -- debug ----------------------------------------------------------------------------------------

# rpi4 also lists Go source: -trimpath wrote "polyboard.example/app/main.go", substitute-path maps it
@pytest.mark.parametrize(("board", "caller", "more"), [
    ("stm32f4", "main.c", ""),
    ("rpi4", "cgo", "list main.main\n"),
])
def test_debug_breaks_in_the_rust_kernel(built: Path, tmp_path: Path, board: str, caller: str, more: str):
    script = write(tmp_path / "crc.gdb", GDB_SCRIPT + more)
    result = run_scons(built, f"board={board}", "debug", f"gdb_script={script}", timeout=180)
    assert result.returncode == 0, result.output
    gdb = "\n".join(line[len("[gdb] "):] for line in result.stdout.splitlines() if line.startswith("[gdb] "))
    # stopped in the Rust function, with its C-ABI arguments (len = strlen("123456789"))
    assert "Breakpoint 1, kernel::kern_crc32 (" in gdb, gdb
    assert "at src/lib.rs:" in gdb
    assert "$1 = 9" in gdb
    # `finish` back into the caller (C's main on stm32f4, cgo's wrapper on rpi4) with the CRC
    assert "Value returned is $2 = 3421780262" in gdb
    assert "$3 = 0xcbf43926" in gdb
    if caller == "main.c":
        assert "in main () at src/firmware/main.c:" in gdb
    # `list` prints the Rust source from the tree: the remapped paths resolve
    assert "pub fn crc32(data: &[u8]) -> u32 {" in gdb
    assert "No such file or directory" not in gdb.split("Value returned")[1].split("$3")[1]
    if more:
        assert 'fmt.Printf("hello from polyboard app on %s/%s\\n", runtime.GOOS, runtime.GOARCH)' in gdb
    # the emulator's program ran on after gdb detached
    assert f"[{board}] " in result.stdout
    assert_nothing_left(str(built))


def test_debug_on_a_busy_port_is_one_line_and_starts_nothing(built: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_scons(built, "board=stm32f4", "debug", f"port={port}", "gdb_script=/dev/null", timeout=120)
    assert result.returncode == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"scons: *** port={port}: port {port} is busy"), result.stderr
    assert "Traceback" not in result.output
    assert_nothing_left(str(built))


def test_debug_session_whose_emulator_cannot_listen_is_stopped(built: Path, tmp_path: Path, capfd):
    """The race the read-time check cannot close: the port is taken after it was found free.
    QEMU then exits at once; the session ends with a message and nothing is left running."""
    from polyboard import debugging, gdb

    script = write(tmp_path / "go.gdb", "continue\n")
    elf = str(built / "build" / "stm32f4" / "firmware.elf")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        emulator = ["qemu-system-arm", "-M", "netduinoplus2", "-nographic", "-monitor", "none", "-serial", "null",
                    "-S", "-gdb", f"tcp:127.0.0.1:{port}", "-kernel", elf]
        debugger = gdb.debug_argv(elf, f"127.0.0.1:{port}", source_dirs=[], substitutions=[], script=str(script))
        started = time.monotonic()
        status = debugging._session("stm32f4", emulator, debugger, dict(os.environ), 60, batch=True, cwd=str(built))
        elapsed = time.monotonic() - started
    output = capfd.readouterr()
    assert status == 1
    assert elapsed < 30
    assert "Address already in use" in output.out  # QEMU's own reason, streamed with the board's prefix
    assert "the emulator exited with status 1 while gdb was still attaching" in output.err
    assert_nothing_left(str(port))


def test_debug_without_a_script_is_gdb_on_the_terminal(built: Path):
    """Interactive mode: gdb reads the terminal (here a pipe) and writes to it directly."""
    commands = "break kern_crc32\ncontinue\nprint len\nfinish\nquit\n"
    completed = subprocess.run([str(SCONS), "board=stm32f4", "debug"], cwd=built, input=commands, text=True,
                               capture_output=True, timeout=180, env=child_env())
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Breakpoint 1, kernel::kern_crc32 (" in completed.stdout
    assert "$1 = 9" in completed.stdout
    assert "Value returned is $2 = 3421780262" in completed.stdout
    assert "[gdb] " not in completed.stdout  # not the batch mode's prefixed copy
    assert_nothing_left(str(built))


def path_without(folder: Path, *programs: str) -> str:
    """A PATH with every program of the current one except *programs* (symlinks in *folder*)."""
    folder.mkdir(parents=True)
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = folder / entry.name
            if entry.name not in programs and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    return str(folder)


@pytest.mark.parametrize(("args", "program", "fragments"), [
    (["board=stm32f4", "debug"], "gdb-multiarch", ["gdb-multiarch not found on PATH", "apt-get install gdb-multiarch"]),
    (["board=lm3s6965", "flash"], "openocd", ["openocd not found on PATH", "apt-get install openocd"]),
    (["board=stm32f4", "flash"], "gdb-multiarch", ["gdb-multiarch not found on PATH", "apt-get install gdb-multiarch"]),
], ids=["debug-gdb", "flash-openocd", "flash-gdb"])
def test_a_missing_tool_is_one_line_naming_its_package(tmp_path: Path, args, program, fragments):
    tree = copy_tree(tmp_path / "tree")
    env = child_env(PATH=path_without(tmp_path / "bin", program))
    result = run_scons(tree, *args, timeout=120, env=env)
    assert result.returncode == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("scons: *** "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert not (tree / "build").exists()
