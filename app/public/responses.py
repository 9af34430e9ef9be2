"""Reading capped bodies and answering errors on the public routes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.decoding import InvalidJson, decode_json
from app.errors import PlauditError


class BodyTooLarge(PlauditError):
    code = "BODY_TOO_LARGE"
    http_status = 413


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or BodyTooLarge as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLarge(f"request body over {limit} bytes")
    return bytes(body)


def parse_json_object(body: bytes) -> dict[str, Any]:
    data = decode_json(body)
    if not isinstance(data, dict):
        raise InvalidJson("the request body must be a JSON object")
    return data


def json_error(exc: PlauditError, headers: dict[str, str] | None = None) -> JSONResponse:
    """``{error, message, ...details}`` with the error's status."""
    return JSONResponse(
        {"error": exc.code.lower(), "message": exc.message, **exc.details},
        status_code=exc.http_status,
        headers={**exc.headers, **(headers or {})},
    )
