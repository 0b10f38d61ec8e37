"""Firmware image plugin: the ``c_firmware`` component kind and the images made from an ELF.

``c_firmware(name, sources=[...], libs=[components], include=[dirs], test=False)`` compiles C
sources with the board's flags, links them with the listed libraries using the board's linker
script (``$LINKCOM``, set by the C toolchain plugin), and writes ``<name>.elf`` and
``<name>.map``; :func:`polyboard_after_link` adds ``.bin`` and ``.hex``. Only bare-metal boards
build it: a Linux board skips it with a reason.

Also an SCons tool (:func:`generate`/:func:`exists`): the ``Objcopy`` builder, through
``$OBJCOPYCOM`` (a command template: ``$OBJCOPY -O $OBJCOPYFORMAT $SOURCE ${TARGET}.tmp``) and
``$OBJCOPYCOMSTR``, both overridable from the SConstruct.
"""

from __future__ import annotations

import shutil

from SCons.Builder import Builder

from polyboard import PolyboardError, Skip, hookimpl, profiles, spawn
from polyboard.component_options import option
from polyboard.context import Artifact
from polyboard.scons_data import literals, node_name


@hookimpl
def polyboard_register(registry):
    registry.add_component_kind("c_firmware", declare_c_firmware, help="C (and linked libraries) firmware image",
                                options=[
                                    option("sources", "strings", "C and assembly sources, tree-relative; required"),
                                    option("libs", "components", "libraries to link (e.g. a `rust_staticlib`); "
                                           "their include folders are on the include path", []),
                                    option("include", "strings", "more include folders, tree-relative", []),
                                    option("test", "bool", "a test image: `scons test` runs it instead of "
                                           "`scons run`", False),
                                    profiles.COMPONENT_OPTION])


OBJCOPY_BUILDER = Builder(action=spawn.committed("$OBJCOPYCOM", "$OBJCOPYCOMSTR"))


def generate(env) -> None:
    """SCons tool: the ``Objcopy`` builder (``$OBJCOPYFORMAT`` per call: ``binary``, ``ihex``)."""
    env.SetDefault(OBJCOPY="objcopy", OBJCOPYCOM="$OBJCOPY -O $OBJCOPYFORMAT $SOURCE ${TARGET}.tmp",
                   OBJCOPYCOMSTR="OBJCOPY [$POLYBOARD_BOARD_ID] $TARGET")
    env.Append(BUILDERS={"Objcopy": OBJCOPY_BUILDER})


def exists(env) -> bool:
    """SCons tool: whether the environment's objcopy is on its PATH (no process started)."""
    return shutil.which(str(env.get("OBJCOPY", "objcopy")), path=env["ENV"].get("PATH")) is not None


@hookimpl
def polyboard_configure_board(build):
    if build.board.bare_metal:
        build.env.Tool(generate)


def compile_objects(build, env, component: str, sources: list[str]) -> list:
    """Objects for in-tree C sources, under ``obj/<component>/`` (each component has its own flags)."""
    objects = []
    for source in sources:
        build.source(source, key="SConstruct")
        objects += env.Object(target=node_name(build.path("obj", component, source + ".o")),
                              source=node_name("#" + source))
    return objects


def declare_c_firmware(build, component):
    board = build.board
    if not board.bare_metal:
        raise Skip(f"bare-metal firmware, and these boards run {board.os}")
    options = component.options
    sources = list(options.get("sources", []))
    if not sources:
        raise PolyboardError(f"c_firmware {component.name!r} needs sources=[...]", where="SConstruct")
    env = build.env.Clone()
    refinement = profiles.component_refinement(build, component)
    if refinement is not None:  # after the board's and the profile's flags: gcc takes the last -O
        env.Append(CFLAGS=literals(refinement.c_flags), LINKFLAGS=literals(refinement.link_flags))
    libs = [build.dependency(lib, f"c_firmware {component.name!r}") for lib in options.get("libs", [])]
    env.AppendUnique(CPPPATH=[d for lib in libs for d in lib.include_dirs] +
                     [env.Dir(node_name("#" + d)) for d in options.get("include", [])])
    objects = compile_objects(build, env, component.name, sources)
    script = build.linker_script
    elf = build.path(f"{component.name}.elf")
    map_file = build.path(f"{component.name}.map")
    env["LINKSCRIPT"] = script
    link = env.Command([elf, map_file], objects + [lib.library for lib in libs],
                       spawn.committed("$LINKCOM", "$LINKCOMSTR"))
    env.Depends(link, script)
    nodes = list(link) + build.after_link(component.name, link[0])
    return Artifact(component=component.name, kind=component.kind, nodes=nodes, program=link[0],
                    test=bool(options.get("test", False)))


@hookimpl
def polyboard_after_link(build, component, elf):
    if not build.board.bare_metal:
        return []
    env = build.env
    # the tool that writes the flashed bytes is pinned like the compiler (toolchains.lock)
    objcopy = str(env["OBJCOPY"])
    build.uses_tool(objcopy, build.require_tool(objcopy, build.board.c.packages, f"to make the images of {component}"))
    base = build.path(component)
    images = []
    for suffix, fmt in ((".bin", "binary"), (".hex", "ihex")):
        images += env.Objcopy(base + suffix, elf, OBJCOPYFORMAT=fmt)
    return images
