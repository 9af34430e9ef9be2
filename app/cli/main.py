"""The `plaudit` command: its groups, each in its own module."""

from __future__ import annotations

import sys

import click

from app.cli.autofeedback import autofeedback
from app.cli.common import DATABASE_HELP
from app.cli.datasets import datasets
from app.cli.export import export
from app.cli.imports import import_group
from app.cli.keys import keys
from app.cli.lifecycle import delete_runs_command, erase_user, retention
from app.cli.projects import projects
from app.cli.rollups import rollups
from app.cli.rules import rules
from app.cli.serve import serve
from app.cli.tokens import tokens
from app.cli.transfer import dump, load


@click.group()
@click.version_option(package_name="plaudit")
def main() -> None:
    """Plaudit: a self-hosted feedback service for LLM applications."""


for command in (
    serve,
    projects,
    keys,
    tokens,
    export,
    autofeedback,
    rollups,
    rules,
    erase_user,
    delete_runs_command,
    retention,
    dump,
    load,
    import_group,
    datasets,
):
    main.add_command(command)


def _add_database_help(command: click.Command) -> None:
    command.epilog = DATABASE_HELP
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            _add_database_help(subcommand)


_add_database_help(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
