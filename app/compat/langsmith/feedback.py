"""``/feedback``: LangSmith feedback, recorded by Plaudit's feedback domain.

Translation, both ways:

- ``run_id`` (or ``trace_id`` when there is no ``run_id``) is the Plaudit run.
- ``feedback_source.type`` is the source type, ``feedback_source.metadata`` the
  source info, its ``__run.run_id`` the source run, ``feedback_source.user_id``
  the user id (so, as everywhere in Plaudit, one user's feedback on a run and key
  is one record).
- ``trace_id``, ``feedback_group_id``, ``comparative_experiment_id`` and ``extra``
  have no Plaudit counterpart; they are kept with the record and read back. With a
  known comparative experiment, a group and a score, the feedback is also a
  pairwise score that makes preferences (app/domain/comparative_experiments.py).
- ``session_id`` is the run's tracing project (LangSmith's project) on the way
  out, null while the run has not arrived; sent with feedback on a run it is
  ignored (the run decides it). Sent without a run (a summary evaluator's result),
  it names the experiment: the result is kept on the experiment, the latest per
  key (app/domain/experiments.py), not as run feedback.
- ``feedback_config`` (``feedbackConfig`` from the JS SDK) declares the key when
  it has no config yet, as LangSmith's "if creating a feedback_key for the first
  time": not enforced (it refuses no score), and only through an admin key, since
  feedback keys are admin's in Plaudit. A key that has a config keeps it: a later
  different config is neither an error nor applied.
- A null content field on create is a field not given: "no score" never
  withdraws, and on a user's record (an upsert) it keeps the stored value.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langsmith.feedback_configs import key_config
from app.compat.langsmith.http import (
    endpoint,
    iso,
    json_body,
    parse_time,
    principal,
    query_bool,
    query_int,
    query_list,
    services,
    validator,
)
from app.domain import comparative_experiments, experiments
from app.domain import validation as v
from app.domain.auth import Principal
from app.domain.feedback import (
    SOURCE_TYPES,
    Change,
    FeedbackWrite,
    create_feedback,
    delete_feedback,
    update_feedback,
)
from app.domain.feedback_keys import register_key_if_new
from app.domain.otel_ids import named_run
from app.errors import BadRequest, NotFound
from app.store import jsonsafe
from app.store.comparative import ComparativeExperiment
from app.store.feedback import Feedback, FeedbackQuery

ID = {"type": ["string", "null"]}
SCORE = {"type": ["number", "boolean", "null"]}
CREATE = validator(
    {
        "type": "object",
        "required": ["key"],
        "properties": {
            "id": ID,
            "run_id": ID,
            "trace_id": ID,
            "key": {"type": "string"},
            "score": SCORE,
            "comment": {"type": ["string", "null"]},
            "feedback_source": {
                "type": ["object", "null"],
                "properties": {
                    "type": {"type": ["string", "null"]},
                    "metadata": {"type": ["object", "null"]},
                    "user_id": ID,
                },
            },
            "feedback_config": {"type": ["object", "null"]},
            "feedbackConfig": {"type": ["object", "null"]},
            "feedback_group_id": ID,
            "comparative_experiment_id": ID,
            "extra": {"type": ["object", "null"]},
            "error": {"type": ["boolean", "null"]},
            "session_id": ID,
            # Plaudit's: the run a span sent to /v1/traces became (hex OTel ids).
            "otel_trace_id": ID,
            "otel_span_id": ID,
        },
    }
)
UPDATE = validator(
    {
        "type": "object",
        "properties": {"score": SCORE, "comment": {"type": ["string", "null"]}},
    }
)
CONTENT = ("score", "value", "comment", "correction")
# LangSmith's own source types that Plaudit files under one of its own.
SOURCE_ALIASES = {"auto_eval": "model"}


def source_type(raw: str) -> str:
    """A source type as LangSmith clients spell it: ``api``, ``API``, or
    ``FeedbackSourceType.API`` (what the SDK's enum becomes in a query string)."""
    name = raw.strip().removeprefix("FeedbackSourceType.").lower()
    name = SOURCE_ALIASES.get(name, name)
    if name not in SOURCE_TYPES:
        raise BadRequest(
            f"unknown feedback source type {raw[:40]!r}; one of {', '.join(SOURCE_TYPES)}",
            field="feedback_source.type",
        )
    return name


def _kept(body: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name in ("trace_id", "feedback_group_id", "comparative_experiment_id"):
        if body.get(name) is not None:
            kept[name] = v.check_uuid(body[name], name)
    if body.get("extra") is not None:
        kept["extra"] = v.check_json(body["extra"], "extra", v.MAX_VALUE_BYTES)
    if body.get("error") is not None:
        kept["error"] = body["error"]
    return kept


def content(body: dict[str, Any]) -> dict[str, Any]:
    """The content fields the body has (null included); the rest keep their value."""
    return {name: body[name] for name in CONTENT if name in body}


def given(body: dict[str, Any]) -> dict[str, Any]:
    """The content fields the body gives a value (null is "not given")."""
    return {name: value for name, value in content(body).items() if value is not None}


def _by_span(body: dict[str, Any]) -> bool:
    return body.get("otel_trace_id") is not None or body.get("otel_span_id") is not None


def to_write(body: dict[str, Any]) -> FeedbackWrite:
    run_id = body.get("run_id") or body.get("trace_id")
    if _by_span(body):
        # LangSmith's trace_id names a trace's root run; a span is named by both ids.
        run_id = named_run(
            body.get("run_id"),
            body.get("otel_trace_id"),
            body.get("otel_span_id"),
            ("run_id", "otel_trace_id", "otel_span_id"),
        )
    if run_id is None:
        raise BadRequest("Plaudit feedback is about a run: give run_id or trace_id", field="run_id")
    source = body.get("feedback_source") or {}
    metadata = dict(source.get("metadata") or {})
    source_run = metadata.pop("__run", None)
    source_run_id = None
    if isinstance(source_run, dict) and source_run.get("run_id") is not None:
        source_run_id = str(source_run["run_id"])
    user_id = source.get("user_id")
    kept = _kept(body)
    return FeedbackWrite(
        run_id=str(run_id),
        key=body["key"],
        **given(body),
        source_type=source_type(source.get("type") or "api"),
        source_info=metadata or None,
        source_run_id=source_run_id,
        user_id=str(user_id) if user_id is not None else None,
        id=body.get("id"),
        extra={"langsmith": jsonsafe.escape(kept)} if kept else {},
    )


def to_json(record: Feedback) -> dict[str, Any]:
    """A Plaudit feedback record as LangSmith's Feedback (``run_id`` and
    ``trace_id`` are always there, null or not: the SDK's model requires them)."""
    kept = jsonsafe.unescape(record.extra.get("langsmith")) or {}
    info = record.source_info
    metadata: dict[str, Any] = (
        dict(info) if isinstance(info, dict) else ({} if info is None else {"info": info})
    )
    if record.source_run_id is not None:
        metadata["__run"] = {"run_id": record.source_run_id}
    return {
        "id": record.id,
        "created_at": iso(record.created_at),
        "modified_at": iso(record.modified_at),
        "run_id": record.run_id,
        "trace_id": kept.get("trace_id"),
        "key": record.key,
        "score": record.score,
        "value": record.value,
        "comment": record.comment,
        "correction": record.correction,
        "feedback_source": {
            "type": record.source_type,
            "metadata": metadata,
            "user_id": record.user_id,
        },
        # Filled in by answer(): the run's tracing project.
        "session_id": None,
        "feedback_group_id": kept.get("feedback_group_id"),
        "comparative_experiment_id": kept.get("comparative_experiment_id"),
        "extra": kept.get("extra"),
    }


async def answer(request: Request, who: Principal, records: list[Feedback]) -> list[dict[str, Any]]:
    """Feedback as LangSmith's, ``session_id`` its run's tracing project."""
    stores = services(request).stores
    owners = await stores.runs.tracing_projects_of(who.project_id, [r.run_id for r in records])
    return [{**to_json(r), "session_id": owners.get(r.run_id)} for r in records]


def _change(who: Principal) -> Change:
    return Change(by=who.label, via="rest")


async def register_from_config(request: Request, who: Principal, body: dict[str, Any]) -> None:
    """A config sent with feedback or a token declares its key the first time
    (not enforced); an admin key only."""
    config = body.get("feedback_config") or body.get("feedbackConfig")
    if config is None or not who.can("admin"):
        return
    stores = services(request).stores
    if await stores.feedback_keys.get_cached(who.project_id, body["key"]) is None:
        await register_key_if_new(
            stores, who.project_id, body["key"], key_config(config, None, enforced=False)
        )


async def _summary(request: Request, who: Principal, body: dict[str, Any]) -> Response:
    """Feedback on a whole experiment (a summary evaluator's result)."""
    source = body.get("feedback_source") or {}
    experiment_id = v.check_uuid(body["session_id"], "session_id")
    kept = await experiments.record_summary(
        services(request).stores,
        who.project_id,
        experiment_id,
        body["key"],
        score=body.get("score"),
        value=body.get("value"),
        comment=body.get("comment"),
        source_type=source_type(source.get("type") or "api"),
        feedback_id=v.check_uuid(body["id"], "id") if body.get("id") else None,
    )
    return JSONResponse(
        {
            "id": kept["id"],
            "created_at": kept["created_at"],
            "modified_at": kept["created_at"],
            "run_id": None,
            "trace_id": None,
            "key": body["key"],
            "score": kept["score"],
            "value": kept["value"],
            "comment": kept["comment"],
            "correction": None,
            "feedback_source": {"type": kept["source_type"], "metadata": {}, "user_id": None},
            "session_id": experiment_id,
        }
    )


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "ingest")
    body = await json_body(request, CREATE)
    no_run = body.get("run_id") is None and body.get("trace_id") is None and not _by_span(body)
    if no_run and body.get("session_id"):
        return await _summary(request, who, body)
    write = to_write(body)
    pairwise = await _pairwise_target(request, who, body, write.run_id)
    await register_from_config(request, who, body)
    stores = services(request).stores
    record, _ = await create_feedback(stores, who.project_id, write, _change(who))
    if pairwise is not None:
        comparative, experiment_id = pairwise
        await comparative_experiments.record_pairwise_score(
            stores,
            who.project_id,
            comparative,
            group_id=v.check_uuid(body["feedback_group_id"], "feedback_group_id"),
            key=record.key,
            feedback_id=record.id,
            run_id=record.run_id,
            experiment_id=experiment_id,
            score=body["score"],
            change=_change(who),
        )
    return JSONResponse((await answer(request, who, [record]))[0])


async def _pairwise_target(
    request: Request, who: Principal, body: dict[str, Any], run_id: str
) -> tuple[ComparativeExperiment, str] | None:
    """A pairwise evaluator's score (a known comparative experiment, a feedback
    group, a score, a run that has arrived): its comparative experiment and the
    run's experiment, checked before the feedback is kept. Else None: the
    feedback is kept as any other, its comparative_experiment_id read back."""
    comparative_id = body.get("comparative_experiment_id")
    if comparative_id is None or body.get("feedback_group_id") is None:
        return None
    if body.get("score") is None:
        return None
    stores = services(request).stores
    comparative = await stores.comparative_experiments.get(
        who.project_id, v.check_uuid(comparative_id, "comparative_experiment_id")
    )
    if comparative is None:
        return None
    run = v.check_uuid(run_id, "run_id")
    experiment_id = await comparative_experiments.experiment_of_run(
        stores, who.project_id, comparative, run
    )
    return (comparative, experiment_id) if experiment_id is not None else None


def list_query(request: Request) -> FeedbackQuery:
    runs = query_list(request, "run")
    sources = query_list(request, "source")
    low = request.query_params.get("min_created_at")
    high = request.query_params.get("max_created_at")
    return FeedbackQuery(
        run_ids=[v.check_uuid(r, "run") for r in runs] if runs is not None else None,
        keys=query_list(request, "key"),
        source_types=[source_type(s) for s in sources] if sources is not None else None,
        user_ids=query_list(request, "user"),
        has_score=query_bool(request, "has_score"),
        has_comment=query_bool(request, "has_comment"),
        created_after=parse_time(low, "min_created_at") if low else None,
        # Inclusive, to the database's millisecond.
        created_before=(
            parse_time(high, "max_created_at") + timedelta(milliseconds=1) if high else None
        ),
    )


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    query = list_query(request)
    limit = query_int(request, "limit", 100, 1, 100)
    offset = query_int(request, "offset", 0, 0, 1_000_000)
    records = await services(request).stores.feedback.list_offset(
        who.project_id, query, offset=offset, limit=limit
    )
    return JSONResponse(await answer(request, who, records))


def _path_id(request: Request) -> str:
    return v.check_uuid(request.path_params["feedback_id"], "feedback_id")


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    feedback_id = _path_id(request)
    record = await services(request).stores.feedback.get(who.project_id, feedback_id)
    if record is None:
        raise NotFound(f"feedback {feedback_id} not found")
    return JSONResponse((await answer(request, who, [record]))[0])


@endpoint
async def update(request: Request) -> Response:
    who = await principal(request, "ingest")
    feedback_id = _path_id(request)
    body = await json_body(request, UPDATE)
    stores = services(request).stores
    if not content(body):
        # Nothing to change (the SDK sends {} for a bare update_feedback call).
        record = await stores.feedback.get(who.project_id, feedback_id)
        if record is None:
            raise NotFound(f"feedback {feedback_id} not found")
        return JSONResponse((await answer(request, who, [record]))[0])
    write = FeedbackWrite(run_id="", key="", **content(body))
    record = await update_feedback(stores, who.project_id, feedback_id, write, _change(who))
    return JSONResponse((await answer(request, who, [record]))[0])


@endpoint
async def delete(request: Request) -> Response:
    who = await principal(request, "ingest")
    feedback_id = _path_id(request)
    await delete_feedback(services(request).stores, who.project_id, feedback_id, _change(who))
    return JSONResponse({})
