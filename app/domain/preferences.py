"""Preferences: comparative feedback between two runs of the project on one key."""

from __future__ import annotations

import uuid
from typing import Any

from app import clock
from app.domain import validation as v
from app.domain.feedback import Change
from app.domain.feedback_keys import check_key_name
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.preferences import Preference

# A tie: neither run is preferred; both were good, or both bad.
TIES = ("good", "bad")


async def log_preference(
    stores: Stores,
    project_id: str,
    *,
    key: str,
    preferred_run_id: str,
    other_run_id: str,
    change: Change,
    tied: str | None = None,
    user_id: str | None = None,
    comment: str | None = None,
) -> Preference:
    """Record that ``preferred_run_id`` was preferred to ``other_run_id`` on ``key``
    (or, with ``tied``, that neither was: both good or both bad)."""
    check_key_name(key)
    preferred = v.check_uuid(preferred_run_id, "preferredRunId")
    other = v.check_uuid(other_run_id, "otherRunId")
    if preferred == other:
        raise BadRequest("a preference compares two different runs, not a run with itself")
    if tied is not None and tied not in TIES:
        raise BadRequest(f"tied must be one of {', '.join(TIES)} or null", field="tied")
    v.check_text(user_id, "userId")
    v.check_text(comment, "comment", v.MAX_COMMENT_CHARS)
    found = await stores.runs.existing_ids(project_id, [preferred, other])
    for name, run_id in (("preferredRunId", preferred), ("otherRunId", other)):
        if run_id not in found:
            raise NotFound(f"run {run_id} not found", field=name)
    experiments = await stores.runs.tracing_projects_of(project_id, [preferred, other])
    return await stores.preferences.insert(
        {
            **preference_doc(
                str(uuid.uuid4()),
                project_id,
                key,
                (preferred, experiments.get(preferred)),
                (other, experiments.get(other)),
                tied,
                change,
            ),
            "user_id": user_id,
            "comment": comment,
        }
    )


def preference_doc(
    preference_id: str,
    project_id: str,
    key: str,
    preferred: tuple[str, str | None],
    other: tuple[str, str | None],
    tied: str | None,
    change: Change,
) -> dict[str, Any]:
    """A preference as stored: each side is a run and its tracing project (the
    experiment it belongs to, if any), which win rates count by."""
    return {
        "_id": preference_id,
        "project_id": project_id,
        "key": key,
        "preferred_run_id": preferred[0],
        "other_run_id": other[0],
        "preferred_experiment_id": preferred[1],
        "other_experiment_id": other[1],
        "tied": tied,
        "user_id": None,
        "comment": None,
        "by": change.by,
        "via": change.via,
        "created_at": clock.now(),
    }
