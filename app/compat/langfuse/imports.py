"""Importing scores from a Langfuse export: the objects its public API's
``GET /api/public/scores`` (and the SDK's ``api.score_v_2.get``) give, in camelCase.

A score becomes feedback on the run named by its ``observationId``, else its
``traceId`` (Langfuse ids are UUIDs or 32 hex digits, both read as a UUID), which
must be in Plaudit already (LangSmith-compatible tracing or an import). It keeps
its ``timestamp`` as ``created_at``. NUMERIC scores are scores, BOOLEAN ones
booleans, CATEGORICAL ones values (``stringValue``); ``source`` API, ANNOTATION and
EVAL become api, human and model; ``authorUserId`` the user. A score id that is
not a UUID gets one derived from it, so importing again finds it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from app.compat.langfuse.ids import SOURCES, score_uuid
from app.compat.langsmith.http import parse_time
from app.domain.feedback import Change, FeedbackWrite
from app.domain.lifecycle.imports import Imported, Progress, import_feedback
from app.errors import BadRequest
from app.store import Stores

CHANGE = Change(by="import:langfuse", via="cli")


def _uuid(raw: Any, name: str) -> str:
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        raise BadRequest(f"{name} {str(raw)[:80]!r} is not a UUID", field=name) from None


def to_write(score: Any) -> FeedbackWrite:
    if not isinstance(score, dict) or "name" not in score or "traceId" not in score:
        raise BadRequest("not a Langfuse score (an object with name and traceId)")
    run = score.get("observationId") or score["traceId"]
    raw_id = str(score.get("id") or "")
    score_id = score_uuid(raw_id) if raw_id else None
    kind = score.get("dataType") or "NUMERIC"
    write = FeedbackWrite(
        run_id=_uuid(run, "observationId" if score.get("observationId") else "traceId"),
        key=str(score["name"]),
        comment=score.get("comment"),
        source_type=SOURCES.get(str(score.get("source") or "API"), "api"),
        source_info={"langfuse": {"scoreId": raw_id, "configId": score.get("configId")}},
        user_id=score.get("authorUserId"),
        id=score_id,
    )
    value = score.get("value")
    if kind == "CATEGORICAL":
        write.value = score.get("stringValue")
        write.score = None
    elif kind == "BOOLEAN":
        write.score = bool(value)
    elif isinstance(value, int | float):
        write.score = value
    else:
        raise BadRequest(f"score {raw_id!r}: a {kind} score needs a number value")
    at = score.get("timestamp") or score.get("createdAt")
    if at is not None:
        write.created_at = parse_time(at, "timestamp")
    return write


async def import_langfuse_scores(
    stores: Stores, project_id: str, items: Iterable[Any], progress: Progress = lambda _: None
) -> Imported:
    result = Imported()
    await import_feedback(
        stores, project_id, list(enumerate(items)), to_write, CHANGE, result, progress
    )
    return result
