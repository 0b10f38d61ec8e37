"""The shipped board files (``*.toml``), installed as package data of ``polyboard_boards`` so a
wheel carries them; the shipped_boards plugin finds them with importlib.resources."""
