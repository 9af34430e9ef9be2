"""What every LangSmith-compatible route shares: the API key, JSON errors with
``detail``, request bodies checked against a JSON schema, and query parameters."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import errors
from app.decoding import check_query_string, decode_json
from app.domain.auth import Principal, authenticate, bearer_secret
from app.errors import BadRequest, PlauditError, Unauthenticated, Unavailable
from app.services import Services
from app.store.errors import DatabaseError

log = logging.getLogger("plaudit.compat.langsmith")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Endpoint = Callable[[Request], Awaitable[Response]]


def services(request: Request) -> Services:
    result: Services = request.app.state.services
    return result


async def principal(request: Request, grant: str) -> Principal:
    """The caller's Plaudit API key, from ``x-api-key`` (what the SDK sends) or
    ``Authorization: Bearer``, with the grant the route needs."""
    secret = request.headers.get("x-api-key") or bearer_secret(request.headers.get("authorization"))
    if not secret:
        raise Unauthenticated("missing API key: send the header x-api-key: <Plaudit API key>")
    svc = services(request)
    who = await authenticate(svc.stores, svc.key_cache, secret)
    who.require(grant)
    return who


class MethodNotAllowed(PlauditError):
    code = "METHOD_NOT_ALLOWED"
    http_status = 405


def error_response(exc: PlauditError, headers: dict[str, str] | None = None) -> JSONResponse:
    """LangSmith clients read ``detail``; Plaudit's own clients read ``error`` and
    ``message``. Both are sent, with the error's details (``field``, ``allowed``...)
    and headers (Retry-After): Plaudit's error response plus ``detail``."""
    return errors.error_response(exc, headers, extra={"detail": exc.message})


def endpoint(handler: Endpoint) -> Endpoint:
    """Turn Plaudit's public errors (and an unreachable database) into JSON errors."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            check_query_string(request.scope["query_string"])
            return await handler(request)
        except PlauditError as exc:
            return error_response(exc)
        except DatabaseError as exc:
            log.warning("database error on %s: %s", request.url.path, exc)
            return error_response(Unavailable())

    return wrapped


def route(path: str, **handlers: Endpoint) -> Route:
    """A route taking every method, dispatching on it, so a wrong method gets a JSON
    405 too (Starlette's own is plain text): ``route("/x", GET=read, POST=create)``."""
    return Route(path, by_method(**handlers), methods=list(ALL_METHODS))


ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def by_method(**handlers: Endpoint) -> Endpoint:
    allowed = ", ".join(sorted(handlers))

    async def dispatch(request: Request) -> Response:
        handler = handlers.get(request.method)
        if handler is None:
            return error_response(
                MethodNotAllowed(f"{request.method} is not allowed here; use {allowed}"),
                headers={"Allow": allowed},
            )
        return await handler(request)

    return dispatch


async def json_body(request: Request, validator: Draft202012Validator | None = None) -> Any:
    raw = await request.body()
    if not raw:
        raise BadRequest("the request body is empty; send JSON")
    body = decode_json(raw)
    if validator is not None:
        check(validator, body)
    return body


def check(validator: Draft202012Validator, value: Any, where: str = "body") -> None:
    error = best_match(validator.iter_errors(value))
    if error is None:
        return
    path = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message
    if len(message) > 300:
        message = message[:300] + "..."
    raise BadRequest(f"{where}{path}: {message}", field=f"{where}{path}")


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def query_list(request: Request, name: str) -> list[str] | None:
    """A list parameter, given repeated (``?run=a&run=b``) or comma-separated."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def query_object(request: Request, name: str) -> dict[str, Any] | None:
    """A parameter holding a JSON object (``?metadata={"team":"x"}``)."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        wanted = json.loads(raw)
    except ValueError:
        wanted = None
    if not isinstance(wanted, dict):
        raise BadRequest(f"{name} must be a JSON object", field=name)
    return wanted


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadRequest(f"{name} must be true or false, got {raw[:40]!r}", field=name)


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {raw[:40]!r}", field=name) from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {value}", field=name)
    return value


def parse_time(raw: Any, field: str) -> datetime:
    """An ISO 8601 time (one without a zone is taken as UTC), or a number of
    milliseconds since 1970 (what the JS SDK sends: ``Date.now()``)."""
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return EPOCH + timedelta(milliseconds=raw)
        except OverflowError:
            raise BadRequest(
                f"{field} must be milliseconds since 1970 within years 1-9999, got {raw}",
                field=field,
            ) from None
    elif isinstance(raw, str):
        text = raw.strip()
        # A '+' in an unencoded query string arrives as a space.
        if " " in text and "T" in text:
            text = text.replace(" ", "+")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise BadRequest(
                f"{field} must be an ISO 8601 time, got {raw[:60]!r}", field=field
            ) from None
    else:
        raise BadRequest(
            f"{field} must be an ISO 8601 time or milliseconds since 1970", field=field
        )
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def listing_matches(
    request: Request, name: str, metadata: object, wanted: dict[str, Any] | None
) -> bool:
    """Whether a listed record (its ``name`` and ``metadata``) passes the list
    routes' shared filters: ``name`` (exact), ``name_contains`` (any case) and a
    ``metadata`` object every pair of which the record's metadata has."""
    exact = request.query_params.get("name")
    if exact is not None and name != exact:
        return False
    part = request.query_params.get("name_contains")
    if part and part.lower() not in name.lower():
        return False
    if wanted is not None:
        kept = metadata if isinstance(metadata, dict) else {}
        if any(kept.get(k) != value for k, value in wanted.items()):
            return False
    return True
