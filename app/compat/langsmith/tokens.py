"""Presigned feedback tokens, the LangSmith way: THE SLOT FOR THE TOKEN ROUTES.

Not built here: the token machinery (app/tokens.py, the feedback_tokens store, the
public routes) comes from another branch. When it is merged, return these routes
from ``token_routes()``; app/compat/langsmith/routes.py already places them before
``/feedback/{feedback_id}``, which would otherwise take ``/feedback/tokens``:

- ``POST /feedback/tokens``: one object or an array of ``{run_id, feedback_key,
  feedback_config, expires_in: {days, hours, minutes} | expires_at: <ISO time>}``
  (the SDK's single-token call also sends ``id``, a UUID it makes up: the id of
  the feedback to create); neither expiry: ``settings.token_default_ttl``, at most
  ``settings.token_max_ttl``; answers ``{id, url, expires_at}`` (an array for an
  array) where ``id`` is the token record's UUID and ``url`` ends with that UUID
  (the SDK keeps only the URL's last path part and posts to its own api_url).
  Grant: ingest. A feedback_config registers the key as on ``POST /feedback``
  (see feedback.py ``_register_from_config``).
- ``GET /feedback/tokens?run_id=&limit=&offset=``: the run's tokens, a JSON array
  of the same shape. Grant: read.
- ``POST /feedback/tokens/{uuid}``: no API key (the SDK sends its x-api-key
  anyway: ignore it); records feedback from ``{score, value, correction, comment,
  metadata}`` under every Plaudit token rule (expiry, revocation, max uses,
  upsert), ``Change(by="token:<id>", via="rest")``.
- ``GET /feedback/tokens/{uuid}``: no API key; renders the scanner-safe
  confirmation page instead of writing (a deliberate, documented difference from
  LangSmith, where a GET records the feedback).

Use ``app.compat.langsmith.http.route`` and ``endpoint`` so errors are JSON
with ``detail``. tests/compat/langsmith/sdk/tokens_pending.py drives all four
with the real SDK; rename it to test_tokens.py to enable it.
"""

from __future__ import annotations

from starlette.routing import BaseRoute


def token_routes() -> list[BaseRoute]:
    # TODO(lead, at the tokens merge): return the four routes described above.
    return []
