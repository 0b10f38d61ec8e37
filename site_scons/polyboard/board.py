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


@attrs.frozen
class Flash:
    """Optional flashing information (not executed by the build; used by flash plugins)."""

    tool: str
    args: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    address: int = 0


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
    # Every file the board was merged from, child first: a change to any of them is a change
    # to this board (and only to the boards whose chain contains that file).
    sources: tuple[str, ...] = ()
    # The merged data as plain values, used as the board's signature in SCons Value nodes.
    data: tuple = attrs.field(default=(), eq=False, repr=False)

    @property
    def bare_metal(self) -> bool:
        return self.os == "none"
