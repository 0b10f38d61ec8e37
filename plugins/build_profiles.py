"""Build profiles plugin: the ``profile=`` option and the boards' ``[profile.<name>]`` tables.

The profiles themselves are data in :mod:`polyboard.profiles`; this plugin makes them a command-line
choice and a board-file table (registered like any plugin's), and resolves the board's profile
into ``build.profile`` before the builders are configured (``polyboard_switches``), so the C,
cargo and Go plugins read one typed value and never each other (docs/profiles.md).
"""

from __future__ import annotations

from polyboard import hookimpl, profiles


@hookimpl
def polyboard_register(registry):
    registry.add_option("profile", "debug (unoptimised, full debug info), release (the default) or size (smallest); "
                        "outputs of debug and size go to build/<board>@<profile>/ (docs/profiles.md)",
                        default=profiles.DEFAULT, choices=profiles.NAMES)
    registry.add_board_table("profile", profiles.BoardProfiles, check=profiles.check_table,
                             help="[profile.debug|release|size]: c_flags, link_flags, go_flags, cargo.{opt_level, "
                                  "debug, lto, codegen_units, panic}, unsupported (why the board cannot hold it)")


@hookimpl
def polyboard_switches(build):
    build.profile = profiles.resolve(build.options.get("profile", profiles.DEFAULT), build.board)
    build.go_flags.extend(build.profile.go_flags)  # Go's seam for every Go program and test
