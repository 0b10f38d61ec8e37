"""polyboard: a plugin-based SCons build framework for one firmware tree on many boards.

A firmware tree's SConstruct::

    import polyboard
    project = polyboard.start()
    kernel = project.rust_staticlib("kernel", crate="src/kernel")
    project.c_firmware("firmware", sources=["src/firmware/startup.c", "src/firmware/main.c"], libs=[kernel])
    project.finish()
"""

from .context import Artifact, BoardBuild, Component, Skip
from .errors import PolyboardError, ToolMissingError
from .hookspec import hookimpl
from .project import Project, start

__all__ = ["Artifact", "BoardBuild", "Component", "PolyboardError", "Project", "Skip", "ToolMissingError",
           "hookimpl", "start"]
__version__ = "0.1.0"
