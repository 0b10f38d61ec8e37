"""Build profiles (``profile=debug|release|size``): one switch for C, Rust and Go, as data.

Why a table and not code: what a profile means for each language is a handful of flags, and a
board file refines them (``[profile.debug] c_flags = [...]``) with the usual merge rules, so the
values must be data the board loader can merge and check: the ``[profile.<name>]`` table is part
of the core board schema (:class:`polyboard.board.BoardProfiles`), so a board file that refines a
profile loads with the build_profiles plugin switched off too. The builders read the resolved
:class:`Profile` from ``build.profile`` (a typed field of the build context); no builder knows
the other languages' settings.

``release`` is the default and adds nothing to what the board files and the crates' own
``[profile.release]`` say, so a default build is the build of before profiles existed, in the
same folders (``build/<board>/``). The other profiles build in a sibling folder,
``build/<board>@<profile>/`` (docs/profiles.md), so switching back and forth rebuilds nothing.
"""

from __future__ import annotations

import attrs

from .board import BoardProfiles, CargoSettings, ProfileRefinement
from .board_files import structure_profiles
from .component_options import option
from .errors import PolyboardError

__all__ = ["NAMES", "DEFAULT", "PROFILES", "Profile", "CargoSettings", "ProfileRefinement", "BoardProfiles",
           "resolve", "COMPONENT_OPTION", "component_refinement", "for_component"]

# The board schema's [profile] table has one refinement per profile: its fields are the names.
NAMES = tuple(field.name for field in attrs.fields(BoardProfiles))
DEFAULT = "release"


def merged_cargo(base: CargoSettings, other: CargoSettings | None) -> CargoSettings:
    """*base* with every key *other* sets overriding it (the merge rule of scalars)."""
    if other is None:
        return base
    return CargoSettings(**{f.name: getattr(other, f.name) if getattr(other, f.name) is not None
                            else getattr(base, f.name) for f in attrs.fields(CargoSettings)})


def cargo_config_args(settings: CargoSettings, profile: str) -> list[str]:
    """``--config profile.<profile>.<key>=<value>`` arguments for cargo (values as TOML)."""
    args = []
    for field in attrs.fields(CargoSettings):
        value = getattr(settings, field.name)
        if value is None:
            continue
        if field.name == "codegen_units" or value in ("true", "false") or value.isdigit():
            text = str(value)
        else:
            text = f'"{value}"'
        args += ["--config", f"profile.{profile}.{field.name.replace('_', '-')}={text}"]
    return args


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
        return args + cargo_config_args(self.cargo, self.cargo_profile)

    def refined(self, refinement: ProfileRefinement | None) -> "Profile":
        if refinement is None:
            return self
        return attrs.evolve(self, c_flags=self.c_flags + refinement.c_flags,
                            link_flags=self.link_flags + refinement.link_flags,
                            go_flags=self.go_flags + refinement.go_flags,
                            cargo=merged_cargo(self.cargo, refinement.cargo))


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
    refinement = getattr(board.profile, name)
    if refinement is not None and refinement.unsupported:
        raise PolyboardError(f"board {board.id} cannot be built with profile {name}: {refinement.unsupported}",
                             where=board.path, key=f"profile.{name}.unsupported")
    return PROFILES[name].refined(refinement)


# The component option of the kinds whose builders read the profile (c_firmware, rust_staticlib,
# rust_program, go_program, go_test): the SConstruct refines a profile for one component.
COMPONENT_OPTION = option(
    "profile", "profiles", "refines build profiles for this component only, after the board's `[profile.<name>]`: "
    "the same keys (`{\"size\": {\"cargo\": {\"opt_level\": \"s\"}}}`; docs/profiles.md)")


def component_refinement(build, component) -> ProfileRefinement | None:
    """The component's refinement of the profile being built (its ``profile=`` option), or None.

    Applied after the board's: flags come last (gcc takes the last ``-O``), cargo keys override
    the board's (the merge rules of board files: arrays add, scalars override)."""
    given = component.options.get("profile")
    if not given:
        return None
    name = build.profile.name
    try:
        refinement = getattr(structure_profiles(given), name)
    except PolyboardError as error:  # checked when declared (component_options); kept for direct calls
        raise PolyboardError(error.message, where="SConstruct", key=f"{component.name}.{error.key}") from None
    if refinement is not None and refinement.unsupported:
        raise PolyboardError(f"component {component.name} cannot be built with profile {name}: {refinement.unsupported}",
                             where="SConstruct", key=f"{component.name}.profile.{name}.unsupported")
    return refinement


def for_component(build, component) -> Profile:
    """``build.profile`` (the board's) refined by the component's ``profile=`` option."""
    return build.profile.refined(component_refinement(build, component))
