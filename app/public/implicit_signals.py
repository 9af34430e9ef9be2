"""Implicit signals from a page holding a presigned feedback token.

The public route ``POST /public/signals`` checks the token, its origin and the
rate limits, then calls this with the token's record and the JSON body: it records
the signal on the token's run, as the token's end user, through ``record_signal``.

Body: ``{"kind": "regenerate" | "edit" | "copy" | "share" | "accept" | "abandon",
"editedOutput": <JSON, edits only>}``. The run and the user come from the token,
never from the body.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.domain.feedback import Change
from app.domain.signals import record_signal
from app.errors import BadRequest
from app.services import Services

FIELDS = ("kind", "editedOutput")


class TokenRecord(Protocol):
    """What the handler needs of a presigned token's record."""

    @property
    def id(self) -> str: ...

    @property
    def project_id(self) -> str: ...

    @property
    def run_id(self) -> str: ...

    @property
    def end_user_id(self) -> str | None: ...


async def handle_public_signal(
    services: Services, token: TokenRecord, body: dict[str, Any]
) -> dict[str, Any]:
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; a signal takes {', '.join(FIELDS)}")
    kind = body.get("kind")
    if not isinstance(kind, str):
        raise BadRequest("kind is required: regenerate, edit, copy, share, accept or abandon")
    signal = await record_signal(
        services.stores,
        token.project_id,
        token.run_id,
        kind.lower(),
        edited_output=body.get("editedOutput"),
        user_id=token.end_user_id,
        change=Change(by=f"token:{token.id}", via="widget"),
    )
    return {"id": signal.id, "runId": signal.run_id, "kind": signal.kind}
