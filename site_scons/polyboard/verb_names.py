"""The words of the command line that name a verb: what the project must recognise on every
build, kept apart from the modules that carry the verbs out.

A plain build reads these names but runs no verb, so it imports none of those modules
(``project.py`` imports each where its verb is asked for): a one-board null build's start-up is
mostly imports (docs/benchmarks.md).
"""

RUN, TEST = "run", "test"          # verbs.py: on the emulator
FLASH, DEBUG = "flash", "debug"    # debugging.py: on a probe or the emulator's gdb server
IDE = "ide"                        # ide.py: compile_commands.json and editor settings
CHECK_BOARD = "check-board"        # board_check.py: a board file proven with the reference firmware
NEW_BOARD = "new-board"            # board_scaffold.py: writes boards/<id>.toml
IMPORT_BOARD = "import-board"      # board_import.py: converts a PlatformIO or probe-rs file
