"""Every kind of bad input, end to end through ``scons`` in a copy of the reference tree.

A user error is one line on stderr, ``scons: *** <file>: <key>: <message>``, exit status 2, no
traceback, and nothing built or deleted. SCons's own preamble on stdout is allowed.
"""

from __future__ import annotations

import os
import sys
import socket
from pathlib import Path

import pytest

from helpers import child_env, run_scons, snapshot, write

CHILD_OF_STM32F4 = 'inherits = "stm32f4"\ndescription = "a test board"\n'
RAISING_PLUGIN = '''\
from polyboard import hookimpl


@hookimpl
def polyboard_configure_board(build):
    raise RuntimeError("the broken plugin broke")
'''
UNIMPORTABLE_PLUGIN = "import polyboard_no_such_module\n"
EXITING_PLUGIN = "import sys\n\n\ndef polyboard_register(registry):\n    sys.exit(0)\n"
UNDECORATED_TYPO_PLUGIN = "def polyboard_configure_bord(build):\n    pass\n"
CORE_OPTION_PLUGIN = ("def polyboard_register(registry):\n"
                      "    registry.add_option('board', 'my own board option', choices=('x',))\n")
RESERVED_KIND_PLUGIN = ("def polyboard_register(registry):\n"
                        "    registry.add_component_kind('finish', lambda build, component: None)\n")
INVALID_KIND_PLUGIN = ("def polyboard_register(registry):\n"
                       "    registry.add_component_kind('my-kind', lambda build, component: None)\n")


def sconstruct(*lines: str) -> str:
    """An SConstruct declaring *lines* (``project.<kind>(...)`` calls) for the reference tree."""
    return "import polyboard\nproject = polyboard.start()\n" + "".join(f"{line}\n" for line in lines) + \
        "project.finish()\n"


KERNEL = "kernel = project.rust_staticlib('kernel', crate='src/kernel')"
CHILD_OF_RPI4 = 'inherits = "rpi4"\ndescription = "a test board"\n'
SECOND_KIND_PLUGIN = ("def polyboard_register(registry):\n"
                      "    registry.add_component_kind('rust_staticlib', lambda build, component: None)\n")
SECOND_OPTION_PLUGIN = "def polyboard_register(registry):\n    registry.add_option('cargo', 'my cargo')\n"
CHOICE_OPTION_PLUGIN = ("def polyboard_register(registry):\n"
                        "    registry.add_option('flavour', 'a flavour', choices=('sweet', 'sour'))\n")
BAD_SIGNATURE_PLUGIN = "def polyboard_configure_board(build, colour):\n    pass\n"


def run_command_plugin(answer: str) -> str:
    """A plugin whose polyboard_run_command answers *answer* (Python source) for every board."""
    return ("from polyboard import hookimpl\n\n\n@hookimpl(tryfirst=True)\n"
            f"def polyboard_run_command(board, program, args):\n    return {answer}\n")


def _closed_port() -> int:
    """A port nothing listens on (bound and released: the kernel does not hand it out again soon)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CLOSED_PORT = _closed_port()
TYPO_HOOK_PLUGIN = '''\
from polyboard import hookimpl


@hookimpl
def polyboard_configure_bord(build):
    pass
'''


def assert_user_error(result, *fragments: str) -> str:
    """Exit status 2, exactly one ``scons: ***`` line on stderr naming every fragment, no traceback."""
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("scons: *** "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} missing from: {line}"
    return line


# (test id, files to write into the tree, scons arguments, {env overrides}, fragments the line names)
CASES = [
    pytest.param({"boards/bd.toml": CHILD_OF_STM32F4 + '[budgets]\nregions = { FLSH = "80%" }\n'}, ["board=bd"], {},
                 ["boards/bd.toml: budgets.regions.FLSH:", "no memory region 'FLSH'", "valid regions: FLASH, RAM, CCM"],
                 id="budget-unknown-region"),
    pytest.param({"boards/bd.toml": CHILD_OF_STM32F4 + '[budgets]\nregions = { FLASH = "lots" }\n'}, ["board=bd"], {},
                 ["boards/bd.toml: budgets.regions.FLASH:", "'lots' is not a size", '"64 KiB"', '"80%"'],
                 id="budget-not-a-size"),
    pytest.param({"boards/bd.toml": CHILD_OF_STM32F4 + '[budgets]\ncomponents = { kernel = "10%" }\n'}, ["board=bd"],
                 {}, ["boards/bd.toml: budgets.components.kernel:", "a component budget is a size, not a percent"],
                 id="budget-component-percent"),
    pytest.param({"old.json": "{not json"}, ["board=stm32f4", "size-diff", "baseline=old.json"], {},
                 ["baseline=old.json:", "not a JSON manifest"], id="baseline-not-json"),
    pytest.param({"old.json": '{"schema": "polyboard-manifest", "version": 7, "boards": {}}'},
                 ["board=stm32f4", "size-diff", "baseline=old.json"], {},
                 ["baseline=old.json:", "manifest schema version 7; this polyboard reads version 1"],
                 id="baseline-other-version"),
    pytest.param({"old.json": '{"schema": "polyboard-manifest", "version": 1, "boards": {"rpi9": {}}}'},
                 ["board=stm32f4", "size-diff", "baseline=old.json"], {},
                 ["baseline=old.json:", "the baseline has boards rpi9, this build stm32f4: no board to compare"],
                 id="baseline-other-boards"),
    pytest.param({}, ["board=stm32f4", "size-diff"], {}, ["size-diff needs baseline=MANIFEST"],
                 id="size-diff-without-baseline"),
    pytest.param({"old.json": '{"schema": "polyboard-manifest", "version": 1, "boards": {"stm32f4": {}}}'},
                 ["board=stm32f4", "size-diff", "baseline=old.json", "format=html"], {},
                 ["format=html:", "choose one of text, markdown"], id="size-diff-bad-format"),
    pytest.param({}, ["board=stm32f5"], {},
                 ["board=stm32f5", "unknown board 'stm32f5'", "did you mean stm32f4",
                  "valid boards:", "lm3s6965", "stm32f4"], id="unknown-board"),
    pytest.param({}, ["board=cortex-m"], {},
                 ["board=cortex-m", "is abstract", "valid boards:", "stm32f4"], id="abstract-board"),
    pytest.param({"boards/bad.toml": CHILD_OF_STM32F4 + "[cpu\nname = 'cortex-m4'\n"}, ["board=stm32f4"], {},
                 ["boards/bad.toml", "malformed TOML", "line 3"], id="malformed-toml"),
    pytest.param({"boards/typo.toml": CHILD_OF_STM32F4 + "[cpu]\nnmae = 'cortex-m4'\n"}, ["board=typo"], {},
                 ["boards/typo.toml: cpu.nmae:", "unknown key 'nmae'", "arch, name, float_abi, fpu, flags"],
                 id="unknown-key"),
    pytest.param({"boards/typo.toml": CHILD_OF_STM32F4 + "descripton = 'x'\n"}, ["board=typo"], {},
                 ["boards/typo.toml: descripton:", "unknown key 'descripton'", "description"], id="unknown-top-level-key"),
    pytest.param({"boards/wt.toml": CHILD_OF_STM32F4 + "[memory.regions.FLASH]\nlength = '16K'\n"},
                 ["board=wt"], {},
                 ["boards/wt.toml: memory.regions.FLASH.length:", "expected an integer", "'16K'"], id="wrong-type"),
    pytest.param({"boards/wt.toml": CHILD_OF_STM32F4 + "[cpu]\nfloat_abi = 'hardest'\n"}, ["board=wt"], {},
                 ["boards/wt.toml: cpu.float_abi:", "'hardest'", "'soft', 'softfp', 'hard'"], id="wrong-choice"),
    pytest.param({"boards/orphan.toml": 'inherits = "stm32f5"\ndescription = "x"\n'}, ["board=orphan"], {},
                 ["boards/orphan.toml: inherits:", "parent board 'stm32f5' does not exist", "did you mean stm32f4"],
                 id="missing-parent"),
    pytest.param({"boards/loop-a.toml": 'inherits = "loop-b"\n', "boards/loop-b.toml": 'inherits = "loop-a"\n'},
                 ["board=loop-a"], {},
                 ["inherits:", "inheritance cycle: loop-a -> loop-b -> loop-a"], id="inheritance-cycle"),
    pytest.param({"boards/ov.toml": CHILD_OF_STM32F4 + "[memory.regions.SRAM2]\norigin = 0x2001_c000\n"
                  "length = 0x4000\n"}, ["board=ov"], {},
                 ["boards/ov.toml: memory.regions.SRAM2:", "overlaps region RAM"], id="overlapping-regions"),
    pytest.param({"boards/z.toml": CHILD_OF_STM32F4 + "[memory.regions.RAM]\nlength = 0\n"}, ["board=z"], {},
                 ["boards/z.toml: memory.regions.RAM.length:", "must be positive, got 0"], id="zero-size-region"),
    pytest.param({"boards/z.toml": CHILD_OF_STM32F4 + "[memory.regions.CCM]\nlength = -256\n"}, ["board=z"], {},
                 ["boards/z.toml: memory.regions.CCM.length:", "must be positive, got -256"],
                 id="negative-size-region"),
    pytest.param({"boards/s.toml": CHILD_OF_STM32F4 + "[memory.sections]\ndata = 'SRAM'\n"}, ["board=s"], {},
                 ["boards/s.toml: memory.sections.data:", "region 'SRAM' does not exist",
                  "valid regions: FLASH, RAM, CCM"], id="section-in-missing-region"),
    pytest.param({"boards/p.toml": CHILD_OF_STM32F4 + "[c]\nprefix = 'nonexistent-'\n"}, ["board=p"], {},
                 ["boards/p.toml", "nonexistent-gcc not found on PATH", "apt-get install gcc-arm-none-eabi"],
                 id="toolchain-prefix-missing"),
    pytest.param({}, ["board=stm32f4"], {"PATH": "/nonexistent"},
                 ["boards/stm32f4.toml", "arm-none-eabi-gcc not found on PATH",
                  "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"], id="toolchain-not-on-path"),
    pytest.param({"plugins/broken.py": RAISING_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/broken.py:", "polyboard_configure_board", "RuntimeError: the broken plugin broke"], id="plugin-raises"),
    pytest.param({"plugins/broken.py": UNIMPORTABLE_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/broken.py:", "ModuleNotFoundError", "polyboard_no_such_module"],
                 id="plugin-import-fails"),
    pytest.param({"plugins/typo.py": TYPO_HOOK_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/typo.py:", "unknown hook 'polyboard_configure_bord'",
                  "did you mean polyboard_configure_board"], id="plugin-unknown-hook"),
    pytest.param({}, ["bord=stm32f4"], {},
                 ["bord=stm32f4:", "unknown option 'bord'", "did you mean board=", "valid options:"],
                 id="unknown-option"),
    pytest.param({}, ["boards=stm32f4,lm3s6965", "shard=3/2"], {},
                 ["shard=3/2:", "between 1 and N"], id="shard-out-of-range"),
    pytest.param({}, ["shard=half"], {}, ["shard=half:", "K/N"], id="shard-not-a-fraction"),
    pytest.param({}, ["board=all", "shards=0", "ci-matrix"], {},
                 ["shards=0:", "expected a whole number of runners, at least 1"], id="ci-matrix-shards-not-a-number"),
    pytest.param({}, ["board=all", "shard=1/2", "ci-matrix"], {},
                 ["shard=1/2:", "ci-matrix lists every shard: give shards=N"], id="ci-matrix-with-shard"),
    pytest.param({}, ["verbose=yes"], {}, ["verbose=yes:", "expected 0 or 1"], id="verbose-not-0-or-1"),
    pytest.param({}, ["boards=stm32f4,lm3s6965", "keep_going=yes"], {}, ["keep_going=yes:", "expected 0 or 1"],
                 id="keep-going-not-0-or-1"),
    pytest.param({}, ["board=stm32f4", "run", "component=nope"], {},
                 ["component=nope:", "no runnable component 'nope'", "valid components: firmware, firmware-test"],
                 id="run-unknown-component"),
    pytest.param({}, ["board=stm32f4", "features=tabel-crc"], {},
                 ["features=tabel-crc:", "no feature 'tabel-crc'", "valid features: table-crc"],
                 id="unknown-cargo-feature"),
    pytest.param({}, ["board=stm32f4", "cargo=/nonexistent/cargo"], {},
                 ["/nonexistent/cargo not found: no such file", "apt-get install"], id="cargo-not-found"),
    pytest.param({}, ["board=rpi4", "go=/nonexistent/go"], {},
                 ["/nonexistent/go not found: no such file", "golang-go"], id="go-not-found"),
    pytest.param({}, ["board=stm32f4", "timeout=soon", "run"], {},
                 ["timeout=soon:", "positive number of seconds"], id="timeout-not-a-number"),
    pytest.param({"boards/f.toml": CHILD_OF_STM32F4 + "[flash]\nmethod = 'jlink'\n"}, ["board=f", "flash"], {},
                 ["boards/f.toml: flash.method:", "'jlink' is not valid", "'openocd', 'probe-rs', 'gdb'"],
                 id="flash-unknown-method"),
    pytest.param({"boards/f.toml": 'inherits = "lm3s6965"\ndescription = "x"\n[flash]\nmethod = "probe-rs"\n'},
                 ["board=f", "flash"], {},
                 ["boards/f.toml: flash.probe_rs_chip:", "flash method 'probe-rs' needs probe_rs_chip"],
                 id="flash-method-missing-key"),
    pytest.param({"boards/f.toml": CHILD_OF_STM32F4 + "[flash]\ngdb_server = 'localhost'\n"}, ["board=f"], {},
                 ["boards/f.toml: flash.gdb_server:", "expected host:port"], id="flash-gdb-server-not-host-port"),
    pytest.param({}, ["board=stm32f4", "flash", f"server=127.0.0.1:{CLOSED_PORT}"], {},
                 [f"server=127.0.0.1:{CLOSED_PORT}:", "no GDB server answers", "Connection refused"],
                 id="flash-gdb-server-closed"),
    pytest.param({}, ["board=rpi4", "flash"], {},
                 ["boards/rpi4.toml: flash:", "no [flash] table"], id="flash-board-without-flash"),
    pytest.param({"boards/f.toml": CHILD_OF_STM32F4 + "[flash]\nmethod = 'probe-rs'\n"}, ["board=f", "flash"],
                 {}, ["board f (boards/f.toml):", "probe-rs not found on PATH", "cargo install probe-rs-tools"],
                 id="flash-tool-missing"),
    pytest.param({"boards/n.toml": CHILD_OF_STM32F4 + "emulator = {}\n"}, ["board=n", "debug"], {},
                 ["boards/n.toml: emulator:", "board n has no emulator to debug in"], id="debug-no-emulator"),
    pytest.param({}, ["boards=stm32f4,lm3s6965", "debug"], {},
                 ["debug takes one board", "stm32f4, lm3s6965"], id="debug-two-boards"),
    pytest.param({"SConstruct": "import polyboard\nproject = polyboard.start()\n"
                                "project.rust_test('kt', crate='src/kernel', on='moon')\nproject.finish()\n"},
                 ["board=rpi4"], {}, ["SConstruct: kt.on:", "'moon' is not valid; choose 'target' or 'host'"],
                 id="rust-test-on-not-target-or-host"),
    pytest.param({}, ["board=stm32f4", "toolchains=maybe"], {},
                 ["toolchains=maybe:", "'maybe' is not valid", "error, warn, off"], id="toolchains-not-a-mode"),
    pytest.param({}, ["board=stm32f4", "offline=yes"], {}, ["offline=yes:", "0 or 1"], id="offline-not-0-or-1"),
    pytest.param({"src/nolock/Cargo.toml": '[package]\nname = "nolock"\nversion = "0.1.0"\n',
                  "src/nolock/src/lib.rs": "#![no_std]\n",
                  "SConstruct": "import polyboard\nproject = polyboard.start()\n"
                                "project.rust_staticlib('nolock', crate='src/nolock')\nproject.finish()\n"},
                 ["board=stm32f4"], {},
                 ["SConstruct: nolock.crate:", "src/nolock/Cargo.lock is missing", "--locked",
                  "cargo generate-lockfile --manifest-path src/nolock/Cargo.toml"], id="crate-without-cargo-lock"),
    pytest.param({"toolchains.lock": "version = 1\n[tools.rustc]\npath = 3\n"}, ["board=stm32f4"], {},
                 ["toolchains.lock: tools.rustc.path:", "expected a string", "scons lock-toolchains"],
                 id="toolchains-lock-bad-entry"),
    pytest.param({"SConstruct": "import polyboard\nproject = polyboard.start()\n"
                                "project.rust_stticlib('k', crate='src/kernel')\nproject.finish()\n"},
                 ["board=stm32f4"], {}, ["SConstruct:", "unknown component kind 'rust_stticlib'", "rust_staticlib"],
                 id="unknown-component-kind"),
    # -- issue 10: board files are data; ids, encodings, regions, targets --------------------------
    pytest.param({"boards/...toml": CHILD_OF_STM32F4}, ["board=stm32f4"], {},
                 ["board file 'boards/...toml'", "'..' is not a valid board id", "rename the file"], id="board-id-dotdot"),
    pytest.param({"boards/${__import__('os').system('id')}.toml": CHILD_OF_STM32F4}, ["board=stm32f4"], {},
                 ["is not a valid board id", "rename the file"], id="board-id-dollar"),
    pytest.param({"boards/all.toml": CHILD_OF_STM32F4}, ["board=stm32f4"], {},
                 ["board file 'boards/all.toml'", "board id 'all' is reserved"], id="board-id-reserved"),
    pytest.param({"boards/bin.toml": b"\x89PNG\r\n\x1a\n\x00\x01\xff\xfe garbage"}, ["board=stm32f4"], {},
                 ["boards/bin.toml", "not UTF-8 text", "line 1"], id="board-file-binary"),
    pytest.param({"boards/latin.toml": (CHILD_OF_STM32F4 + "# caf\xe9 board\n").encode("latin-1")}, ["board=latin"], {},
                 ["boards/latin.toml", "not UTF-8 text (byte 0xe9 on line 3)"], id="board-file-latin1"),
    pytest.param({"boards/nl.toml": CHILD_OF_STM32F4 + "[c]\nlibs = [\"m\\nid\"]\n"}, ["board=nl"], {},
                 ["boards/nl.toml: c.libs.0:", "control character '\\n'"], id="board-string-newline"),
    pytest.param({"boards/big.toml": CHILD_OF_STM32F4 + "[memory.regions.EXT]\norigin = 0xF000_0000\n"
                  "length = 0x2000_0000\n"}, ["board=big"], {},
                 ["boards/big.toml: memory.regions.EXT:", "beyond the 32-bit address space", "'arm'"],
                 id="region-beyond-4gib"),
    pytest.param({"boards/cc.toml": CHILD_OF_STM32F4 + "[memory.regions.ccm]\norigin = 0x6000_0000\n"
                  "length = 0x100\n"}, ["board=cc"], {},
                 ["boards/cc.toml: memory.regions.ccm:", "'CCM' and 'ccm' differ only in case"], id="regions-differ-in-case"),
    pytest.param({"boards/u.toml": CHILD_OF_STM32F4 + "[memory.regions.\"SR\u00c4M\"]\norigin = 0x6000_0000\n"
                  "length = 0x100\n"}, ["board=u"], {},
                 ["boards/u.toml: memory.regions.SR\u00c4M:", "ASCII identifiers"], id="region-name-not-ascii"),
    pytest.param({"boards/kw.toml": CHILD_OF_STM32F4 + "[memory.regions.ORIGIN]\norigin = 0x6000_0000\n"
                  "length = 0x100\n"}, ["board=kw"], {},
                 ["boards/kw.toml: memory.regions.ORIGIN:", "GNU ld script keyword"], id="region-name-ld-keyword"),
    pytest.param({"boards/ch.toml": CHILD_OF_STM32F4 + "[memory.regions.CCM]\norigin = 0x1FFF_F000\n"},
                 ["board=ch"], {},
                 ["boards/ch.toml: memory.regions.CCM:", "overlaps region RAM"], id="overlap-blames-the-child"),
    pytest.param({"boards/rt.toml": CHILD_OF_STM32F4 + "[rust]\ntarget = \"aarch64-unknown-none\"\n"},
                 ["board=rt"], {},
                 ["boards/rt.toml: rust.target:", "is not for cpu.arch 'arm'", "thumb or arm"], id="rust-target-wrong-arch"),
    pytest.param({"boards/rt.toml": CHILD_OF_STM32F4 + "[rust]\ntarget = \"thumbv7em none\"\n"},
                 ["board=rt"], {},
                 ["boards/rt.toml: rust.target:", "is not a Rust target triple"], id="rust-target-not-a-triple"),
    pytest.param({"boards/gt.toml": 'inherits = "rpi4"\ndescription = "x"\n[go]\ntags = ["ok", "$(x"]\n'},
                 ["board=gt"], {},
                 ["boards/gt.toml: go.tags.1:", "'$(x' is not a Go build tag"], id="board-go-tag-invalid"),
    # -- the command line --------------------------------------------------------------------------
    pytest.param({}, ["board="], {}, ["board=:", "no board given", "valid boards:"], id="board-empty"),
    pytest.param({}, ["boards=all,stm32f4"], {},
                 ["boards=all,stm32f4:", "'all' selects every board and cannot be combined"], id="boards-all-and-more"),
    pytest.param({}, ["boards=stm32f4,stm32f5"], {},
                 ["boards=stm32f4,stm32f5:", "unknown board 'stm32f5'"], id="boards-unknown-names-the-option"),
    pytest.param({}, ["board=rpi4", "go=/tmp"], {}, ["/tmp is not an executable file"], id="tool-path-is-a-folder"),
    pytest.param({}, ["board=rpi4", "tags=a,$(x"], {},
                 ["tags=a,$(x:", "'$(x' is not a Go build tag"], id="tags-invalid"),
    pytest.param({}, ["board=stm32f4", "remote_cache=ftp://x"], {},
                 ["remote_cache=ftp://x:", "unsupported scheme 'ftp'", "expected http://HOST[:PORT]/[PREFIX/]"],
                 id="remote-cache-scheme"),
    pytest.param({}, ["board=stm32f4"], {"POLYBOARD_REMOTE_CACHE": "http://"},
                 ["POLYBOARD_REMOTE_CACHE=http://:", "no host in the URL", "expected http://HOST[:PORT]/[PREFIX/]"],
                 id="remote-cache-no-host"),
    pytest.param({}, ["board=stm32f4", "remote_cache=http://cache:99999/"], {},
                 ["remote_cache=http://cache:99999/:", "not a valid URL", "Port out of range"],
                 id="remote-cache-bad-port"),
    pytest.param({}, ["board=stm32f4", "remote_cache=http://cache/", "remote_cache_upload=no"], {},
                 ["remote_cache_upload=no:", "expected 0 or 1"], id="remote-cache-upload-not-a-switch"),
    pytest.param({"cachefile": "not a folder\n"}, ["board=stm32f4", "cache=cachefile"], {},
                 ["cache=cachefile:", "is a file, not a folder"], id="cache-is-a-file"),
    pytest.param({"cachefile": "not a folder\n"}, ["board=stm32f4", "cache=cachefile/sub"], {},
                 ["cache=cachefile/sub:", "cannot create the cache folder", "Not a directory"], id="cache-cannot-create"),
    pytest.param({}, ["board=stm32f4", "--cache-readonly", "cache=no-such-cache"], {},
                 ["cache=no-such-cache:", "does not exist (nothing to read with --cache-readonly)"], id="cache-readonly-missing"),
    # -- plugins -----------------------------------------------------------------------------------
    pytest.param({"plugins/exits.py": EXITING_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/exits.py:", "polyboard_register raised SystemExit"], id="plugin-calls-sys-exit"),
    pytest.param({"plugins/typo.py": UNDECORATED_TYPO_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/typo.py:", "unknown hook 'polyboard_configure_bord'"], id="plugin-undecorated-typo"),
    pytest.param({"plugins/mine.py": CORE_OPTION_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/mine.py:", "option 'board' is one of polyboard's own options"],
                 id="plugin-redefines-core-option"),
    pytest.param({"plugins/mine.py": RESERVED_KIND_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/mine.py:", "component kind 'finish' is reserved"], id="plugin-kind-reserved"),
    pytest.param({"plugins/mine.py": INVALID_KIND_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/mine.py:", "component kind 'my-kind' is not a valid name"], id="plugin-kind-invalid"),
    pytest.param({"plugins/runner.py": run_command_plugin("'qemu-system-arm -M netduinoplus2'")},
                 ["board=stm32f4", "run"], {},
                 ["plugin plugins/runner.py", "polyboard_run_command returned 'qemu-system-arm",
                  "a non-empty list of strings"], id="plugin-run-command-string"),
    pytest.param({"plugins/runner.py": run_command_plugin("['qemu-system-arm', None]")},
                 ["board=stm32f4", "run"], {},
                 ["plugin plugins/runner.py", "returned ['qemu-system-arm', None]", "a non-empty list of strings"], id="plugin-run-command-none-item"),
    pytest.param({"plugins/runner.py": run_command_plugin("('qemu-system-arm',)")},
                 ["board=stm32f4", "run"], {},
                 ["plugin plugins/runner.py", "returned ('qemu-system-arm',)", "a non-empty list of strings"], id="plugin-run-command-tuple"),
    pytest.param({"SConstruct": "import polyboard\nproject = polyboard.start()\n"
                                "project.c_firmware('../x', sources=['src/firmware/main.c'])\nproject.finish()\n"},
                 ["board=stm32f4"], {}, ["SConstruct:", "'../x' is not a valid component name"],
                 id="component-name-invalid"),
    # -- the rest of the catalogue (docs/errors.md) ------------------------------------------------
    pytest.param({}, ["board=stm32f4", "boards=lm3s6965"], {}, ["command line:", "either board= or boards="],
                 id="board-and-boards"),
    pytest.param({}, ["boards=stm32f4,,lm3s6965"], {}, ["boards=stm32f4,,lm3s6965:", "empty board id"],
                 id="boards-empty-id"),
    pytest.param({"boards/i.toml": "inherits = 3\ndescription = 'x'\n"}, ["board=stm32f4"], {},
                 ["boards/i.toml: inherits:", "expected a board id or an array of board ids"], id="inherits-not-a-string"),
    pytest.param({"boards/a.toml": CHILD_OF_STM32F4 + "abstract = 'yes'\n"}, ["board=stm32f4"], {},
                 ["boards/a.toml: abstract:", "expected true or false"], id="abstract-not-a-boolean"),
    pytest.param({"boards/folder.toml/x": "a folder named like a board file\n"}, ["board=stm32f4"], {},
                 ["boards/folder.toml:", "cannot read board file: Is a directory"], id="board-file-unreadable"),
    pytest.param({"boards/nm.toml": CHILD_OF_STM32F4 + "memory = {}\n"}, ["board=nm"], {},
                 ["boards/nm.toml: memory:", "needs a [memory] table"], id="bare-metal-without-memory"),
    pytest.param({"boards/n.toml": CHILD_OF_STM32F4 + "[memory.regions.CCM]\norigin = -1\n"}, ["board=n"], {},
                 ["boards/n.toml: memory.regions.CCM.origin:", "must not be negative"], id="negative-origin"),
    pytest.param({"boards/n.toml": CHILD_OF_STM32F4 + "[memory.regions.CCM]\nattributes = 'rwz'\n"}, ["board=n"], {},
                 ["boards/n.toml: memory.regions.CCM.attributes:", "not a GNU ld attribute string"],
                 id="region-attributes-invalid"),
    pytest.param({"boards/n.toml": CHILD_OF_STM32F4 + "[memory]\nheap_size = -8\n"}, ["board=n"], {},
                 ["boards/n.toml: memory.heap_size:", "must not be negative"], id="negative-heap"),
    pytest.param({"boards/n.toml": CHILD_OF_STM32F4 + "[memory]\nlinker_script = '/etc/passwd'\n"}, ["board=n"], {},
                 ["boards/n.toml: memory.linker_script:", "must be a relative path inside the tree"],
                 id="linker-script-outside"),
    pytest.param({"boards/n.toml": CHILD_OF_STM32F4 + "[memory]\nlinker_script = 'no/such.ld'\n"}, ["board=n"], {},
                 ["memory.linker_script:", "'no/such.ld' does not exist"], id="linker-script-missing"),
    pytest.param({"boards/g.toml": CHILD_OF_RPI4 + "[go]\ngoarch = 'arm46'\n"}, ["board=g"], {},
                 ["boards/g.toml: go.goarch:", "not a GOARCH Go knows", "did you mean arm64"], id="goarch-unknown"),
    pytest.param({"boards/g.toml": CHILD_OF_RPI4 + "[go]\ngoos = 'plan9'\n"}, ["board=g"], {},
                 ["boards/g.toml: go.goos:", "not a GOOS this framework supports"], id="goos-unknown"),
    pytest.param({"boards/g.toml": 'inherits = "rpi3"\ndescription = "x"\n[go]\ngoarm = "8"\n'}, ["board=g"], {},
                 ["boards/g.toml: go.goarm:", "needs goarm \"5\", \"6\" or \"7\""], id="goarm-invalid"),
    pytest.param({"boards/f.toml": CHILD_OF_STM32F4 + "[rust]\ntarget = 'thumbv7em-none-eabi'\n"}, ["board=f"], {},
                 ["boards/f.toml: rust.target:", "does not match cpu.float_abi = 'hard'"], id="rust-target-float-abi"),
    pytest.param({"boards/f.toml": CHILD_OF_STM32F4 + "[cpu]\nfpu = ''\n"}, ["board=f"], {},
                 ["cpu.fpu:", "needs an FPU name"], id="fpu-missing"),
    pytest.param({"boards/e.toml": CHILD_OF_RPI4 + "[emulator]\nsysroot = ''\n"}, ["board=e"], {},
                 ["emulator.sysroot:", "needs the target's sysroot"], id="linux-emulator-without-sysroot"),
    pytest.param({"boards/e.toml": CHILD_OF_STM32F4 + "emulator = {}\n"}, ["board=e", "run"], {},
                 ["boards/e.toml: emulator:", "no plugin knows how to run programs for board e"], id="no-emulator"),
    pytest.param({"boards/e.toml": CHILD_OF_STM32F4 + "[emulator]\nprogram = 'qemu-system-nope'\n"},
                 ["board=e", "run"], {},
                 ["emulator.program:", "qemu-system-nope not found on PATH"], id="emulator-not-found"),
    pytest.param({"boards/e.toml": CHILD_OF_RPI4 + "[emulator]\nsysroot = '/nonexistent/sysroot'\n"},
                 ["board=e", "run"], {},
                 ["emulator.sysroot:", "sysroot /nonexistent/sysroot does not exist"], id="sysroot-missing"),
    pytest.param({}, ["board=rpi4", "run", "component=firmware"], {},
                 ["component=firmware:", "board rpi4 cannot run 'firmware'", "bare-metal firmware"],
                 id="run-component-skipped-on-board"),
    pytest.param({}, ["board=stm32f4", f"rustc={sys.executable}"], {},
                 ["rust.build_std:", "has no rust-src", "apt-get install rust-web-src"], id="rustc-without-rust-src"),
    pytest.param({"plugins/twice.py": SECOND_KIND_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/twice.py:", "component kind 'rust_staticlib' is registered twice"],
                 id="plugin-kind-twice"),
    pytest.param({"plugins/twice.py": SECOND_OPTION_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/twice.py:", "option 'cargo' is registered twice"], id="plugin-option-twice"),
    pytest.param({"plugins/flavour.py": CHOICE_OPTION_PLUGIN}, ["board=stm32f4", "flavour=salty"], {},
                 ["flavour=salty:", "'salty' is not valid; choose one of sweet, sour"], id="option-not-a-choice"),
    pytest.param({"plugins/sig.py": BAD_SIGNATURE_PLUGIN}, ["board=stm32f4"], {},
                 ["plugin plugins/sig.py:", "failed validation", "colour"], id="plugin-hook-bad-arguments"),
    pytest.param({"SConstruct": sconstruct("project.rust_staticlib('k', crate='../elsewhere')")}, ["board=stm32f4"],
                 {}, ["SConstruct:", "path '../elsewhere' leaves the source tree"], id="path-leaves-tree"),
    pytest.param({"SConstruct": sconstruct("project.rust_staticlib('k')")}, ["board=stm32f4"], {},
                 ["SConstruct:", "rust_staticlib 'k' needs crate=DIR"], id="crate-missing"),
    pytest.param({"SConstruct": sconstruct("project.rust_staticlib('k', crate='src/firmware')")}, ["board=stm32f4"],
                 {}, ["SConstruct: k.crate:", "no Cargo.toml in 'src/firmware'"], id="crate-without-cargo-toml"),
    pytest.param({"SConstruct": sconstruct("project.c_firmware('fw')")}, ["board=stm32f4"], {},
                 ["SConstruct:", "c_firmware 'fw' needs sources=[...]"], id="c-firmware-without-sources"),
    pytest.param({"SConstruct": sconstruct("project.c_firmware('fw', sources=['src/firmware/main.c'], "
                                           "libs=['kernel'])")}, ["board=stm32f4"], {},
                 ["c_firmware 'fw' needs component 'kernel', which is not declared before it"],
                 id="dependency-not-declared"),
    pytest.param({"SConstruct": sconstruct(KERNEL, KERNEL)}, ["board=stm32f4"], {},
                 ["SConstruct:", "component 'kernel' is declared twice"], id="component-declared-twice"),
    pytest.param({"SConstruct": sconstruct("project.go_program('app', package_dir='src/nope')")}, ["board=rpi4"],
                 {}, ["package_dir 'src/nope' is not a directory"], id="go-package-dir-missing"),
    pytest.param({"SConstruct": sconstruct("project.go_program('app', package_dir='src/firmware')")}, ["board=rpi4"],
                 {}, ["no go.mod in 'src/firmware' or above it"], id="go-no-module"),
    pytest.param({"SConstruct": sconstruct("project.go_program('app', package_dir='src/app', package='./nope')")},
                 ["board=rpi4"], {}, ["package './nope' is not a directory of the module"], id="go-package-missing"),
    pytest.param({"SConstruct": sconstruct("app = project.go_program('app', package_dir='src/app')",
                                           "project.go_program('app2', package_dir='src/app', libs=[app])")},
                 ["board=rpi4"], {}, ["libs: 'app' is a go_program, not a library"], id="go-libs-not-a-library"),
    pytest.param({}, ["board=stm32f4", "plugins=-memory_reprot"], {},
                 ["plugins=-memory_reprot:", "no installed plugin is named 'memory_reprot'", "memory_report"],
                 id="plugins-unknown-name"),
    # -- component options and board filters (issue 14) ----------------------------------------------
    pytest.param({"SConstruct": sconstruct("project.go_program('app', package_dri='src/app')")}, ["board=rpi4"],
                 {}, ["SConstruct: app.package_dri:", "go_program 'app' has no option 'package_dri'",
                      "did you mean package_dir=?", "valid options:"], id="component-option-unknown"),
    pytest.param({"SConstruct": sconstruct(KERNEL, "project.c_firmware('fw', sources=['src/firmware/main.c'], "
                                           "lib=[kernel])")}, ["board=stm32f4"], {},
                 ["SConstruct: fw.lib:", "has no option 'lib'", "did you mean libs=?"], id="component-option-misspelt"),
    pytest.param({"SConstruct": sconstruct("project.c_firmware('fw', sources='src/firmware/main.c')")},
                 ["board=stm32f4"], {}, ["SConstruct: fw.sources:", "sources= must be a list of strings"],
                 id="component-option-wrong-type"),
    pytest.param({"SConstruct": sconstruct("project.c_firmware('fw', sources=['src/firmware/main.c'], "
                                           "os=['nones'])")}, ["board=stm32f4"], {},
                 ["SConstruct: fw.os:", "os= names 'nones', which is not one", "did you mean 'none'?"],
                 id="component-filter-unknown-os"),
    pytest.param({"SConstruct": sconstruct("project.c_firmware('fw', sources=['src/firmware/main.c'], "
                                           "boards=['stm32f5'])")}, ["board=stm32f4"], {},
                 ["SConstruct: fw.boards:", "boards= names 'stm32f5', which is not one"],
                 id="component-filter-unknown-board"),
    pytest.param({"SConstruct": sconstruct("project.c_firmware('fw', sources=['src/firmware/main.c'], "
                                           "when=lambda board: board.nope)")}, ["board=stm32f4"], {},
                 ["SConstruct:", "fw: when= raised AttributeError"], id="component-filter-when-raises"),
    pytest.param({}, ["board=stm32f4", "checks=floatabi=off"], {},
                 ["checks=floatabi=off:", "unknown check 'floatabi'",
                  "valid checks: float_abi, struct_layout, function_signature, all"], id="checks-unknown"),
    pytest.param({}, ["board=stm32f4", "checks=float_abi"], {},
                 ["checks=float_abi:", "check 'float_abi' needs a mode", "float_abi=warn"], id="checks-no-mode"),
    pytest.param({"boards/c.toml": CHILD_OF_STM32F4 + "[checks]\nstruct_layout = 'maybe'\n"}, ["board=c"], {},
                 ["boards/c.toml: checks.struct_layout:", "'maybe' is not valid", "'error', 'warn', 'off'"],
                 id="board-check-mode-invalid"),
    pytest.param({"boards/c.toml": CHILD_OF_STM32F4 + "[checks]\nfloat = 'off'\n"}, ["board=c"], {},
                 ["boards/c.toml: checks.float:", "unknown key 'float'",
                  "float_abi, struct_layout, function_signature"], id="board-check-unknown"),
    pytest.param({}, ["board=rpi4", "coverage_min=150"], {},
                 ["coverage_min=150:", "'150' is out of range; give a number from 0 to 100"], id="coverage-min-out-of-range"),
    pytest.param({}, ["board=rpi4", "coverage_min=most"], {},
                 ["coverage_min=most:", "'most' is not a percentage"], id="coverage-min-not-a-number"),
    pytest.param({"boards/c.toml": CHILD_OF_RPI4 + "[coverage]\nmin = 150\n"}, ["board=c"], {},
                 ["boards/c.toml: coverage.min:", "150 is out of range; give a number from 0 to 100"], id="board-coverage-min-out-of-range"),
    pytest.param({}, ["board=stm32f4", "abi-diff"], {},
                 ["command line:", "abi-diff needs baseline=MANIFEST"], id="abi-diff-no-baseline"),
    pytest.param({}, ["board=stm32f4", "abi-diff", "baseline=old.json"], {},
                 ["baseline=old.json:", "no such file; give a manifest.json written by a build"],
                 id="abi-diff-baseline-missing"),
    pytest.param({"old.json": "{not json"}, ["board=stm32f4", "abi-diff", "baseline=old.json"], {},
                 ["baseline=old.json:", "not a JSON manifest"], id="abi-diff-baseline-not-json"),
    pytest.param({"old.json": '{"board": "stm32f4", "libraries": {}}'}, ["board=stm32f4", "abi-diff", "baseline=old.json"],
                 {}, ["baseline=old.json:", 'not a polyboard manifest (no "schema": "polyboard-manifest")'],
                 id="abi-diff-baseline-not-a-manifest"),
    pytest.param({"old.json": '{"schema": "polyboard-manifest", "version": 1, "board": {"id": "stm32f4"}}'},
                 ["board=stm32f4", "abi-diff", "baseline=old.json"], {},
                 ["baseline=old.json:", 'the baseline manifest has no ABI record ("abi")'],
                 id="abi-diff-baseline-without-abi"),
    pytest.param({}, ["board=stm32f4", "abi-diff", "baseline=old.json", "format=html"], {},
                 ["format=html:", "abi-diff prints text or markdown; choose one of text, markdown"],
                 id="abi-diff-bad-format"),
    pytest.param({}, ["board=stm32f4", "abi-diff", "baseline=old.json", "fail_on=changes"], {},
                 ["fail_on=changes:", "abi-diff fails on nothing or breaking; choose one of nothing, breaking"], id="abi-diff-bad-fail-on"),
    # build profiles (docs/profiles.md) and the advisory audit (docs/audit.md)
    pytest.param({}, ["board=stm32f4", "profile=fast"], {},
                 ["profile=fast:", "'fast' is not valid; choose one of debug, release, size"], id="profile-unknown"),
    pytest.param({"boards/c.toml": CHILD_OF_STM32F4 + '[profile.debug]\nc_flgs = ["-O1"]\n'}, ["board=c"], {},
                 ["boards/c.toml: profile.debug.c_flgs:",
                  "unknown key 'c_flgs'; valid keys in [profile.debug]: c_flags, link_flags, go_flags, cargo, unsupported"],
                 id="board-profile-unknown-key"),
    pytest.param({"boards/c.toml": CHILD_OF_STM32F4 + '[profile.size.cargo]\nopt_level = "q"\n'}, ["board=c"], {},
                 ["boards/c.toml: profile.size.cargo.opt_level:", "'q' is not valid; choose one of '0', '1'"],
                 id="board-profile-cargo-value"),
    pytest.param({"boards/c.toml": CHILD_OF_STM32F4 + '[profile.debug]\nunsupported = "no room at -O0"\n'},
                 ["board=c", "profile=debug"], {},
                 ["boards/c.toml: profile.debug.unsupported:", "board c cannot be built with profile debug: no room at -O0"],
                 id="board-profile-unsupported"),
    pytest.param({"boards/c.toml": CHILD_OF_STM32F4 + '[profile.size.cargo]\ncodegen_units = 0\n'}, ["board=c"], {},
                 ["boards/c.toml: profile.size.cargo.codegen_units:", "0 is not valid; give a whole number >= 1"],
                 id="board-profile-codegen-units"),
    pytest.param({"SConstruct": sconstruct("project.c_firmware('fw', sources=['src/firmware/main.c'], "
                                           "profile={'size': {'c_flgs': ['-O1']}})")}, ["board=stm32f4"], {},
                 ["SConstruct: fw.profile.size.c_flgs:",
                  "unknown key 'c_flgs'; valid keys in [profile.size]: c_flags, link_flags, go_flags, cargo, unsupported"],
                 id="component-profile-unknown-key"),
    pytest.param({"SConstruct": sconstruct("project.rust_staticlib('k', crate='src/kernel', "
                                           "profile={'fast': {'cargo': {'opt_level': 's'}}})")}, ["board=stm32f4"], {},
                 ["SConstruct: k.profile.fast:", "unknown key 'fast'; valid keys in [profile]: debug, release, size"],
                 id="component-profile-unknown-profile"),
    pytest.param({"SConstruct": sconstruct("project.rust_staticlib('k', crate='src/kernel', "
                                           "profile={'size': {'cargo': {'opt_level': 4}}})")}, ["board=stm32f4"], {},
                 ["SConstruct: k.profile.size.cargo.opt_level:", "4 is not valid; choose one of '0', '1'"],
                 id="component-profile-cargo-value"),
    pytest.param({"SConstruct": sconstruct("project.c_firmware('fw', sources=['src/firmware/main.c'], profile='size')")},
                 ["board=stm32f4"], {},
                 ["SConstruct: fw.profile:", "profile= must be a dict of profile names to refinements, got str 'size'"],
                 id="component-profile-not-a-dict"),
    pytest.param({"SConstruct": sconstruct("project.c_firmware('fw', sources=['src/firmware/main.c'], "
                                           "profile={'debug': {'unsupported': 'too big unoptimised'}})")},
                 ["board=stm32f4", "profile=debug"], {},
                 ["SConstruct: fw.profile.debug.unsupported:",
                  "component fw cannot be built with profile debug: too big unoptimised"],
                 id="component-profile-unsupported"),
    pytest.param({}, ["board=stm32f4", "audit", "advisory_db=nowhere"], {},
                 ["advisory_db=nowhere:", "no such folder; give a copy of the OSV database"], id="advisory-db-missing"),
    pytest.param({"db/README": "not a database\n"}, ["board=stm32f4", "audit", "advisory_db=db"], {},
                 ["advisory_db=db:", "not an advisory database: no crates.io/all.zip or Go/all.zip"],
                 id="advisory-db-not-a-database"),
    pytest.param({"db/Go/all.zip": "not a zip\n"}, ["board=stm32f4", "audit", "advisory_db=db"], {},
                 ["advisory_db=db:", "not an advisory database: Go/all.zip is not a zip archive"],
                 id="advisory-db-not-a-zip"),
]


@pytest.mark.parametrize(("files", "args", "env", "fragments"), CASES)
def test_bad_input_is_one_line_and_builds_nothing(scratch_tree: Path, files, args, env, fragments):
    for relative, text in files.items():
        if isinstance(text, bytes):
            (scratch_tree / relative).write_bytes(text)
        else:
            write(scratch_tree / relative, text)
    result = run_scons(scratch_tree, *args, timeout=120, env=child_env(**env))
    assert_user_error(result, *fragments)
    assert not (scratch_tree / "build").exists()
    assert not list(scratch_tree.glob(".sconsign*"))


def _fake_previous_build(tree: Path) -> None:
    for relative in ("build/stm32f4/firmware.elf", "build/stm32f4/obj/firmware/src/firmware/main.c.o",
                     "build/stm32f4/link.ld", "build/lm3s6965/firmware.bin"):
        write(tree / relative, f"output of an earlier build: {relative}\n")


@pytest.mark.parametrize(("files", "args", "env", "fragments"),
                         [c for c in CASES if c.id in ("unknown-board", "wrong-type", "plugin-raises",
                                                       "toolchain-prefix-missing", "run-unknown-component")])
def test_bad_input_deletes_nothing(scratch_tree: Path, files, args, env, fragments):
    _fake_previous_build(scratch_tree)
    before = snapshot(scratch_tree / "build")
    for relative, text in files.items():
        write(scratch_tree / relative, text)
    result = run_scons(scratch_tree, *args, timeout=120, env=child_env(**env))
    assert_user_error(result, *fragments)
    assert snapshot(scratch_tree / "build") == before


@pytest.mark.toolchain
def test_bad_board_file_after_a_real_build_changes_nothing(built_scratch_tree: Path):
    before = snapshot(built_scratch_tree / "build")
    sconsign = (built_scratch_tree / ".sconsign.dblite").read_bytes()
    stm32f4 = built_scratch_tree / "boards" / "stm32f4.toml"
    stm32f4.write_text(stm32f4.read_text().replace("length = 0x10_0000", "length = 0x10_000O"))
    result = run_scons(built_scratch_tree, "board=stm32f4", "run", timeout=120)
    assert_user_error(result, "boards/stm32f4.toml", "malformed TOML", "line")
    assert snapshot(built_scratch_tree / "build") == before
    assert (built_scratch_tree / ".sconsign.dblite").read_bytes() == sconsign


C_ONLY_SCONSTRUCT = '''\
import polyboard

project = polyboard.start()
project.c_firmware("fw", sources=["src/firmware/startup.c", "tiny.c"])
project.finish()
'''
TINY_MAIN = '#include <stdio.h>\nint main(void) { printf("tiny\\n"); return 0; }\n'
SUMMARY_RAISES = '''\
def polyboard_summary(results):
    raise ValueError("no table today")
'''


@pytest.mark.toolchain
def test_a_summary_plugin_that_raises_is_one_line_and_exit_2(scratch_tree: Path):
    """The summary runs after SCons has finished: its failure is still one line, and not exit 0."""
    write(scratch_tree / "SConstruct", C_ONLY_SCONSTRUCT)
    write(scratch_tree / "tiny.c", TINY_MAIN)
    write(scratch_tree / "plugins" / "summary.py", SUMMARY_RAISES)
    result = run_scons(scratch_tree, "board=stm32f4", "run", timeout=300)
    assert "[stm32f4] tiny" in result.stdout, result.output
    assert_user_error(result, "plugin plugins/summary.py:", "polyboard_summary raised ValueError: no table today")


def test_an_undecorated_hook_is_called_like_a_decorated_one(scratch_tree: Path):
    write(scratch_tree / "plugins" / "plain.py",
          "def polyboard_register(registry):\n    registry.add_option('plain_marker', 'an option')\n\n\n"
          "def polyboard_configure_board(build):\n    print('configured', build.board.id, flush=True)\n")
    result = run_scons(scratch_tree, "board=lm3s6965", "plain_marker=1", "list", timeout=120)
    assert result.returncode == 0, result.output
    assert "configured lm3s6965" in result.stdout


def test_a_second_scons_in_the_same_tree_stops_with_a_clear_message(scratch_tree: Path):
    import fcntl
    import os

    descriptor = os.open(scratch_tree, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a running scons holds
        result = run_scons(scratch_tree, "board=stm32f4", timeout=120)
        assert_user_error(result, str(scratch_tree.resolve()), "another scons is building in this tree")
        assert not (scratch_tree / "build").exists()
    finally:
        os.close(descriptor)
    result = run_scons(scratch_tree, "board=stm32f4", "list", timeout=120)
    assert result.returncode == 0, result.output


@pytest.mark.toolchain
def test_a_cargo_that_fails_silently_is_named_and_deletes_nothing(built_scratch_tree: Path):
    library = built_scratch_tree / "build" / "stm32f4" / "kernel" / "libkernel.a"
    before = library.read_bytes()
    (built_scratch_tree / "src" / "kernel" / "src" / "lib.rs").write_text(
        (built_scratch_tree / "src" / "kernel" / "src" / "lib.rs").read_text() + "\n// edited\n")
    result = run_scons(built_scratch_tree, "board=stm32f4", "cargo=/bin/false", timeout=300)
    assert result.returncode == 2, result.output
    assert "/bin/false exited with status 1 and printed no error" in result.stderr
    assert "Traceback" not in result.output
    assert library.read_bytes() == before


@pytest.mark.parametrize(("denied", "fragment"), [(os.W_OK, "cannot write to the cache folder"),
                                                   (os.R_OK, "cannot read the cache folder")])
def test_cache_folder_permissions_are_one_line(tmp_path: Path, monkeypatch, denied: int, fragment: str):
    """As root every folder is readable and writable, so the permission answer is faked here
    (pure logic: which message for which answer)."""
    from polyboard.cache import check_cache_dir
    from polyboard.errors import PolyboardError

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode & denied else real_access(path, mode))
    with pytest.raises(PolyboardError) as caught:
        check_cache_dir(str(tmp_path), where=f"cache={tmp_path}", readonly=False)
    assert fragment in str(caught.value) and str(caught.value).startswith(f"cache={tmp_path}: ")


def test_cgo_flags_with_both_quotes_and_a_space_cannot_be_said():
    from polyboard.errors import PolyboardError
    from polyboard_plugins.go_builder import cgo_flag_list

    assert cgo_flag_list(["-O2", "-DX=it's", "-I/a b", '-DY="q"', "-I/it's here"], "w") == \
        """-O2 -DX=it's "-I/a b" -DY="q" "-I/it's here\""""
    with pytest.raises(PolyboardError, match="both kinds of quote"):
        cgo_flag_list(["""-DZ="it's here\""""], "board x (boards/x.toml)")
