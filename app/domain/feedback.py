"""Feedback: create (upsert on the natural key), update, retract, delete, history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from app.domain import feedback_events
from app.domain import validation as v
from app.domain.feedback_keys import check_key_name, check_score
from app.domain.missing import MISSING
from app.errors import BadRequest, Conflict, NotFound
from app.store import Stores
from app.store.feedback import Feedback

SOURCE_TYPES = ("api", "model", "app", "widget", "email", "human")


@dataclass
class FeedbackWrite:
    """Feedback to record. Fields left MISSING keep their stored value on an upsert."""

    run_id: str
    key: str
    score: Any = MISSING
    value: Any = MISSING
    comment: Any = MISSING
    correction: Any = MISSING
    source_type: str = "api"
    source_info: Any = None
    source_run_id: str | None = None
    user_id: str | None = None
    id: str | None = None
    retract: bool = False
    # The natural identity when there is no user id (a token's end user, say).
    identity: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """Who made a change and through what."""

    by: str
    via: str


def _content_changes(write: FeedbackWrite) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("score", "value", "comment", "correction"):
        value = getattr(write, name)
        if value is not MISSING:
            changes[name] = value
    return changes


def _check_fields(write: FeedbackWrite) -> None:
    v.check_uuid(write.run_id, "runId")
    check_key_name(write.key)
    if write.id is not None:
        write.id = v.check_uuid(write.id, "id")
    if write.source_type not in SOURCE_TYPES:
        raise BadRequest(
            f"unknown source type {write.source_type!r}; one of {', '.join(SOURCE_TYPES)}"
        )
    if write.comment is not MISSING:
        v.check_text(write.comment, "comment", v.MAX_COMMENT_CHARS)
    if write.value is not MISSING:
        v.check_json(write.value, "value", v.MAX_VALUE_BYTES)
    if write.correction is not MISSING:
        v.check_json(write.correction, "correction", v.MAX_CORRECTION_BYTES)
    v.check_json(write.source_info, "sourceInfo", v.MAX_VALUE_BYTES)
    v.check_text(write.user_id, "userId")
    if write.source_run_id is not None:
        write.source_run_id = v.check_uuid(write.source_run_id, "sourceRunId")


async def _check_against_key(
    stores: Stores, project_id: str, write: FeedbackWrite, changes: dict[str, Any]
) -> None:
    fk = await stores.feedback_keys.get(project_id, write.key)
    if fk is None:
        project = await stores.projects.get(project_id)
        if project is not None and project.strict_feedback_keys:
            raise BadRequest(
                f"feedback key {write.key!r} is not registered, and this project accepts "
                "only registered keys",
                key=write.key,
            )
    score = changes.get("score")
    value = changes.get("value")
    score, value = check_score(write.key, fk, score, value)
    if "score" in changes or score is not None:
        changes["score"] = score
    if "value" in changes or value is not None:
        changes["value"] = value


async def record_history(
    stores: Stores,
    change: Change,
    kind: str,
    before: Feedback | None,
    after: Feedback | None,
    at: datetime,
) -> None:
    record = after or before
    assert record is not None
    await stores.feedback_history.append(
        feedback_id=record.id,
        project_id=record.project_id,
        at=at,
        change=kind,
        by=change.by,
        via=change.via,
        old=before.content() if before else None,
        new=after.content() if after else None,
    )
    await feedback_events.publish(
        stores, feedback_events.FeedbackChanged(kind, before, after, at, change.by, change.via)
    )


async def create_feedback(
    stores: Stores, project_id: str, write: FeedbackWrite, change: Change
) -> tuple[Feedback, bool]:
    """Record feedback; returns (record, whether anything changed).

    With a user id (or identity) this is an upsert on (run, key, user): a user who
    flips thumbs up to down changes the same record. A repeated request with the
    same client id returns the stored record unchanged."""
    _check_fields(write)
    now = datetime.now(UTC)
    actor = write.user_id or write.identity
    if write.retract:
        return await _retract(stores, project_id, write, actor, change, now)
    if write.id is not None:
        existing = await stores.feedback.get_any_project(write.id)
        if existing is not None:
            if existing.project_id != project_id:
                raise Conflict(f"feedback id {write.id} is already used")
            if existing.deleted:
                raise Conflict(f"feedback {write.id} was deleted and cannot be recreated")
            return existing, False
    if await stores.runs.get(project_id, write.run_id) is None:
        raise NotFound(f"run {write.run_id} not found", field="runId")
    changes = _content_changes(write)
    await _check_against_key(stores, project_id, write, changes)
    changes.update(
        {
            "retracted": False,
            "modified_at": now,
            "source_type": write.source_type,
        }
    )
    if write.source_info is not None:
        changes["source_info"] = write.source_info
    if write.source_run_id is not None:
        changes["source_run_id"] = write.source_run_id
    for key, value in write.extra.items():
        changes[f"extra.{key}"] = value
    on_insert: dict[str, Any] = {
        "_id": write.id or str(uuid.uuid4()),
        "created_at": now,
        "user_id": write.user_id,
        "deleted": False,
    }
    for name in ("score", "value", "comment", "correction", "source_info", "source_run_id"):
        if name not in changes:
            on_insert[name] = None
    natural = {"project_id": project_id, "run_id": write.run_id, "key": write.key}
    if actor is None:
        doc = {**natural, **on_insert, "actor": None, **changes}
        doc.pop("extra", None)
        extra = {k.removeprefix("extra."): doc.pop(k) for k in list(doc) if k.startswith("extra.")}
        doc["extra"] = extra
        try:
            after = await stores.feedback.insert(doc)
        except DuplicateKeyError:
            raced = await stores.feedback.get(project_id, doc["_id"])
            if raced is None:
                raise Conflict(f"feedback id {doc['_id']} is already used") from None
            return raced, False
        await record_history(stores, change, "created", None, after, now)
        return after, True
    natural["actor"] = actor
    before, after = await _upsert(stores, natural, changes, on_insert)
    await record_history(stores, change, "updated" if before else "created", before, after, now)
    return after, True


async def _upsert(
    stores: Stores, natural: dict[str, Any], changes: dict[str, Any], on_insert: dict[str, Any]
) -> tuple[Feedback | None, Feedback]:
    try:
        return await stores.feedback.upsert_natural(natural, changes, on_insert)
    except DuplicateKeyError:
        # Two first votes raced on the unique natural key; the loser updates instead.
        return await stores.feedback.upsert_natural(natural, changes, on_insert)


async def _retract(
    stores: Stores,
    project_id: str,
    write: FeedbackWrite,
    actor: str | None,
    change: Change,
    now: datetime,
) -> tuple[Feedback, bool]:
    if write.score not in (MISSING, None):
        raise BadRequest("retract: true takes no score (send score: null or leave it out)")
    target: Feedback | None = None
    if write.id is not None:
        target = await stores.feedback.get(project_id, write.id)
    elif actor is not None:
        target = await stores.feedback.by_natural(
            {"project_id": project_id, "run_id": write.run_id, "key": write.key, "actor": actor}
        )
    if target is None:
        raise NotFound(f"no feedback on key {write.key!r} for this run from this user to retract")
    if target.retracted:
        return target, False
    result = await stores.feedback.update(
        project_id, target.id, {"score": None, "retracted": True, "modified_at": now}
    )
    if result is None:
        raise NotFound(f"feedback {target.id} not found")
    before, after = result
    await record_history(stores, change, "retracted", before, after, now)
    return after, True


async def update_feedback(
    stores: Stores,
    project_id: str,
    feedback_id: str,
    write: FeedbackWrite,
    change: Change,
) -> Feedback:
    feedback_id = v.check_uuid(feedback_id, "id")
    current = await stores.feedback.get(project_id, feedback_id)
    if current is None:
        raise NotFound(f"feedback {feedback_id} not found")
    write.run_id, write.key = current.run_id, current.key
    _check_fields(write)
    changes = _content_changes(write)
    if not changes:
        raise BadRequest("nothing to update: give score, value, comment or correction")
    await _check_against_key(stores, project_id, write, changes)
    now = datetime.now(UTC)
    changes["modified_at"] = now
    if "score" in changes and changes["score"] is not None:
        changes["retracted"] = False
    result = await stores.feedback.update(project_id, feedback_id, changes)
    if result is None:
        raise NotFound(f"feedback {feedback_id} not found")
    before, after = result
    await record_history(stores, change, "updated", before, after, now)
    return after


async def delete_feedback(
    stores: Stores, project_id: str, feedback_id: str, change: Change
) -> Feedback:
    feedback_id = v.check_uuid(feedback_id, "id")
    now = datetime.now(UTC)
    before = await stores.feedback.mark_deleted(project_id, feedback_id, now)
    if before is None:
        raise NotFound(f"feedback {feedback_id} not found")
    await record_history(stores, change, "deleted", before, None, now)
    return before
