"""Model judges of feedback keys: their instructions."""

from __future__ import annotations

from app import clock
from app.domain import validation as v
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.key_judges import KeyJudge


async def set_key_judge(stores: Stores, project_id: str, key: str, instructions: str) -> KeyJudge:
    v.check_text(instructions, "instructions", v.MAX_COMMENT_CHARS)
    if not instructions.strip():
        raise BadRequest("instructions must not be empty", field="instructions")
    if await stores.feedback_keys.get(project_id, key) is None:
        raise NotFound(f"feedback key {key!r} is not registered", field="key")
    return await stores.key_judges.put(project_id, key, instructions, clock.now())
