"""The public error hierarchy.

Only these errors reach a client with their message; everything else is masked as
"Unexpected error." Each carries a stable ``code`` (GraphQL extension) and an HTTP
status (public and REST routes).
"""

from __future__ import annotations

from typing import Any, ClassVar


class PlauditError(Exception):
    code: ClassVar[str] = "BAD_REQUEST"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.details}

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers every response carrying this error must send."""
        return {}


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


class RateLimited(PlauditError):
    """Over a rate limit; ``retry_after`` is the whole seconds until the window
    that refused ends (the ``Retry-After`` header)."""

    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(PlauditError):
    """The database cannot be reached; the client should retry later."""

    code = "UNAVAILABLE"
    http_status = 503
