"""Recording the commands the app's MongoDB client sends (pymongo command
monitoring): for tests that count queries, check write batching or explain plans.

A test module opts in with ``pytestmark = pytest.mark.record_commands``; its app
then records into the ``recorder`` fixture (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

from pymongo import monitoring


class CommandRecorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def clear(self) -> None:
        self.commands.clear()

    def on(self, collection: str, *names: str) -> list[dict[str, Any]]:
        """The commands named ``names`` sent to ``collection`` (getMore included)."""
        return [
            command
            for name, command in self.commands
            if name in names and collection in (command.get(name), command.get("collection"))
        ]

    def reads(self) -> list[tuple[str, str]]:
        """(command, collection) of every find, aggregate and getMore."""
        return [
            (name, str(command.get("collection") if name == "getMore" else command.get(name)))
            for name, command in self.commands
            if name in ("find", "aggregate", "getMore")
        ]
