"""Feedback: create (upsert on the natural key), update, retract, delete, history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app import clock
from app.domain import feedback_events
from app.domain import validation as v
from app.domain.feedback_keys import check_key_name, check_score
from app.domain.lifecycle import tombstones
from app.domain.missing import MISSING
from app.errors import BadRequest, Conflict, NotFound
from app.store import Stores
from app.store.errors import DuplicateKeyError
from app.store.feedback import ChangeMeta, Feedback
from app.store.rate_limits import Quota

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
    # A client-chosen id: a repeated request with it returns the stored record.
    id: str | None = None
    # The id a record created by this write gets (a presigned token's feedback id),
    # not an idempotency key: a later write through the token changes that record.
    new_id: str | None = None
    retract: bool = False
    # The natural identity when there is no user id (a token's end user, say).
    identity: str | None = None
    # Merge source_info into the stored one, key by key (a token's later
    # submissions keep what earlier ones said), rather than replace it.
    merge_source_info: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # When it was recorded elsewhere: for imports only (no API takes it); None: now.
    created_at: datetime | None = None


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
    fk = await stores.feedback_keys.get_cached(project_id, write.key)
    if fk is None:
        project = await stores.projects.get_cached(project_id)
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


def _meta(change: Change, kind: str, at: datetime) -> ChangeMeta:
    return ChangeMeta(change=kind, by=change.by, via=change.via, at=at)


def _is_id_clash(exc: DuplicateKeyError) -> bool:
    pattern = (exc.details or {}).get("keyPattern") or {}
    return "_id" in pattern


async def _announce(
    stores: Stores, meta: ChangeMeta, before: Feedback | None, after: Feedback | None
) -> None:
    """Tell what keeps derived data (rollups, webhooks, live updates) of a change
    that is already stored. Every feedback write passes here."""
    await feedback_events.publish(
        stores,
        feedback_events.FeedbackChanged(meta.change, before, after, meta.at, meta.by, meta.via),
    )


async def create_feedback(
    stores: Stores,
    project_id: str,
    write: FeedbackWrite,
    change: Change,
    *,
    update_first: bool = False,
    quota: Quota | None = None,
) -> tuple[Feedback, bool]:
    """Record feedback; returns (record, whether anything changed).

    With a user id (or identity) this is an upsert on (run, key, user): a user who
    flips thumbs up to down changes the same record. A repeated request with the
    same client id returns the stored record unchanged. Each change, with its
    history entry, is one write; a ``quota`` (the per-token rate limit) is counted
    in the record by that same write.

    The run may not have arrived yet (but may not be another project's): the
    record is then pending until it does (app/domain/pending_feedback.py)."""
    _check_fields(write)
    now = write.created_at or clock.now()
    actor = write.user_id or write.identity
    if write.retract:
        return await _retract(stores, project_id, write, actor, change, now, quota)
    if write.id is not None:
        existing = await stores.feedback.get_any_project(write.id)
        if existing is not None:
            return _replayed(existing, project_id, write.id), False
    pending = await run_pending(stores, project_id, write.run_id)
    changes = _content_changes(write)
    await _check_against_key(stores, project_id, write, changes)
    changes.update({"retracted": False, "modified_at": now, "source_type": write.source_type})
    if write.source_info is not None:
        changes["source_info"] = write.source_info
    if write.source_run_id is not None:
        changes["source_run_id"] = write.source_run_id
    if write.extra:
        changes["extra"] = dict(write.extra)
    natural = {"project_id": project_id, "run_id": write.run_id, "key": write.key, "actor": actor}
    record = {
        "_id": write.id or write.new_id or str(uuid.uuid4()),
        **natural,
        "created_at": now,
        "user_id": write.user_id,
        "deleted": False,
        **{name: None for name in ("score", "value", "comment", "correction")},
        "source_info": None,
        "source_run_id": None,
        "extra": {},
        **changes,
    }
    if pending:
        record["pending"] = True
    if quota is not None:
        record["quota"] = quota.first
    # Most people vote once: try the insert first (one write), unless the caller
    # knows the record is likely there (a token's later requests). A person who already
    # has a record on this key hits the unique natural key, and their record is
    # changed instead (one more write). Races resolve to one record either way.
    if update_first and actor is not None:
        meta = _meta(change, "updated", now)
        result = await stores.feedback.apply(
            {**natural, "deleted": False}, changes, meta, quota=quota, merge=_merged(write)
        )
        if result is not None:
            await _announce(stores, meta, *result)
            return result[1], True
    for _ in range(3):
        try:
            meta = _meta(change, "created", now)
            created = await stores.feedback.insert(record, meta)
        except DuplicateKeyError as exc:
            if write.new_id is None and (_is_id_clash(exc) or actor is None):
                # The same client id raced in from a retry: return what it stored.
                raced = await stores.feedback.get_any_project(record["_id"])
                if raced is None:
                    raise Conflict(f"feedback id {record['_id']} is already used") from None
                return _replayed(raced, project_id, record["_id"]), False
        else:
            announced = created
            if pending:
                created, announced = await _attach_if_arrived(stores, created)
            await _announce(stores, meta, None, announced)
            return created, True
        meta = _meta(change, "updated", now)
        result = await stores.feedback.apply(
            {**natural, "deleted": False}, changes, meta, quota=quota, merge=_merged(write)
        )
        if result is not None:
            await _announce(stores, meta, *result)
            return result[1], True
        if write.new_id is not None:
            # The id is another record's, not this identity's (which has none).
            raise Conflict(f"feedback id {write.new_id} is already used", field="id")
    raise Conflict("feedback is being changed concurrently; retry")


async def run_pending(stores: Stores, project_id: str, run_id: str) -> bool:
    """Whether feedback on this run would be pending: no project has the run yet.
    NotFound when another project has it. (From a cache once the run is seen.)"""
    owner = await stores.runs.owner(run_id)
    if owner is not None and owner != project_id:
        raise NotFound(f"run {run_id} not found", field="runId")
    return owner is None


async def _attach_if_arrived(stores: Stores, created: Feedback) -> tuple[Feedback, Feedback]:
    """A pending record just written: if its run arrived meanwhile, after the read
    that found it missing, the run's arrival may have looked for pending feedback
    before this record was there. Look again, so it is never left pending.

    Returns the record as stored now and as it is to be announced: still pending
    when another call attached it (that call announces the attachment), so
    derived data sees each record attached exactly once."""
    if await stores.runs.owner(created.run_id) != created.project_id:
        return created, created
    attached = await stores.feedback.attach_pending(created.project_id, [created.run_id])
    ours = any(r.id == created.id for r in attached)
    await feedback_events.publish_attached(stores, [r for r in attached if r.id != created.id])
    now = replace(created, pending=False)
    return now, now if ours else created


async def attach_arrived_runs(stores: Stores, project_id: str, run_ids: list[str]) -> None:
    """Runs that have just arrived: the project's pending feedback on them is
    pending no more. (A run of another project with the same id never adopts it:
    feedback stays in its own project, and expires there.)"""
    if run_ids:
        attached = await stores.feedback.attach_pending(project_id, run_ids)
        await feedback_events.publish_attached(stores, attached)


def _merged(write: FeedbackWrite) -> tuple[str, ...]:
    return ("source_info",) if write.merge_source_info else ()


def _replayed(existing: Feedback, project_id: str, feedback_id: str) -> Feedback:
    if existing.project_id != project_id:
        raise Conflict(f"feedback id {feedback_id} is already used")
    if existing.deleted:
        raise Conflict(f"feedback {feedback_id} was deleted and cannot be recreated")
    return existing


async def _retract(
    stores: Stores,
    project_id: str,
    write: FeedbackWrite,
    actor: str | None,
    change: Change,
    now: datetime,
    quota: Quota | None,
) -> tuple[Feedback, bool]:
    if write.score not in (MISSING, None):
        raise BadRequest("retract: true takes no score (send score: null or leave it out)")
    if write.id is not None:
        query: dict[str, Any] = {"_id": write.id, "project_id": project_id}
    elif actor is not None:
        query = {"project_id": project_id, "run_id": write.run_id, "key": write.key, "actor": actor}
    else:
        raise BadRequest("retract needs the feedback id or the userId whose feedback to retract")
    meta = _meta(change, "retracted", now)
    result = await stores.feedback.apply(
        {**query, "deleted": False, "retracted": False},
        {"score": None, "retracted": True, "modified_at": now},
        meta,
        quota=quota,
    )
    if result is not None:
        await _announce(stores, meta, *result)
        return result[1], True
    current = await stores.feedback.by_natural(query)  # the live record, by id or key
    if current is None:
        raise NotFound(f"no feedback on key {write.key!r} for this run from this user to retract")
    return current, False  # already retracted


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
    now = clock.now()
    changes["modified_at"] = now
    if "score" in changes and changes["score"] is not None:
        changes["retracted"] = False
    meta = _meta(change, "updated", now)
    result = await stores.feedback.apply(
        {"_id": feedback_id, "project_id": project_id, "deleted": False}, changes, meta
    )
    if result is None:
        raise NotFound(f"feedback {feedback_id} not found")
    await _announce(stores, meta, *result)
    return result[1]


async def delete_feedback(
    stores: Stores,
    project_id: str,
    feedback_id: str,
    change: Change,
    *,
    pending_only: bool = False,
) -> Feedback:
    """Delete, leaving a tombstone (ids and times, no content, no history) so a
    retried create with the same id cannot bring the record back. ``pending_only``:
    only while its run has not arrived."""
    feedback_id = v.check_uuid(feedback_id, "id")
    now = clock.now()
    meta = _meta(change, "deleted", now)
    query: dict[str, Any] = {"_id": feedback_id, "project_id": project_id, "deleted": False}
    if pending_only:
        query["pending"] = True
    before = await stores.feedback.bury(
        query,
        at=now,
        purge_at=tombstones.purge_at(now),
    )
    if before is None:
        raise NotFound(f"feedback {feedback_id} not found")
    await _announce(stores, meta, before, None)
    return before
