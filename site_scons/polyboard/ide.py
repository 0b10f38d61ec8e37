"""The ``ide`` verb: tell editors how one board is built, in the places their tools look.

* ``compile_commands.json`` at the tree's root (clangd and most C tools look there, in a source
  file's parent folders): SCons's own ``compilation_db`` tool records every C compile of the
  board; polyboard then writes each entry as an ``arguments`` list (the JSON Compilation Database
  format prefers it to a shell ``command``: https://clang.llvm.org/docs/JSONCompilationDatabase.html)
  with the object itself as ``-o``, not the ``$TARGET.tmp`` the build writes first (spawn.py).
* ``.vscode/settings.json`` at the tree's root: what plugins contribute through
  ``polyboard_editor_settings`` (rust-analyzer's ``rust-analyzer.cargo.*`` keys, gopls's
  ``build.env`` and the Go extension's ``go.toolsEnvVars``). Keys already in the file are kept,
  except those polyboard wrote for another board (listed under ``polyboard.managedKeys``).

Both are written by in-process actions (no child process), and only when ``ide`` is asked for:
the compilation-database tool is loaded into the board's environment only then, so a plain
build's graph, and its null build that starts no process, are unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import PolyboardError
from .verb_names import IDE
from . import spawn

DATABASE = "compile_commands.json"
SETTINGS = ".vscode/settings.json"
MANAGED = "polyboard.managedKeys"  # the keys the last `scons ide` wrote, replaced by the next one


def prepare(build) -> None:
    """Before the board's components are declared: record its C compiles."""
    env = build.env
    env.Tool("compilation_db")
    env["COMPILATIONDB_USE_ABSPATH"] = True
    env["COMPILATIONDB_COMSTR"] = f"IDE     [{build.board.id}] $TARGET"


def declare(project) -> None:
    import SCons.Script as S
    from SCons.Action import Action

    if len(project.builds) != 1:
        raise PolyboardError(f"ide configures editors for one board, got {len(project.builds)}: "
                             f"{', '.join(b.board.id for b in project.builds)}", where="command line")
    build = project.builds[0]
    env = build.env
    database = env.CompilationDatabase("#" + DATABASE)
    env.AddPostAction(database, Action(_as_arguments, None))
    settings = project.hooks.editor_settings(build, project.components)
    text = json.dumps(settings, indent=4, sort_keys=True)
    written = env.Command("#" + SETTINGS, [env.Value(text)], Action(_write_settings, f"IDE     [{build.board.id}] $TARGET"),
                          POLYBOARD_SETTINGS=settings)
    env.Precious(written)  # SCons would delete it before the action, losing the user's own keys
    S.Alias(IDE, [database, written, *_generated_headers(build)])


def _generated_headers(build) -> list:
    """Files the build generates into the board's include path (memory_map.h): the compile
    commands name those folders, so an editor needs them even before the first build."""
    from .scons_compat import built_files_in

    variant = build.env.Dir(build.variant)
    nodes = []
    for entry in build.env.get("CPPPATH", []):
        folder = build.env.Dir(entry)
        if folder.is_under(variant):
            nodes += built_files_in(folder)
    return nodes


def command_arguments(command: str) -> list[str]:
    """The argument list of a ``command`` string SCons printed (``_string_from_cmd_list``: the
    arguments joined by single spaces, each one holding white space wrapped in double quotes;
    nothing else quoted or escaped). Not shlex: ``-DBOARD_NAME="stm32f4"`` keeps its quotes."""
    words = command.split(" ")
    argv: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word.startswith('"') and not (len(word) > 1 and word.endswith('"')):
            parts = [word]  # a quoted argument that held spaces: up to the word closing the quote
            while index + 1 < len(words):
                index += 1
                parts.append(words[index])
                if words[index].endswith('"'):
                    break
            word = " ".join(parts)
        argv.append(spawn.unescape(word))
        index += 1
    return argv


def _as_arguments(target, source, env) -> int:
    """compilation_db writes ``command`` strings of the build's command lines: make them the
    argument lists polyboard's spawn runs (spawn.unescape's rule), compiling to the object."""
    path = Path(target[0].abspath)
    entries = json.loads(path.read_text(encoding="utf-8"))
    for entry in entries:
        argv = command_arguments(entry.pop("command"))
        for index, arg in enumerate(argv[:-1]):
            if arg == "-o" and argv[index + 1].endswith(".tmp"):
                argv[index + 1] = argv[index + 1][:-len(".tmp")]
        entry["arguments"] = argv
    path.write_text(json.dumps(entries, indent=4, sort_keys=True) + "\n", encoding="utf-8")
    return 0


def _write_settings(target, source, env) -> int:
    path = Path(target[0].abspath)
    current = {}
    if path.exists():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:  # VS Code allows comments; a file we cannot read is replaced
            current = {}
    for key in current.pop(MANAGED, []):
        current.pop(key, None)
    current.update(env["POLYBOARD_SETTINGS"])
    current[MANAGED] = sorted(env["POLYBOARD_SETTINGS"])
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(current, indent=4, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)
    return 0
