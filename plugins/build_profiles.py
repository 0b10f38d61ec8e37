"""Build profiles plugin: the ``profile=`` option, resolved per board into ``build.profile``.

The profiles themselves are data in :mod:`polyboard.profiles`, and the boards' refinements of them
(``[profile.<name>]``) are part of the core board schema, so a board file that refines a profile
loads without this plugin. The plugin makes the profile a command-line choice and resolves the
board's profile into ``build.profile`` before the builders are configured (``polyboard_switches``),
so the C, cargo and Go plugins read one typed value and never each other (docs/profiles.md).
"""

from __future__ import annotations

from polyboard import hookimpl, profiles


@hookimpl
def polyboard_register(registry):
    registry.add_option("profile", "debug (unoptimised, full debug info), release (the default) or size (smallest); "
                        "outputs of debug and size go to build/<board>@<profile>/ (docs/profiles.md)",
                        default=profiles.DEFAULT, choices=profiles.NAMES)


@hookimpl
def polyboard_switches(build):
    build.profile = profiles.resolve(build.options.get("profile", profiles.DEFAULT), build.board)
    build.go_flags.extend(build.profile.go_flags)  # Go's seam for every Go program and test
