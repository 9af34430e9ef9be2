"""`plaudit import langsmith`: runs and feedback as the LangSmith SDK's list_runs
and list_feedback give them (its own schema objects, serialized as a user would),
with their original times; importing twice changes nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from langsmith import schemas

from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.test_cli_tokens import run_cli

THEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def _export() -> tuple[list[schemas.Run], list[schemas.Feedback]]:
    trace = uuid.uuid4()
    root = schemas.Run(
        id=trace,
        trace_id=trace,
        name="chat",
        run_type="chain",
        start_time=THEN,
        end_time=THEN + timedelta(seconds=2),
        inputs={"question": "what is plaudit?"},
        outputs={"answer": "feedback"},
        extra={"metadata": {"ls_model_name": "gpt-x"}},
        tags=["prod"],
        dotted_order=f"{THEN.strftime('%Y%m%dT%H%M%S%fZ')}{trace}",
    )
    child_id = uuid.uuid4()
    child_start = THEN + timedelta(seconds=1)
    child = schemas.Run(
        id=child_id,
        trace_id=trace,
        parent_run_id=trace,
        name="llm",
        run_type="llm",
        start_time=child_start,
        inputs={},
        dotted_order=f"{root.dotted_order}.{child_start.strftime('%Y%m%dT%H%M%S%fZ')}{child_id}",
    )
    feedback = [
        schemas.Feedback(
            id=uuid.uuid4(),
            run_id=trace,
            trace_id=trace,
            key="helpful",
            score=score,
            comment=comment,
            created_at=THEN + timedelta(minutes=minutes),
            modified_at=THEN + timedelta(minutes=minutes),
            feedback_source={"type": "api", "metadata": {}, "user_id": user},
        )
        for score, comment, minutes, user in ((1, "great", 5, "u1"), (0, "wrong", 90, "u2"))
    ]
    return [root, child], feedback


async def test_a_langsmith_export_is_imported_with_its_times(
    gql: GraphQLClient, settings: Settings, sync_db: Any, tmp_path: Path
) -> None:
    runs, feedback = _export()
    runs_file = tmp_path / "runs.json"  # a JSON array
    runs_file.write_text(json.dumps([json.loads(r.model_dump_json()) for r in runs]))
    feedback_file = tmp_path / "feedback.jsonl"  # JSON lines
    feedback_file.write_text("".join(f.model_dump_json() + "\n" for f in feedback))
    args = ["import", "langsmith", "--project", "acme", str(runs_file), str(feedback_file)]

    out = await asyncio.to_thread(run_cli, settings, *args, "--no-progress")
    assert out.splitlines() == ["2 runs and 2 feedback imported"]

    root = sync_db.runs.find_one({"_id": str(runs[0].id)})
    assert root["start_time"] == THEN and root["inputs"] == {"question": "what is plaudit?"}
    child = sync_db.runs.find_one({"_id": str(runs[1].id)})
    assert child["parent_run_id"] == str(runs[0].id)
    stored = {d["_id"]: d for d in sync_db.feedback.find()}
    for original in feedback:
        record = stored[str(original.id)]
        assert record["created_at"] == original.created_at
        assert (record["score"], record["comment"], record["user_id"]) == (
            original.score,
            original.comment,
            original.feedback_source.user_id if original.feedback_source else None,
        )
    # Statistics over time count them in their own hours.
    hours = sync_db.feedback_rollups.find({"key": "helpful", "g": "hour"})
    assert sorted((r["t"], r["c"]) for r in hours) == [
        (THEN.replace(minute=0, second=0), 1),
        (THEN.replace(minute=0, second=0) + timedelta(hours=1), 1),
    ]

    # Again: nothing changes.
    before = (list(sync_db.runs.find()), list(sync_db.feedback.find()))
    out = await asyncio.to_thread(run_cli, settings, *args, "--no-progress")
    assert out.splitlines() == [
        "0 runs and 0 feedback imported",
        "  4 already here, left as they are",
    ]
    assert (list(sync_db.runs.find()), list(sync_db.feedback.find())) == before


async def test_what_cannot_be_imported_is_listed(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "mixed.jsonl"
    orphan = {"id": str(uuid.uuid4()), "run_id": str(uuid.uuid4()), "key": "k", "score": 1}
    file.write_text("\n".join(json.dumps(x) for x in ({"hello": 1}, orphan)) + "\n")
    out = await asyncio.to_thread(
        run_cli, settings, "import", "langsmith", "--project", "acme", str(file), "--no-progress"
    )
    lines = out.splitlines()
    assert lines[0] == "0 runs and 0 feedback imported"
    assert lines[1].startswith("  item 1 not imported: neither a LangSmith run")
    assert lines[2].startswith("  item 2 not imported: run ") and "not found" in lines[2]
