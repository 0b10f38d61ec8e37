"""docs/components.md's option tables are what the component kinds declare (it cannot drift)."""

from __future__ import annotations

from helpers import REPO


def test_components_md_is_generated_from_the_declarations():
    from polyboard.component_options import component_reference
    from polyboard.plugins import Hooks, load_plugins, new_manager
    from polyboard.registry import Registry

    manager = new_manager()
    load_plugins(manager, None)
    registry = Registry()
    Hooks(manager).register(registry)
    text = (REPO / "docs" / "components.md").read_text(encoding="utf-8")
    generated = text.split("<!-- generated: component kinds -->\n", 1)[1].split("<!-- end generated -->", 1)[0]
    assert generated == component_reference(registry.kinds), (
        "docs/components.md is out of date: regenerate the part after the marker with "
        "polyboard.component_options.component_reference")
