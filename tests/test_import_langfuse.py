"""`plaudit import langfuse`: scores from a Langfuse export (its public API's
JSON) become feedback on runs already here, with their original times."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.task_helpers import ingest
from tests.test_cli_tokens import run_cli

AT = datetime(2025, 6, 7, 8, 9, 10, 123000, tzinfo=UTC)


def _score(**fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "projectId": "lf-project",
        "timestamp": AT.isoformat().replace("+00:00", "Z"),
        "createdAt": "2025-06-07T08:09:11.000Z",
        "updatedAt": "2025-06-07T08:09:11.000Z",
        "source": "API",
        "comment": None,
        "observationId": None,
        "configId": None,
        "authorUserId": None,
        **fields,
    }


async def test_langfuse_scores_become_feedback_with_their_times(
    gql: GraphQLClient, settings: Settings, sync_db: Any, tmp_path: Path
) -> None:
    trace, observation = await ingest(gql, {"name": "trace"}, {"name": "generation"})
    scores = [
        # A trace id as OpenTelemetry writes it (32 hex digits), a custom score id.
        _score(
            id="my-score-1",
            traceId=uuid.UUID(trace).hex,
            name="accuracy",
            value=0.75,
            dataType="NUMERIC",
            comment="close",
            source="ANNOTATION",
            authorUserId="ann-1",
        ),
        _score(
            traceId=trace,
            observationId=observation,
            name="safe",
            value=1,
            dataType="BOOLEAN",
            source="EVAL",
        ),
        _score(traceId=trace, name="tone", value=0, stringValue="formal", dataType="CATEGORICAL"),
        _score(traceId=str(uuid.uuid4()), name="accuracy", value=1, dataType="NUMERIC"),
    ]
    file = tmp_path / "scores.json"
    file.write_text(json.dumps({"data": scores, "meta": {"page": 1, "totalItems": 4}}))
    args = ["import", "langfuse", "--project", "acme", str(file), "--no-progress"]

    out = (await asyncio.to_thread(run_cli, settings, *args)).splitlines()
    assert out[0] == "3 scores imported"
    assert out[1].startswith("  item 4 not imported: run ") and "not found" in out[1]

    by_key = {d["key"]: d for d in sync_db.feedback.find()}
    accuracy = by_key["accuracy"]
    assert (accuracy["run_id"], accuracy["score"], accuracy["comment"]) == (trace, 0.75, "close")
    assert (accuracy["source_type"], accuracy["user_id"]) == ("human", "ann-1")
    assert accuracy["created_at"] == AT
    assert accuracy["_id"] == str(
        uuid.uuid5(uuid.UUID("6c9f3f7e-5e0a-4d2e-9b7a-6a1f0c3e2d10"), "my-score-1")
    )
    assert (by_key["safe"]["run_id"], by_key["safe"]["score"]) == (observation, True)
    assert by_key["safe"]["source_type"] == "model"
    assert (by_key["tone"]["score"], by_key["tone"]["value"]) == (None, "formal")

    # Again: the same records, nothing new.
    before = list(sync_db.feedback.find())
    out = (await asyncio.to_thread(run_cli, settings, *args)).splitlines()
    assert out[:2] == ["0 scores imported", "  3 already here, left as they are"]
    assert list(sync_db.feedback.find()) == before
