"""polyboard's built-in plugins, registered through the ``polyboard`` entry-point group exactly
as a third-party plugin would be (see pyproject.toml)."""
