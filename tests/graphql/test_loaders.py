"""A page of runs with their feedback costs a bounded number of queries."""

from __future__ import annotations

import json
import uuid

import pytest
from starlette.applications import Starlette

from tests.commands import CommandRecorder
from tests.conftest import GraphQLClient, services
from tests.helpers import INGEST

pytestmark = pytest.mark.record_commands


async def test_page_of_runs_with_feedback_is_bounded(
    app: Starlette, gql: GraphQLClient, recorder: CommandRecorder
) -> None:
    run_ids = [str(uuid.uuid4()) for _ in range(50)]
    await gql.ok(INGEST, {"runs": [{"id": r, "name": "n"} for r in run_ids]})
    for run_id in run_ids[:20]:
        await gql.ok(
            'mutation($r: ID!) { createFeedback(input: {runId: $r, key: "q", score: 1}) { id } }',
            {"r": run_id},
        )
    # The rollup buffer written now, not by the statistics read below (a flush
    # reads the grouped rollups' slots and the runs' fields) or by its timer.
    await services(app).pipelines.rollups.flush()
    project_id = (await gql.ok("{ project { id } }"))["project"]["id"]
    recorder.clear()
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
    # or one batched query. Counted: the reads naming this project (the app's
    # background loops read meanwhile too: the webhook queue, evaluation rules,
    # expired pending feedback of every project) and any getMore on the page's
    # collections.
    reads = [
        (name, command.get(name) or command.get("collection"))
        for name, command in recorder.commands
        if (name in ("find", "aggregate") and project_id in json.dumps(command, default=str))
        or (name == "getMore" and command.get("collection") in ("runs", "feedback"))
    ]
    assert 3 <= len(reads) <= 5, reads
