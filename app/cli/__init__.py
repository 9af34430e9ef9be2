"""The `plaudit` command (an edge): one module per command group. The entry point is
``app.cli:main``."""

from app.cli.main import main

__all__ = ["main"]
