"""Presigned feedback tokens, the LangSmith way: THE SLOT FOR THE TOKEN ROUTES.

Not built here: the token machinery (app/tokens.py, the feedback_tokens store, the
public routes) comes from another branch. When it is merged, return these routes
from ``token_routes()``; app/compat/langsmith/routes.py already places them before
``/feedback/{feedback_id}``, which would otherwise take ``/feedback/tokens``:

- ``POST /feedback/tokens``: one object or an array of ``{run_id, feedback_key,
  expiration: {days, hours, minutes} | <ISO time>, feedback_config}`` (the SDK sends
  ``expiration``; accept ``expires_in``/``expires_at`` too); default lifetime
  ``settings.token_default_ttl``, at most ``settings.token_max_ttl``; answers
  ``{id, url, expires_at}`` (an array for an array) where ``id`` is the token
  record's UUID and ``url`` ends with that UUID. Grant: ingest.
- ``GET /feedback/tokens?run_id=``: the run's tokens, a JSON array of the same
  shape. Grant: read.
- ``POST /feedback/tokens/{uuid}``: no API key; records feedback from ``{score,
  value, correction, comment, metadata}`` under every Plaudit token rule (expiry,
  revocation, max uses, upsert), ``Change(by="token:<id>", via="rest")``.
- ``GET /feedback/tokens/{uuid}``: no API key; renders the scanner-safe
  confirmation page instead of writing (a deliberate, documented difference from
  LangSmith, where a GET records the feedback).

Use ``app.compat.langsmith.http.endpoint`` and ``by_method`` so errors are JSON
with ``detail``. tests/compat/langsmith/test_tokens_pending.py drives all four
with the real SDK; enable it when these routes exist.
"""

from __future__ import annotations

from starlette.routing import BaseRoute


def token_routes() -> list[BaseRoute]:
    # TODO(lead, at the tokens merge): return the four routes described above.
    return []
