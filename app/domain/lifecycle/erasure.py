"""Erasing an end user (admin; GraphQL ``eraseEndUser``, ``plaudit erase-user``).

Everything a project holds for one end user id goes: their feedback (reduced to
tombstones without content or history, so a retried create is still refused),
signals, preferences, task submissions, tokens issued for them, reviewer links
named for them; they are taken off review state (reviews counted, leases held);
optionally the runs they made go too, with everything that names those runs.
Rollups lose the erased feedback's contributions, and webhook deliveries that
carry any of it are scrubbed. A receipt records who erased, when and how much:
never whose data it was.
"""

from __future__ import annotations

import json
import uuid

from app import clock
from app.domain.analytics.removal import subtract_feedback
from app.domain.lifecycle import tombstones
from app.domain.lifecycle.runs import RUN_BATCH, Deletion, delete_run_batches
from app.errors import BadRequest
from app.store import Stores
from app.store.lifecycle import ErasureReceipt

BATCH = 500
MAX_USER_ID_CHARS = 1000


async def erase_end_user(
    stores: Stores, project_id: str, user_id: str, *, include_runs: bool, by: str
) -> ErasureReceipt:
    if not user_id or len(user_id) > MAX_USER_ID_CHARS:
        raise BadRequest(f"userId must be 1 to {MAX_USER_ID_CHARS} characters", field="userId")
    deletion = Deletion()
    if include_runs:

        async def next_batch() -> list[str]:
            return await stores.lifecycle.user_run_ids(project_id, user_id, RUN_BATCH)

        deletion = await delete_run_batches(stores, project_id, next_batch)
    needles = {json.dumps(user_id)}
    while True:
        now = clock.now()
        removed = await stores.lifecycle.erase_user(
            project_id, user_id, bury_until=tombstones.purge_at(now), at=now, batch=BATCH
        )
        if not removed.total:
            break
        await subtract_feedback(stores, removed.feedback)
        needles |= {json.dumps(i) for i in removed.feedback_ids}
        removed.feedback = []
        deletion.removed.merge(removed)
    # Their feedback is out of the rollups; their id goes from the grouped ones.
    await stores.feedback_group_buckets.forget_value(project_id, "user", user_id)
    deletion.scrubbed_deliveries += await stores.lifecycle.scrub_deliveries(
        project_id, needles, BATCH
    )
    receipt = ErasureReceipt(
        id=str(uuid.uuid4()),
        project_id=project_id,
        kind="end_user_with_runs" if include_runs else "end_user",
        by=by,
        at=clock.now(),
        counts=deletion.counts(),
    )
    await stores.lifecycle.add_receipt(receipt)
    return receipt


MAX_RECEIPTS = 100


async def erasure_receipts(stores: Stores, project_id: str, first: int) -> list[ErasureReceipt]:
    """The project's latest erasure receipts, newest first."""
    if not 1 <= first <= MAX_RECEIPTS:
        raise BadRequest(f"first must be between 1 and {MAX_RECEIPTS}", field="first")
    return await stores.lifecycle.receipts(project_id, first)
