"""``/api/public/scores``: Langfuse scores, recorded as Plaudit feedback.

- ``POST /api/public/scores`` takes one score (an object; answers ``{"id"}``) or,
  as the 5.x SDKs send them, a list (answers 202 ``{"message": "Accepted"}``, or
  207 with ``accepted``, ``rejected`` and one error a refused score).
- ``GET /api/public/scores/{id}``, ``DELETE /api/public/scores/{id}``, and
  ``GET /api/public/v3/scores`` (the SDK's ``api.scores.get_many``) with the
  filters ``id``, ``name``, ``source``, ``dataType``, ``traceId``,
  ``observationId``, ``sessionId``, ``fromTimestamp``, ``toTimestamp``, ``limit``
  and ``cursor``.

A score is feedback on the run of its observation (``observationId``), else of
its trace (``traceId``; app/compat/langfuse/ids.py), else of its session's run
(``sessionId``; app/compat/langfuse/sessions.py); the run may arrive later (the
feedback waits, pending). A score on a dataset run (``datasetRunId`` alone) is
the experiment's summary result for its name. A score naming a config
(``configId``), or whose name has an enforced one, is checked against it
(app/compat/langfuse/configs.py). Its ``name`` is the feedback key. NUMERIC: the
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

from app.compat.langfuse import browser, configs, sessions
from app.compat.langfuse.http import Caller, principal, secret_caller
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
from app.domain.feedback import (
    Change,
    FeedbackWrite,
    create_feedback,
    delete_feedback,
    update_feedback,
)
from app.domain.missing import MISSING
from app.errors import BadRequest, Conflict, NotFound, PlauditError
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
KEPT = (
    "traceId",
    "observationId",
    "sessionId",
    "metadata",
    "environment",
    "configId",
    "queueId",
)
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


async def _run_id(request: Request, caller: Caller, score: dict[str, Any]) -> str:
    if score.get("observationId"):
        return observation_run_id(score.get("traceId"), score["observationId"])
    if score.get("traceId"):
        return trace_run_id(score["traceId"])
    if score.get("sessionId"):
        return await sessions.session_run(services(request).stores, caller, score["sessionId"])
    raise BadRequest(
        "a score needs a traceId (and observationId for an observation), a sessionId "
        "or a datasetRunId"
    )


def to_write(
    score: dict[str, Any], run_id: str, kind: str, value: Any, public: bool
) -> FeedbackWrite:
    kept = {name: score[name] for name in KEPT if score.get(name) is not None}
    kept["dataType"] = kind
    if score.get("id"):
        kept["id"] = score["id"]
    if public and score.get("authorUserId") is not None:
        # Kept, not the record's user: a browser's score is a record of its own and
        # never lands on (changes) another record of the same user, run and key.
        kept["authorUserId"] = score["authorUserId"]
    v.check_json(kept, "metadata", v.MAX_VALUE_BYTES)
    return FeedbackWrite(
        run_id=run_id,
        key=score["name"],
        comment=score["comment"] if score.get("comment") is not None else MISSING,
        source_type="app" if public else SOURCES[score.get("source") or "API"],
        user_id=None if public else score.get("authorUserId"),
        id=score_uuid(score["id"]) if score.get("id") else None,
        extra={"langfuse": jsonsafe.escape(kept)},
        **_content(kind, value),
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
    session_id = kept.get("sessionId")
    if observation_id is not None:
        subject: dict[str, Any] = {"kind": "observation", "id": observation_id, "traceId": trace_id}
    elif trace_id is None and session_id is not None:
        subject = {"kind": "session", "id": session_id}
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
        "authorUserId": record.user_id or kept.get("authorUserId"),
        "traceId": trace_id,
        "observationId": observation_id,
        "sessionId": session_id,
        "datasetRunId": None,
        "subject": subject,
    }


def _kind_of(record: Feedback) -> str:
    """The data type of feedback not sent as a Langfuse score."""
    if isinstance(record.score, bool):
        return "BOOLEAN"
    if record.score is not None:
        return "NUMERIC"
    return "CATEGORICAL" if isinstance(record.value, str) else "TEXT"


async def _checked(request: Request, caller: Caller, score: dict[str, Any]) -> tuple[str, Any]:
    """The score's data type and value, checked against its config when it has one."""
    stores = services(request).stores
    found = await configs.config_for(stores, caller.project_id, score)
    if found is None:
        return _data_type(score), score["value"]
    return configs.check_score(score, *found)


async def record_score(request: Request, caller: Caller, score: dict[str, Any]) -> str:
    """Create the score, or update the one with its client-chosen id; its id."""
    kind, value = await _checked(request, caller, score)
    stores = services(request).stores
    on_run = score.get("traceId") or score.get("observationId") or score.get("sessionId")
    if score.get("datasetRunId") and not on_run:
        return await sessions.dataset_run_score(stores, caller, score, kind, value)
    write = to_write(score, await _run_id(request, caller, score), kind, value, caller.public)
    if write.id is not None:
        existing = await stores.feedback.get(caller.project_id, write.id)
        if existing is not None and caller.public:
            raise Conflict(
                f"score {score['id']!r} exists; the public key alone creates scores, "
                "it never changes one",
                field="id",
            )
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
            record = await update_feedback(
                stores, caller.project_id, write.id, update, caller.change
            )
            return str(_kept(record).get("id") or record.id)
    record, changed = await create_feedback(stores, caller.project_id, write, caller.change)
    if caller.public and not changed:
        # The same id raced in from elsewhere: the stored record was not this write's.
        raise Conflict(f"score {score.get('id')!r} exists", field="id")
    return str(_kept(record).get("id") or record.id)


def _kept_type(write: FeedbackWrite) -> Any:
    return jsonsafe.unescape(write.extra["langfuse"]).get("dataType")


def one(score: Any) -> dict[str, Any]:
    check(ONE_SCORE, score)
    result: dict[str, Any] = score
    return result


@endpoint
async def create(request: Request) -> Response:
    if browser.public_key_only(request):
        return await browser.respond(request, create_as)
    return await create_as(request, await secret_caller(request))


async def create_as(request: Request, caller: Caller) -> Response:
    body = await json_body(request)
    if isinstance(body, dict):
        return JSONResponse({"id": await record_score(request, caller, one(body))})
    if not isinstance(body, list):
        raise BadRequest("send a score (an object) or a list of scores")
    check(SCORES, body)
    errors: list[dict[str, Any]] = []
    for index, score in enumerate(body):
        try:
            await record_score(request, caller, one(score))
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
    await delete_feedback(stores, who.project_id, score_id, Change(by=who.label, via="rest"))
    return JSONResponse({"message": "Score deleted"})


async def _run_ids(request: Request, project_id: str) -> list[str] | None:
    params = request.query_params
    trace_id, observation_id = params.get("traceId"), params.get("observationId")
    if params.get("sessionId") and not (trace_id or observation_id):
        return [sessions.session_run_id(project_id, params["sessionId"])]
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
