"""Every SCons internal polyboard relies on (polyboard/scons_compat.py), one test each.

A new SCons that moves or changes one of them fails the test named for it, with the internal
named in the message, instead of failing a build somewhere later (or, for keep-going, silently
building less).
"""

from __future__ import annotations

import inspect
from fnmatch import fnmatch

import pytest
import SCons.Environment

from helpers import REPO
from polyboard import scons_compat


def _env(**kw):
    return SCons.Environment.Environment(tools=[], **kw)


def test_literal_is_substituted_as_it_is():
    value = scons_compat.Literal("${X} $Y")
    assert getattr(value, "lstr", None) == "${X} $Y", "SCons.Subst.Literal no longer keeps its text in .lstr"
    assert callable(getattr(value, "for_signature", None)), "SCons.Subst.Literal has no for_signature()"
    env = _env(DATA=value, X="x", Y="y")
    assert env.subst("$DATA") == "${X} $Y", "SCons.Subst.Literal is expanded by env.subst"
    assert env.subst_list("a $DATA b")[0][1] == "${X} $Y", "SCons.Subst.Literal is split or expanded in a command"


def test_stop_error_is_an_exception_scons_reports_while_reading():
    import SCons.Script.Main as main

    assert issubclass(scons_compat.StopError, Exception), "SCons.Errors.StopError moved"
    source = inspect.getsource(main)
    assert "StopError" in source, "SCons.Script.Main no longer handles SCons.Errors.StopError"


def test_build_error_carries_the_message_and_status():
    error = scons_compat.build_error("board x: bad", 2)
    assert (error.errstr, error.exitstatus) == ("board x: bad", 2), "SCons.Errors.BuildError(errstr, exitstatus) changed"


def test_object_builders_take_actions_per_suffix():
    env = SCons.Environment.Environment(tools=["cc"])
    static_obj, shared_obj = scons_compat.object_builders(env)
    for name in ("add_action", "add_emitter"):
        assert callable(getattr(static_obj, name, None)), f"SCons.Tool.createObjBuilders: the builder has no {name}"
    assert env["BUILDERS"]["StaticObject"] is static_obj, "SCons.Tool.createObjBuilders returns another builder"


def test_static_library_builder_action_can_be_replaced():
    env = SCons.Environment.Environment(tools=["ar"])
    builder = scons_compat.static_library_builder(env)
    assert env["BUILDERS"]["StaticLibrary"] is builder, "SCons.Tool.createStaticLibBuilder returns another builder"
    assert hasattr(builder, "action"), "SCons.Tool.createStaticLibBuilder: the builder has no .action"


def test_static_object_emitter_is_a_function_of_target_source_env():
    parameters = list(inspect.signature(scons_compat.static_object_emitter).parameters)
    assert parameters[:3] == ["target", "source", "env"], "SCons.Defaults.StaticObjectEmitter's signature changed"


def test_sconsign_file_name_matches_the_glob():
    import SCons.SConsign
    import SCons.dblite

    name = SCons.SConsign.current_sconsign_filename() + SCons.dblite.DBLITE_SUFFIX
    assert fnmatch(name, scons_compat.SCONSIGN_GLOB), (
        f"SCons's signature database is now {name}, not {scons_compat.SCONSIGN_GLOB} (SCons.SConsign)")


def test_sconsign_files_are_found(tmp_path):
    (tmp_path / ".sconsign.dblite").write_bytes(b"")
    (tmp_path / "other.dblite").write_bytes(b"")
    assert scons_compat.sconsign_files(str(tmp_path)) == [str(tmp_path / ".sconsign.dblite")]


def test_file_nodes_record_csig_size_and_timestamp(tmp_path):
    node = _env().File(str(tmp_path / "a.txt"))
    assert scons_compat.is_file_node(node), "SCons.Node.FS.File is not the class of env.File() nodes"
    info = scons_compat.recorded_info(node)
    fields = getattr(info, "field_list", ())
    assert {"csig", "size", "timestamp"} <= set(fields), (
        f"Node.get_stored_info().ninfo records {fields}, not csig/size/timestamp")


def test_a_target_named_by_a_string_may_be_a_file(tmp_path):
    env = _env()
    entry = env.Entry(str(tmp_path / "c.bin"))
    assert scons_compat.may_be_file_node(entry), "SCons.Node.FS.Entry is not the class of env.Entry() nodes"
    assert scons_compat.may_be_file_node(env.File(str(tmp_path / "d.bin")))
    assert not scons_compat.may_be_file_node(env.Dir(str(tmp_path)))
    (tmp_path / "e.bin").write_bytes(b"x")
    disambiguated = scons_compat.as_file(env.Entry(str(tmp_path / "e.bin")))
    assert scons_compat.is_file_node(disambiguated), "Entry.disambiguate() no longer makes a File of a file"


def test_file_signature_is_the_csig_scons_records(tmp_path):
    path = tmp_path / "b.txt"
    path.write_bytes(b"polyboard\n")
    node = _env().File(str(path))
    assert scons_compat.file_signature(str(path)) == node.get_csig(), (
        "SCons.Util.hash_file_signature differs from the csig SCons records")


def test_build_env_of_a_node_is_its_builders_environment(tmp_path):
    env = _env(POLYBOARD_MARK="yes")
    built = env.Command(str(tmp_path / "out"), [], "true", POLYBOARD_EXTRA="1")[0]
    found = scons_compat.build_env_of(built)
    assert found is not None and found["POLYBOARD_MARK"] == "yes" and found["POLYBOARD_EXTRA"] == "1", (
        "Node.get_build_env() no longer gives the builder's (overridden) environment")
    assert scons_compat.build_env_of(env.File(str(tmp_path / "plain"))) is None


def test_built_files_in_a_folder_are_found_by_its_entries(tmp_path):
    env = _env()
    env.Command(str(tmp_path / "gen" / "a.h"), [], "true")
    env.File(str(tmp_path / "gen" / "plain.h"))
    found = scons_compat.built_files_in(env.Dir(str(tmp_path / "gen")))
    assert [node.name for node in found] == ["a.h"], "Dir.entries / Entry.disambiguate() changed"


def test_cache_dir_retrieve_takes_a_node_and_says_whether_it_fetched():
    parameters = list(inspect.signature(scons_compat.CacheDir.retrieve).parameters)
    assert parameters == ["self", "node"], f"SCons.CacheDir.CacheDir.retrieve takes {parameters}"
    source = inspect.getsource(scons_compat.CacheDir.__mro__[1].retrieve)
    assert "return True" in source and "return False" in source, "CacheDir.retrieve no longer returns a bool"


def test_the_remote_cache_overrides_exist_and_the_switches_are_module_flags():
    base = scons_compat.CacheDir.__mro__[1]
    for method, parameters in (("retrieve", ["self", "node"]), ("push", ["self", "node"]),
                               ("cachepath", ["self", "node"]), ("is_enabled", ["self"]),
                               ("is_readonly", ["self"])):
        assert hasattr(base, method), f"SCons.CacheDir.CacheDir.{method} is gone"
        found = list(inspect.signature(getattr(base, method)).parameters)
        assert found == parameters, f"SCons.CacheDir.CacheDir.{method} takes {found}"
    assert isinstance(scons_compat.cache_enabled(), bool), "SCons.CacheDir.cache_enabled is gone"
    assert isinstance(scons_compat.executing_actions(), bool), "SCons.Action.execute_actions is gone"
    assert isinstance(scons_compat.printing_actions(), bool), "SCons.Action.print_actions is gone"


def test_keep_going_lives_in_the_sconscript_settings():
    import SCons.Script.Main as main
    from SCons.Script.SConsOptions import SConsValues

    assert hasattr(main, "OptionsParser"), "SCons.Script.Main.OptionsParser is gone"

    class Defaults:
        keep_going = False

    values = SConsValues(Defaults())
    settings = values.__dict__.get("__SConscript_settings__")
    assert isinstance(settings, dict), "SConsValues has no __SConscript_settings__ dict"
    settings["keep_going"] = True
    assert values.keep_going is True, "SConsValues no longer reads keep_going from __SConscript_settings__"


def test_keep_going_warns_when_the_internal_is_missing(monkeypatch, capsys):
    import SCons.Script.Main as main

    class Parser:
        values = object()  # no __SConscript_settings__

    monkeypatch.setattr(main, "OptionsParser", Parser())
    assert scons_compat.set_keep_going() is False
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("polyboard: warning:") and "-k" in lines[0]


def test_keep_going_is_set_where_scons_reads_it(monkeypatch):
    import SCons.Script.Main as main
    from SCons.Script.SConsOptions import SConsValues

    class Defaults:
        keep_going = False

    class Parser:
        values = SConsValues(Defaults())

    monkeypatch.setattr(main, "OptionsParser", Parser())
    assert scons_compat.set_keep_going() is True
    assert Parser.values.keep_going is True


INTERNAL_USES = ("createObjBuilders(", "createStaticLibBuilder(", "get_stored_info(", "hash_file_signature(",
                 "__SConscript_settings__", "import SCons.CacheDir", "from SCons.CacheDir", "SCons.Subst import",
                 "import SCons.Subst", "import SCons.Node", "from SCons.Node", "get_build_env(", '".sconsign',
                 "StaticObjectEmitter", "import SCons.Script.Main", "SCons.Errors.StopError", "BuildError(")
MODULES = sorted([*(REPO / "site_scons" / "polyboard").glob("*.py"), *(REPO / "plugins").glob("*.py")])


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "scons_compat.py"], ids=lambda p: p.name)
def test_internals_are_reached_only_through_compat(path):
    """The internals above are used nowhere else in the core or the built-in plugins (SCons's
    documented API may be: Environment, Builder, Action, Scanner, GetBuildFailures, ...)."""
    source = path.read_text(encoding="utf-8")
    for internal in INTERNAL_USES:
        assert internal not in source, f"{path.name} uses {internal!r} directly; go through polyboard.scons_compat"
