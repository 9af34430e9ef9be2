"""A page of runs with their feedback costs a bounded number of queries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo import monitoring

from tests.conftest import GraphQLClient
from tests.helpers import INGEST


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        collection = event.command.get(event.command_name)
        self.commands.append((event.command_name, str(collection)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reads(self) -> list[tuple[str, str]]:
        return [c for c in self.commands if c[0] in ("find", "aggregate", "getMore")]


@pytest.fixture
def counter() -> CommandCounter:
    return CommandCounter()


@pytest.fixture
def client_options(counter: CommandCounter) -> dict[str, Any]:
    return {"event_listeners": [counter]}


async def test_page_of_runs_with_feedback_is_bounded(
    gql: GraphQLClient, counter: CommandCounter
) -> None:
    run_ids = [str(uuid.uuid4()) for _ in range(50)]
    await gql.ok(INGEST, {"runs": [{"id": r, "name": "n"} for r in run_ids]})
    for run_id in run_ids[:20]:
        await gql.ok(
            'mutation($r: ID!) { createFeedback(input: {runId: $r, key: "q", score: 1}) { id } }',
            {"r": run_id},
        )
    counter.commands.clear()
    data = await gql.ok(
        """{ runs(first: 50) { nodes {
              id feedback { key score run { id } } feedbackStats { key mean }
        } } }"""
    )
    nodes = data["runs"]["nodes"]
    assert len(nodes) == 50
    assert sum(len(n["feedback"]) for n in nodes) == 20
    # The page, the feedback of all runs, their stats: one query each (the API
    # key lookup is cached). feedback.run is resolved from the run loader's cache
    # or one batched query.
    reads = counter.reads()
    assert len(reads) <= 5, reads
