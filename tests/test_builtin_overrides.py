"""A tree's own copy of a built-in plugin replaces it everywhere, because no plugin imports
another plugin's module: a modified ``go_builder.py`` decides what TinyGo builds too, and a
modified ``c_toolchain.py``'s CPU flags reach C compiles and cgo's ``CGO_CFLAGS``.

The copies are the repository's own files with a marker added (a build tag, a define); the
spawn log shows each marker in the argument vector or the environment of the real ``go`` and
gcc processes, and of a stand-in ``tinygo`` (TinyGo is not installable here: the stand-in only
records that it was started, with which arguments, and fails).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO, child_env, copy_built_tree, run_scons, spawned_processes, write

pytestmark = pytest.mark.toolchain

GO_TAG = "polyboard_tree_go_builder"
C_DEFINE = "-DPOLYBOARD_TREE_C_TOOLCHAIN=1"
# Appended to the copies: each wraps the function the plugin calls through its module's globals.
GO_BUILDER_CHANGE = f'''

_repository_build_tags = build_tags


def build_tags(*args, **kwargs):
    return [*_repository_build_tags(*args, **kwargs), {GO_TAG!r}]
'''
C_TOOLCHAIN_CHANGE = f'''

_repository_cpu_flags = cpu_flags


def cpu_flags(*args, **kwargs):
    return [*_repository_cpu_flags(*args, **kwargs), {C_DEFINE!r}]
'''
DISCO = ('inherits = "stm32f4"\ndescription = "stm32f4 with TinyGo"\n[go]\ngoos = "linux"\ngoarch = "arm"\n'
         'goarm = "7"\ntinygo_target = "stm32f4disco"\n')


def _override(tree: Path) -> None:
    for name, change in (("go_builder.py", GO_BUILDER_CHANGE), ("c_toolchain.py", C_TOOLCHAIN_CHANGE)):
        write(tree / "plugins" / name, (REPO / "plugins" / name).read_text(encoding="utf-8") + change)


def test_no_built_in_plugin_module_is_imported_beside_a_trees_copy(tmp_path):
    """Loading a tree whose plugins/ holds every built-in imports none of polyboard_plugins."""
    tree = tmp_path / "tree"
    (tree / "plugins").mkdir(parents=True)
    for source in (REPO / "plugins").glob("*.py"):
        write(tree / "plugins" / source.name, source.read_text(encoding="utf-8"))
    _override(tree)
    code = ("import sys\nfrom pathlib import Path\nfrom polyboard.plugins import load_plugins, new_manager\n"
            f"load_plugins(new_manager(), Path({str(tree / 'plugins')!r}), None)\n"
            "print(sorted(m for m in sys.modules if m.startswith('polyboard_plugins.')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env=child_env(POLYBOARD_DISABLE_PLUGIN_AUTOLOAD="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


def _tag_values(argv: list[str]) -> str:
    return argv[argv.index("-tags") + 1] if "-tags" in argv else ""


def test_trees_go_builder_and_c_toolchain_reach_go_tinygo_cgo_and_gcc(tree, tmp_path):
    path = copy_built_tree(tree.path, tmp_path / "tree")
    _override(path)
    write(path / "boards" / "disco.toml", DISCO)
    stand_in = write(tmp_path / "bin" / "tinygo", "#!/bin/sh\nexit 99\n")
    stand_in.chmod(0o755)
    log = tmp_path / "spawn.log"
    result = run_scons(path, "boards=rpi4,disco", "-k", "-j2", timeout=900,
                       env=child_env(POLYBOARD_SPAWN_LOG=str(log), PATH=f"{stand_in.parent}:{os.environ['PATH']}"))
    assert "scons: *** plugin" not in result.stderr, result.output  # no plugin crashed
    processes = spawned_processes(log)
    go = [p for p in processes if Path(p["argv"][0]).name == "go" and p["argv"][1] in ("build", "test")]
    assert len(go) == 2, [p["argv"] for p in processes]  # app and kern-test on rpi4
    for process in go:
        assert GO_TAG in _tag_values(process["argv"]).split(","), process["argv"]
        assert C_DEFINE in process["env"]["CGO_CFLAGS"].split(), process["env"]
    tinygo = [p["argv"] for p in processes if p["argv"][0] == "tinygo" or p["argv"][0].endswith("/tinygo")]
    assert tinygo, [p["argv"] for p in processes]  # the stand-in was started (and failed: exit 99)
    for argv in tinygo:
        assert GO_TAG in _tag_values(argv).split(), argv
    disco_compiles = [p["argv"] for p in processes if p["argv"][0] == "arm-none-eabi-gcc" and "-c" in p["argv"]]
    assert disco_compiles and all(C_DEFINE in argv for argv in disco_compiles), disco_compiles
    assert result.returncode == 2, result.output  # only because the stand-in tinygo failed
