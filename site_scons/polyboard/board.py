"""The board model: frozen attrs classes that a loaded, merged, validated board file becomes.

Only data lives here. Loading, inheritance and validation are in :mod:`polyboard.board_files`.
Field names mirror the TOML keys one to one, so an error's key path (``memory.regions.FLASH``)
is also the attribute path.
"""

from __future__ import annotations

from typing import Literal

import attrs

FloatAbi = Literal["soft", "softfp", "hard"]
OsKind = Literal["none", "linux"]


def _tuple(value) -> tuple:
    return tuple(value)


@attrs.frozen
class Cpu:
    """The processor: ``arch`` selects per-architecture rules (e.g. ARM float-ABI flags).

    RISC-V boards give ``-march=``/``-mabi=`` in ``flags``: the ISA string and the ABI are data
    of the board, not rules of the architecture."""

    arch: Literal["arm", "aarch64", "riscv32", "riscv64"]
    name: str = ""
    float_abi: FloatAbi = "hard"
    fpu: str = ""
    flags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)


@attrs.frozen
class CToolchain:
    """The C cross toolchain: ``prefix`` + ``gcc``/``ar``/``objcopy``; ``packages`` for errors."""

    prefix: str
    cflags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    linkflags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    libs: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    packages: tuple[str, ...] = attrs.field(default=(), converter=_tuple)


@attrs.frozen
class Rust:
    """How cargo builds for this board. ``build_std`` is used where no prebuilt std exists."""

    target: str
    build_std: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    rustflags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    features: tuple[str, ...] = attrs.field(default=(), converter=_tuple)


@attrs.frozen
class Go:
    """Go's target. ``goarm`` is only meaningful for GOARCH=arm; the float ABI refines it."""

    goos: str
    goarch: str
    goarm: str = ""
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    tinygo_target: str = ""


@attrs.frozen
class MemoryRegion:
    """One region of the memory map; sizes are integers in bytes."""

    name: str
    origin: int
    length: int
    attributes: str = "rwx"

    @property
    def end(self) -> int:
        return self.origin + self.length


@attrs.frozen
class Sections:
    """Which region holds each kind of output section (names of :class:`MemoryRegion`)."""

    code: str
    data: str
    bss: str = ""
    heap: str = ""
    stack: str = ""

    def placements(self) -> dict[str, str]:
        """Section kind -> region name, with bss/heap/stack defaulting to the data region."""
        return {
            "code": self.code,
            "data": self.data,
            "bss": self.bss or self.data,
            "heap": self.heap or self.data,
            "stack": self.stack or self.data,
        }


@attrs.frozen
class Memory:
    regions: tuple[MemoryRegion, ...]
    sections: Sections
    heap_size: int = 0x2000
    stack_size: int = 0x1000
    linker_script: str = ""

    def region(self, name: str) -> MemoryRegion:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(name)


@attrs.frozen
class Emulator:
    """How to run the board's programs: a system emulator (``machine``) or user mode (``sysroot``)."""

    program: str
    machine: str = ""
    args: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    sysroot: str = ""
    timeout: int = 60
    packages: tuple[str, ...] = attrs.field(default=(), converter=_tuple)


FlashMethod = Literal["openocd", "probe-rs", "gdb"]
#: The keys each flash method needs (checked when the board is loaded; docs/flash-debug.md).
FLASH_METHOD_KEYS: dict[str, tuple[str, ...]] = {
    "gdb": ("gdb_server",),
    "openocd": ("openocd_interface", "openocd_target"),
    "probe-rs": ("probe_rs_chip",),
}


@attrs.frozen
class Flash:
    """How ``scons flash`` programs the board: ``method`` names the tool, and each method reads
    its own keys (``gdb_*``, ``openocd_*``, ``probe_rs_*``); the others are ignored by it."""

    method: FlashMethod
    gdb_server: str = ""  # host:port of any GDB server: QEMU's, openocd's, J-Link's, probe-rs's
    gdb_reset: tuple[str, ...] = attrs.field(default=("monitor reset",), converter=_tuple)
    openocd_interface: str = ""  # an openocd config file, e.g. "interface/stlink.cfg"
    openocd_target: str = ""  # e.g. "target/stm32f4x.cfg"
    probe_rs_chip: str = ""  # a probe-rs chip name, e.g. "STM32F405RGTx"
    timeout: int = 120  # seconds before the flashing tool is stopped


def split_server(text: str) -> tuple[str, int]:
    """``host:port`` -> (host, port); ValueError with the reason when it is not one."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"expected host:port with a port from 1 to 65535 (e.g. 127.0.0.1:3333), got {text!r}")
    return host, int(port_text)


CheckMode = Literal["error", "warn", "off"]
#: The build-time ABI checks (docs/abi.md); each is "error" unless a board or checks= says otherwise.
CHECK_NAMES = ("float_abi", "struct_layout", "function_signature")


@attrs.frozen
class Checks:
    """What the ABI checks do on this board: ``error`` fails the build, ``warn`` prints, ``off``."""

    float_abi: CheckMode = "error"
    struct_layout: CheckMode = "error"
    function_signature: CheckMode = "error"


OptLevel = Literal["0", "1", "2", "3", "s", "z"]
DebugInfo = Literal["true", "false", "line-tables-only", "limited", "full", "none"]
Lto = Literal["true", "false", "fat", "thin", "off"]


@attrs.frozen
class CargoSettings:
    """Cargo profile keys polyboard sets (``--config profile.<name>.<key>=...``); unset: the crate's.

    Values are cargo's, written as strings (``"s"``, ``"true"``), so one type covers cargo's
    mixed integer/boolean/string keys. ``panic`` is ``abort`` only: a ``no_std`` staticlib has no
    unwinder."""

    opt_level: OptLevel | None = None
    debug: DebugInfo | None = None
    lto: Lto | None = None
    codegen_units: int | None = None
    panic: Literal["abort"] | None = None


@attrs.frozen
class ProfileRefinement:
    """One ``[profile.<name>]`` table: flags appended to the profile's, cargo keys overriding it.

    ``unsupported`` says why the board cannot hold this profile (e.g. the firmware does not fit
    its flash unoptimised): choosing it is then an error quoting the reason."""

    c_flags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    link_flags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    go_flags: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    cargo: CargoSettings | None = None
    unsupported: str = ""


@attrs.frozen
class BoardProfiles:
    """The ``[profile]`` table: a refinement per build profile (docs/profiles.md).

    Part of the core schema, not of the build_profiles plugin's, so that a board file refining a
    profile still loads with that plugin switched off (the refinement is then unused). Its field
    names are the profile names (:data:`polyboard.profiles.NAMES`)."""

    debug: ProfileRefinement | None = None
    release: ProfileRefinement | None = None
    size: ProfileRefinement | None = None


@attrs.frozen
class Board:
    """A concrete (non-abstract) board after inheritance has been applied."""

    id: str
    path: str
    description: str
    os: OsKind
    cpu: Cpu
    c: CToolchain
    rust: Rust | None = None
    go: Go | None = None
    memory: Memory | None = None
    emulator: Emulator | None = None
    flash: Flash | None = None
    defines: tuple[str, ...] = ()
    checks: Checks = Checks()
    profile: BoardProfiles = BoardProfiles()  # [profile.<name>]: refinements of the build profiles
    # Every file the board was merged from, child first: a change to any of them is a change
    # to this board (and only to the boards whose chain contains that file).
    sources: tuple[str, ...] = ()
    # The merged data as plain values, used as the board's signature in SCons Value nodes.
    data: tuple = attrs.field(default=(), eq=False, repr=False)
    # The tables plugins added to the schema (registry.add_board_table), structured: (name, value).
    tables: tuple = ()

    @property
    def bare_metal(self) -> bool:
        return self.os == "none"

    def table(self, name: str, default=None):
        """A plugin table of this board (``[jlink]`` -> the plugin's attrs object), or *default*
        when no board file in its chain has that table."""
        for key, value in self.tables:
            if key == name:
                return value
        return default
