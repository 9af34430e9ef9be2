"""Scores on a Langfuse session or dataset run, as Plaudit models them.

A session is a run's ``session_id`` (a user's conversation); Plaudit has no
session object to hold feedback. So a session's scores are feedback on a run
that stands for the session: its id derived from the project and the session id,
its ``session_id`` the session's, its metadata ``{"langfuse.session": true}``,
created by the first score on it. Feedback statistics, exports and grouping by
session see them as any feedback.

A dataset run is a Plaudit experiment (a tracing project with a reference
dataset): a score given only a ``datasetRunId`` (the experiment's id) is its
summary result for the score's name, as LangSmith's summary evaluators' are (the
latest per name; GraphQL ``summaryScores``)."""

from __future__ import annotations

import uuid
from typing import Any

from app.compat.langfuse.http import Caller
from app.compat.langfuse.ids import ID_NAMESPACE, SOURCES, score_uuid
from app.domain import experiments
from app.domain import validation as v
from app.domain.runs import RunWrite, ingest_runs
from app.errors import BadRequest, Forbidden
from app.store import Stores

SESSION_MARK = "langfuse.session"


def session_run_id(project_id: str, session_id: str) -> str:
    v.check_text(session_id, "sessionId", v.MAX_SHORT_CHARS)
    return str(uuid.uuid5(ID_NAMESPACE, f"session\n{project_id}\n{session_id}"))


async def session_run(stores: Stores, caller: Caller, session_id: str) -> str:
    """The id of the run that stands for the session, created when it has none."""
    run_id = session_run_id(caller.project_id, session_id)
    if await stores.runs.owner(run_id) is None:
        run = RunWrite(
            id=run_id,
            name=f"session {session_id}"[: v.MAX_SHORT_CHARS],
            session_id=session_id,
            metadata={SESSION_MARK: True},
        )
        await ingest_runs(stores, caller.project_id, [run])
    return run_id


async def dataset_run_score(
    stores: Stores, caller: Caller, score: dict[str, Any], kind: str, value: Any
) -> str:
    """A score on a dataset run: its experiment's summary result for the name."""
    if caller.public:
        raise Forbidden(
            "the public key alone scores traces, observations and sessions, not dataset runs"
        )
    number: Any = None
    text: Any = None
    if kind == "BOOLEAN":
        number = bool(value)
    elif kind == "NUMERIC":
        number = value
    else:
        text = value
    raw_id = str(score.get("id") or uuid.uuid4())
    try:
        experiment_id = str(uuid.UUID(str(score["datasetRunId"])))
    except ValueError:
        raise BadRequest(
            "datasetRunId must be the id of a Plaudit experiment (a UUID)", field="datasetRunId"
        ) from None
    await experiments.record_summary(
        stores,
        caller.project_id,
        experiment_id,
        score["name"],
        score=number,
        value=text,
        comment=score.get("comment"),
        source_type=SOURCES[score.get("source") or "API"],
        feedback_id=score_uuid(raw_id),
    )
    return raw_id
