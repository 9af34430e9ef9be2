"""Implicit signals: what a user did with a run's output.

``record_signal`` is the one way in, for GraphQL and for public (token) routes
alike. An ``edit`` keeps the text the user ended with beside the run's output at that
moment, so (draft, final) is a pair for training data (see app/domain/export/).
"""

from __future__ import annotations

import uuid
from typing import Any

from app import clock
from app.domain import validation as v
from app.domain.feedback import Change
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.signals import Signal

SIGNAL_KINDS = ("regenerate", "edit", "copy", "share", "accept", "abandon")


async def record_signal(
    stores: Stores,
    project_id: str,
    run_id: str,
    kind: str,
    *,
    change: Change,
    edited_output: Any = None,
    user_id: str | None = None,
) -> Signal:
    """Record one signal on a run of the project.

    ``kind`` is one of SIGNAL_KINDS (lower case). ``edited_output`` is required for
    an edit and refused for any other kind. ``change`` says who and through what
    (``Change(by="token:<id>", via="widget")`` from a public route)."""
    if kind not in SIGNAL_KINDS:
        raise BadRequest(
            f"unknown signal kind {kind!r}; kinds are {', '.join(SIGNAL_KINDS)}", field="kind"
        )
    run_id = v.check_uuid(run_id, "runId")
    v.check_text(user_id, "userId")
    if kind == "edit":
        if edited_output is None:
            raise BadRequest("an edit signal needs editedOutput: the text the user ended with")
        v.check_json(edited_output, "editedOutput", v.MAX_CORRECTION_BYTES)
    elif edited_output is not None:
        raise BadRequest(f"editedOutput applies only to edit signals, not {kind}")
    run = await stores.runs.get(project_id, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found", field="runId")
    return await stores.signals.insert(
        {
            "_id": str(uuid.uuid4()),
            "project_id": project_id,
            "run_id": run_id,
            "kind": kind,
            "draft_output": run.outputs if kind == "edit" else None,
            "edited_output": edited_output,
            "user_id": user_id,
            "by": change.by,
            "via": change.via,
            "created_at": clock.now(),
        }
    )
