"""``/api/public/scores``: Langfuse scores, recorded as Plaudit feedback.

- ``POST /api/public/scores`` takes one score (an object; answers ``{"id"}``) or,
  as the 5.x SDKs send them, a list (answers 202 ``{"message": "Accepted"}``, or
  207 with ``accepted``, ``rejected`` and one error a refused score).
- ``GET /api/public/scores/{id}``, ``DELETE /api/public/scores/{id}``, and
  ``GET /api/public/v3/scores`` (the SDK's ``api.scores.get_many``) with the
  filters ``id``, ``name``, ``source``, ``dataType``, ``traceId``,
  ``observationId``, ``fromTimestamp``, ``toTimestamp``, ``limit`` and ``cursor``.

A score is feedback on the run of its observation (``observationId``), else of
its trace (``traceId``; app/compat/langfuse/ids.py); the run may arrive later
(the feedback waits, pending). Its ``name`` is the feedback key. NUMERIC: the
score; BOOLEAN (``value`` 0 or 1): a boolean score; CATEGORICAL and TEXT (a
string ``value``): the feedback's value. With no ``dataType``, a number is
NUMERIC and a string CATEGORICAL. ``source`` API, ANNOTATION, EVAL: api, human,
model. ``authorUserId`` is the feedback's user (so, as everywhere in Plaudit, one
user's feedback on a run and key is one record). ``metadata``, ``environment``,
``configId``, ``queueId`` and the given ids are kept with the record and read back.
A client-chosen ``id`` given again updates that score's value and comment (its
name and target cannot change).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langfuse.http import principal
from app.compat.langfuse.ids import (
    SOURCE_NAMES,
    SOURCES,
    observation_run_id,
    score_uuid,
    trace_run_id,
)
from app.compat.langsmith.http import (
    check,
    endpoint,
    iso,
    json_body,
    parse_time,
    query_int,
    services,
    validator,
)
from app.domain import validation as v
from app.domain.auth import Principal
from app.domain.feedback import (
    Change,
    FeedbackWrite,
    create_feedback,
    delete_feedback,
    update_feedback,
)
from app.domain.missing import MISSING
from app.errors import BadRequest, NotFound, PlauditError
from app.store import jsonsafe
from app.store.feedback import Feedback, FeedbackQuery
from app.store.runs import RunQuery

DATA_TYPES = ("NUMERIC", "CATEGORICAL", "BOOLEAN", "TEXT")
TEXT = {"type": ["string", "null"]}
SCORE = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {
        "id": TEXT,
        "traceId": TEXT,
        "observationId": TEXT,
        "sessionId": TEXT,
        "datasetRunId": TEXT,
        "name": {"type": "string", "minLength": 1},
        "value": {"type": ["number", "string"]},
        "comment": TEXT,
        "metadata": {},
        "environment": TEXT,
        "queueId": TEXT,
        "configId": TEXT,
        "dataType": {"enum": [*DATA_TYPES, None]},
        "source": {"enum": [*SOURCES, None]},
        "authorUserId": TEXT,
        "timestamp": TEXT,
    },
}
ONE_SCORE = validator(SCORE)
SCORES = validator({"type": "array", "maxItems": v.MAX_BATCH, "items": {"type": "object"}})
# Kept with the record (in its ``extra``) and read back.
KEPT = ("traceId", "observationId", "metadata", "environment", "configId", "queueId")
MAX_PAGE = 100


def _data_type(score: dict[str, Any]) -> str:
    given = score.get("dataType")
    if given is not None:
        return str(given)
    return "NUMERIC" if isinstance(score["value"], int | float) else "CATEGORICAL"


def _content(kind: str, value: Any) -> dict[str, Any]:
    """The feedback fields a score's value is."""
    if kind == "NUMERIC":
        if not isinstance(value, int | float):
            raise BadRequest("a NUMERIC score's value must be a number", field="value")
        return {"score": value, "value": None}
    if kind == "BOOLEAN":
        if value not in (0, 1) or isinstance(value, str):
            raise BadRequest("a BOOLEAN score's value must be 0 or 1", field="value")
        return {"score": bool(value), "value": None}
    if not isinstance(value, str):
        raise BadRequest(f"a {kind} score's value must be a string", field="value")
    return {"score": None, "value": value}


def _run_id(score: dict[str, Any]) -> str:
    if score.get("observationId"):
        return observation_run_id(score.get("traceId"), score["observationId"])
    if score.get("traceId"):
        return trace_run_id(score["traceId"])
    if score.get("sessionId") or score.get("datasetRunId"):
        raise BadRequest(
            "scores on a session or a dataset run are not supported yet: give traceId "
            "(and observationId)",
            field="sessionId" if score.get("sessionId") else "datasetRunId",
        )
    raise BadRequest("a score needs a traceId (and observationId for an observation)")


def to_write(score: dict[str, Any]) -> FeedbackWrite:
    kind = _data_type(score)
    kept = {name: score[name] for name in KEPT if score.get(name) is not None}
    kept["dataType"] = kind
    if score.get("id"):
        kept["id"] = score["id"]
    v.check_json(kept, "metadata", v.MAX_VALUE_BYTES)
    return FeedbackWrite(
        run_id=_run_id(score),
        key=score["name"],
        comment=score["comment"] if score.get("comment") is not None else MISSING,
        source_type=SOURCES[score.get("source") or "API"],
        user_id=score.get("authorUserId"),
        id=score_uuid(score["id"]) if score.get("id") else None,
        extra={"langfuse": jsonsafe.escape(kept)},
        **_content(kind, score["value"]),
    )


def _kept(record: Feedback) -> dict[str, Any]:
    kept = jsonsafe.unescape(record.extra.get("langfuse"))
    return kept if isinstance(kept, dict) else {}


def to_json(project_id: str, record: Feedback) -> dict[str, Any]:
    """A feedback record as Langfuse's score (the v3 shape, with the v1 ids too)."""
    kept = _kept(record)
    kind = kept.get("dataType") or _kind_of(record)
    value: Any = record.value
    if kind == "BOOLEAN":
        value = bool(record.score)
    elif kind == "NUMERIC":
        value = record.score
    elif not isinstance(value, str):
        # Feedback from elsewhere (GraphQL, the widget): a JSON value as text, else
        # the comment, so every record reads as some Langfuse score.
        value = record.comment or "" if value is None else json.dumps(value)
    trace_id = kept.get("traceId")
    observation_id = kept.get("observationId")
    if observation_id is not None:
        subject: dict[str, Any] = {"kind": "observation", "id": observation_id, "traceId": trace_id}
    else:
        subject = {"kind": "trace", "id": trace_id or record.run_id}
    return {
        "id": kept.get("id") or record.id,
        "projectId": project_id,
        "name": record.key,
        "dataType": kind,
        "value": value,
        "stringValue": record.value if kind in ("CATEGORICAL", "TEXT") else None,
        "source": SOURCE_NAMES.get(record.source_type, "API"),
        "timestamp": iso(record.created_at),
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.modified_at),
        "comment": record.comment,
        "metadata": kept.get("metadata"),
        "environment": kept.get("environment") or "default",
        "configId": kept.get("configId"),
        "queueId": kept.get("queueId"),
        "authorUserId": record.user_id,
        "traceId": trace_id,
        "observationId": observation_id,
        "subject": subject,
    }


def _kind_of(record: Feedback) -> str:
    """The data type of feedback not sent as a Langfuse score."""
    if isinstance(record.score, bool):
        return "BOOLEAN"
    if record.score is not None:
        return "NUMERIC"
    return "CATEGORICAL" if isinstance(record.value, str) else "TEXT"


def _change(who: Principal) -> Change:
    return Change(by=who.label, via="rest")


async def record_score(request: Request, who: Principal, score: dict[str, Any]) -> Feedback:
    """Create the score, or update the one with its client-chosen id."""
    write = to_write(score)
    stores = services(request).stores
    if write.id is not None:
        existing = await stores.feedback.get(who.project_id, write.id)
        if existing is not None:
            if (existing.run_id, existing.key) != (write.run_id, write.key):
                raise BadRequest(
                    f"score {score['id']!r} exists with another name or target; "
                    "a score's name, trace and observation cannot change",
                    field="id",
                )
            if _kept(existing).get("dataType") != _kept_type(write):
                raise BadRequest(
                    f"score {score['id']!r} exists with another dataType", field="dataType"
                )
            update = FeedbackWrite(
                run_id="", key="", score=write.score, value=write.value, comment=write.comment
            )
            return await update_feedback(stores, who.project_id, write.id, update, _change(who))
    record, _ = await create_feedback(stores, who.project_id, write, _change(who))
    return record


def _kept_type(write: FeedbackWrite) -> Any:
    return jsonsafe.unescape(write.extra["langfuse"]).get("dataType")


def _one(score: Any) -> dict[str, Any]:
    check(ONE_SCORE, score)
    result: dict[str, Any] = score
    return result


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "ingest")
    body = await json_body(request)
    if isinstance(body, dict):
        record = await record_score(request, who, _one(body))
        return JSONResponse({"id": _kept(record).get("id") or record.id})
    if not isinstance(body, list):
        raise BadRequest("send a score (an object) or a list of scores")
    check(SCORES, body)
    errors: list[dict[str, Any]] = []
    for index, score in enumerate(body):
        try:
            await record_score(request, who, _one(score))
        except PlauditError as exc:
            errors.append({"index": index, "id": score.get("id"), "message": exc.message})
    if not errors:
        return JSONResponse({"message": "Accepted"}, status_code=202)
    accepted = len(body) - len(errors)
    return JSONResponse(
        {"accepted": accepted, "rejected": len(errors), "errors": errors}, status_code=207
    )


def _path_id(request: Request) -> str:
    raw = request.path_params["score_id"]
    v.check_text(raw, "scoreId", v.MAX_SHORT_CHARS)
    return score_uuid(raw)


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    score_id = _path_id(request)
    record = await services(request).stores.feedback.get(who.project_id, score_id)
    if record is None:
        raise NotFound(f"score {request.path_params['score_id']} not found")
    return JSONResponse(to_json(who.project_id, record))


@endpoint
async def delete(request: Request) -> Response:
    who = await principal(request, "ingest")
    score_id = _path_id(request)
    stores = services(request).stores
    if await stores.feedback.get(who.project_id, score_id) is None:
        raise NotFound(f"score {request.path_params['score_id']} not found")
    await delete_feedback(stores, who.project_id, score_id, _change(who))
    return JSONResponse({"message": "Score deleted"})


async def _run_ids(request: Request, project_id: str) -> list[str] | None:
    params = request.query_params
    trace_id, observation_id = params.get("traceId"), params.get("observationId")
    if observation_id:
        return [observation_run_id(trace_id, observation_id)]
    if not trace_id:
        return None
    # The trace's own run and the runs in the trace (its first MAX_TRACE_PAGES pages).
    run_id = trace_run_id(trace_id)
    found = [run_id]
    after: str | None = None
    for _ in range(MAX_TRACE_PAGES):
        page = await services(request).stores.runs.page(
            project_id, RunQuery(trace_id=run_id), TRACE_PAGE, after
        )
        found.extend(run.id for run in page.items if run.id != run_id)
        if not page.has_next_page:
            break
        after = page.end_cursor
    return found


TRACE_PAGE = 100
MAX_TRACE_PAGES = 10


def _query(request: Request, run_ids: list[str] | None) -> FeedbackQuery:
    params = request.query_params
    sources = [s.strip() for s in params.get("source", "").split(",") if s.strip()]
    for source in sources:
        if source not in SOURCES:
            raise BadRequest(
                f"unknown source {source[:40]!r}; one of {', '.join(SOURCES)}", field="source"
            )
    names = [n.strip() for n in params.get("name", "").split(",") if n.strip()]
    low, high = params.get("fromTimestamp"), params.get("toTimestamp")
    return FeedbackQuery(
        run_ids=run_ids,
        keys=names or None,
        source_types=[SOURCES[s] for s in sources] or None,
        user_ids=[params["authorUserId"]] if params.get("authorUserId") else None,
        created_after=parse_time(low, "fromTimestamp") if low else None,
        created_before=parse_time(high, "toTimestamp") + timedelta(milliseconds=1)
        if high
        else None,
    )


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    params = request.query_params
    data_type = params.get("dataType")
    if data_type is not None and data_type not in DATA_TYPES:
        raise BadRequest(
            f"unknown dataType {data_type[:40]!r}; one of {', '.join(DATA_TYPES)}",
            field="dataType",
        )
    limit = query_int(request, "limit", 50, 1, MAX_PAGE)
    offset = 0
    if params.get("cursor"):
        cursor = params["cursor"]
        if not cursor.isdigit() or len(cursor) > 9:
            raise BadRequest("cursor must be one this API returned", field="cursor")
        offset = int(cursor)
    query = _query(request, await _run_ids(request, who.project_id))
    stores = services(request).stores
    if params.get("id"):
        record = await stores.feedback.get(who.project_id, score_uuid(params["id"]))
        records = [record] if record is not None else []
    else:
        records = await stores.feedback.list_offset(
            who.project_id, query, offset=offset, limit=limit + 1
        )
    more = len(records) > limit
    data = [to_json(who.project_id, r) for r in records[:limit]]
    if data_type is not None:
        data = [score for score in data if score["dataType"] == data_type]
    meta: dict[str, Any] = {"limit": limit}
    if more:
        meta["cursor"] = str(offset + limit)
    return JSONResponse({"data": data, "meta": meta})
