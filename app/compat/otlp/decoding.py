"""An OTLP/HTTP request body as an ExportTraceServiceRequest: protobuf or JSON,
plain or gzip, decoded by the generated classes of ``opentelemetry-proto``."""

from __future__ import annotations

import base64
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from app.decoding import decode_json
from app.errors import BadRequest, BodyTooLarge, PlauditError

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class UnsupportedMediaType(PlauditError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


def media_type(content_type: str | None) -> str:
    """``protobuf`` or ``json``; 415 for anything else."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == PROTOBUF:
        return "protobuf"
    if kind == JSON:
        return "json"
    raise UnsupportedMediaType(
        f"OTLP/HTTP takes {PROTOBUF} or {JSON}, got {kind or 'no Content-Type'!r}",
        allowed=[PROTOBUF, JSON],
    )


def inflate(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """The body with its Content-Encoding (gzip, or none) undone, at most
    ``limit`` bytes of it (413 past that: a small gzip body can inflate a lot)."""
    kind = (encoding or "identity").strip().lower()
    if kind == "identity":
        return raw
    if kind != "gzip":
        raise UnsupportedMediaType(
            f"Content-Encoding must be gzip or none, got {kind[:40]!r}", allowed=["gzip"]
        )
    inflater = zlib.decompressobj(wbits=31)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"the body is not valid gzip: {exc}") from None
    if len(body) > limit:
        raise BodyTooLarge(f"the body inflates to more than {limit} bytes")
    if not inflater.eof:
        raise BadRequest("the gzip body is cut short")
    return body


def decode(raw: bytes, kind: str) -> ExportTraceServiceRequest:
    if kind == "protobuf":
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(raw)
        except (DecodeError, RecursionError) as exc:
            raise BadRequest(f"the body is not an OTLP ExportTraceServiceRequest: {exc}") from None
        return request
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise BadRequest("the JSON body must be an object (an ExportTraceServiceRequest)")
    _ids_as_base64(body)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(body, request, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError) as exc:
        message = str(exc)[:300]
        raise BadRequest(f"the body is not an OTLP ExportTraceServiceRequest: {message}") from None
    return request


ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _ids_as_base64(body: dict[str, Any]) -> None:
    """OTLP/JSON writes trace and span ids in hex, where protobuf's JSON mapping
    of bytes fields expects base64: convert them in place (not hex: left alone)."""
    for resource in _items(body, "resourceSpans", "resource_spans"):
        for scope in _items(resource, "scopeSpans", "scope_spans"):
            for span in _items(scope, "spans"):
                _convert(span)
                for link in _items(span, "links"):
                    _convert(link)


def _items(parent: Any, *names: str) -> list[Any]:
    if not isinstance(parent, dict):
        return []
    for name in names:
        value = parent.get(name)
        if isinstance(value, list):
            return value
    return []


def _convert(item: Any) -> None:
    if not isinstance(item, dict):
        return
    for name in ID_FIELDS:
        value = item.get(name)
        if isinstance(value, str):
            try:
                item[name] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise BadRequest(
                    f"{name} must be hex in OTLP/JSON, got {value[:40]!r}", field=name
                ) from None
