"""Importing history from other tools (app/compat/<tool>/imports.py map their
export objects): what an import did, and feedback written with its original time.
Ids already stored are left as they are, so importing again changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.feedback import Change, FeedbackWrite, create_feedback, run_pending
from app.errors import NotFound, PlauditError
from app.store import Stores

Progress = Callable[[int], object]


@dataclass
class Imported:
    runs: int = 0
    feedback: int = 0
    # Already here (imported before): left as they are.
    skipped: int = 0
    # (position in the input, what was wrong), for what was not imported.
    refused: list[tuple[int, str]] = field(default_factory=list)


async def import_feedback(
    stores: Stores,
    project_id: str,
    items: list[tuple[int, Any]],
    to_write: Callable[[Any], FeedbackWrite],
    change: Change,
    result: Imported,
    progress: Progress,
) -> None:
    """Write each item's feedback (``to_write`` maps it, with its ``created_at``),
    then rebuild the project's rollups once if any was written."""
    for index, item in items:
        try:
            write = to_write(item)
            # Not left pending, as live feedback may be: the pending-feedback expiry
            # counts from created_at, an imported record's original time, and would
            # delete it at once.
            if await run_pending(stores, project_id, write.run_id):
                raise NotFound(f"run {write.run_id} not found here: import its runs first")
            _, changed = await create_feedback(stores, project_id, write, change)
        except PlauditError as exc:
            result.refused.append((index, exc.message))
        else:
            if changed:
                result.feedback += 1
            else:
                result.skipped += 1
        progress(1)
    result.refused.sort()
    if result.feedback:
        await rebuild_rollups(stores, project_id)
