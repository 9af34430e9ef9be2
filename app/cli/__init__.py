"""The `plaudit` command (an edge): one module per command group (serve, projects,
keys, tokens, export, autofeedback, rollups), what they share in common.py, and
main.py, which puts the group together. The entry point is ``app.cli:main``."""

from app.cli.main import main

__all__ = ["main"]
