"""The public error hierarchy, and the one function that turns an error into an HTTP
response.

Only these errors reach a client with their message; everything else is masked as
"Unexpected error." Each carries a stable ``code`` (the GraphQL extension, and in
lower case the ``error`` of a JSON body) and an HTTP status; one the client should
retry later carries ``retry_after`` (the ``Retry-After`` header). Every edge renders
them with :func:`error_response` (HTML pages take :func:`error_headers`), so a
status, a body or a header never differs between routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from starlette.responses import JSONResponse

# How long a client waits before retrying when the database cannot be reached.
UNAVAILABLE_RETRY_SECONDS = 5


class PlauditError(Exception):
    code: ClassVar[str] = "BAD_REQUEST"
    http_status: ClassVar[int] = 400
    # Whole seconds the client should wait before retrying (Retry-After), if any.
    retry_after: int | None = None

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.details}


class BadRequest(PlauditError):
    code = "BAD_REQUEST"
    http_status = 400


class Unauthenticated(PlauditError):
    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(PlauditError):
    code = "FORBIDDEN"
    http_status = 403


class NotFound(PlauditError):
    code = "NOT_FOUND"
    http_status = 404


class Conflict(PlauditError):
    code = "CONFLICT"
    http_status = 409


class BodyTooLarge(PlauditError):
    code = "BODY_TOO_LARGE"
    http_status = 413


class RateLimited(PlauditError):
    """Over a rate limit; ``retry_after`` is the whole seconds until the window
    that refused ends."""

    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(PlauditError):
    """The database cannot be reached; the client should retry later."""

    code = "UNAVAILABLE"
    http_status = 503

    def __init__(
        self,
        message: str = "the database is unavailable; retry later",
        retry_after: int = UNAVAILABLE_RETRY_SECONDS,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def error_headers(exc: PlauditError) -> dict[str, str]:
    """The headers an error's response carries: Retry-After, when it has one."""
    if exc.retry_after is None:
        return {}
    return {"Retry-After": str(exc.retry_after)}


def error_body(exc: PlauditError) -> dict[str, Any]:
    """``{error, message, ...details}``: ``error`` is the code in lower case."""
    return {"error": exc.code.lower(), "message": exc.message, **exc.details}


def error_response(
    exc: PlauditError,
    headers: Mapping[str, str] | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """The HTTP response for a public error: its status, :func:`error_body` (plus
    ``extra``, fields an edge's own clients read) and :func:`error_headers` (plus
    ``headers``, e.g. CORS)."""
    return JSONResponse(
        {**error_body(exc), **(extra or {})},
        status_code=exc.http_status,
        headers={**error_headers(exc), **(headers or {})},
    )
