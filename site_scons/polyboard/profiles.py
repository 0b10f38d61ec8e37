"""Build profiles (``profile=debug|release|size``): one switch for C, Rust and Go, as data.

Why a table and not code: what a profile means for each language is a handful of flags, and a
board file refines them (``[profile.debug] c_flags = [...]``) with the usual merge rules, so the
values must be data the board loader can merge and check. The builders read the resolved
:class:`Profile` from ``build.profile`` (a typed field of the build context); no builder knows
the other languages' settings.

``release`` is the default and adds nothing to what the board files and the crates' own
``[profile.release]`` say, so a default build is the build of before profiles existed, in the
same folders (``build/<board>/``). The other profiles build in a sibling folder,
``build/<board>@<profile>/`` (docs/profiles.md), so switching back and forth rebuilds nothing.
"""

from __future__ import annotations

import typing

import attrs

from .errors import PolyboardError

NAMES = ("debug", "release", "size")
DEFAULT = "release"

OptLevel = typing.Literal["0", "1", "2", "3", "s", "z"]
DebugInfo = typing.Literal["true", "false", "line-tables-only", "limited", "full", "none"]
Lto = typing.Literal["true", "false", "fat", "thin", "off"]


@attrs.frozen
class CargoSettings:
    """Cargo profile keys polyboard sets (``--config profile.<name>.<key>=...``); unset: the crate's.

    ``panic`` is ``abort`` only: a ``no_std`` staticlib has no unwinder."""

    opt_level: OptLevel | None = None
    debug: DebugInfo | None = None
    lto: Lto | None = None
    codegen_units: int | None = None
    panic: typing.Literal["abort"] | None = None

    def merged(self, other: "CargoSettings | None") -> "CargoSettings":
        if other is None:
            return self
        return CargoSettings(**{f.name: getattr(other, f.name) if getattr(other, f.name) is not None
                                else getattr(self, f.name) for f in attrs.fields(CargoSettings)})

    def config_args(self, profile: str) -> list[str]:
        """``--config`` arguments for cargo (values as TOML)."""
        args = []
        for field in attrs.fields(CargoSettings):
            value = getattr(self, field.name)
            if value is None:
                continue
            if field.name == "codegen_units" or value in ("true", "false") or value.isdigit():
                text = str(value)
            else:
                text = f'"{value}"'
            args += ["--config", f"profile.{profile}.{field.name.replace('_', '-')}={text}"]
        return args


@attrs.frozen
class ProfileRefinement:
    """One ``[profile.<name>]`` table of a board file: appended to (flags) or overriding the profile.

    ``unsupported`` says why the board cannot hold this profile (e.g. the firmware does not fit
    its flash unoptimised): choosing it is then an error quoting the reason."""

    c_flags: tuple[str, ...] = ()
    link_flags: tuple[str, ...] = ()
    go_flags: tuple[str, ...] = ()
    cargo: CargoSettings | None = None
    unsupported: str = ""


@attrs.frozen
class BoardProfiles:
    """A board file's ``[profile]`` table: a refinement per profile name."""

    debug: ProfileRefinement | None = None
    release: ProfileRefinement | None = None
    size: ProfileRefinement | None = None


@attrs.frozen
class Profile:
    """What one profile sets in each language (resolved for one board)."""

    name: str
    c_flags: tuple[str, ...] = ()      # after the board's cflags: gcc takes the last -O
    link_flags: tuple[str, ...] = ()   # after the board's linkflags
    cargo_profile: str = "release"     # cargo --profile (release: the crate's own [profile.release])
    cargo: CargoSettings = CargoSettings()
    go_flags: tuple[str, ...] = ()     # go build flags
    strip: bool = False                # ship symbol-free programs, keep a .debug file with symbols

    @property
    def folder_suffix(self) -> str:
        """``""`` for the default profile (``build/<board>``), ``@<name>`` otherwise."""
        return "" if self.name == DEFAULT else f"@{self.name}"

    def cargo_args(self) -> list[str]:
        """cargo's profile arguments: ``--release`` as before profiles, or ``--profile X --config ...``."""
        if self.cargo_profile == "release" and self.cargo == CargoSettings():
            return ["--release"]
        args = ["--profile", self.cargo_profile]
        if self.cargo_profile not in ("dev", "release"):  # a custom cargo profile needs a base
            args += ["--config", f'profile.{self.cargo_profile}.inherits="release"']
        return args + self.cargo.config_args(self.cargo_profile)

    def refined(self, refinement: ProfileRefinement | None) -> "Profile":
        if refinement is None:
            return self
        return attrs.evolve(self, c_flags=self.c_flags + refinement.c_flags,
                            link_flags=self.link_flags + refinement.link_flags,
                            go_flags=self.go_flags + refinement.go_flags,
                            cargo=self.cargo.merged(refinement.cargo))


# The profiles, as data. debug: unoptimised with full debug info in every language (Go's
# -N -l turns off optimisation and inlining). release: what the boards and crates say (C -Os/-O2
# with -g, the crate's [profile.release]), programs shipped stripped. size: the smallest image:
# C -Os, Rust opt-level "z" with LTO and one codegen unit, stripped.
PROFILES: dict[str, Profile] = {
    "debug": Profile("debug", c_flags=("-O0", "-g"), cargo_profile="dev",
                     cargo=CargoSettings(opt_level="0", debug="true", panic="abort"),
                     go_flags=("-gcflags=all=-N -l",)),
    "release": Profile("release", strip=True),
    "size": Profile("size", c_flags=("-Os",), cargo_profile="size",
                    cargo=CargoSettings(opt_level="z", debug="true", lto="true", codegen_units=1, panic="abort"),
                    strip=True),
}


def resolve(name: str, board) -> Profile:
    """The profile *name* for *board*, refined by its ``[profile.<name>]`` (if any)."""
    if name not in PROFILES:
        raise PolyboardError(f"{name!r} is not valid; choose one of {', '.join(NAMES)}", where=f"profile={name}")
    table = board.table("profile")
    refinement = getattr(table, name, None) if table is not None else None
    if refinement is not None and refinement.unsupported:
        raise PolyboardError(f"board {board.id} cannot be built with profile {name}: {refinement.unsupported}",
                             where=board.path, key=f"profile.{name}.unsupported")
    return PROFILES[name].refined(refinement)


def check_table(value: BoardProfiles, board) -> None:
    """Board-file check of ``[profile]``: the values a type cannot say."""
    for name in NAMES:
        refinement = getattr(value, name)
        if refinement is not None and refinement.cargo is not None and refinement.cargo.codegen_units is not None \
                and refinement.cargo.codegen_units < 1:
            raise PolyboardError(f"{refinement.cargo.codegen_units} is not valid; give a whole number >= 1",
                                 key=f"profile.{name}.cargo.codegen_units")
