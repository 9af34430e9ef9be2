"""Generators for the input classes that once answered 500: JSON nested past the
limit, bytes that are not UTF-8, lone UTF-16 surrogates, integers outside 64 bits
(either side), integers with hundreds of digits, floats that overflow.

A hostile value is raw JSON text (json.dumps cannot write most of them), put at a
position of a valid request body: ``place(template, path, raw)``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

Path = tuple[str | int, ...]
_PLACEHOLDER = "\x00hostile\x00"


def _deep(levels: int, kind: str) -> bytes:
    if kind == "lists":
        return b"[" * levels + b"]" * levels
    if kind == "objects":
        return b'{"a":' * levels + b"1" + b"}" * levels
    return b'[{"a":' * (levels // 2) + b"0" + b"}]" * (levels // 2)


DEEP = st.builds(_deep, st.integers(129, 3000), st.sampled_from(["lists", "objects", "mixed"]))


def _surrogate_text(half: int, before: str, after: str, as_key: bool) -> bytes:
    text = json.dumps(before)[:-1] + f"\\u{half:04x}" + json.dumps(after)[1:]
    return b"{" + text.encode() + b": 1}" if as_key else text.encode()


LONE_SURROGATES = st.one_of(
    st.builds(
        _surrogate_text,
        st.integers(0xD800, 0xDFFF),
        st.text(max_size=5),
        st.text(max_size=5),
        st.booleans(),
    ),
    # A low half before a high one is no pair.
    st.just(b'"\\udc00\\ud800"'),
)
BIG_INTEGERS = st.one_of(
    st.integers(2**63, 2**200), st.integers(-(2**200), -(2**63) - 1), st.just(2**63)
).map(lambda n: str(n).encode())
HUGE_INTEGERS = st.builds(
    lambda digits, negative: (b"-" if negative else b"") + b"9" * digits,
    st.integers(20, 5000),
    st.booleans(),
)
OVERFLOWING_FLOATS = st.sampled_from([b"1e400", b"-1E+999", b"9" * 400 + b".5", b"1e0309"])

HOSTILE = st.one_of(DEEP, LONE_SURROGATES, BIG_INTEGERS, HUGE_INTEGERS, OVERFLOWING_FLOATS)
NOT_UTF8 = st.sampled_from(
    [b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80"]
)


def positions(template: Any, path: Path = ()) -> Iterator[Path]:
    """Every place in ``template`` a value can go, the whole body included; in
    objects, also a new key."""
    yield path
    if isinstance(template, dict):
        yield (*path, "extra")
        for key, value in template.items():
            yield from positions(value, (*path, key))
    elif isinstance(template, list):
        for index, value in enumerate(template):
            yield from positions(value, (*path, index))


def place(template: Any, path: Path, raw: bytes) -> bytes:
    """``template`` as JSON with ``raw`` (JSON text) at ``path``."""
    if not path:
        return raw
    copy = json.loads(json.dumps(template))
    parent = copy
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = _PLACEHOLDER
    return json.dumps(copy).encode().replace(json.dumps(_PLACEHOLDER).encode(), raw)


def insert(body: bytes, offset: int, raw: bytes) -> bytes:
    offset = min(offset, len(body))
    return body[:offset] + raw + body[offset:]
