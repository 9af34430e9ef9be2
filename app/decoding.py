"""Decoding what clients send, once, the same way on every route.

JSON bodies (GraphQL, public, LangSmith REST, WebSocket messages, cursors) go
through ``decode_json``:

- strict UTF-8: a byte that is not UTF-8 is refused, with its offset;
- nesting at most ``MAX_NESTING`` levels, measured on the raw bytes before parsing,
  so the parser never nears Python's recursion limit;
- no lone UTF-16 surrogates (``"\\ud800"``): they are not text and cannot be stored;
- numbers MongoDB can hold without loss: integers within the signed 64-bit range,
  other numbers finite 64-bit floats. A larger integer is refused (BSON has no
  bigger integer; Decimal128 holds 34 digits and would change the type read back;
  JavaScript clients lose precision past 2**53 anyway): send it as a string.
  ``NaN`` and ``Infinity`` are not JSON and are refused too.

GraphQL literals get the same checks from ``check_json_value``; form posts and query
strings must be UTF-8 too (``decode_form``, ``check_query_string``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from itertools import accumulate, count
from operator import sub
from typing import Any
from urllib.parse import parse_qs, unquote_to_bytes

from app.errors import BadRequest

MAX_NESTING = 128  # a whole body; stored values are held to validation.MAX_DEPTH
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class InvalidJson(BadRequest):
    code = "INVALID_JSON"


class NumberOutOfRange(BadRequest):
    code = "NUMBER_OUT_OF_RANGE"


def decode_json(data: bytes | str, what: str = "the request body") -> Any:
    """The JSON value in ``data``, or InvalidJson / NumberOutOfRange saying why not."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson(f"{what} is not valid UTF-8 (byte {exc.start})") from None
    # Backslash pairs removed, every backslash left starts an escape.
    unescaped = raw.replace(b"\\\\", b"") if b"\\" in raw else raw
    if _nests_deeper(unescaped, MAX_NESTING):
        raise InvalidJson(f"{what} is nested more than {MAX_NESTING} levels deep")
    try:
        value = _parse(text, what, parse_constant=_no_constant, **_number_hooks(raw))
    except _Unrepresentable:
        # Parse again with stand-ins, to say where the number is.
        _refuse(_parse(text, what, parse_int=_mark_int, parse_float=_mark_float), what)
        raise NumberOutOfRange(f"{what} holds a number that does not fit") from None
    if _may_hold_lone_surrogate(unescaped):
        _refuse(value, what)
    return value


def _parse(text: str, what: str, **hooks: Any) -> Any:
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        raise InvalidJson(f"{what} is not valid JSON: {exc}") from None
    except _NotJson as exc:
        raise InvalidJson(f"{what} is not valid JSON: {exc} is not a JSON value") from None


def check_json_value(value: Any, what: str) -> Any:
    """The checks of ``decode_json`` on a value that did not come as JSON text (a
    GraphQL literal): nesting, lone surrogates, numbers. Returns it unchanged."""
    _refuse(value, what)
    return value


def check_int(value: int, what: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise NumberOutOfRange(_int_message(what, str(value)), field=what)
    return value


def parse_number(raw: str, what: str) -> int | float:
    """A number written as text (a form field): the JSON rule for numbers."""
    text = raw.strip()
    if _INTEGER.fullmatch(text):
        if len(text.lstrip("+-").lstrip("0")) > 19:
            raise NumberOutOfRange(_int_message(what, text), field=what)
        return check_int(int(text), what)
    if not _DECIMAL.fullmatch(text):
        raise BadRequest(f"{what} must be a number, got {_shown(text)}", field=what)
    number = float(text)
    if not math.isfinite(number):
        raise NumberOutOfRange(_float_message(what, text), field=what)
    return number


def decode_form(body: bytes, max_fields: int) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body, which must be UTF-8."""
    try:
        return parse_qs(body.decode("utf-8"), max_num_fields=max_fields, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the form is not valid UTF-8") from None
    except ValueError:
        raise BadRequest(f"the form has too many fields (at most {max_fields})") from None


def check_query_string(raw: bytes) -> None:
    """Refuse a query string whose percent-decoded bytes are not UTF-8 (Starlette
    would quietly turn them into U+FFFD)."""
    if b"%" not in raw and raw.isascii():
        return
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"the query string is not valid UTF-8 (byte {exc.start} once percent-decoded)"
        ) from None


# ---- Nesting, measured on the raw bytes


_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_QUOTE_OR_BRACKET = bytes(b for b in range(256) if b not in b'"[]{}')


def _nests_deeper(unescaped: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit``, from bytes whose
    escaped backslashes are gone. C-speed bytes operations only, never a loop per
    byte: measured on 4 MB, a few milliseconds for text and ~10% of parsing for a
    realistic batch of runs; for 4 MB of nothing but brackets, less than parsing."""
    if unescaped.count(b"[") + unescaped.count(b"{") <= limit:
        return False
    # Drop escaped quotes, then everything but quotes and brackets; then strings
    # with no bracket in them (""), then the strings left (every other piece).
    kept = unescaped.replace(b'\\"', b"").translate(_SQUARE, _NOT_QUOTE_OR_BRACKET)
    if b'"' in kept:
        kept = kept.replace(b'""', b"")
        kept = b"".join(kept.split(b'"')[::2])
    # Peel innermost pairs: each pass takes one level off a well-formed body.
    peeled = 0
    while True:
        if kept.count(b"[") <= limit - peeled:
            return False
        if b"[" * (limit - peeled + 1) in kept:
            return True
        shorter = kept.replace(b"[]", b"")
        if len(shorter) == len(kept) or peeled == _PEEL_PASSES:
            break
        kept, peeled = shorter, peeled + 1
    # Exact: the depth after each run of openers, one closer between runs.
    depths: Iterator[int] = map(sub, accumulate(map(len, kept.split(b"]"))), count())
    return max(depths) > limit - peeled


_PEEL_PASSES = 8


# ---- Numbers


class _Unrepresentable(Exception):
    pass


def _checked_int(text: str) -> int:
    if len(text) > 20 or not INT64_MIN <= (value := int(text)) <= INT64_MAX:
        raise _Unrepresentable
    return value


def _checked_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Unrepresentable
    return value


class _NotJson(Exception):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJson(name)


def _digit_runs_table() -> bytes:
    """Digits as 0, exponent marks as e, + kept, every other byte a space."""
    table = bytearray(b" " * 256)
    table[ord("0") : ord("9") + 1] = b"0" * 10
    table[ord("e")] = table[ord("E")] = ord("e")
    table[ord("+")] = ord("+")
    return bytes(table)


_DIGIT_RUNS = _digit_runs_table()


def _number_hooks(raw: bytes) -> dict[str, Any]:
    """Range checks for the numbers that may not fit, found cheaply: an integer
    needs 19 digits in a row to reach 2**63, a float an exponent of three digits or
    309 digits. Strings and fractions can match too; that only costs the check."""
    digits = raw.translate(_DIGIT_RUNS)
    hooks: dict[str, Any] = {}
    if b"0" * 19 in digits:
        hooks["parse_int"] = _checked_int
        if b"0" * 309 in digits:
            hooks["parse_float"] = _checked_float
    if b"e000" in digits or b"e+000" in digits:
        hooks["parse_float"] = _checked_float
    return hooks


class _Big:
    """A number that does not fit, standing in for it while its place is found."""

    def __init__(self, text: str, kind: str) -> None:
        self.text, self.kind = text, kind


def _mark_int(text: str) -> int | _Big:
    try:
        return _checked_int(text)
    except _Unrepresentable:
        return _Big(text, "int")


def _mark_float(text: str) -> float | _Big:
    try:
        return _checked_float(text)
    except _Unrepresentable:
        return _Big(text, "float")


# ---- Finding and naming what is wrong


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_PAIR = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _may_hold_lone_surrogate(unescaped: bytes) -> bool:
    """Whether an escape writes half a surrogate pair. Only escapes can (the text is
    strict UTF-8); pairs that make one character are fine."""
    if not _SURROGATE_ESCAPE.search(unescaped):
        return False
    return _SURROGATE_ESCAPE.search(_SURROGATE_PAIR.sub(b"", unescaped)) is not None


Path = tuple[str | int, ...]


def _refuse(value: Any, what: str) -> None:
    """Raise for the first thing in ``value`` that cannot be taken, naming where."""
    for path, item, depth in _walk(value):
        if depth > MAX_NESTING:
            raise InvalidJson(f"{_where(path, what)} is nested more than {MAX_NESTING} levels deep")
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidJson(
                    _surrogate_message(_where(path, what), item), **_field(path, what)
                )
        elif isinstance(item, _Big):
            message = (_int_message if item.kind == "int" else _float_message)(
                _where(path, what), item.text
            )
            raise NumberOutOfRange(message, **_field(path, what))
        elif isinstance(item, int) and not isinstance(item, bool):
            if not INT64_MIN <= item <= INT64_MAX:
                message = _int_message(_where(path, what), str(item))
                raise NumberOutOfRange(message, **_field(path, what))
        elif isinstance(item, float) and not math.isfinite(item):
            message = _float_message(_where(path, what), repr(item))
            raise NumberOutOfRange(message, **_field(path, what))


def _walk(value: Any) -> Iterator[tuple[Path, Any, int]]:
    """Every value and key in document order, with its path and nesting depth,
    without recursion."""
    stack: list[tuple[Path, Any, int]] = [((), value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if isinstance(item, dict):
            depth += 1
            for key in item:
                yield (*path, key), key, depth
            stack.extend(((*path, k), v, depth) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            depth += 1
            stack.extend(((*path, i), v, depth) for i, v in reversed(list(enumerate(item))))
        yield path, item, depth


def _where(path: Path, what: str) -> str:
    if not path:
        return what
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = _printable(part if len(part) <= 40 else part[:40] + "...")
            text += f".{name}" if text else name
    return text


def _printable(text: str) -> str:
    """Text safe to send back in a UTF-8 body: surrogates written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _shown(text: str) -> str:
    return repr(_printable(text[:40]))


def _field(path: Path, what: str) -> dict[str, str]:
    return {"field": _where(path, what)} if path else {}


def _surrogate_message(where: str, text: str) -> str:
    half = ord(_SURROGATE.findall(text)[0])
    return (
        f"{where} holds a lone UTF-16 surrogate (U+{half:04X}), which is not text; "
        "send valid Unicode"
    )


def _int_message(where: str, text: str) -> str:
    digits = len(text.lstrip("+-"))
    shown = text if digits <= 24 else f"a {digits}-digit integer"
    return (
        f"{where} is {shown}, outside the signed 64-bit integer range "
        f"(-2**63 to 2**63-1); send larger numbers as strings"
    )


def _float_message(where: str, text: str) -> str:
    shown = text if len(text) <= 24 else text[:24] + "..."
    return f"{where} is {shown}, too large for a 64-bit float"
